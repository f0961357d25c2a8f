"""The library as Subsonic sees it: artists, albums, folders and songs, from the catalog's tags.

Artists and albums come from tags; a file without them falls back to its folders
(`Artist/Album/track.flac`: the album is the folder, the artist the folder above,
or an "Artist - Title" file name). A song's genre is its file's genre tag, else the
model's genre call when it is confident, else the track's strongest style tag (never
"uncertain", never a confident-looking wrong genre): untagged libraries still browse by
genre (getGenres, getSongsByGenre). The OpenSubsonic `genres` list is the style tags
first, then the call when confident, then the file's genre tag.

Ids are opaque: "tr-<catalog id>" for songs, "al-"/"ar-"/"dir-" plus a hash of the
name for albums, artists and folders (stable across catalog rebuilds). No id is
ever a path, so no request parameter can name a file outside the catalog.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ..media.transcode import media_type
from ..models.space import UNCERTAIN
from .responses import NOT_FOUND, Song, SubsonicError

UNKNOWN_ARTIST = "[Unknown Artist]"
UNKNOWN_ALBUM = "[Unknown Album]"
ROOT_FOLDER_ID = "dir-root"
MUSIC_FOLDER_ID = 1
IGNORED_ARTICLES = "The El La Los Las Le Les"


def opaque(prefix: str, *parts: str) -> str:
    h = hashlib.sha1("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"{prefix}-{h}"


def folder_id(rel_folder: str) -> str:
    return ROOT_FOLDER_ID if rel_folder in ("", ".") else opaque("dir", rel_folder)


def sort_key(name: str) -> str:
    low = name.lower()
    for a in IGNORED_ARTICLES.lower().split():
        if low.startswith(a + " "):
            return low[len(a) + 1:]
    return low


@dataclass
class Album:
    id: str
    name: str
    artist: str
    artist_id: str
    songs: list[Song] = field(default_factory=list)
    genre: str = ""
    created: float = 0.0

    @property
    def duration(self) -> int:
        return int(round(sum(s.duration for s in self.songs)))


@dataclass
class Artist:
    id: str
    name: str
    albums: list[Album] = field(default_factory=list)


@dataclass
class Folder:
    id: str
    name: str
    rel: str
    parent: str | None
    folders: list["Folder"] = field(default_factory=list)
    songs: list[Song] = field(default_factory=list)


def _first(tag: str | None) -> str:
    return (tag or "").split(";")[0].strip()


def song_genres(genre_tag: str, call: str, style: list[str]) -> tuple[str, tuple[str, ...]]:
    """(genre, genres) of a song: the file's genre tag, else the model's call unless "uncertain", else the
    strongest style tag; the list: style tags first, then the confident call, then the genre tag."""
    confident = call if call and call != UNCERTAIN else ""
    genre = genre_tag or confident or (style[0] if style else "")
    genres: dict[str, str] = {}  # by lower case: one entry per genre, first spelling kept
    for g in (*style, confident, genre_tag):
        if g:
            genres.setdefault(g.lower(), g)
    return genre, tuple(genres.values())


class SubsonicView:
    """Artists, albums, folders and songs of one catalog generation (built on the library worker thread)."""

    def __init__(self, lib):
        rec = lib.rec
        self.generation = lib.generation
        self.generation_time = time.time()
        extra = {r[0]: r[1:] for r in rec.catalog.db.execute(
            "SELECT id, genre_tag, size, indexed_at FROM tracks WHERE status='ok'")}
        self.songs: dict[str, Song] = {}
        self.by_track: dict[int, Song] = {}
        albums: dict[str, Album] = {}
        for row, t in enumerate(lib.tracks):
            genre_tag, size, indexed = extra.get(t.id, (None, 0, 0.0))
            rel = PurePosixPath(t.rel)
            folder = str(rel.parent) if str(rel.parent) != "." else ""
            info = rec.info.get(t.id)
            artist = _first(t.artist) or (info.artist if info and info.artist else "")
            title = _first(t.title) or (info.title if info and info.title else "") or rel.stem
            album_name = _first(t.album) or (rel.parent.name if folder else UNKNOWN_ALBUM)
            if not artist:
                artist = rel.parent.parent.name if len(rel.parts) >= 3 else UNKNOWN_ARTIST
            genre, genres = song_genres(_first(genre_tag), t.genre, lib.style(row))
            akey = opaque("al", album_name.lower(), folder)
            alb = albums.setdefault(akey, Album(akey, album_name, "", ""))
            s = Song(id=f"tr-{t.id}", title=title, artist=artist, artist_id=opaque("ar", artist.lower()),
                     album=album_name, album_id=akey, parent=folder_id(folder), genre=genre, path=t.rel,
                     suffix=rel.suffix.lstrip(".").lower(), content_type=media_type(t.rel), size=int(size or 0),
                     duration=float(t.duration or 0.0), created=float(indexed or 0.0), track_id=t.id,
                     genres=genres)
            alb.songs.append(s)
            self.songs[s.id] = s
            self.by_track[t.id] = s
        self.albums: dict[str, Album] = {}
        self.artists: dict[str, Artist] = {}
        for alb in albums.values():
            alb.songs.sort(key=lambda s: s.path)
            names = Counter(s.artist for s in alb.songs)
            alb.artist = names.most_common(1)[0][0]
            alb.artist_id = opaque("ar", alb.artist.lower())
            alb.genre = Counter(s.genre for s in alb.songs).most_common(1)[0][0]
            alb.created = max(s.created for s in alb.songs)
            self.albums[alb.id] = alb
            self.artists.setdefault(alb.artist_id, Artist(alb.artist_id, alb.artist)).albums.append(alb)
        for s in self.songs.values():  # artists who appear only as track artists of others' albums
            self.artists.setdefault(s.artist_id, Artist(s.artist_id, s.artist))
        for a in self.artists.values():
            a.albums.sort(key=lambda al: sort_key(al.name))
        self.songs_by_path = sorted(self.songs.values(), key=lambda s: s.path)
        self.by_path = {s.path: s for s in self.songs_by_path}
        self._folders()

    def _folders(self) -> None:
        self.folders: dict[str, Folder] = {ROOT_FOLDER_ID: Folder(ROOT_FOLDER_ID, "Music", "", None)}
        for s in sorted(self.songs.values(), key=lambda s: s.path):
            parts = PurePosixPath(s.path).parts[:-1]
            parent = self.folders[ROOT_FOLDER_ID]
            for i in range(len(parts)):
                rel = "/".join(parts[:i + 1])
                fid = folder_id(rel)
                if fid not in self.folders:
                    f = Folder(fid, parts[i], rel, parent.id)
                    self.folders[fid] = f
                    parent.folders.append(f)
                parent = self.folders[fid]
            parent.songs.append(s)

    # --- lookups: a missing id is error 70 ---
    def song(self, sid: str) -> Song:
        s = self.songs.get(sid)
        if s is None:
            raise SubsonicError(NOT_FOUND, f"song {sid!r} not found")
        return s

    def album(self, aid: str) -> Album:
        a = self.albums.get(aid)
        if a is None:
            raise SubsonicError(NOT_FOUND, f"album {aid!r} not found")
        return a

    def artist(self, aid: str) -> Artist:
        a = self.artists.get(aid)
        if a is None:
            raise SubsonicError(NOT_FOUND, f"artist {aid!r} not found")
        return a

    def folder(self, fid: str) -> Folder:
        f = self.folders.get(fid)
        if f is None:
            raise SubsonicError(NOT_FOUND, f"directory {fid!r} not found")
        return f

    def songs_of(self, item_id: str) -> list[Song]:
        """The songs an id stands for: a song, an album, an artist (all their songs) or a folder."""
        if item_id in self.songs:
            return [self.songs[item_id]]
        if item_id in self.albums:
            return list(self.albums[item_id].songs)
        if item_id in self.artists:
            return self.artist_songs(item_id)
        if item_id in self.folders:
            return list(self.folders[item_id].songs)
        raise SubsonicError(NOT_FOUND, f"{item_id!r} not found")

    def artist_songs(self, artist_id: str) -> list[Song]:
        return [s for s in self.songs.values() if s.artist_id == artist_id] or \
            [s for a in self.artist(artist_id).albums for s in a.songs]

    def rel_of(self, s: Song) -> bytes:
        return os.fsencode(s.path)
