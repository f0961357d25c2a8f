"""The HTTP protocol the server runs: uvicorn's h11 one, with a bound on how long a
request's headers may take.

uvicorn only times out idle keep-alive connections after a response; a client that
connects and sends nothing, or half a request line, was held forever (a few hundred
such sockets exhaust the server's file descriptors: slowloris). Here a connection
waiting for a request's headers is closed after `header_timeout` seconds.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_S = 10.0


class BoundedHeaderProtocol(H11Protocol):
    """H11Protocol that drops a connection whose request headers do not arrive within `header_timeout`."""

    header_timeout: float = HEADER_TIMEOUT_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm()

    def _waiting_for_headers(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def data_received(self, data: bytes) -> None:
        if self._waiting_for_headers():  # a new request begins: its headers get header_timeout seconds
            self._arm()
        super().data_received(data)
        if not self._waiting_for_headers():  # the headers are in: the app has the request
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self._waiting_for_headers() and not self.transport.is_closing():
            self.transport.close()
