"""The /rest/ router: one route for every API name, as GET or POST form (formPost).

Each request: parameters from the query and an urlencoded body (bounded), then
credentials (auth.py), then the handler on the library worker thread, then the
envelope as JSON or XML. Every failure is a Subsonic error in the client's format
(HTTP 200, as the spec asks), never a traceback or an HTML page; unexpected ones
are logged with credentials redacted.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..media.transcode import TRANSCODE_DIR, Transcoder
from . import annotation, browsing, lists, playlists, retrieval, searching, sonic, system  # noqa: F401 (register)
from .auth import Backoff, authenticate, redact
from .registry import ENDPOINTS, Ctx, Params, Shared
from .responses import GENERIC, SubsonicError, envelope, render
from .users import UserStore

MAX_BODY = 256 * 1024  # a form body; a 10,000-song playlist update fits
log = logging.getLogger(__name__)


async def _params(request: Request) -> Params:
    pairs = parse_qsl(request.url.query, keep_blank_values=True)
    if request.method == "POST":
        ctype = request.headers.get("content-type", "")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise SubsonicError(GENERIC, f"request body larger than {MAX_BODY // 1024} KiB")
        if body:
            if not ctype.startswith("application/x-www-form-urlencoded") and ctype:
                raise SubsonicError(GENERIC, "send parameters in the query string or as "
                                             "application/x-www-form-urlencoded")
            pairs += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return Params(pairs)


def make_router(worker, store: UserStore, backoff: Backoff | None = None) -> APIRouter:
    """The Subsonic API over a web LibraryWorker (whose `lib` is the served WebLibrary)."""
    transcoder = getattr(worker, "transcoder", None) or Transcoder(worker.lib.rec.db_dir / TRANSCODE_DIR)
    shared = Shared(store, transcoder)
    backoff = backoff or Backoff()
    r = APIRouter(prefix="/rest", include_in_schema=False)

    def call(fn, ctx_args):
        ctx = Ctx(lib=worker.lib, shared=shared, **ctx_args)
        return fn(ctx)

    async def handle(name: str, request: Request) -> Response:
        fmt = request.query_params.get("f")
        callback = request.query_params.get("callback")
        try:
            params = await _params(request)
            fmt = params.get("f", fmt)
            callback = params.get("callback", callback)
            key = name[:-5] if name.endswith(".view") else name
            ep = ENDPOINTS.get(key.lower())
            if ep is None:
                raise SubsonicError(GENERIC, f"unknown or unsupported API method {key[:60]!r}")
            address = request.client.host if request.client else ""
            user = authenticate(params, store, address, backoff) if ep.auth else ""
            out = await worker(call, ep.fn, {"params": params, "user": user, "client": params.get("c", ""),
                                             "headers": dict(request.headers)})
            if isinstance(out, Response):
                return out
            if callable(out):  # slow work (a transcode) handed back to run off the library thread
                import anyio

                return await anyio.to_thread.run_sync(out)
            return render(envelope(out), fmt, callback)
        except SubsonicError as e:
            return render(envelope(error=e), fmt, callback)
        except Exception as e:  # never a traceback to the client; the log gets it without credentials
            log.error("subsonic %s %s failed", request.method, redact(str(request.url)), exc_info=e)
            return render(envelope(error=SubsonicError(GENERIC, "internal error; the server log has the details")),
                          fmt, callback)

    @r.api_route("/{name}", methods=["GET", "POST", "HEAD"])
    async def rest(name: str, request: Request):
        return await handle(name, request)

    return r
