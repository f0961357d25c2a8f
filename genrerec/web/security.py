"""Who may talk to the server.

On loopback (the default) anyone on this machine may, but only under a
loopback Host name, which stops DNS-rebinding pages from reaching the API.
On any other address a token is required: the start-up URL carries it once
(`/?token=...`), the server swaps it for an HttpOnly cookie and redirects to
the clean URL; scripts send `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from urllib.parse import parse_qsl, urlencode

COOKIE = "genrerec_token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def _send_json(send, status: int, obj: dict, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps(obj).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


def _host_name(headers: dict[bytes, bytes]) -> str:
    host = headers.get(b"host", b"").decode("latin-1").lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class AccessMiddleware:
    """ASGI middleware: a token check when `token` is set, a Host check when `allowed_hosts` is."""

    def __init__(self, app, token: str | None = None, allowed_hosts: tuple[str, ...] | None = None):
        self.app = app
        self.token = token
        self.allowed_hosts = allowed_hosts

    def _token_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        if self.allowed_hosts is not None and _host_name(headers) not in self.allowed_hosts:
            return await _send_json(send, 400, {"error": "unexpected Host header; open the URL the server printed"})
        if self.token is None or scope["path"].startswith("/rest/"):  # the Subsonic API checks its own users
            return await self.app(scope, receive, send)
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth.startswith("Bearer ") and self._token_ok(auth[7:]):
            return await self.app(scope, receive, send)
        cookies = dict(c.strip().split("=", 1) for c in headers.get(b"cookie", b"").decode("latin-1").split(";")
                       if "=" in c)
        if self._token_ok(cookies.get(COOKIE)):
            return await self.app(scope, receive, send)
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
        given = dict(query).get("token")
        if self._token_ok(given):  # swap the URL token for a cookie, then show the clean URL
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            location = scope["path"] + (f"?{rest}" if rest else "")
            cookie = f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
            await send({"type": "http.response.start", "status": 303,
                        "headers": [(b"location", location.encode()), (b"set-cookie", cookie.encode()),
                                    (b"content-length", b"0")]})
            return await send({"type": "http.response.body", "body": b""})
        return await _send_json(send, 401, {"error": "this server needs its access token: open the URL it printed "
                                                     "at start-up (…/?token=…), or send 'Authorization: Bearer …'"})
