"""`genrerec recommend / similar / profile / path`: the playlist commands.

Registered on the app in `cli.common`; history input is gathered by `playlists.history`, names
are shown as "Artist - Title" fitted to the terminal, playlists are written by
`playlists.formats` (M3U8, XSPF, JSON).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table
from typer.core import TyperCommand

from ..recommend.recommender import DEFAULT_MAX_PER_ARTIST, DEFAULT_TEMPERATURE
from ..safety import display
from ..safety import markup_escape as esc
from . import controls as opts
from .artists import artist_plays, print_similar_artists
from .common import _bar, _fail, _open, app, err, out, run
from .controls import (check_controls, controls, exclude_genre_opt, exclude_tag_opt, excluded_count,
                       max_duration_opt, max_per_album_opt, min_duration_opt, not_in_opt)


class MultiValue(TyperCommand):
    """Lets `--avoid a b c` (and -H, --listens) take several values: each
    following word up to the next option gets the option repeated."""

    multi = ("--history", "-H", "--avoid", "--listens", "--not-in")

    def parse_args(self, ctx, args):
        out, cur = [], None
        for a in args:
            if a.startswith("-"):
                cur = a if a in self.multi else None
                out.append(a)
            elif cur and out[-1] != cur:
                out += [cur, a]
            else:
                out.append(a)
        return super().parse_args(ctx, out)


def _history(rec, items: list[str], listens: list[Path] = (), what: str = "history"):
    """{track id: plays} from tracks, folders, playlists and listen exports, with one line per skip."""
    from ..playlists.history import HistoryInput, gather

    users = [x for x in listens if str(x).startswith("subsonic:")]  # a `genrerec serve` user's scrobbles
    listens = [x for x in listens if not str(x).startswith("subsonic:")]
    h = run(lambda: gather(rec, items, listens)) if items or listens else HistoryInput()
    for u in users:
        from ..subsonic.history import subsonic_history

        got = run(lambda: subsonic_history(rec, u))
        err.print(f"{esc(u)}: {sum(got.values()):.0f} plays and stars of {len(got)} library tracks", highlight=False)
        for tid, w in got.items():
            h.add(tid, w)
    if users and not h.plays:
        _fail("no usable track in the history: " + ", ".join(map(str, users)) + " has no scrobbles or starred "
              "songs of tracks in this library")
    if h.skipped:
        more = f" and {len(h.skipped) - 3} more" if len(h.skipped) > 3 else ""
        err.print(f"warning: skipped {len(h.skipped)} {what} playlist entries not in the library "
                  f"({', '.join(h.skipped[:3])}{more})", highlight=False, markup=False, soft_wrap=True)
    if listens:
        err.print(f"listens: {h.matched} of {h.listens} matched {sum(1 for t in h.plays)} library tracks",
                  highlight=False, soft_wrap=True)
    return h.plays


def fit(text: str, width: int) -> str:
    """Shorten to `width` terminal cells (wide characters count two), keeping what tells tracks
    apart: for a path, the file name and as many folders above it as fit, shortened from the left
    (`…/album/track.ogg`); for other text ("Artist - Title"), an ellipsis a third of the way in."""
    from rich.cells import cell_len

    if cell_len(text) <= width:
        return text
    parts = text.split("/")
    if len(parts) > 1:
        tail = parts[-1]
        for p in reversed(parts[:-1]):
            if cell_len(f"…/{p}/{tail}") > width:
                break
            tail = f"{p}/{tail}"
        if tail != parts[-1]:
            return f"…/{tail}"
        both = f"{parts[-2]}/{parts[-1]}"  # not even the parent folder whole: as much of it as fits
        if cell_len(parts[-1]) + 3 <= width:
            return "…" + _right_cells(both, width - 1)
        if cell_len(parts[-1]) + 2 <= width:
            return f"…/{parts[-1]}"
        text = parts[-1]
    if width < 6:
        return _right_cells(text, width)
    head = (width - 1) // 3
    return _left_cells(text, head) + "…" + _right_cells(text, width - 1 - cell_len(_left_cells(text, head)))


def _left_cells(text: str, cells: int) -> str:
    from rich.cells import cell_len

    out = ""
    for ch in text:
        if cell_len(out + ch) > cells:
            break
        out += ch
    return out


def _right_cells(text: str, cells: int) -> str:
    return _left_cells(text[::-1], cells)[::-1]


def genre_cell(r, n_tags: int = 2) -> str:
    """What a pick's genre column shows: its readable tags first, then the genre call ("ambient, chill ·
    uncertain", "rock, guitar · rock 91%")."""
    from ..models.space import UNCERTAIN, genre_text, readable_tags, tags_then_genre

    call = UNCERTAIN if r.label == UNCERTAIN else genre_text(r.label, r.genres)
    return tags_then_genre(readable_tags(r.tags, n_tags), call)


def _print_recs(rec, recs, as_json: bool, title: str, score: str = "score") -> None:
    if as_json:
        print(json.dumps([{"path": str(r.path), "score": r.score, "genre": r.label,
                           "genres": dict(list(r.genres.items())[:3]),
                           "because": str(r.because) if r.because else None, "taste": r.taste,
                           "tags": dict(list(r.tags.items())[:3])} for r in recs],
                         indent=2))
        return
    from rich.cells import cell_len  # terminal cells: a Japanese name is twice as wide as its length

    w_genre = max(16, out.width // 3)  # tags give way first: the genre call is always shown
    genres = []
    for r in recs:
        cell = next((c for k in (2, 1) if cell_len(c := genre_cell(r, k)) <= w_genre), genre_cell(r, 0))
        genres.append(esc(cell))
    because = [rec.label(rec.id_of_path(r.because)) if r.because else "" for r in recs]
    labels = [rec.label(r.track_id) for r in recs]
    fixed = 16 + len(str(len(recs))) + 5 + max([cell_len(g) for g in genres] + [6])  # borders, '#', score, genres
    room = max(24, out.width - fixed)
    cols = ["#", "track", score, "tags · genre" if rec.tag_names else "genre"] + (["because of"] if any(because) else [])
    if not any(because):
        room += 3
    w_track = min(max([cell_len(x) for x in labels] + [5]), room * 3 // 5 if any(because) else room)
    w_because = min(max([cell_len(b) for b in because] + [10]), room - w_track)
    where = os.path.relpath(rec.root) if rec.root.is_relative_to(Path.cwd()) else str(rec.root)
    t = Table(title=esc(title), caption=f"in {esc(where)}")
    for col in cols:
        t.add_column(col, no_wrap=True)
    for i, (r, x, g, b) in enumerate(zip(recs, labels, genres, because), 1):
        row = [str(i), esc(fit(x, w_track)), f"{r.score:.3f}", g] + ([esc(fit(b, w_because))] if any(because) else [])
        t.add_row(*row)
    out.print(t)


@app.command(cls=MultiValue)
def recommend(
    tracks: Optional[List[str]] = typer.Argument(None, help="Played tracks, folders or .m3u files.", show_default=False),
    history: List[str] = typer.Option([], "--history", "-H", help="More played tracks, folders or .m3u files "
                                      "(-H a b, or repeated).", show_default=False),
    listens: List[Path] = typer.Option([], "--listens", help="ListenBrainz listens export (JSON lines) or Last.fm "
                                       "scrobble CSV: matched by artist and title, play counts as weights; or "
                                       "subsonic:NAME, the scrobbles and stars of a `genrerec serve` user.",
                                       show_default=False),
    avoid: List[str] = typer.Option([], "--avoid", help="Skipped or disliked tracks (folders, .m3u): never picked, "
                                    "and picks steer away from them.", show_default=False),
    artist: List[str] = typer.Option([], "--artist", help="Artist radio: this artist's tracks (artist tag, any "
                                     "case) are the history, so picks are music like theirs; their own tracks "
                                     "are left out unless --include-history. Repeatable.", show_default=False),
    n: int = typer.Option(20, "--n", "-n", help="Playlist length."),
    temperature: float = typer.Option(DEFAULT_TEMPERATURE, "--temperature", "-t",
                                      help="0 = closest matches; higher = more variety."),
    max_per_artist: int = typer.Option(DEFAULT_MAX_PER_ARTIST, help="Tracks per artist (tags) before other "
                                       "artists are preferred; 0 = no cap."),
    min_duration: Optional[float] = min_duration_opt(),
    max_duration: Optional[float] = max_duration_opt(),
    exclude_tag: List[str] = exclude_tag_opt(),
    exclude_genre: List[str] = exclude_genre_opt(),
    max_per_album: int = max_per_album_opt(),
    not_in: List[Path] = not_in_opt(),
    order: str = typer.Option("mix", help="'mix' (tastes interleaved, best first) or 'smooth' (each track close "
                              "to the one before: no jarring jumps)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the playlist here."),
    fmt: Optional[str] = typer.Option(None, "--format", help="m3u8, xspf or json (default: from the --output "
                                      "suffix, else m3u8)."),
    absolute: bool = typer.Option(False, help="Absolute paths in the playlist (default: relative to it)."),
    seed: Optional[int] = typer.Option(None, help="Seed for reproducible playlists."),
    include_history: bool = typer.Option(False, help="Allow history tracks in the playlist."),
    library: Optional[Path] = typer.Option(None, help="Library folder (default: found from the tracks)."),
    db: Optional[Path] = typer.Option(None, help="Catalog folder."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Recommend a playlist from a listening history: `genrerec recommend a.ogg b.flac -o mix.m3u8`."""
    from ..playlists.history import playlist_tracks

    opts.check_picking(n, temperature)
    if order not in ("mix", "smooth"):
        _fail(f"--order must be 'mix' or 'smooth', got {order!r}")
    _check_format(fmt, output)
    if max_per_artist < 0:
        _fail(f"--max-per-artist must be 0 (no cap) or more, got {max_per_artist}")
    check_controls(min_duration, max_duration, max_per_album)
    items = list(tracks or []) + list(history)
    if not items and not listens and not artist:
        _fail("no history: give played tracks (genrerec recommend a.mp3 b.flac), -H played.m3u, --listens FILE "
              "or --artist NAME")
    rec = _open(library, db, playlist_tracks(items) + [Path(a) for a in avoid])
    plays = _history(rec, items, listens) if items or listens else {}
    for tid, w in artist_plays(rec, artist).items():
        plays[tid] = plays.get(tid, 0.0) + w
    banned = _history(rec, avoid, what="--avoid") if avoid else None
    kw = controls(rec, min_duration, max_duration, exclude_tag, exclude_genre, max_per_album, not_in)
    recs = run(lambda: rec.recommend(plays, n=n, temperature=temperature, exclude_history=not include_history,
                                     seed=seed, avoid=banned, max_per_artist=max_per_artist or None, **kw))
    _never_empty(recs, rec, kw)
    if order == "smooth":
        recs = smooth(rec, recs)
    _print_recs(rec, recs, as_json, f"{len(recs)} tracks, temperature {temperature:g}")
    if len(recs) < n:
        left_out = len(plays) if not include_history else 0
        filtered = excluded_count(rec, kw)
        err.print(f"only {len(recs)} of {n} tracks possible: the library has {len(rec)} usable tracks"
                  + (f", {left_out} in the history" if left_out else "")
                  + (f", {len(banned)} avoided" if banned else "")
                  + (f", {filtered} left out by the filters" if filtered else "")
                  + (f", {sum(len(g) - 1 for g in rec.duplicates)} duplicate copies" if rec.duplicates else ""),
                  highlight=False, soft_wrap=True)
    if output:
        _write_playlist(rec, output, recs, absolute, fmt, as_json)


def _never_empty(recs, rec, kw: dict | None = None) -> None:
    """An empty result while the catalog holds tracks is an error, never a silent empty playlist."""
    if recs:
        return
    left_out = excluded_count(rec, kw) if kw else 0
    if left_out:
        _fail(f"no track to offer: the filters (--min/--max-duration, --exclude-tag, --exclude-genre, --not-in) "
              f"leave out {left_out} of the {len(rec)} indexed tracks and the rest are in the history or avoided; "
              "loosen them")
    if len(rec):
        _fail(f"no track to offer: none of the {len(rec)} indexed tracks outside the history is on disk any more; "
              "run `genrerec index` to update the catalog")


def _check_format(fmt: Optional[str], output: Optional[Path] = None) -> None:
    from ..playlists.formats import FORMATS, check_output

    if fmt is not None and fmt not in FORMATS:
        _fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if output is not None:
        try:
            check_output(output, fmt)
        except ValueError as e:
            _fail(f"--output {display(e)}")


def smooth(rec, recs):
    """The same picks as a nearest-neighbour tour from the first (`--order smooth`)."""
    from ..recommend.paths import smooth_order

    rows = smooth_order(rec.vectors, [rec.row_of[r.track_id] for r in recs])
    by_row = {rec.row_of[r.track_id]: r for r in recs}
    return [by_row[r] for r in rows]


def _write_playlist(rec, output: Path, recs, absolute: bool, fmt: Optional[str], quiet: bool) -> None:
    from ..playlists.formats import Entry, entries_written, format_for, write_playlist

    if os.path.isdir(output):
        _fail(f"--output {display(output)}: is a folder; give a file name, e.g. {display(output / 'playlist.m3u8')}")
    entries = [Entry(r.path, rec.info[r.track_id].artist, rec.info[r.track_id].title, rec.info[r.track_id].duration,
                     r.score) for r in recs]
    written = entries_written(output, entries, not absolute, fmt)
    try:
        write_playlist(output, entries, relative=not absolute, fmt=fmt)
    except OSError as e:
        _fail(f"--output {display(output)}: cannot write the playlist ({e.strerror or e})")
    left = len(entries) - written  # the count actually written, never the count asked for
    why = f"; {left} left out: their names cannot be one M3U line (--format xspf keeps them)" if left else ""
    (err if quiet else out).print(f"wrote {esc(output)} ({written} tracks, {format_for(output, fmt)}{esc(why)})",
                                  highlight=False)


@app.command()
def similar(
    track: Optional[Path] = typer.Argument(None, help="A track in an indexed library.", show_default=False),
    artist: Optional[str] = typer.Option(None, "--artist", help="Similar artists instead: the artists whose "
                                         "tracks' mean vector is closest to this artist's, with score and track "
                                         "count.", show_default=False),
    n: int = typer.Option(10, "--n", "-n", help="How many tracks (or artists)."),
    min_duration: Optional[float] = min_duration_opt(),
    max_duration: Optional[float] = max_duration_opt(),
    exclude_tag: List[str] = exclude_tag_opt(),
    exclude_genre: List[str] = exclude_genre_opt(),
    max_per_album: int = max_per_album_opt(),
    not_in: List[Path] = not_in_opt(),
    library: Optional[Path] = typer.Option(None, help="Library folder (default: found from the track)."),
    db: Optional[Path] = typer.Option(None, help="Catalog folder."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Tracks most similar to one track (one copy of each recording, at most --max-per-album per album),
    or with --artist NAME the most similar artists."""
    opts.check_picking(n)
    if (track is None) == (artist is None):
        _fail("give one track (genrerec similar song.mp3) or --artist NAME" + (", not both" if track else ""))
    check_controls(min_duration, max_duration, max_per_album)
    if artist is not None:
        if min_duration is not None or max_duration is not None or exclude_tag or exclude_genre or not_in:
            _fail("--min/--max-duration, --exclude-tag, --exclude-genre and --not-in choose tracks; with --artist "
                  "leave them out")
        print_similar_artists(_open(library, db, []), artist, n, as_json)
        return
    rec = _open(library, db, [track])
    kw = controls(rec, min_duration, max_duration, exclude_tag, exclude_genre, max_per_album, not_in)
    recs = run(lambda: rec.similar(track, n, **kw))
    _never_empty(recs, rec, kw)
    _print_recs(rec, recs, as_json, f"similar to {rec.label(rec.resolve(track))}")


@app.command(cls=MultiValue)
def profile(
    tracks: Optional[List[str]] = typer.Argument(None, help="Played tracks, folders or .m3u files.", show_default=False),
    history: List[str] = typer.Option([], "--history", "-H", help="More played tracks, folders or .m3u files.",
                                      show_default=False),
    listens: List[Path] = typer.Option([], "--listens", help="ListenBrainz or Last.fm export (see recommend).",
                                       show_default=False),
    library: Optional[Path] = typer.Option(None, help="Library folder (default: found from the tracks)."),
    db: Optional[Path] = typer.Option(None, help="Catalog folder."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of bars."),
) -> None:
    """The listener's genre mix, and the distinct tastes in their history (named by their tags first)."""
    from ..models.space import readable_tag_scores
    from ..playlists.history import playlist_tracks

    items = list(tracks or []) + list(history)
    if not items and not listens:
        _fail("no history: give played tracks, -H played.m3u or --listens FILE")
    rec = _open(library, db, playlist_tracks(items))
    plays = _history(rec, items, listens)
    prof = run(lambda: rec.profile(plays))
    tags = run(lambda: rec.profile_tags(plays))
    tastes = run(lambda: rec.tastes(plays))
    if as_json:
        print(json.dumps({"genres": prof, "tags": tags,
                          "tastes": [{"share": t.share, "genres": dict(list(t.genres.items())[:3]),
                                      "tags": dict(list(t.tags.items())[:3]),
                                      "tracks": [str(p) for p in t.tracks]} for t in tastes]}, indent=2))
        return
    for g, p in prof.items():
        out.print(f"{esc(g):>12} {_bar(p)} {p:5.1%}")
    if tags:
        out.print("tags: " + ", ".join(f"{esc(t)} {p:.0%}" for t, p in readable_tag_scores(tags).items()),
                  highlight=False)
    out.print(f"\n{len(tastes)} taste(s): " + "; ".join(f"{t.share:.0%} {esc(taste_name(t))}" for t in tastes))


def taste_name(t) -> str:
    """A taste named by its readable tags first, then its two top genres ("ambient, chill · classical/jazz")."""
    from ..models.space import readable_tags, tags_then_genre

    return tags_then_genre(readable_tags(t.tags, 2), "/".join(list(t.genres)[:2]))


@app.command()
def path(
    start: Path = typer.Argument(..., help="The track the path starts from."),
    end: Path = typer.Argument(..., help="The track it arrives at."),
    n: int = typer.Option(12, "--n", "-n", help="Tracks on the path, both ends included."),
    min_duration: Optional[float] = min_duration_opt(),
    max_duration: Optional[float] = max_duration_opt(),
    exclude_tag: List[str] = exclude_tag_opt(),
    exclude_genre: List[str] = exclude_genre_opt(),
    max_per_album: int = max_per_album_opt(0),
    not_in: List[Path] = not_in_opt(),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the playlist here."),
    fmt: Optional[str] = typer.Option(None, "--format", help="m3u8, xspf or json (default: from the suffix)."),
    absolute: bool = typer.Option(False, help="Absolute paths in the playlist (default: relative to it)."),
    library: Optional[Path] = typer.Option(None, help="Library folder (default: found from the tracks)."),
    db: Optional[Path] = typer.Option(None, help="Catalog folder."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """A playlist that moves smoothly from one track to another through your library."""
    from ..recommend.paths import path_stats

    if n < 2:
        _fail(f"--n must be at least 2 (the two ends), got {n}")
    _check_format(fmt, output)
    check_controls(min_duration, max_duration, max_per_album)
    rec = _open(library, db, [start, end])
    kw = controls(rec, min_duration, max_duration, exclude_tag, exclude_genre, max_per_album, not_in)
    recs = run(lambda: rec.path(start, end, n, **kw))
    st = path_stats(rec.vectors, [rec.row_of[r.track_id] for r in recs])
    _print_recs(rec, recs, as_json, f"{len(recs)} tracks from {fit(rec.label(recs[0].track_id), 30)} "
                                    f"to {fit(rec.label(recs[-1].track_id), 30)}", score="step")
    (err if as_json else out).print(
        f"largest step {st.largest_step:.3f} (the direct jump: {st.direct_step:.3f}), mean step {st.mean_step:.3f}, "
        f"{st.monotone:.0%} of steps closer to the end", highlight=False, soft_wrap=True)
    if len(recs) < n:
        err.print(f"only {len(recs)} of {n} tracks: the library has no more tracks between these two "
                  "that keep moving toward the end", highlight=False)
    if output:
        _write_playlist(rec, output, recs, absolute, fmt, as_json)
