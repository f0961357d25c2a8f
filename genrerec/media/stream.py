"""Serving an already-open file handle over HTTP (ASGI), with single byte ranges.

The handle is the one `safety.open_beneath` checked, so what is sent is the
file that was checked, never a path opened again (a swap in between cannot
redirect it). Reads are `pread`s in a worker thread; the handle is closed
when the response ends or the client goes away.
"""

from __future__ import annotations

import json
import os
import re

import anyio
from starlette.responses import Response

CHUNK = 64 * 1024
# the audio may be embedded by this app only, and never sniffed as something else
SAFE_HEADERS = {"Cross-Origin-Resource-Policy": "same-origin", "X-Content-Type-Options": "nosniff"}
_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$", re.ASCII)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single-range `Range` header; None for the whole body.

    Raises ValueError for a range that cannot be satisfied (HTTP 416)."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if not m or m.group(1) == m.group(2) == "":
        raise ValueError(header)
    if m.group(1) == "":  # suffix range: the last N bytes
        n = int(m.group(2))
        if n == 0:
            raise ValueError(header)
        return max(0, size - n), size - 1
    start = int(m.group(1))
    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    if start >= size or end < start:
        raise ValueError(header)
    return start, end


class FdResponse(Response):
    """A response streaming `fd` (owned: closed at the end), honouring one `Range`."""

    def __init__(self, fd: int, size: int, media_type: str, range_header: str | None = None,
                 head: bool = False, headers: dict[str, str] | None = None):
        self.fd, self.size, self.media_type, self.head = fd, size, media_type, head
        self.background = None
        self.extra_headers = {"Accept-Ranges": "bytes", **SAFE_HEADERS, **(headers or {})}
        try:
            self.range = byte_range(range_header, size)
            self.status = 206 if self.range else 200
        except ValueError:
            self.range, self.status = None, 416

    def _start(self, status: int, length: int, extra: dict[str, str], media_type: str) -> dict:
        headers = {**self.extra_headers, **extra, "Content-Type": media_type, "Content-Length": str(length)}
        return {"type": "http.response.start", "status": status,
                "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]}

    async def __call__(self, scope, receive, send) -> None:
        try:
            if self.status == 416:
                body = json.dumps({"error": "range not satisfiable"}).encode()
                await send(self._start(416, len(body), {"Content-Range": f"bytes */{self.size}"},
                                       "application/json"))
                return await send({"type": "http.response.body", "body": body})
            a, b = self.range if self.range else (0, self.size - 1)
            extra = {"Content-Range": f"bytes {a}-{b}/{self.size}"} if self.range else {}
            await send(self._start(self.status, max(0, b - a + 1), extra, self.media_type))
            if self.head or self.size == 0:
                return await send({"type": "http.response.body", "body": b""})
            pos = a
            while pos <= b:
                chunk = await anyio.to_thread.run_sync(os.pread, self.fd, min(CHUNK, b - pos + 1), pos)
                if not chunk:  # the file shrank under us: end the body short rather than pad it
                    break
                pos += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": pos <= b})
            if pos <= b:
                await send({"type": "http.response.body", "body": b""})
        except OSError:  # the client went away mid-body
            pass
        finally:
            os.close(self.fd)
