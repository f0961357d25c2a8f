"""The playlist-control options every playlist command shares (recommend,
similar, path, mix, mpd ...): one definition of each option, and the step that
turns them into `Recommender` keyword arguments (reading --not-in playlists)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import List, Optional

import typer

from ..recommend.controls import DEFAULT_MAX_PER_ALBUM, EXCLUDE_TAG_SCORE
from ..safety import display
from .common import _fail, err, run


def min_duration_opt():
    return typer.Option(None, "--min-duration", help="Leave out tracks shorter than this many seconds.",
                        show_default=False)


def max_duration_opt():
    return typer.Option(None, "--max-duration", help="Leave out tracks longer than this many seconds.",
                        show_default=False)


def exclude_tag_opt():
    return typer.Option([], "--exclude-tag", help=f"Leave out tracks with this style/mood tag (model score >= "
                        f"{EXCLUDE_TAG_SCORE:g} or among their top 3 tags) or with it in their genre tag, "
                        "e.g. christmas. Repeatable.", show_default=False)


def exclude_genre_opt():
    return typer.Option([], "--exclude-genre", help="Leave out tracks of this genre (the model's top genre, or "
                        "the file's genre tag). Repeatable.", show_default=False)


def max_per_album_opt(default: int = DEFAULT_MAX_PER_ALBUM):
    return typer.Option(default, "--max-per-album", help="Tracks per album (album tag, else folder) before other "
                        "albums are preferred; 0 = no cap.")


def not_in_opt():
    return typer.Option([], "--not-in", help="Nothing already in this playlist (M3U/M3U8/XSPF/JSON): no repeats "
                        "across successive playlists. Repeatable.", show_default=False)


def check_picking(n: Optional[int] = None, temperature: Optional[float] = None,
                  max_per_artist: Optional[int] = None) -> None:
    """Playlist length, temperature and artist cap (those given) checked in one line each."""
    if n is not None and n <= 0:
        _fail(f"--n must be at least 1, got {n}")
    if temperature is not None and (not math.isfinite(temperature) or temperature < 0):
        _fail(f"--temperature must be a finite number >= 0, got {temperature}")
    if max_per_artist is not None and max_per_artist < 0:
        _fail(f"--max-per-artist must be 0 (no cap) or more, got {max_per_artist}")


def check_controls(min_duration: Optional[float], max_duration: Optional[float], max_per_album: int) -> None:
    """Bad values get one line naming the option, before any library is opened."""
    for name, v in (("--min-duration", min_duration), ("--max-duration", max_duration)):
        if v is not None and (not math.isfinite(v) or v < 0):
            _fail(f"{name} must be a number of seconds >= 0, got {v}")
    if min_duration is not None and max_duration is not None and min_duration > max_duration:
        _fail(f"--min-duration {min_duration:g} is above --max-duration {max_duration:g}: no track could pass")
    if max_per_album < 0:
        _fail(f"--max-per-album must be 0 (no cap) or more, got {max_per_album}")


def not_in_ids(rec, files: List[Path]) -> list[int]:
    """Catalog ids of the tracks listed in --not-in playlists (entries not in the library are ignored)."""
    from ..playlists.readers import read_playlist
    from ..recommend.results import RecommendError

    ids: list[int] = []
    for f in files:
        try:
            entries = read_playlist(f)
        except ValueError as e:
            _fail(f"--not-in {e}")
        for p in entries:
            try:
                ids.append(rec.resolve(p))
            except RecommendError:
                continue
    return ids


def controls(rec, min_duration: Optional[float], max_duration: Optional[float], exclude_tag: List[str],
             exclude_genre: List[str], max_per_album: int, not_in: List[Path]) -> dict:
    """Keyword arguments for Recommender.recommend / similar / path, with a warning for names that match nothing."""
    from ..recommend.controls import Controls

    kw = dict(min_duration=min_duration, max_duration=max_duration, exclude_tags=tuple(exclude_tag),
              exclude_genres=tuple(exclude_genre), max_per_album=max_per_album or None,
              not_in=tuple(not_in_ids(rec, not_in)))
    unmatched = run(lambda: Controls(**kw).unmatched(rec))
    if unmatched:
        err.print(f"warning: {', '.join(display(w) for w in unmatched)}: no track has this tag or genre "
                  "(nothing excluded for it)", highlight=False, markup=False, soft_wrap=True)
    return kw


def excluded_count(rec, kw: dict) -> int:
    """How many tracks the controls leave out (for 'only k of n' messages)."""
    from ..recommend.controls import Controls

    return len(Controls(**kw).excluded(rec))
