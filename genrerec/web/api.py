"""The JSON API under /api/ that the pages use (OpenAPI at /docs and /openapi.json).

Tracks are named by catalog id only: no request parameter ever becomes a file
path, so the server can serve nothing but catalog tracks.
"""

from __future__ import annotations

import json
import secrets
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field

from ..media.transcode import TranscodeCache, TranscodeError, byte_range, media_type
from .builder import ControlFields, add_builder_routes, controls_kw
from .library import LibraryWorker, WebError

MAX_HISTORY = 2000
MAX_M3U_BYTES = 2_000_000

TrackId = Annotated[int, PathParam(ge=0, description="Catalog id of a track (see /api/tracks).")]


class HistoryRequest(BaseModel):
    history: list[Annotated[int, Field(ge=0)]] = Field(..., min_length=1, max_length=MAX_HISTORY,
                                                       description="Catalog ids of tracks the listener played.")
    weights: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] | None = Field(
        None, description="Play counts, one per history entry (default: 1 each).")

    def weighted(self) -> list[int] | dict[int, float]:
        if self.weights is None:
            return self.history
        if len(self.weights) != len(self.history):
            raise WebError(f"weights has {len(self.weights)} entries for {len(self.history)} history tracks", 422)
        out: dict[int, float] = {}
        for tid, w in zip(self.history, self.weights):
            out[tid] = out.get(tid, 0.0) + w
        return out


class RecommendRequest(HistoryRequest, ControlFields):
    n: int = Field(15, ge=1, le=500, description="Playlist length.")
    temperature: float = Field(0.3, ge=0, le=10, allow_inf_nan=False,
                               description="0 = closest matches; higher = further afield.")
    seed: int | None = Field(None, ge=0, lt=2**32, description="Same seed, same playlist; omitted: a new one.")
    exclude: list[Annotated[int, Field(ge=0)]] = Field(default_factory=list, max_length=MAX_HISTORY,
                                                       description="Picks the listener removed.")


class PlaylistRequest(BaseModel):
    ids: list[Annotated[int, Field(ge=0)]] = Field(..., min_length=1, max_length=10_000)


def make_router(worker: LibraryWorker) -> APIRouter:
    lib = worker.lib
    r = APIRouter(prefix="/api")
    transcodes = TranscodeCache()

    @r.get("/tracks", summary="Search tracks by name, path, album or genre")
    async def tracks(q: Annotated[str, Query(max_length=200)] = "",
                     limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                     offset: Annotated[int, Query(ge=0)] = 0):
        return await worker(lib.search, q, limit, offset)

    @r.get("/tracks/{track_id}", summary="One track: names, genres, tags")
    async def track(track_id: TrackId):
        return await worker(lib.detail, track_id)

    @r.get("/map", summary="2-D map of every track (ids, x, y, top genre, names)")
    async def library_map():
        return Response(await worker(lib.map_json), media_type="application/json")

    @r.get("/map/tags/{tag}", summary="One tag's score per map point (catalogs with tags)")
    async def map_tag(tag: Annotated[str, PathParam(max_length=100)]):
        return await worker(lib.tag_values, tag)

    @r.post("/recommend", summary="A playlist for a listening history")
    async def recommend(req: RecommendRequest):
        seed = secrets.randbelow(2**31) if req.seed is None else req.seed
        return await worker(lib.recommend, req.weighted(), req.n, req.temperature, seed, req.exclude,
                            controls_kw(req), req.avoid)

    @r.get("/similar/{track_id}", summary="The tracks most similar to one track")
    async def similar(track_id: TrackId, n: Annotated[int, Query(ge=1, le=500)] = 10,
                      controls: Annotated[ControlFields, Query()] = None):
        return await worker(lib.similar, track_id, n, controls_kw(controls or ControlFields(), True))

    add_builder_routes(r, worker)

    @r.post("/profile", summary="The listener's genre mix and distinct tastes")
    async def profile(req: HistoryRequest):
        return await worker(lib.profile, req.weighted())

    @r.get("/stats", summary="Counts, genre histogram, failures, duplicates")
    async def stats():
        return await worker(lib.stats)

    @r.post("/playlist.m3u8", summary="Download a playlist as extended M3U8 (absolute paths)",
            response_class=Response, responses={200: {"content": {"audio/x-mpegurl": {}}}})
    async def playlist(req: PlaylistRequest):
        text = await worker(lib.playlist_m3u8, req.ids)
        return Response(text.encode("utf-8", "surrogateescape"), media_type="audio/x-mpegurl",
                        headers={"Content-Disposition": 'attachment; filename="genrerec-playlist.m3u8"'})

    @r.post("/history/m3u", summary="Match the entries of an uploaded .m3u/.m3u8 to catalog tracks",
            openapi_extra={"requestBody": {"required": True, "content": {"text/plain": {"schema": {"type": "string"}}}}})
    async def history_m3u(request: Request):
        raw = await request.body()
        if len(raw) > MAX_M3U_BYTES:
            raise WebError(f"playlist larger than {MAX_M3U_BYTES // 1_000_000} MB", 413)
        return await worker(lib.resolve_m3u, raw.decode("utf-8", "replace"))

    @r.get("/audio/{track_id}", summary="A track's audio (HTTP ranges supported)", response_class=Response,
           responses={200: {"content": {"audio/*": {}}}, 206: {"description": "the requested byte range"}})
    @r.head("/audio/{track_id}", include_in_schema=False)
    async def audio(track_id: str, request: Request):
        if not track_id.isdigit() or len(track_id) > 18:
            raise WebError("no such track", 404)  # anything but an id (e.g. '..') is simply not a track
        tid = int(track_id)
        path = await worker(lib.audio_file, tid)
        if lib.by_id[tid].playable == "direct":
            return FileResponse(path, media_type=media_type(path))
        try:
            data = await anyio.to_thread.run_sync(transcodes.get, path)
        except TranscodeError as e:
            raise WebError(f"track {tid} cannot be played in the browser: {e}", 415) from None
        return ranged_bytes(data, request.headers.get("range"), "audio/mpeg")

    return r


def ranged_bytes(data: bytes, range_header: str | None, mime: str) -> Response:
    """A bytes body honouring a single `Range` request (206), as FileResponse does for files."""
    headers = {"Accept-Ranges": "bytes"}
    try:
        rng = byte_range(range_header, len(data))
    except ValueError:
        return Response(json.dumps({"error": "range not satisfiable"}), 416, media_type="application/json",
                        headers={**headers, "Content-Range": f"bytes */{len(data)}"})
    if rng is None:
        return Response(data, media_type=mime, headers=headers)
    a, b = rng
    return Response(data[a:b + 1], 206, media_type=mime,
                    headers={**headers, "Content-Range": f"bytes {a}-{b}/{len(data)}"})
