"""`genrerec mix / clusters`: playlists that start from tags or from the
library's own structure rather than from a listening history.

Registered on the same app as the other commands; tables, playlist files and
the "never an empty playlist" rule are shared with `playlists`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from ..recommend.clusters import AUTO_K_MAX, AUTO_K_MIN, SILHOUETTE_SAMPLE
from ..recommend.recommender import DEFAULT_MAX_PER_ARTIST, DEFAULT_TEMPERATURE
from ..safety import display
from ..safety import markup_escape as esc
from . import controls as opts
from .common import _fail, _open, app, err, out, run
from .playlists import MultiValue, _check_format, _never_empty, _print_recs, _write_playlist


@app.command(cls=MultiValue)
def mix(
    tag: List[str] = typer.Option([], "--tag", help="A style/mood tag the model scores (e.g. ambient, piano, "
                                  "female vocalists; --list-tags shows them). Repeatable; several tags rank by "
                                  "the geometric mean of their scores, so picks carry every one.",
                                  show_default=False),
    n: int = typer.Option(20, "--n", "-n", help="Playlist length."),
    temperature: float = typer.Option(DEFAULT_TEMPERATURE, "--temperature", "-t",
                                      help="0 = the top-ranked tracks; higher = further down the ranking "
                                      "(seeded draws, as in recommend)."),
    max_per_artist: int = typer.Option(DEFAULT_MAX_PER_ARTIST, help="Tracks per artist (tags) before other "
                                       "artists are preferred; 0 = no cap."),
    min_duration: Optional[float] = opts.min_duration_opt(),
    max_duration: Optional[float] = opts.max_duration_opt(),
    exclude_tag: List[str] = opts.exclude_tag_opt(),
    exclude_genre: List[str] = opts.exclude_genre_opt(),
    max_per_album: int = opts.max_per_album_opt(),
    not_in: List[Path] = opts.not_in_opt(),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the playlist here."),
    fmt: Optional[str] = typer.Option(None, "--format", help="m3u8, xspf or json (default: from the --output "
                                      "suffix, else m3u8)."),
    absolute: bool = typer.Option(False, help="Absolute paths in the playlist (default: relative to it)."),
    seed: Optional[int] = typer.Option(None, help="Seed for reproducible playlists."),
    list_tags: bool = typer.Option(False, "--list-tags", help="Print the tags this catalog's model scores, "
                                   "and exit."),
    library: Optional[Path] = typer.Option(None, help="Library folder (default: found from the current folder)."),
    db: Optional[Path] = typer.Option(None, help="Catalog folder."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """A playlist of the tracks the model tags most strongly: `genrerec mix --tag ambient --tag piano`."""
    opts.check_picking(n, temperature, max_per_artist)
    _check_format(fmt, output)
    opts.check_controls(min_duration, max_duration, max_per_album)
    tags = [w.strip() for t in tag for w in t.split(",") if w.strip()]
    if not tags and not list_tags:
        _fail("no tag: give one or more, e.g. genrerec mix --tag ambient --tag calm (--list-tags shows them)")
    rec = _open(library, db, [])
    if list_tags:
        if not rec.tag_names:
            _fail("this catalog has no style/mood tags (its model has no tag head); re-index with the v2 model")
        print(json.dumps(rec.tag_names) if as_json else "\n".join(rec.tag_names))
        return
    run(lambda: rec.tag_columns(tags))  # an unknown tag: one line naming the nearest known ones
    kw = opts.controls(rec, min_duration, max_duration, exclude_tag, exclude_genre, max_per_album, not_in)
    recs = run(lambda: rec.mix(tags, n=n, temperature=temperature, seed=seed,
                               max_per_artist=max_per_artist or None, **kw))
    _never_empty(recs, rec, kw)
    _print_recs(rec, recs, as_json, f"{len(recs)} tracks tagged {' + '.join(tags)}, temperature {temperature:g}",
                score="tag score")
    if len(recs) < n:
        err.print(f"only {len(recs)} of {n} tracks possible: the library has {len(rec)} usable tracks and the "
                  "filters or caps leave out the rest", highlight=False, soft_wrap=True)
    if output:
        _write_playlist(rec, output, recs, absolute, fmt, as_json)


def _parse_k(k: str) -> int | str:
    if k.strip().lower() == "auto":
        return "auto"
    try:
        v = int(k)
    except ValueError:
        v = 0
    if v < 1:
        _fail(f"-k must be a whole number >= 1 or 'auto', got {k!r}")
    return v


@app.command()
def clusters(
    k: str = typer.Option("auto", "-k", "--k", help=f"Number of playlists, or 'auto': the k from {AUTO_K_MIN} to "
                          f"{AUTO_K_MAX} (at most one per 5 tracks) whose clusters have the best mean silhouette "
                          f"(searched on a seeded sample of up to {SILHOUETTE_SAMPLE} tracks, then fitted on all)."),
    output: Path = typer.Option(Path("clusters"), "--output", "-o", help="Folder for the playlists (one M3U8 "
                                "per cluster, named NN-top-tags.m3u8; created if missing)."),
    seed: int = typer.Option(0, help="Seed of k-means (and of the silhouette sample): same seed, same clusters."),
    absolute: bool = typer.Option(False, help="Absolute paths in the playlists (default: relative to them)."),
    library: Optional[Path] = typer.Option(None, help="Library folder (default: found from the current folder)."),
    db: Optional[Path] = typer.Option(None, help="Catalog folder."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The library grouped into playlists of similar tracks (seeded k-means on the track vectors), each
    named by the tags that set it apart."""
    from ..playlists.formats import Entry, entries_written
    from ..playlists.m3u import write_m3u
    from ..recommend.clusters import file_name, library_clusters

    kk = _parse_k(k)
    if output.exists() and not output.is_dir():
        _fail(f"--output {display(output)}: is a file; give a folder for the playlists, e.g. --output clusters")
    rec = _open(library, db, [])
    groups, scores = run(lambda: library_clusters(rec, kk, seed))
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        _fail(f"--output {display(output)}: cannot create the folder ({e.strerror or e}); choose another")
    width = max(2, len(str(len(groups))))
    written, counts = [], []
    for i, c in enumerate(groups, 1):
        f = output / file_name(i, c.name, width)
        infos = [rec.info.get(t) for t in c.track_ids]
        counts.append(entries_written(f, [Entry(rec.path_of(t)) for t in c.track_ids], not absolute))
        try:
            write_m3u(f, [rec.path_of(t) for t in c.track_ids], relative=not absolute,
                      titles=[rec.tag_label(t) for t in c.track_ids],
                      durations=[x.duration if x else None for x in infos])
        except OSError as e:
            _fail(f"--output {display(output)}: cannot write {f.name} ({e.strerror or e})")
        written.append(f)
    stale = sorted(p.name for p in output.glob("[0-9][0-9]*-*.m3u8") if p not in written)
    if as_json:
        print(json.dumps({"k": len(groups), "silhouette": {str(a): b for a, b in scores.items()},
                          "clusters": [{"name": c.name, "file": str(f), "tracks": n, "members": len(c.track_ids),
                                        "tags": c.tags, "genres": c.genres}
                                       for c, f, n in zip(groups, written, counts)]},
                         indent=2))
    else:
        how = f"k = {len(groups)}" + (f" (auto: best silhouette {scores[len(groups)]:.3f})"
                                       if len(groups) in scores else "")
        where = os.path.relpath(output) if output.resolve().is_relative_to(Path.cwd()) else str(output)
        t = Table(title=esc(f"{len(rec)} tracks in {len(groups)} playlists, {how}"), caption=f"in {esc(where)}")
        for col in ("#", "playlist", "tracks", "top genre"):
            t.add_column(col, no_wrap=col != "playlist")
        for i, (c, f, n) in enumerate(zip(groups, written, counts), 1):
            t.add_row(str(i), esc(f.name), str(n), esc(next(iter(c.genres), "")))
        out.print(t)
    if sum(counts) < sum(len(c.track_ids) for c in groups):
        err.print(f"note: {sum(len(c.track_ids) for c in groups) - sum(counts)} tracks whose names no M3U line can "
                  "hold were left out of the playlists", highlight=False, soft_wrap=True)
    if stale:
        err.print(f"note: {len(stale)} older cluster playlists in {esc(output)} were not rewritten this time "
                  f"(e.g. {esc(stale[0])}); delete them if they are from an earlier run", highlight=False,
                  soft_wrap=True)
