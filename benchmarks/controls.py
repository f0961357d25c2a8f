#!/usr/bin/env python
"""One figure per playlist control on the full-length soundtrack benchmark.

Data: the Debian game soundtrack packages of benchmarks/albums.py (one
package = one album; the same selection: per package the first 40 files by
name that decode and last at least 30 s, each file once). They are fetched
into --music (never into the repository); a folder of links, one sub-folder
per package, is built in --library and indexed once with the shipped v2
model into --db (both outside the repository; re-runs reuse the catalog).

Figures (seeded listeners: each plays 2 tracks of one album):
  * duration bounds: picks outside --min/--max-duration (expect 0);
  * --not-in: picks repeated from the listener's previous playlist (expect 0);
  * album spread: the most tracks from one album in a 20-track playlist,
    with the default --max-per-album 2 and with no cap;
  * clusters: adjusted Rand index of `clusters` against the albums, for
    k = the number of albums and for k = auto;
  * tag mix: share of picks whose top-3 tags include the requested tag;
  * artist radio / similar artists are not scored here (the packages carry
    no consistent artist tags), and the MPD dj reaction time is in
    docs/benchmarks/mpd.md.
Writes docs/benchmarks/controls.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from common import DOCS, env_md, environment, md_table

from albums import ALBUMS, MAX_PER_ALBUM, MIN_TRACK_S  # noqa: I001  (the same data as the album benchmark)

SEED = 0
LISTENERS = 10  # per album
N = 20  # playlist length
DURATION = (120.0, 300.0)  # the bounds the duration figure asks for, seconds


def build_library(music: Path, library: Path) -> dict[str, int]:
    """library/<package>/<NN file> links to the albums.py selection; {package: tracks}."""
    from genrerec.audio.decode import AudioError, read_windows
    from genrerec.demo.freemusic import fetch_soundtracks

    found = fetch_soundtracks(music, ALBUMS)
    counts = {}
    for a in ALBUMS:
        d = library / a
        d.mkdir(parents=True, exist_ok=True)
        seen, kept = set(), 0
        for f in found[a]:
            real = os.path.realpath(f)
            if real in seen or kept >= MAX_PER_ALBUM:  # packages link one file under several names
                continue
            seen.add(real)
            link = d / f"{kept:02d} {f.name}"
            if not link.is_symlink():
                try:
                    _, dur = read_windows(f, 3.0, 3.0, 1, 16000)
                except AudioError as e:
                    print(f"skipping {e}")
                    continue
                if dur < MIN_TRACK_S:
                    continue
                os.symlink(real, link)
            kept += 1
        counts[a] = kept
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--music", type=Path, required=True, help="where the soundtrack packages are (or go)")
    ap.add_argument("--library", type=Path, required=True, help="the folder of links (outside the repository)")
    ap.add_argument("--db", type=Path, required=True, help="the catalog folder (outside the repository)")
    ap.add_argument("--prepare-only", action="store_true", help="build and index the library, then stop")
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args()
    from genrerec import index_library

    counts = build_library(args.music, args.library)
    print(f"{sum(counts.values())} tracks: {counts}", flush=True)
    t = time.perf_counter()
    s = index_library(args.library, args.db, show_progress=False, follow_external_links=True)
    print(f"indexed: {s.indexed} new, {s.total_ok} in all, {len(s.failed)} failed, {time.perf_counter() - t:.0f} s",
          flush=True)
    if args.prepare_only:
        return
    sys.exit("not written yet")


if __name__ == "__main__":
    main()
