"""Browsing by tags (getArtists, getArtist, getAlbum, getSong, getGenres) and by folders
(getMusicFolders, getIndexes, getMusicDirectory)."""

from __future__ import annotations

from collections import Counter

from .library import IGNORED_ARTICLES, MUSIC_FOLDER_ID, ROOT_FOLDER_ID, Folder, sort_key
from .registry import Ctx, endpoint
from .responses import directory_child
from .shapes import UserData, album_entry, artist_entry, song_entry


def _letter(name: str) -> str:
    c = sort_key(name)[:1].upper()
    return c if c.isalpha() else "#"


def _indexed(items, name_of) -> list[dict]:
    groups: dict[str, list] = {}
    for it in sorted(items, key=lambda x: sort_key(name_of(x))):
        groups.setdefault(_letter(name_of(it)), []).append(it)
    return [{"name": k, "items": v} for k, v in sorted(groups.items())]


@endpoint("getMusicFolders")
def music_folders(ctx: Ctx) -> dict:
    return {"musicFolders": {"musicFolder": [{"id": MUSIC_FOLDER_ID, "name": ctx.lib.rec.root.name or "Music"}]}}


@endpoint("getIndexes")
def indexes(ctx: Ctx) -> dict:
    root = ctx.view.folder(ROOT_FOLDER_ID)
    ud = UserData(ctx)
    index = [{"name": g["name"], "artist": [{"id": f.id, "name": f.name} for f in g["items"]]}
             for g in _indexed(root.folders, lambda f: f.name)]
    return {"indexes": {"lastModified": int(ctx.view.generation_time * 1000), "ignoredArticles": IGNORED_ARTICLES,
                        "index": index, "child": [song_entry(s, ud) for s in root.songs]}}


def _directory(ctx: Ctx, f: Folder) -> dict:
    ud = UserData(ctx)
    children = [directory_child(c.id, f.id, c.name) for c in sorted(f.folders, key=lambda c: c.name.lower())]
    children += [song_entry(s, ud) for s in f.songs]
    out = {"id": f.id, "name": f.name, "child": children}
    if f.parent:
        out["parent"] = f.parent
    return out


@endpoint("getMusicDirectory")
def music_directory(ctx: Ctx) -> dict:
    fid = ctx.params.need("id")
    view = ctx.view
    if fid in view.albums:  # clients that mix the two models: an album is the folder of its first song
        fid = view.albums[fid].songs[0].parent
    return {"directory": _directory(ctx, view.folder(fid))}


@endpoint("getArtists")
def artists(ctx: Ctx) -> dict:
    ud = UserData(ctx)
    listed = [a for a in ctx.view.artists.values() if a.albums]
    index = [{"name": g["name"], "artist": [artist_entry(a, ud) for a in g["items"]]}
             for g in _indexed(listed, lambda a: a.name)]
    return {"artists": {"ignoredArticles": IGNORED_ARTICLES, "index": index}}


@endpoint("getArtist")
def artist(ctx: Ctx) -> dict:
    return {"artist": artist_entry(ctx.view.artist(ctx.params.need("id")), UserData(ctx), albums=True)}


@endpoint("getAlbum")
def album(ctx: Ctx) -> dict:
    return {"album": album_entry(ctx.view.album(ctx.params.need("id")), UserData(ctx), songs=True)}


@endpoint("getSong")
def get_song(ctx: Ctx) -> dict:
    return {"song": song_entry(ctx.view.song(ctx.params.need("id")), UserData(ctx))}


@endpoint("getGenres")
def genres(ctx: Ctx) -> dict:
    view = ctx.view
    songs = Counter(s.genre for s in view.songs.values() if s.genre)
    albums = Counter(a.genre for a in view.albums.values() if a.genre)
    return {"genres": {"genre": [{"value": g, "songCount": n, "albumCount": albums.get(g, 0)}
                                 for g, n in sorted(songs.items(), key=lambda x: x[0].lower())]}}


@endpoint("getArtistInfo2")
def artist_info2(ctx: Ctx) -> dict:
    """No biography or images (nothing is fetched from the internet) and no similar artists."""
    ctx.view.songs_of(ctx.params.need("id"))
    return {"artistInfo2": {}}


@endpoint("getArtistInfo")
def artist_info(ctx: Ctx) -> dict:
    ctx.view.songs_of(ctx.params.need("id"))
    return {"artistInfo": {}}


@endpoint("getAlbumInfo2", "getAlbumInfo")
def album_info(ctx: Ctx) -> dict:
    ctx.view.songs_of(ctx.params.need("id"))
    return {"albumInfo": {}}
