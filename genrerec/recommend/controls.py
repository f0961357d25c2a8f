"""Playlist controls: which tracks a playlist may hold at all, and how many per album.

The same `Controls` apply to `Recommender.recommend`, `similar` and `path`
(and so to the CLI, the web builder and MPD):

  * `min_duration` / `max_duration` (seconds, from the catalog): a track whose
    length is unknown is kept (decoders that cannot tell are not the user's fault).
  * `exclude_tags`: a track is excluded when the model scores the tag at least
    EXCLUDE_TAG_SCORE, or ranks it among the track's top EXCLUDE_TAG_RANK tags
    (MusiCNN's 50 MSD tags are sigmoid probabilities; 0.2 is above what most
    tracks score for a tag that does not describe them), or when the file's own
    genre tag names it (`--exclude-tag christmas` on a tagged library).
  * `exclude_genres`: the model's top genre for the track, or its genre tag.
  * `max_per_album`: picks per album (the album tag, else the parent folder
    if it holds at most ALBUM_FOLDER_MAX tracks), a soft cap like
    `max_per_artist`: broken only when nothing else is left.
  * `not_in`: track ids (e.g. read from earlier playlists by the caller):
    never picked, nor their duplicates, so successive playlists never repeat.
Tag and genre names match case-insensitively; genre tags split on ; , /.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .results import RecommendError, check_nonnegative

EXCLUDE_TAG_SCORE = 0.2  # tag probability at which a track counts as having the tag
EXCLUDE_TAG_RANK = 3  # ... or the tag is among its top this many
DEFAULT_MAX_PER_ALBUM = 2  # picks per album before other albums are preferred
ALBUM_FOLDER_MAX = 40  # an untagged folder with more tracks than this is not one album
_SPLIT = re.compile(r"\s*[;,/]\s*")


@dataclass
class Controls:
    """What a playlist may contain, beyond the history and avoided tracks."""

    min_duration: float | None = None
    max_duration: float | None = None
    exclude_tags: tuple[str, ...] = ()
    exclude_genres: tuple[str, ...] = ()
    max_per_album: int | None = DEFAULT_MAX_PER_ALBUM
    not_in: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for name in ("min_duration", "max_duration"):
            if getattr(self, name) is not None:
                setattr(self, name, check_nonnegative(getattr(self, name), name, " of seconds"))
        if self.min_duration is not None and self.max_duration is not None and self.min_duration > self.max_duration:
            raise RecommendError(f"min_duration ({self.min_duration:g} s) is above max_duration "
                                 f"({self.max_duration:g} s): no track could pass")
        if self.max_per_album is not None and (isinstance(self.max_per_album, bool) or int(self.max_per_album) < 1):
            raise RecommendError(f"max_per_album must be a whole number >= 1 (or None: no cap), got {self.max_per_album!r}")
        self.exclude_tags = tuple(_words(self.exclude_tags, "exclude_tags"))
        self.exclude_genres = tuple(_words(self.exclude_genres, "exclude_genres"))
        self.not_in = tuple(int(i) for i in self.not_in)

    def excluded(self, rec) -> set[int]:
        """Ids of the tracks in `rec` that no playlist made under these controls may hold."""
        out = {i for i in self.not_in if i in rec.row_of}  # PickFilter bans their duplicates too
        lo, hi = self.min_duration, self.max_duration
        if lo is not None or hi is not None:
            for tid, t in rec.info.items():
                d = t.duration
                if d is not None and ((lo is not None and d < lo) or (hi is not None and d > hi)):
                    out.add(tid)
        if self.exclude_tags:
            out |= _tagged(rec, self.exclude_tags)
        if self.exclude_genres:
            want = set(self.exclude_genres)
            known = [i for i, g in enumerate(rec.genres) if g.casefold() in want]
            if known:
                top = np.argmax(rec.genre_vectors, axis=1)
                out |= {int(rec.ids[r]) for r in np.flatnonzero(np.isin(top, known))}
            out |= _genre_tagged(rec, want)
        return out

    def unmatched(self, rec) -> list[str]:
        """Excluded tags and genres that match no track (a typo, or a word neither the model nor the tags use)."""
        tags = [t for t in self.exclude_tags if not _tagged(rec, (t,))]
        genres = [g for g in self.exclude_genres
                  if g not in {x.casefold() for x in rec.genres} and not _genre_tagged(rec, {g})]
        return tags + genres


def _words(values: Iterable[str] | str, name: str) -> list[str]:
    if isinstance(values, str):
        values = [values]
    out = []
    for v in values:
        if not isinstance(v, str) or not v.strip():
            raise RecommendError(f"{name}: every entry must be a non-empty word, got {v!r}")
        out.append(v.strip().casefold())
    return out


def genre_tags(rec, tid: int) -> set[str]:
    """The file's own genre tag, split into its values, case-folded."""
    g = rec.genre_tags.get(tid)
    return {x.casefold() for x in _SPLIT.split(g) if x} if g else set()


def _genre_tagged(rec, words: set[str]) -> set[int]:
    return {tid for tid in rec.genre_tags if genre_tags(rec, tid) & words}


def _tagged(rec, words: Iterable[str]) -> set[int]:
    """Tracks the model tags with any of `words` (see EXCLUDE_TAG_SCORE), or whose genre tag names one."""
    words = set(words)
    out = _genre_tagged(rec, words)
    cols = [i for i, t in enumerate(rec.tag_names) if t.casefold() in words]
    if cols and rec.tag_vectors is not None:
        tv = rec.tag_vectors
        k = min(EXCLUDE_TAG_RANK, tv.shape[1])
        top = np.argpartition(-tv, k - 1, axis=1)[:, :k]
        hit = (tv[:, cols] >= EXCLUDE_TAG_SCORE).any(axis=1) | np.isin(top, cols).any(axis=1)
        out |= {int(rec.ids[r]) for r in np.flatnonzero(hit)}
    return out


def album_keys(ids, rels: list[bytes], albums: dict[int, str]) -> dict[int, str]:
    """What counts as one album, by track id: the album tag, else the parent
    folder when it holds at most ALBUM_FOLDER_MAX tracks directly (a folder of
    hundreds, such as a genre folder, is a collection, not an album: no cap; nor
    is the library folder itself)."""
    folders = [os.path.dirname(os.fsdecode(r)) for r in rels]
    size = Counter(folders)
    out = {}
    for tid, folder in zip(ids, folders):
        tid = int(tid)
        a = albums.get(tid)
        if a and a.strip():
            out[tid] = "tag:" + a.strip().casefold()
        elif folder and size[folder] <= ALBUM_FOLDER_MAX:  # the library's own folder is no album
            out[tid] = "dir:" + folder
    return out
