"""Listening history from where people keep it: ListenBrainz and Last.fm exports.

Listens are matched to library tracks by artist and title tags, ignoring
case, accents, punctuation, "feat." credits and "(Remastered ...)" notes; each matched listen adds one
play to its track, so play counts become history weights.

  * ListenBrainz: the listens export, JSON lines (one listen per line) or a
    JSON array; artist and title under track_metadata.artist_name/track_name.
  * Last.fm: a scrobble CSV export, either headerless `artist,album,title,date`
    rows or with a header naming artist and title (track/song/name) columns.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..library.names import track_key


class ListensError(ValueError):
    """An export file that cannot be read; the message says which and why."""


@dataclass
class ListensMatch:
    plays: dict[int, float] = field(default_factory=dict)  # track id -> matched listens
    listens: int = 0
    matched: int = 0


def read_listens(path: str | os.PathLike) -> list[tuple[str, str]]:
    """(artist, title) of every listen in a ListenBrainz or Last.fm export."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8-sig", "replace")
    except OSError as e:
        raise ListensError(f"{p}: cannot read ({e.strerror})") from None
    head = text.lstrip()[:1]
    if head in ("{", "["):
        return _listenbrainz(p, text)
    return _lastfm(p, text)


def _listenbrainz(p: Path, text: str) -> list[tuple[str, str]]:
    try:
        items = json.loads(text) if text.lstrip().startswith("[") else [
            json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as e:
        raise ListensError(f"{p}: not a ListenBrainz export (bad JSON at line {e.lineno})") from None
    out = []
    for it in items:
        md = it.get("track_metadata", it) if isinstance(it, dict) else {}
        a, t = md.get("artist_name"), md.get("track_name")
        if isinstance(a, str) and isinstance(t, str):
            out.append((a, t))
    if items and not out:
        raise ListensError(f"{p}: no listens with track_metadata.artist_name and track_name")
    return out


def _lastfm(p: Path, text: str) -> list[tuple[str, str]]:
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if not rows:
        return []
    head = [c.strip().casefold() for c in rows[0]]
    artist_col = next((i for i, c in enumerate(head) if c in ("artist", "artist_name", "artist name")), None)
    title_col = next((i for i, c in enumerate(head) if c in ("title", "track", "song", "name", "track_name",
                                                               "track name")), None)
    if artist_col is not None and title_col is not None:
        rows = rows[1:]
    elif all(len(r) >= 3 for r in rows[:5]):
        artist_col, title_col = 0, 2  # headerless export: artist, album, title, date
    else:
        raise ListensError(f"{p}: not a Last.fm CSV (want artist,album,title,date rows or a header naming "
                           "artist and title columns) nor a ListenBrainz JSON export")
    return [(r[artist_col], r[title_col]) for r in rows if len(r) > max(artist_col, title_col)]


def match_listens(listens: list[tuple[str, str]], tags: dict[int, tuple[str | None, str | None]]) -> ListensMatch:
    """Count listens per library track; `tags` maps track id -> (artist, title)."""
    by_key: dict[tuple[str, str], int] = {}
    for tid, (a, t) in sorted(tags.items()):
        if a and t:
            by_key.setdefault(track_key(a, t), tid)
    counts: Counter[int] = Counter()
    for a, t in listens:
        tid = by_key.get(track_key(a, t))
        if tid is not None:
            counts[tid] += 1
    return ListensMatch({k: float(v) for k, v in counts.items()}, len(listens), sum(counts.values()))
