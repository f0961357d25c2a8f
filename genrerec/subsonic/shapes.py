"""Songs, albums and artists as the spec's Child / AlbumID3 / ArtistID3, with this
listener's stars, ratings and play counts filled in."""

from __future__ import annotations

import time

from .library import Album, Artist, SubsonicView
from .registry import Ctx
from .responses import Song, iso, song
from .users import item_key


class UserData:
    """One request's view of the listener's stars, ratings and plays (read once, used per item)."""

    def __init__(self, ctx: Ctx):
        self.stars = ctx.store.stars(ctx.user) if ctx.user else {}
        self.ratings = ctx.store.ratings(ctx.user) if ctx.user else {}
        self.plays = ctx.store.plays(ctx.user) if ctx.user else {}

    def fields(self, key: str, plays: tuple[int, float] | None = None) -> dict:
        out = {}
        if key in self.stars:
            out["starred"] = iso(self.stars[key])
        if key in self.ratings:
            out["userRating"] = self.ratings[key]
        if plays:
            out["playCount"], out["played"] = plays[0], iso(plays[1])
        return out

    def album_plays(self, alb: Album) -> tuple[int, float] | None:
        got = [self.plays[s.path] for s in alb.songs if s.path in self.plays]
        return (sum(n for n, _ in got), max(t for _, t in got)) if got else None


def song_entry(s: Song, ud: UserData | None) -> dict:
    return song(s, ud.fields(item_key("song", s.path), ud.plays.get(s.path)) if ud else None)


def album_entry(alb: Album, ud: UserData | None, songs: bool = False) -> dict:
    out = {"id": alb.id, "name": alb.name, "title": alb.name, "album": alb.name, "isDir": True,
           "parent": alb.artist_id, "artist": alb.artist, "artistId": alb.artist_id, "coverArt": alb.id,
           "songCount": len(alb.songs), "duration": alb.duration, "created": iso(alb.created),
           "genre": alb.genre or None, "genres": [{"name": alb.genre}] if alb.genre else [],
           "artists": [{"id": alb.artist_id, "name": alb.artist}], "displayArtist": alb.artist,
           "isCompilation": False}
    if ud:
        out.update(ud.fields(item_key("album", alb.id), ud.album_plays(alb)))
        out.setdefault("playCount", 0)
    if songs:
        out["song"] = [song_entry(s, ud) for s in alb.songs]
    return out


def artist_entry(a: Artist, ud: UserData | None, albums: bool = False) -> dict:
    out = {"id": a.id, "name": a.name, "albumCount": len(a.albums), "coverArt": a.id,
           "roles": ["artist", "albumartist"] if a.albums else ["artist"]}
    if ud:
        out.update(ud.fields(item_key("artist", a.id)))
    if albums:
        out["album"] = [album_entry(al, ud) for al in a.albums]
    return out


def item_of(view: SubsonicView, item_id: str) -> tuple[str, str]:
    """(kind, key) of a song, album or artist id, for stars and ratings (error 70 for anything else)."""
    if item_id in view.songs:
        return "song", view.songs[item_id].path
    if item_id in view.albums:
        return "album", item_id
    view.artist(item_id)
    return "artist", item_id


def now() -> float:
    return time.time()
