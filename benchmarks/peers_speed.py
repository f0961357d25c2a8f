#!/usr/bin/env python
"""Analysis speed side by side with bliss (bliss-audio on PyPI, the bliss-rs
binding users pick for speed), in one run on the same files: genrerec v1 and
v2 indexing (`genrerec.index_library`, default workers) vs bliss analysing every
file (`bliss_audio.Song(path)`, one after another in one process).

Each system runs in its own subprocess, so its peak memory (ru_maxrss) is its
own. Sets: every third GTZAN 30 s clip (38 of the 114) and 20 full-length wesnoth soundtrack tracks (Debian
packages, fetched outside the repository). Reports tracks/s, x real time of the
whole tracks, and x real time of the audio actually analysed (genrerec reads at
most 16 windows of 3 s spread over a track; bliss decodes all of it). Writes
docs/benchmarks/peers_speed.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import DEFAULT_DATA, DOCS, ROOT, env_md, environment, md_table

from genrerec.utils import atomic_write_json, atomic_write_text

CHILD = r"""
import json, resource, sys, time, tempfile, os
from pathlib import Path
system, files = sys.argv[1], json.loads(sys.argv[2])
t0 = time.perf_counter()
analysed = None
if system == "bliss":
    import bliss_audio
    ok = 0
    for f in files:
        try:
            bliss_audio.Song(f); ok += 1
        except Exception as e:
            print("bliss failed", f, e, file=sys.stderr)
else:
    from genrerec import index_library, load_model
    from genrerec.models.inference import window_hop_s
    name, _, runtime = system.partition("-")  # "v2-onnx", "v2-torch": the same model on either runtime
    model = load_model(name, runtime=runtime or None)
    t0 = time.perf_counter()  # model loading is start-up, counted apart
    lib = Path(tempfile.mkdtemp()) / "lib"
    lib.mkdir()
    for i, f in enumerate(files):
        os.symlink(f, lib / f"{i:03d}{Path(f).suffix}")
    s = index_library(lib, Path(tempfile.mkdtemp()) / "db", model=model, show_progress=False,
                      follow_external_links=True)
    ok = s.total_ok
    from genrerec.library.catalog import Catalog
    from genrerec.audio.decode import window_starts
    cat = Catalog(Path(s.db_dir) / "catalog.sqlite", create=False)
    durs = [d for (d,) in cat.db.execute("SELECT duration FROM tracks WHERE status='ok'")]
    w = model.features.window_s
    analysed = sum(min(d, len(window_starts(d, w, window_hop_s(model.features), 16)) * w) for d in durs)
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "ok": ok, "analysed_s": analysed,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(system: str, files: list[Path]) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, system, json.dumps([str(f) for f in files])],
                       capture_output=True, text=True, cwd=ROOT, env={**__import__("os").environ,
                                                                      "PYTHONPATH": str(ROOT)})
    if r.returncode != 0:
        raise SystemExit(f"{system} failed: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--soundtracks", type=Path, default=ROOT / "runs" / "soundtracks")
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args()
    env = environment()

    from genrerec.audio.decode import audio_info
    from genrerec.demo.freemusic import fetch_soundtracks

    clips = sorted(args.data.glob("*/*.mp3"))[::3][:40]
    full = [f for f in fetch_soundtracks(args.soundtracks, ["warzone2100-music", "wesnoth-1.16-music"])
            ["wesnoth-1.16-music"] if audio_info(f).duration > 60][:20]
    rows = []
    for name, files in (("GTZAN 30 s clips", clips), ("full-length soundtrack tracks", full)):
        total = sum(audio_info(f).duration for f in files)
        for system in ("bliss", "v1", "v2-torch", "v2-onnx"):
            load = os.getloadavg()[0]
            r = run(system, files)
            analysed = r["analysed_s"] if r["analysed_s"] is not None else total
            rows.append({"set": name, "system": "bliss-audio 0.2.0" if system == "bliss" else f"genrerec {system}",
                         "tracks": r["ok"], "seconds": round(r["seconds"], 1),
                         "tracks_per_s": round(r["ok"] / r["seconds"], 2),
                         "x_realtime": round(total / r["seconds"]), "x_analysed": round(analysed / r["seconds"]),
                         "analysed_share": f"{analysed / total:.0%}", "peak_mb": round(r["peak_mb"]),
                         "load": round(load, 1)})
            print(rows[-1], flush=True)
    atomic_write_json(args.out / "peers_speed.json", {"environment": env, "rows": rows})
    md = ["# Analysis speed side by side with bliss", "", "Generated by `python benchmarks/peers_speed.py` — do "
          "not edit by hand.", "", __doc__.split("\n\n")[1].replace("\n", " "), "",
          md_table(rows, [("set", "set"), ("system", "system"), ("tracks", "tracks"), ("seconds", "seconds"),
                          ("tracks_per_s", "tracks/s"), ("x_realtime", "x real time (whole tracks)"),
                          ("x_analysed", "x real time (audio analysed)"), ("analysed_share", "share analysed"),
                          ("peak_mb", "peak MB"), ("load", "load avg at start")]), "",
          "genrerec times exclude loading the model (about 1 s) and include decoding, features, inference, the "
          "catalog commit and the FAISS index. Timings move from run to run on these 2 cores (the load average "
          "column shows how busy they were): compare rows of one run, not across runs.", "", env_md(env), ""]
    atomic_write_text(args.out / "peers_speed.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
