"""search3 / search2: words matched against title, artist and album (any case).

The empty query (`query=` or `query=""`) matches everything, in a stable order
(songs by path, albums and artists by name), so clients can sync a whole library
page by page with songOffset / albumOffset / artistOffset."""

from __future__ import annotations

from .library import sort_key
from .registry import Ctx, endpoint
from .shapes import UserData, album_entry, artist_entry, song_entry

MAX_PAGE = 5000


def _words(q: str | None) -> list[str]:
    q = (q or "").strip()
    if q in ('""', "''", "*"):
        q = ""
    return q.replace('"', " ").replace("*", " ").lower().split()


def _match(words: list[str], *fields: str) -> bool:
    text = " ".join(f for f in fields if f).lower()
    return all(w in text for w in words)


def _page(items: list, ctx: Ctx, kind: str, default: int) -> list:
    n = ctx.params.int(f"{kind}Count", default, 0, MAX_PAGE)
    off = ctx.params.int(f"{kind}Offset", 0)
    return items[off:off + n]


def search(ctx: Ctx) -> tuple[list, list, list, UserData]:
    view = ctx.view
    words = _words(ctx.params.get("query"))
    artists = sorted((a for a in view.artists.values() if a.albums and _match(words, a.name)),
                     key=lambda a: (sort_key(a.name), a.id))
    albums = sorted((a for a in view.albums.values() if _match(words, a.name, a.artist)),
                    key=lambda a: (sort_key(a.name), a.id))
    songs = sorted((s for s in view.songs.values() if _match(words, s.title, s.artist, s.album)),
                   key=lambda s: s.path) if words else view.songs_by_path
    return (_page(artists, ctx, "artist", 20), _page(albums, ctx, "album", 20), _page(songs, ctx, "song", 20),
            UserData(ctx))


@endpoint("search3")
def search3(ctx: Ctx) -> dict:
    artists, albums, songs, ud = search(ctx)
    return {"searchResult3": {"artist": [artist_entry(a, ud) for a in artists],
                              "album": [album_entry(a, ud) for a in albums],
                              "song": [song_entry(s, ud) for s in songs]}}


@endpoint("search2")
def search2(ctx: Ctx) -> dict:
    artists, albums, songs, ud = search(ctx)
    return {"searchResult2": {"artist": [{"id": a.id, "name": a.name} for a in artists],
                              "album": [album_entry(a, ud) for a in albums],
                              "song": [song_entry(s, ud) for s in songs]}}
