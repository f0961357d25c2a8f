#!/usr/bin/env python
"""End to end with the Python API: index a folder, inspect a listener, write playlists.

    python examples/playlist_from_history.py ../shared/gtzan --db /tmp/gtzan.genrerec \
        ../shared/gtzan/jazz/jazz.00001.mp3 ../shared/gtzan/metal/metal.00002.mp3 --out /tmp/playlists

The playlists go to --out (default: a new temporary folder, printed), never into the current folder.
"""

import argparse
import tempfile
from pathlib import Path

from genrerec import Recommender, index_library, load_model
from genrerec.playlists.m3u import write_m3u

ap = argparse.ArgumentParser()
ap.add_argument("library", type=Path)
ap.add_argument("history", type=Path, nargs="+", help="tracks the listener played")
ap.add_argument("--db", type=Path, help="catalog folder (default LIBRARY/.genrerec)")
ap.add_argument("--out", type=Path, help="folder for the playlists (default: a new temporary folder)")
args = ap.parse_args()
out_dir = args.out or Path(tempfile.mkdtemp(prefix="genrerec-playlists-"))
out_dir.mkdir(parents=True, exist_ok=True)

model = load_model()  # the shipped genre model
print("genres the model knows:", ", ".join(model.genres))
print("first history track:", model.classify(args.history[0]))

summary = index_library(args.library, args.db, model)  # incremental: a re-run only embeds what changed
print(f"{summary.total_ok} tracks searchable, {len(summary.failed)} failed")

with Recommender.open(args.db or args.library) as rec:
    print("listener profile:", {g: round(p, 2) for g, p in list(rec.profile(args.history).items())[:4]})
    for taste in rec.tastes(args.history):
        print(f"taste: {taste.share:.0%} of listening, mostly {', '.join(list(taste.genres)[:2])}")
    for t in (0.0, 0.5, 1.5):
        recs = rec.recommend(args.history, n=10, temperature=t, seed=0)
        out = write_m3u(out_dir / f"playlist-t{t:g}.m3u8", [r.path for r in recs])
        print(f"\ntemperature {t}: {out}")
        for r in recs[:5]:
            print(f"  {r.score:.3f} {r.path.name:<22} {next(iter(r.genres))} (because of {r.because.name})")
    print("\nmost similar to", args.history[0].name, [r.path.name for r in rec.similar(args.history[0], n=5)])
