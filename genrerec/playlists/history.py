"""Listening history as people give it: tracks, folders, playlists, listen exports.

`gather` turns CLI-style inputs into {track id: plays} for a Recommender:
  * a track: must be indexed (a typo is an error, not a silent skip);
  * a folder: all its indexed tracks;
  * an .m3u/.m3u8: its entries; entries that are gone or not indexed are
    skipped and reported (an old playlist should still work);
  * a ListenBrainz / Last.fm export (`listens`): matched by tags, each
    matched listen one play.
Only a history with no usable track is an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..recommend.listens import match_listens, read_listens
from ..recommend.recommender import Recommender
from ..recommend.results import RecommendError
from .m3u import read_m3u


@dataclass
class HistoryInput:
    plays: dict[int, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # stale playlist entries
    listens: int = 0  # listens read from exports
    matched: int = 0  # ... of which matched a library track

    def add(self, tid: int, w: float = 1.0) -> None:
        self.plays[tid] = self.plays.get(tid, 0.0) + w


def is_playlist(p: str | os.PathLike) -> bool:
    return Path(p).suffix.lower() in (".m3u", ".m3u8")


def playlist_tracks(items: list[str]) -> list[Path]:
    """Tracks named directly or inside .m3u files (for finding the library before it is open)."""
    out: list[Path] = []
    for h in items:
        if is_playlist(h):
            try:
                out += read_m3u(h)
            except ValueError:
                continue
        else:
            out.append(Path(h))
    return out


def gather(rec: Recommender, items: list[str], listens: list[str | os.PathLike] = ()) -> HistoryInput:
    out = HistoryInput()
    for h in items:
        if is_playlist(h):
            try:
                entries = read_m3u(h)
            except ValueError as e:
                raise RecommendError(str(e)) from None
            for e in entries:
                try:
                    out.add(rec.resolve(e))
                except RecommendError:
                    out.skipped.append(str(e))
        elif os.path.isdir(os.path.expanduser(h)):
            found = rec.tracks_under(h)
            if not found:
                raise RecommendError(f"{h}: no indexed tracks in this folder")
            for tid in found:
                out.add(tid)
        else:
            out.add(rec.resolve(h))
    for f in listens:
        m = match_listens(read_listens(f), {i: (t.artist, t.title) for i, t in rec.info.items()})
        out.listens += m.listens
        out.matched += m.matched
        for tid, w in m.plays.items():
            out.add(tid, w)
    if not out.plays:
        why = []
        if out.skipped:
            why.append(f"{len(out.skipped)} playlist entries are not in the library")
        if listens:
            why.append(f"none of {out.listens} listens matched a library track by artist and title tags")
        if not why:
            raise RecommendError("history is empty: the playlists given list no tracks")
        raise RecommendError("no usable track in the history: " + "; ".join(why))
    return out
