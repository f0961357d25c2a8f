#!/usr/bin/env python
"""Is the local engine unchanged by the engine seam? Indexes the same files with
the code of a baseline commit (default: the last one before index.py was split
and the Ray engine added) and with this checkout, alternating runs in fresh
processes, with the same model file (the v1 CNN, which both have), and compares
wall time and the catalogs they write (same tracks, same failures, same
vectors).

Default data: ../shared/gtzan. The baseline is checked out with `git worktree`
into a temporary folder. Writes docs/benchmarks/local_engine.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import DEFAULT_DATA, DOCS, ROOT, env_md, environment, md_table

from genrerec.utils import atomic_write_json, atomic_write_text

BASELINE = "7a81cff^"  # 7a81cff split index.py into scan/vectors/lock/library/engine
MODEL = "genrerec/assets/genrerec-cnn-gtzan-v1.pt"

RUN = """
import json, sys, time
from genrerec import index_library, load_model
model = load_model(sys.argv[3])
t0 = time.perf_counter()
s = index_library(sys.argv[1], sys.argv[2], model, show_progress=False)
print(json.dumps({"seconds": time.perf_counter() - t0, "indexed": s.indexed, "failed": s.failed}))
"""


def catalog_state(db: Path) -> dict:
    """{path: (status, embedding bytes or error)} of a catalog."""
    import sqlite3

    con = sqlite3.connect(db / "catalog.sqlite")
    rows = con.execute("SELECT path, status, embedding, genres, error FROM tracks").fetchall()
    con.close()
    return {r[0]: r[1:] for r in rows}


def max_vector_diff(a: dict, b: dict) -> float:
    import numpy as np

    worst = 0.0
    for path, (status, emb, gen, _) in a.items():
        if status == "ok" and b.get(path, (None,))[0] == "ok":
            for x, y in ((emb, b[path][1]), (gen, b[path][2])):
                worst = max(worst, float(np.abs(np.frombuffer(x, np.float32) - np.frombuffer(y, np.float32)).max()))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--baseline", default=BASELINE, help="git revision to compare with")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"{args.data}: no such folder (give --data DIR with audio files)")
    env = environment()
    base_sha = subprocess.run(["git", "rev-parse", "--short", args.baseline], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    head_sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    runs: dict[str, list[float]] = {"baseline": [], "current": []}
    states: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), args.baseline], cwd=ROOT, check=True)
        try:
            for r in range(args.repeats):
                for name, code in (("baseline", tree), ("current", ROOT)):  # alternate: drift hits both alike
                    db = Path(tmp) / f"{name}-{r}"
                    out = subprocess.run([sys.executable, "-c", RUN, str(args.data), str(db), str(code / MODEL)],
                                         capture_output=True, text=True, cwd=tmp,
                                         env={**os.environ, "PYTHONPATH": str(code)})
                    if out.returncode:
                        raise SystemExit(f"{name} run failed:\n{out.stderr[-2000:]}")
                    res = json.loads(out.stdout.strip().splitlines()[-1])
                    runs[name].append(res["seconds"])
                    states.setdefault(name, catalog_state(db))
                    print(name, r, res, f"load {os.getloadavg()[0]:.1f}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
    a, b = states["baseline"], states["current"]
    same_tracks = set(a) == set(b) and all(a[p][0] == b[p][0] for p in a)
    n_ok = sum(1 for v in b.values() if v[0] == "ok")
    diff = max_vector_diff(a, b)
    rows = [{"code": f"{name} ({sha})", "runs": len(runs[name]),
             "median_s": round(statistics.median(runs[name]), 2),
             "tracks_per_s": round(n_ok / statistics.median(runs[name]), 2),
             "all_s": ", ".join(f"{s:.1f}" for s in runs[name])}
            for name, sha in (("baseline", base_sha), ("current", head_sha))]
    change = rows[1]["median_s"] / rows[0]["median_s"] - 1
    result = {"environment": env, "data": str(args.data), "model": MODEL, "baseline": base_sha, "current": head_sha,
              "rows": rows, "same_tracks_and_status": same_tracks, "max_vector_diff": diff, "tracks_ok": n_ok,
              "median_change": round(change, 3)}
    atomic_write_json(args.out / "local_engine.json", result)
    md = ["# The local engine before and after the engine seam", "",
          "Generated by `python benchmarks/local_engine.py` — do not edit by hand.", "",
          f"The same {len(b)} files of {args.data.name}, indexed into a fresh catalog by the code of `{base_sha}` "
          f"(before index.py was split and the Ray engine added) and of `{head_sha}` (this checkout), "
          f"{args.repeats} runs each, alternating, each in a fresh process with the default local engine and the "
          f"same model file (`{MODEL}`).", "",
          md_table(rows, [("code", "code"), ("runs", "runs"), ("median_s", "median wall s"),
                          ("tracks_per_s", "tracks/s"), ("all_s", "every run, s")]), "",
          f"Median wall time changed by {change:+.1%}. The catalogs hold "
          + ("the same tracks with the same status" if same_tracks else "**different tracks or statuses**")
          + f"; the largest difference between any stored embedding or genre value is {diff:.2g}.", "",
          env_md(env), ""]
    atomic_write_text(args.out / "local_engine.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
