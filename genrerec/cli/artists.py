"""Artists on the command line: `recommend --artist NAME` (artist radio: the
artist's tracks are the history) and `similar --artist NAME` (similar artists).

Kept apart from `playlists` (the track commands), which calls these helpers."""

from __future__ import annotations

import json
from typing import List

from rich.table import Table

from ..safety import markup_escape as esc
from .common import _fail, out, run


def artist_plays(rec, names: List[str]) -> dict[int, float]:
    """{track id: 1} for every track of the named artists (one line listing close names for an unknown one)."""
    plays: dict[int, float] = {}
    for name in names:
        for tid in run(lambda: rec.artist_tracks(name)):
            plays[tid] = plays.get(tid, 0.0) + 1.0
    return plays


def print_similar_artists(rec, name: str, n: int, as_json: bool) -> None:
    """`similar --artist`: the closest artists, with their similarity and track count."""
    got = run(lambda: rec.similar_artists(name, n))
    own = rec.artist_name(rec.artist_tracks(name))
    if not got:
        _fail(f"{own} is the only artist in the library: no other artist to compare with")
    if as_json:
        print(json.dumps([{"artist": a.artist, "score": a.score, "tracks": a.tracks} for a in got], indent=2))
        return
    t = Table(title=esc(f"artists similar to {own}"))
    for col in ("#", "artist", "score", "tracks"):
        t.add_column(col, no_wrap=col != "artist")
    for i, a in enumerate(got, 1):
        t.add_row(str(i), esc(a.artist), f"{a.score:.3f}", str(a.tracks))
    out.print(t)
