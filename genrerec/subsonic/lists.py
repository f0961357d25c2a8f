"""Lists: getAlbumList2 / getAlbumList, getRandomSongs, getSongsByGenre, getStarred2 / getStarred."""

from __future__ import annotations

import random

from .library import sort_key
from .registry import Ctx, endpoint
from .responses import MISSING_PARAMETER, SubsonicError
from .shapes import UserData, album_entry, artist_entry, song_entry
from .users import item_key

MAX_LIST = 500
LIST_TYPES = ("random", "newest", "alphabeticalByName", "alphabeticalByArtist", "frequent", "recent", "byGenre",
              "starred", "byYear", "highest")


def album_list(ctx: Ctx) -> tuple[list, UserData]:
    view, p = ctx.view, ctx.params
    kind = p.need("type")
    size = p.int("size", 10, 1, MAX_LIST)
    offset = p.int("offset", 0)
    ud = UserData(ctx)
    albums = list(view.albums.values())
    if kind == "random":
        return random.sample(albums, min(size, len(albums))), ud
    if kind == "newest":
        albums.sort(key=lambda a: (-a.created, sort_key(a.name)))
    elif kind == "alphabeticalByName":
        albums.sort(key=lambda a: (sort_key(a.name), a.id))
    elif kind == "alphabeticalByArtist":
        albums.sort(key=lambda a: (sort_key(a.artist), sort_key(a.name), a.id))
    elif kind in ("frequent", "recent"):
        played = [(ud.album_plays(a), a) for a in albums]
        played = [(pl, a) for pl, a in played if pl]
        played.sort(key=lambda x: (-x[0][0 if kind == "frequent" else 1], sort_key(x[1].name)))
        albums = [a for _, a in played]
    elif kind == "byGenre":
        genre = p.get("genre")
        if not genre:
            raise SubsonicError(MISSING_PARAMETER, "required parameter is missing: genre (for type=byGenre)")
        albums = sorted((a for a in albums if a.genre.lower() == genre.lower()), key=lambda a: sort_key(a.name))
    elif kind == "starred":
        albums = sorted((a for a in albums if item_key("album", a.id) in ud.stars),
                        key=lambda a: sort_key(a.name))
    elif kind == "highest":
        albums = sorted((a for a in albums if item_key("album", a.id) in ud.ratings),
                        key=lambda a: -ud.ratings[item_key("album", a.id)])
    elif kind == "byYear":
        albums = []  # the catalog keeps no years
    else:
        raise SubsonicError(0, f"type {kind[:40]!r} is not one of: {', '.join(LIST_TYPES)}")
    return albums[offset:offset + size], ud


@endpoint("getAlbumList2")
def album_list2(ctx: Ctx) -> dict:
    albums, ud = album_list(ctx)
    return {"albumList2": {"album": [album_entry(a, ud) for a in albums]}}


@endpoint("getAlbumList")
def album_list1(ctx: Ctx) -> dict:
    albums, ud = album_list(ctx)
    return {"albumList": {"album": [album_entry(a, ud) for a in albums]}}


@endpoint("getRandomSongs")
def random_songs(ctx: Ctx) -> dict:
    size = ctx.params.int("size", 10, 1, MAX_LIST)
    genre = (ctx.params.get("genre") or "").lower()
    songs = [s for s in ctx.view.songs.values() if not genre or s.genre.lower() == genre]
    ud = UserData(ctx)
    return {"randomSongs": {"song": [song_entry(s, ud) for s in random.sample(songs, min(size, len(songs)))]}}


@endpoint("getSongsByGenre")
def songs_by_genre(ctx: Ctx) -> dict:
    genre = ctx.params.need("genre").lower()
    count = ctx.params.int("count", 10, 1, MAX_LIST)
    offset = ctx.params.int("offset", 0)
    songs = [s for s in ctx.view.songs_by_path if s.genre.lower() == genre]
    ud = UserData(ctx)
    return {"songsByGenre": {"song": [song_entry(s, ud) for s in songs[offset:offset + count]]}}


def starred(ctx: Ctx) -> dict:
    view, ud = ctx.view, UserData(ctx)
    by_path = {s.path: s for s in view.songs.values()}
    songs, albums, artists = [], [], []
    for item in ud.stars:
        kind, _, key = item.partition(":")
        if kind == "song" and key in by_path:
            songs.append(song_entry(by_path[key], ud))
        elif kind == "album" and key in view.albums:
            albums.append(album_entry(view.albums[key], ud))
        elif kind == "artist" and key in view.artists:
            artists.append(artist_entry(view.artists[key], ud))
    return {"artist": artists, "album": albums, "song": songs}


@endpoint("getStarred2")
def starred2(ctx: Ctx) -> dict:
    return {"starred2": starred(ctx)}


@endpoint("getStarred")
def starred1(ctx: Ctx) -> dict:
    return {"starred": starred(ctx)}
