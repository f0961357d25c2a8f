"""The playlist builder's requests beyond a plain history: the playlist
controls (the same names and defaults as the CLI's options), an avoid list,
similar-to-a-track, a path from A to B and a tag mix.

Kept apart from `api` (routes and security) and `library` (the served
catalog): `add_builder_routes` adds /api/path and /api/mix; /api/recommend and
/api/similar take the controls through `ControlFields` / `controls_kw`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from ..recommend.controls import DEFAULT_MAX_PER_ALBUM

MAX_WORDS = 50  # tags or genres in one request


class ControlFields(BaseModel):
    """What a playlist may hold (see genrerec.recommend.controls)."""

    min_duration: float | None = Field(None, ge=0, allow_inf_nan=False, description="Shortest track, seconds.")
    max_duration: float | None = Field(None, ge=0, allow_inf_nan=False, description="Longest track, seconds.")
    exclude_tags: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=MAX_WORDS, description="Style/mood tags (or genre-tag words) to leave out.")
    exclude_genres: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=MAX_WORDS, description="Genres to leave out.")
    max_per_album: int = Field(DEFAULT_MAX_PER_ALBUM, ge=0, le=1000, description="Tracks per album; 0 = no cap.")
    avoid: list[Annotated[int, Field(ge=0)]] = Field(default_factory=list, max_length=2000,
                                                     description="Track ids never to pick (recommend: also "
                                                                 "steers away from them).")


def controls_kw(c: ControlFields, include_avoid_as_not_in: bool = False) -> dict:
    """Recommender keyword arguments for these fields."""
    kw = dict(min_duration=c.min_duration, max_duration=c.max_duration, exclude_tags=tuple(c.exclude_tags),
              exclude_genres=tuple(c.exclude_genres), max_per_album=c.max_per_album or None)
    if include_avoid_as_not_in:
        kw["not_in"] = tuple(c.avoid)
    return kw


class PathRequest(ControlFields):
    start: int = Field(..., ge=0, description="Catalog id of the first track.")
    end: int = Field(..., ge=0, description="Catalog id of the last track.")
    n: int = Field(12, ge=2, le=200, description="Tracks on the path, both ends included.")
    max_per_album: int = Field(0, ge=0, le=1000, description="Tracks per album between the ends; 0 = no cap.")


def path_json(lib, req: PathRequest) -> dict:
    """A path from start to end under the controls (avoided tracks never on it)."""
    from ..recommend.paths import path_stats

    lib.track(req.start)
    lib.track(req.end)
    rec = lib.rec
    recs = rec.path(req.start, req.end, req.n, **controls_kw(req, True))
    st = path_stats(rec.vectors, [rec.row_of[r.track_id] for r in recs])
    return {"tracks": [{**lib.by_id[r.track_id].brief(), "score": r.score,
                        "genres": dict(list(r.genres.items())[:3])} for r in recs],
            "largest_step": round(st.largest_step, 4), "direct_step": round(st.direct_step, 4)}


def add_builder_routes(r, worker) -> None:
    """/api/path (and the tag mix) on the API router."""
    lib = worker.lib

    @r.post("/path", summary="A playlist moving smoothly from one track to another")
    async def path(req: PathRequest):
        return await worker(path_json, lib, req)
