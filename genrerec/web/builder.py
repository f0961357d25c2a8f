"""The playlist builder's requests beyond a plain history: the playlist
controls (the same names and defaults as the CLI's options), an avoid list,
similar-to-a-track, a path from A to B and a tag mix.

Kept apart from `api` (routes and security) and `library` (the served
catalog): `add_builder_routes` adds /api/config (the defaults the page starts
from, the CLI's), /api/path, /api/mix and /api/map/clusters (the map coloured
by cluster); /api/recommend and /api/similar take the controls through
`ControlFields` / `controls_kw`.
"""

from __future__ import annotations

import secrets
import time
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field

from ..recommend.clusters import AUTO_K_MAX, cluster_labels, library_clusters
from ..recommend.controls import DEFAULT_MAX_PER_ALBUM
from ..recommend.results import DEFAULT_TEMPERATURE
from .library import WebError

MAX_WORDS = 50  # tags or genres in one request
DEFAULT_N = 15  # the page's playlist length
MAX_CLUSTERS = 50
MAX_NOT_IN = 5000  # track ids from --not-in playlists in one request


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
    not_in: list[Annotated[int, Field(ge=0)]] = Field(default_factory=list, max_length=MAX_NOT_IN,
                                                      description="Track ids already in other playlists (the "
                                                                  "CLI's --not-in): never picked.")


def controls_kw(c: ControlFields, include_avoid_as_not_in: bool = False) -> dict:
    """Recommender keyword arguments for these fields."""
    kw = dict(min_duration=c.min_duration, max_duration=c.max_duration, exclude_tags=tuple(c.exclude_tags),
              exclude_genres=tuple(c.exclude_genres), max_per_album=c.max_per_album or None,
              not_in=tuple(c.not_in))
    if include_avoid_as_not_in:
        kw["not_in"] = tuple(c.not_in) + tuple(c.avoid)
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
    return {"tracks": [lib.pick(r) for r in recs],
            "largest_step": round(st.largest_step, 4), "direct_step": round(st.direct_step, 4)}


class MixRequest(ControlFields):
    tags: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        ..., min_length=1, max_length=10, description="Style/mood tags (see /api/config); picks carry every one.")
    n: int = Field(DEFAULT_N, ge=1, le=500, description="Playlist length.")
    temperature: float = Field(DEFAULT_TEMPERATURE, ge=0, le=10, allow_inf_nan=False,
                               description="0 = the top-ranked tracks; higher = further down the ranking.")
    seed: int | None = Field(None, ge=0, lt=2**32, description="Same seed, same playlist; omitted: a new one.")


def config_json(lib) -> dict:
    """What the builder starts from: the CLI's defaults, and the catalog's tags and genres."""
    return {"temperature": DEFAULT_TEMPERATURE, "n": DEFAULT_N, "max_per_album": DEFAULT_MAX_PER_ALBUM,
            "path_n": PathRequest.model_fields["n"].default, "tags": list(lib.tag_names), "genres": list(lib.genres)}


def mix_json(lib, req: MixRequest) -> dict:
    """A tag mix under the controls (avoided tracks never in it)."""
    t0 = time.perf_counter()
    seed = secrets.randbelow(2**31) if req.seed is None else req.seed
    recs = lib.rec.mix(list(req.tags), n=req.n, temperature=req.temperature, seed=seed, **controls_kw(req, True))
    return {"seed": seed, "tags": list(req.tags), "temperature": req.temperature,
            "picks": [lib.pick(r) for r in recs], "server_ms": round((time.perf_counter() - t0) * 1000, 2)}


def clusters_json(lib, k: int | str, seed: int) -> dict:
    """Cluster number of every map point (in /api/map order), and each cluster's name and size;
    computed once per catalog generation, k and seed."""
    cache = vars(lib).setdefault("_clusters_cache", {})  # one entry: the latest k and seed
    key = (lib.generation, k, seed)
    if key not in cache:
        groups, scores = library_clusters(lib.rec, k, seed)
        cache.clear()
        cache[key] = (groups, scores, cluster_labels(lib.rec, groups))
    groups, scores, labels = cache[key]
    row = lib.rec.row_of
    return {"k": len(groups), "seed": seed, "auto": k == "auto", "silhouette": {str(a): b for a, b in scores.items()},
            "names": [c.name for c in groups], "sizes": [len(c.track_ids) for c in groups],
            "labels": [int(labels[row[t.id]]) for t in lib.tracks]}


def add_builder_routes(r, worker) -> None:
    """/api/config, /api/path, /api/mix and /api/map/clusters on the API router."""
    lib = worker.lib

    @r.get("/config", summary="The builder's defaults (the CLI's) and the catalog's tags and genres")
    async def config():
        return await worker(config_json, lib)

    @r.post("/path", summary="A playlist moving smoothly from one track to another")
    async def path(req: PathRequest):
        return await worker(path_json, lib, req)

    @r.post("/mix", summary="A playlist of the tracks the model tags most strongly")
    async def mix(req: MixRequest):
        return await worker(mix_json, lib, req)

    @r.get("/map/clusters", summary="The library's clusters (seeded k-means) per map point")
    async def map_clusters(k: Annotated[str, Query(pattern=r"^(auto|[0-9]{1,3})$",
                                                   description=f"clusters, or auto (2..{AUTO_K_MAX})")] = "auto",
                           seed: Annotated[int, Query(ge=0, lt=2**32)] = 0):
        kk: int | str = k if k == "auto" else int(k)
        if kk != "auto" and not 1 <= kk <= MAX_CLUSTERS:
            raise WebError(f"k must be 1..{MAX_CLUSTERS} or auto, got {k}", 422)
        return await worker(clusters_json, lib, kk, seed)

