"""Sonic features: getSonicSimilarTracks and findSonicPath (OpenSubsonic sonicSimilarity 1),
getSimilarSongs2 / getSimilarSongs (instant mix, artist radio) and getTopSongs.

A genrerec score is the inner product of two unit vectors, in [-1, 1]; the spec's
`similarity` is in [0, 1] with 1 the same song, so it is `similarity(score)` =
(score + 1) / 2, clipped: monotone, so the order is the Recommender's own.
"""

from __future__ import annotations

import secrets

from ..recommend.recommender import DEFAULT_TEMPERATURE
from ..recommend.results import RecommendError
from .registry import Ctx, endpoint
from .responses import GENERIC, SubsonicError
from .shapes import UserData, song_entry

MAX_COUNT = 500


def similarity(score: float) -> float:
    """A Recommender score in [-1, 1] as the spec's similarity in [0, 1] (monotone)."""
    return round(min(1.0, max(0.0, (float(score) + 1.0) / 2.0)), 4)


def _recommender(ctx: Ctx):
    return ctx.lib.rec


def _entries(ctx: Ctx, recs, ud: UserData) -> list[dict]:
    view = ctx.view
    return [{"entry": song_entry(view.by_track[r.track_id], ud), "similarity": similarity(r.score)}
            for r in recs if r.track_id in view.by_track]


@endpoint("getSonicSimilarTracks")
def sonic_similar(ctx: Ctx) -> dict:
    s = ctx.view.song(ctx.params.need("id"))
    count = ctx.params.int("count", 10, 1, MAX_COUNT)
    try:
        recs = _recommender(ctx).similar(s.track_id, count)
    except RecommendError as e:
        raise SubsonicError(GENERIC, str(e)) from None
    return {"sonicMatch": _entries(ctx, recs, UserData(ctx))}


@endpoint("findSonicPath")
def sonic_path(ctx: Ctx) -> dict:
    """startSongId first, endSongId last; each similarity is to the song before it (1 for the first)."""
    view = ctx.view
    a = view.song(ctx.params.need("startSongId"))
    b = view.song(ctx.params.need("endSongId"))
    count = ctx.params.int("count", 25, 2, MAX_COUNT)
    try:
        recs = _recommender(ctx).path(a.track_id, b.track_id, count)
    except RecommendError as e:
        raise SubsonicError(GENERIC, str(e)) from None
    return {"sonicMatch": _entries(ctx, recs, UserData(ctx))}


def instant_mix(ctx: Ctx, history: dict[int, float], count: int, seed: int | None = None) -> list:
    """`Recommender.recommend` at the default temperature: the playlist a client's instant mix plays."""
    try:
        return _recommender(ctx).recommend(history, n=count, temperature=DEFAULT_TEMPERATURE,
                                           seed=secrets.randbelow(2**31) if seed is None else seed)
    except RecommendError as e:
        raise SubsonicError(GENERIC, str(e)) from None


def _similar_songs(ctx: Ctx) -> list[dict]:
    """A song id: a mix seeded by it; an album or artist id: a mix with all its songs as the
    history (artist radio). The seed songs themselves are left out: the client plays them already."""
    item = ctx.params.need("id")
    count = ctx.params.int("count", 50, 1, MAX_COUNT)
    view = ctx.view
    songs = view.songs_of(item)
    recs = instant_mix(ctx, {s.track_id: 1.0 for s in songs}, count)
    ud = UserData(ctx)
    return [song_entry(view.by_track[r.track_id], ud) for r in recs if r.track_id in view.by_track]


@endpoint("getSimilarSongs2")
def similar_songs2(ctx: Ctx) -> dict:
    return {"similarSongs2": {"song": _similar_songs(ctx)}}


@endpoint("getSimilarSongs")
def similar_songs(ctx: Ctx) -> dict:
    return {"similarSongs": {"song": _similar_songs(ctx)}}


@endpoint("getTopSongs")
def top_songs(ctx: Ctx) -> dict:
    """The artist's songs this user scrobbled most (most plays first), then the rest by title."""
    name = ctx.params.need("artist").lower()
    count = ctx.params.int("count", 50, 1, MAX_COUNT)
    ud = UserData(ctx)
    songs = [s for s in ctx.view.songs_by_path if s.artist.lower() == name]
    songs.sort(key=lambda s: (-ud.plays.get(s.path, (0, 0))[0], s.title.lower()))
    return {"topSongs": {"song": [song_entry(s, ud) for s in songs[:count]]}}
