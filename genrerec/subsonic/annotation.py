"""Annotation: scrobble, getNowPlaying, star / unstar, setRating.

A submission scrobble is one listen, stored for the user with the time the
client gives (ms since 1970; now if absent). A non-submission scrobble only
says what is playing now (getNowPlaying), kept in memory for NOW_PLAYING_S."""

from __future__ import annotations

import time

from .registry import Ctx, endpoint
from .responses import GENERIC, MISSING_PARAMETER, SubsonicError
from .shapes import UserData, item_of, song_entry
from .users import item_key

NOW_PLAYING_S = 30 * 60
MAX_FUTURE_S = 24 * 3600  # a clock a day ahead is a wrong clock, not a listen


@endpoint("scrobble")
def scrobble(ctx: Ctx) -> dict:
    ids = ctx.params.all("id")
    if not ids:
        raise SubsonicError(MISSING_PARAMETER, "required parameter is missing: id")
    times = ctx.params.all("time")
    view = ctx.view
    songs = [view.song(i) for i in ids]
    now = time.time()
    if not ctx.params.bool("submission", True):
        ctx.shared.now_playing[ctx.user] = (songs[-1].id, now, ctx.client)
        return {}
    for i, s in enumerate(songs):
        when = now
        if i < len(times):
            try:
                when = int(times[i]) / 1000.0
            except ValueError:
                raise SubsonicError(GENERIC, f"time must be milliseconds since 1970, got {times[i][:30]!r}") from None
            if when > now + MAX_FUTURE_S or when < 0:
                raise SubsonicError(GENERIC, "time is not a plausible listening time (milliseconds since 1970)")
        ctx.store.scrobble(ctx.user, s.path, when)
    return {}


@endpoint("getNowPlaying")
def now_playing(ctx: Ctx) -> dict:
    now, view, ud = time.time(), ctx.view, UserData(ctx)
    out = []
    for user, (sid, t, client) in list(ctx.shared.now_playing.items()):
        if now - t > NOW_PLAYING_S or sid not in view.songs:
            continue
        out.append({**song_entry(view.songs[sid], ud), "username": user, "minutesAgo": int((now - t) // 60),
                    "playerId": 0, "playerName": client or None})
    return {"nowPlaying": {"entry": out}}


def _items(ctx: Ctx) -> list[str]:
    ids = ctx.params.all("id") + ctx.params.all("albumId") + ctx.params.all("artistId")
    if not ids:
        raise SubsonicError(MISSING_PARAMETER, "required parameter is missing: id, albumId or artistId")
    return [item_key(*item_of(ctx.view, i)) for i in ids]


@endpoint("star")
def star(ctx: Ctx) -> dict:
    for item in _items(ctx):
        ctx.store.star(ctx.user, item, True)
    return {}


@endpoint("unstar")
def unstar(ctx: Ctx) -> dict:
    for item in _items(ctx):
        ctx.store.star(ctx.user, item, False)
    return {}


@endpoint("setRating")
def set_rating(ctx: Ctx) -> dict:
    item = item_key(*item_of(ctx.view, ctx.params.need("id")))
    rating = ctx.params.int("rating", None, 0, 5)
    if rating is None:
        raise SubsonicError(MISSING_PARAMETER, "required parameter is missing: rating (0-5; 0 removes it)")
    ctx.store.rate(ctx.user, item, rating)
    return {}
