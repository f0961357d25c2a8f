#!/usr/bin/env python
"""Is the local engine unchanged by the engine seam? Indexes the same files with
the code of several revisions, alternating runs in fresh processes, with the
same model file (the v1 CNN, which all of them have), and compares wall time and
the catalogs they write (same tracks, same failures, same vectors) with the
first revision's.

Default revisions: the last commit before index.py was split (the baseline),
the commit that added the Ray engine (the seam and nothing later), and this
checkout (the seam plus later features such as duplicate signatures). Default
data: ../shared/gtzan. Revisions are checked out with `git worktree` into a
temporary folder. Writes docs/benchmarks/local_engine.{json,md}.
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

REVISIONS = "7a81cff^,e184611,HEAD"  # 7a81cff split index.py; e184611 added the Ray engine on that seam
ROLES = {"7a81cff^": "before the split", "e184611": "split + Ray engine, nothing later", "HEAD": "this checkout"}
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
    """{path: (status, embedding, genres, error)} of a catalog."""
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


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--revisions", default=REVISIONS, help="comma list of git revisions; the first is the baseline")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"{args.data}: no such folder (give --data DIR with audio files)")
    env = environment()
    revs = args.revisions.split(",")
    shas = [git("rev-parse", "--short", r) for r in revs]
    runs: dict[str, list[float]] = {r: [] for r in revs}
    states: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {r: Path(tmp) / f"rev{i}" for i, r in enumerate(revs)}
        for r, t in trees.items():
            git("worktree", "add", "--detach", "-q", str(t), r)
        try:
            for k in range(args.repeats):
                for r, code in trees.items():  # alternate: drift in machine load hits every revision alike
                    db = Path(tmp) / f"db-{revs.index(r)}-{k}"
                    out = subprocess.run([sys.executable, "-c", RUN, str(args.data), str(db), str(code / MODEL)],
                                         capture_output=True, text=True, cwd=tmp,
                                         env={**os.environ, "PYTHONPATH": str(code)})
                    if out.returncode:
                        raise SystemExit(f"{r} run failed:\n{out.stderr[-2000:]}")
                    res = json.loads(out.stdout.strip().splitlines()[-1])
                    runs[r].append(res["seconds"])
                    states.setdefault(r, catalog_state(db))
                    print(r, k, res, f"load {os.getloadavg()[0]:.1f}", flush=True)
        finally:
            for t in trees.values():
                subprocess.run(["git", "worktree", "remove", "--force", str(t)], cwd=ROOT)
    base = states[revs[0]]
    base_median = statistics.median(runs[revs[0]])
    rows = []
    for r, sha in zip(revs, shas):
        st = states[r]
        n_ok = sum(1 for v in st.values() if v[0] == "ok")
        med = statistics.median(runs[r])
        same = set(st) == set(base) and all(st[p][0] == base[p][0] for p in base)
        rows.append({"revision": f"`{sha}` ({ROLES.get(r, r)})", "sha": sha, "runs": len(runs[r]),
                     "median_s": round(med, 2), "tracks_per_s": round(n_ok / med, 2),
                     "change": f"{med / base_median - 1:+.1%}", "median_change": round(med / base_median - 1, 3),
                     "same_tracks": "yes" if same else "**no**", "max_vector_diff": max_vector_diff(base, st),
                     "all_s": ", ".join(f"{s:.1f}" for s in runs[r])})
    seam = rows[1] if len(rows) > 2 else rows[-1]
    result = {"environment": env, "data": str(args.data), "model": MODEL, "baseline": shas[0], "rows": rows,
              "seam": seam["sha"], "median_change": seam["median_change"],
              "same_tracks_and_status": all(r["same_tracks"] == "yes" for r in rows),
              "max_vector_diff": max(r["max_vector_diff"] for r in rows)}
    atomic_write_json(args.out / "local_engine.json", result)
    md = ["# The local engine before and after the engine seam", "",
          "Generated by `python benchmarks/local_engine.py` — do not edit by hand.", "",
          f"The same {len(base)} files of {args.data.name}, indexed into a fresh catalog by the code of each "
          f"revision, {args.repeats} runs each, alternating between revisions, each run in a fresh process with the "
          f"default local engine and the same model file (`{MODEL}`). `change` is the median wall time against "
          f"the first row; `vector diff` the largest difference of any stored embedding or genre value from the "
          "first row's catalog.", "",
          md_table(rows, [("revision", "revision"), ("runs", "runs"), ("median_s", "median wall s"),
                          ("tracks_per_s", "tracks/s"), ("change", "change"), ("same_tracks", "same tracks"),
                          ("max_vector_diff", "vector diff"), ("all_s", "every run, s")]), "",
          f"The engine seam itself is the second row ({seam['change']} against the baseline); a later row also "
          "carries the features added since, such as the audio signature stored for duplicate detection.", "",
          env_md(env), ""]
    atomic_write_text(args.out / "local_engine.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
