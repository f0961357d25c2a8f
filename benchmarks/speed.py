#!/usr/bin/env python
"""Indexing speed on this machine, for 30 s GTZAN clips and full-length real
tracks (free game soundtracks from Debian: fetched with `apt-get download` +
`dpkg -x` into runs/soundtracks/, never into the project), broken down into
decode / features / model, plus end-to-end `index_library` throughput with the
default worker processes, and recommend() latency for a 100-track history.
Writes docs/benchmarks/speed.{json,md}. A few minutes after the download.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import DEFAULT_DATA, DOCS, ROOT, env_md, environment, md_table

from genrerec import Recommender, index_library, load_model
from genrerec.audio.decode import AudioError
from genrerec.demo.freemusic import fetch_soundtracks
from genrerec.models.inference import decode_windows, windows_to_specs
from genrerec.utils import atomic_write_json, atomic_write_text

PACKAGES = ["warzone2100-music", "nexuiz-music", "wesnoth-1.16-music"]


def stage_times(model, files: list[Path]) -> dict:
    """Per-stage seconds for one process, one track at a time."""
    t = {"decode": 0.0, "features": 0.0, "model": 0.0, "audio_s": 0.0, "tracks": 0}
    for f in files:
        t0 = time.perf_counter()
        try:
            wavs, dur = decode_windows(f, model.features)
            t1 = time.perf_counter()
            specs = windows_to_specs(f, wavs, model.features)
        except AudioError as e:  # e.g. wesnoth ships a silence.ogg; the indexer skips it too
            print(f"skipped in stage timing: {e}", flush=True)
            continue
        t2 = time.perf_counter()
        model.encode_windows([(specs, dur)])
        t3 = time.perf_counter()
        t["decode"] += t1 - t0
        t["features"] += t2 - t1
        t["model"] += t3 - t2
        t["audio_s"] += dur
        t["tracks"] += 1
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--packages", default=",".join(PACKAGES), help="comma list of Debian music packages")
    ap.add_argument("--soundtracks", type=Path, default=ROOT / "runs" / "soundtracks")
    ap.add_argument("--out", type=Path, default=DOCS)
    ap.add_argument("--quick", action="store_true", help="GTZAN clips only, no download")
    args = ap.parse_args()
    if args.quick:
        args.out = args.out / "quick"
    env = environment()
    model = load_model()
    sets = {"GTZAN 30 s clips": sorted(args.data.glob("*/*.mp3"))}
    if not sets["GTZAN 30 s clips"]:
        raise SystemExit(f"no GTZAN clips (<genre>/*.mp3) under {args.data}: pass --data DIR")
    if not args.quick:
        for pkg, files in fetch_soundtracks(args.soundtracks, args.packages.split(",")).items():
            sets[f"{pkg} (full-length)"] = files
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, files in sets.items():
            st = stage_times(model, files[:40])
            if not st["tracks"]:
                print(f"warning: no file of {name} could be decoded; left out of the results", flush=True)
                continue
            per = {k: st[k] / st["tracks"] for k in ("decode", "features", "model")}
            lib = Path(files[0]).parents[1] if name.startswith("GTZAN") else args.soundtracks / "x" / name.split()[0]
            t0 = time.perf_counter()
            s = index_library(lib, Path(tmp) / name.split()[0], model, show_progress=False)
            wall = time.perf_counter() - t0
            rows.append({"set": name, "tracks": s.indexed, "mean_track_s": round(s.audio_seconds / max(1, s.indexed), 1),
                         "decode_ms": round(per["decode"] * 1000, 1), "features_ms": round(per["features"] * 1000, 1),
                         "model_ms": round(per["model"] * 1000, 1), "wall_s": round(wall, 1),
                         "tracks_per_s": round(s.indexed / wall, 2),
                         "x_realtime": round(s.audio_seconds / wall, 0), "failed": len(s.failed)})
            print(rows[-1], flush=True)
        rec = Recommender.open(Path(tmp) / "GTZAN")
        rng = np.random.default_rng(0)
        hist = [int(i) for i in rng.choice(rec.ids, min(100, len(rec.ids)), replace=False)]
        lat = []
        for i in range(60):
            t0 = time.perf_counter()
            rec.recommend(hist, n=20, temperature=0.5, seed=i)
            lat.append((time.perf_counter() - t0) * 1000)
        lat = lat[10:]  # warm-up
        rec_row = {"history": len(hist), "library": len(rec), "p50_ms": round(float(np.percentile(lat, 50)), 1),
                   "p99_ms": round(float(np.percentile(lat, 99)), 1)}
        rec.close()
    atomic_write_json(args.out / "speed.json", {"environment": env, "index": rows, "recommend": rec_row,
                                               "packages": args.packages, "model_id": model.model_id})
    md = ["# Speed", "", "Generated by `python benchmarks/speed.py` — do not edit by hand.", "",
          f"Shipped model (`{model.model_id}`), default settings (16 windows of 3 s per track at most, decoding in "
          f"{env['cores']} worker processes). Stage times are per track, one process; the end-to-end figures "
          f"are `index_library` wall time including start-up, scan, tags, SQLite commits and the FAISS build. "
          "A track's cost is bounded by its 16 windows, so longer tracks give higher multiples of real time; "
          "decode time grows with length only through seeking. Soundtracks: Debian packages, OGG Vorbis/Opus.", "",
          md_table(rows, [("set", "tracks"), ("tracks", "n"), ("mean_track_s", "mean length s"),
                          ("decode_ms", "decode ms/track"), ("features_ms", "features ms/track"),
                          ("model_ms", "model ms/track"), ("wall_s", "index wall s"),
                          ("tracks_per_s", "tracks/s"), ("x_realtime", "x real time"), ("failed", "failed")]), "",
          f"recommend(): history of {rec_row['history']} tracks, n=20, T=0.5, library of {rec_row['library']}: "
          f"p50 {rec_row['p50_ms']} ms, p99 {rec_row['p99_ms']} ms.", "", env_md(env), ""]
    atomic_write_text(args.out / "speed.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
