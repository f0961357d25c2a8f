"""The JSON API under /api/ that the pages use (OpenAPI at /docs and /openapi.json).

Tracks are named by catalog id only: no request parameter ever becomes a file
path, so the server can serve nothing but catalog tracks.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..media.stream import FdResponse
from ..media.transcode import Job, Transcoder, TranscodeError, media_type, open_transcode
from ..recommend.results import DEFAULT_TEMPERATURE
from .builder import ControlFields, add_builder_routes, controls_kw
from .library import LibraryWorker, WebError

MAX_HISTORY = 2000
MAX_WEIGHT = 1e9  # play counts (Recommender.MAX_PLAY_COUNT); 1e308s overflow to inf when added up
TRACK_ID = re.compile(r"[0-9]{1,18}", re.ASCII)  # str.isdigit() also takes '²' and '１'
DISCONNECT_CHECK_S = 0.25  # how often a request waiting for a transcode checks its client is still there

TrackId = Annotated[int, PathParam(ge=0, description="Catalog id of a track (see /api/tracks).")]


class HistoryRequest(BaseModel):
    history: list[Annotated[int, Field(ge=0)]] = Field(..., min_length=1, max_length=MAX_HISTORY,
                                                       description="Catalog ids of tracks the listener played.")
    weights: list[Annotated[float, Field(ge=0, le=MAX_WEIGHT, allow_inf_nan=False)]] | None = Field(
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
    temperature: float = Field(DEFAULT_TEMPERATURE, ge=0, le=10, allow_inf_nan=False,
                               description="0 = closest matches; higher = further afield.")
    seed: int | None = Field(None, ge=0, lt=2**32, description="Same seed, same playlist; omitted: a new one.")
    exclude: list[Annotated[int, Field(ge=0)]] = Field(default_factory=list, max_length=MAX_HISTORY,
                                                       description="Picks the listener removed.")


class PlaylistRequest(BaseModel):
    ids: list[Annotated[int, Field(ge=0)]] = Field(..., min_length=1, max_length=10_000)


def make_router(worker: LibraryWorker, transcoder: Transcoder) -> APIRouter:
    lib = worker.lib
    r = APIRouter(prefix="/api")

    @r.get("/tracks", summary="Search tracks by name, path, album, tags or genre call ('uncertain' too)")
    async def tracks(q: Annotated[str, Query(max_length=200)] = "",
                     limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                     offset: Annotated[int, Query(ge=0)] = 0):
        return await worker(lib.search, q, limit, offset)

    @r.get("/tracks/{track_id}", summary="One track: names, tags, genre call, genres")
    async def track(track_id: TrackId):
        return await worker(lib.detail, track_id)

    @r.get("/map", summary="2-D map of every track (ids, x, y, genre call, names, tags)")
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
        raw = await request.body()  # RequestGuard has bounded it (MAX_BODY_BYTES)
        return await worker(lib.resolve_m3u, raw.decode("utf-8", "replace"))

    @r.get("/audio/{track_id}", summary="A track's audio (HTTP ranges supported)", response_class=Response,
           responses={200: {"content": {"audio/*": {}}}, 206: {"description": "the requested byte range"}})
    @r.head("/audio/{track_id}", include_in_schema=False)
    async def audio(track_id: str, request: Request):
        if not TRACK_ID.fullmatch(track_id):
            raise WebError("no such track", 404)  # anything but an id (e.g. '..', '²', '１') is simply not a track
        tid = int(track_id)
        fd, t = await worker(lib.audio_open, tid)
        head, rng = request.method == "HEAD", request.headers.get("range")
        if t.playable == "direct":
            return FdResponse(fd, os.fstat(fd).st_size, media_type(t.rel), rng, head)
        job = transcoder.start(fd, t.duration)
        try:
            await _wait(job, request)
        finally:
            transcoder.release(job)
        try:
            fd, size = open_transcode(job)
        except TranscodeError as e:
            raise WebError(f"track {tid} cannot be played in the browser: {e}", 415) from None
        return FdResponse(fd, size, "audio/mpeg", rng, head)

    return r


async def _wait(job: Job, request: Request) -> None:
    """Until the transcode is done, or the client went away (then release() may stop it)."""
    fut = asyncio.wrap_future(job.future)
    while not fut.done():
        await asyncio.wait({fut}, timeout=DISCONNECT_CHECK_S)
        if not fut.done() and await request.is_disconnected():
            raise WebError("the client went away", 499)
