"""The ASGI app: pages, static files, the JSON API, and errors as JSON.

Every error leaves as `{"error": "..."}` with a 4xx status; an unexpected
exception is logged on the server and answered with a plain 500 message,
never a traceback.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from ..media.transcode import TRANSCODE_DIR, Transcoder
from ..recommend.results import RecommendError
from ..version import __version__
from .api import make_router
from .library import LibraryWorker, WebError
from .security import AccessMiddleware, RequestGuard

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger(__name__)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors()[:5]:
        where = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def create_app(worker: LibraryWorker, token: str | None = None,
               allowed_hosts: tuple[str, ...] | None = None, users=None) -> FastAPI:
    """The web app over an open library (see `genrerec.web.serve` to run it); with `users`
    (a genrerec.subsonic.users.UserStore) it also answers the Subsonic API at /rest/."""
    # no /docs: Swagger UI loads an unpinned script from a CDN into this origin; /openapi.json stays
    app = FastAPI(title="genrerec", version=__version__, docs_url=None, redoc_url=None,
                  description="Library map, playlists and audio for a library indexed with `genrerec index`.")
    app.state.worker = worker

    @app.exception_handler(WebError)
    async def _web_error(request: Request, exc: WebError):
        return JSONResponse({"error": str(exc)}, exc.status)

    @app.exception_handler(RecommendError)
    async def _recommend_error(request: Request, exc: RecommendError):
        return JSONResponse({"error": str(exc)}, 400)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return JSONResponse({"error": _validation_message(exc)}, 422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        return JSONResponse({"error": str(exc.detail)}, exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": "internal error; the server log has the details"}, 500)

    # one per app; also on the worker, where scripts and tests holding only the worker find it
    app.state.transcoder = worker.transcoder = Transcoder(worker.lib.rec.db_dir / TRANSCODE_DIR)
    app.include_router(make_router(worker, app.state.transcoder))
    if users is not None:
        from ..subsonic.router import make_router as subsonic_router

        app.include_router(subsonic_router(worker, users))

    def page(name: str):
        async def handler():
            return FileResponse(STATIC / name, media_type="text/html", headers={"Cache-Control": "no-cache"})
        return handler

    app.add_api_route("/", page("index.html"), include_in_schema=False)
    app.add_api_route("/library", page("library.html"), include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(RequestGuard)
    app.add_middleware(AccessMiddleware, token=token, allowed_hosts=allowed_hosts)  # outermost
    return app
