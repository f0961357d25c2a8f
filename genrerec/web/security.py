"""Who may talk to the server.

On loopback (the default) anyone on this machine may, but only under a
loopback Host name, which stops DNS-rebinding pages from reaching the API.
On any other address a token is required: the start-up URL carries it once
(`/?token=...`), the server swaps it for an HttpOnly cookie and redirects to
the clean URL; scripts send `Authorization: Bearer <token>`.

`RequestGuard` protects every endpoint from any web page open in the same
browser and from oversized bodies: a state-changing request (POST, ...) from
another origin is refused (Sec-Fetch-Site, else Origin against Host; clients
that send neither, like curl and the CLI, pass), and a body is refused by its
Content-Length, or cut off while streaming when it has none, past MAX_BODY_BYTES.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.exceptions import HTTPException

COOKIE = "genrerec_token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
MAX_BODY_BYTES = 2_000_000  # the largest body any endpoint takes (an uploaded playlist)
# every response: embeddable by this origin only (an <audio src> on another site gets nothing), never sniffed
SAFE_HEADERS = ((b"cross-origin-resource-policy", b"same-origin"), (b"x-content-type-options", b"nosniff"))
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_SITE = frozenset({"same-origin", "none"})  # Sec-Fetch-Site of the app's own pages, or a typed URL


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
                            *SAFE_HEADERS, *headers]})
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
        return await _send_json(send, 401, {"error": "this server needs its access token (start-up says which "
                                                     "file or variable holds it): open …/?token=…, or send "
                                                     "'Authorization: Bearer …'"})


def cross_origin(method: str, headers: dict[bytes, bytes]) -> bool:
    """Whether a state-changing request comes from another site's page (no CORS preflight stops a
    text/plain POST). Requests without Origin and Sec-Fetch-Site (curl, scripts) are not."""
    if method in SAFE_METHODS:
        return False
    site = headers.get(b"sec-fetch-site")
    if site is not None:
        return site.decode("latin-1").strip().lower() not in SAME_SITE
    origin = headers.get(b"origin")
    if origin is None:
        return False
    text = origin.decode("latin-1").strip().lower()
    if text == "null":  # sandboxed frames, file:// pages
        return True
    return urlsplit(text).netloc != headers.get(b"host", b"").decode("latin-1").strip().lower()


class RequestGuard:
    """ASGI middleware: refuse cross-origin state-changing requests, and bodies past `max_body`."""

    def __init__(self, app, max_body: int = MAX_BODY_BYTES):
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        if cross_origin(scope["method"], headers):
            return await _send_json(send, 403, {"error": "cross-origin request refused: use the app's own pages, "
                                                         "or a client that sends no Origin header"})
        limit = self.max_body
        too_big = f"request body larger than {limit // 1_000_000} MB"
        length = headers.get(b"content-length")
        if length is not None:
            if not length.strip().isdigit() or not length.isascii():
                return await _send_json(send, 400, {"error": "invalid Content-Length header"})
            if int(length) > limit:
                return await _send_json(send, 413, {"error": too_big})
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # a chunked body without Content-Length: stop reading here
                    raise HTTPException(413, too_big)
            return message

        async def send_safe(message):
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message = {**message, "headers": [*message.get("headers", []),
                                                  *((k, v) for k, v in SAFE_HEADERS if k not in have)]}
            await send(message)

        return await self.app(scope, limited, send_safe)
