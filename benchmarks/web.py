#!/usr/bin/env python
"""Web app speed on a synthetic 20,000-track catalog, in a real headless Chromium.

Targets (issue 14): the page is interactive within 2 s, and a recommendation
round trip (history of 20 tracks, POST /api/recommend, answer parsed) has a
p95 under 150 ms.

* page interactive: `performance.now()` when the page sets `genrerec.ready`
  (map fetched and drawn, builder wired), i.e. milliseconds since navigation
  started; a fresh navigation each time, the server already running.
* round trip, measured two ways: from Python (urllib, a new connection each
  time) and inside the page (`fetch` + JSON parse, as the slider does).
* also: server start-up (catalog open, FAISS index, PCA map) and one map frame.

Vectors are synthetic (clustered per genre, 128-d embeddings + 10 genres as
the compact CNN writes); the audio files are 1-byte stand-ins, since no audio
is played here. Writes docs/benchmarks/web.{json,md}. Takes about a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from common import DOCS, env_md, environment, md_table

from genrerec.library.catalog import Catalog
from genrerec.utils import atomic_write_json, atomic_write_text

GENRES = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"]


def synthetic_catalog(root: Path, n: int, dim: int = 128, seed: int = 0) -> Path:
    """n tracks in 10 genre clusters (spread inside each), files as 1-byte stand-ins."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((len(GENRES), dim)) * 2
    cat = Catalog(root / ".genrerec" / "catalog.sqlite")
    with cat.transaction():
        cat.set_meta("library", str(root))
        cat.set_meta("model_id", "synthetic")
        cat.set_meta("genres", GENRES)
        for i in range(n):
            g = i % len(GENRES)
            rel = f"{GENRES[g]}/{i // 100:03d}/track{i:05d}.mp3"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(b"x")
            e = centers[g] + rng.uniform(0.3, 1.5) * rng.standard_normal(dim)
            logits = np.eye(len(GENRES))[g] * 3 + rng.standard_normal(len(GENRES))
            p = np.exp(logits) / np.exp(logits).sum()
            cat.upsert(os.fsencode(rel), 1, 1, rel, status="ok", duration=200.0, model_id="synthetic", genres=p,
                       embedding=e / np.linalg.norm(e),
                       tags={"artist": f"Artist {i % 997}", "title": f"Song {i}"})
    cat.close()
    return root


def pct(xs: list[float], q: float) -> float:
    return round(float(np.percentile(xs, q)), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=20_000)
    ap.add_argument("--loads", type=int, default=7, help="page loads measured")
    ap.add_argument("--requests", type=int, default=200, help="recommendation round trips measured per client")
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args()

    from genrerec.web.browser import chromium, find_chromium, wait_ready
    from genrerec.web.server import running

    if find_chromium() is None:
        sys.exit("error: chromium, chromedriver and selenium are needed (apt-get install chromium chromium-driver)")
    with tempfile.TemporaryDirectory(prefix="genrerec-web-bench-") as tmp:
        t0 = time.perf_counter()
        root = synthetic_catalog(Path(tmp) / "music", args.tracks)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        with running(root) as (url, worker):
            start_s = time.perf_counter() - t0
            map_bytes = len(worker.run(worker.lib.map_json))
            driver = chromium()
            try:
                loads, wall = [], []
                for _ in range(args.loads):
                    driver.get("about:blank")
                    t = time.perf_counter()
                    driver.get(url)
                    wait_ready(driver, 30)
                    wall.append((time.perf_counter() - t) * 1000)
                    loads.append(driver.execute_script("return genrerec.readyAt"))
                    assert driver.execute_script("return genrerec.map.drawCount") == args.tracks
                frame_ms = driver.execute_script(
                    "const t = performance.now(); for (let i = 0; i < 10; i++) genrerec.map.draw();"
                    "return (performance.now() - t) / 10;")
                rng = np.random.default_rng(1)
                ids = worker.run(lambda: [t.id for t in worker.lib.tracks])
                histories = [rng.choice(ids, 20, replace=False).tolist() for _ in range(args.requests)]
                temps = [0.0, 0.3, 1.0, 2.0]
                py_ms = []
                for i, h in enumerate(histories):
                    body = json.dumps({"history": h, "n": 20, "temperature": temps[i % 4], "seed": i}).encode()
                    req = urllib.request.Request(url + "api/recommend", body, {"Content-Type": "application/json"})
                    t = time.perf_counter()
                    with urllib.request.urlopen(req, timeout=30) as r:
                        picks = json.load(r)["picks"]
                    py_ms.append((time.perf_counter() - t) * 1000)
                    assert len(picks) == 20
                page_ms = driver.execute_script("""
                    const hs = arguments[0], temps = [0, 0.3, 1, 2], out = [];
                    return (async () => {
                      for (let i = 0; i < hs.length; i++) {
                        const t = performance.now();
                        const r = await api('/api/recommend', {history: hs[i], n: 20, temperature: temps[i % 4], seed: i});
                        if (r.picks.length !== 20) throw new Error('short playlist');
                        out.push(performance.now() - t);
                      }
                      return out;
                    })();""", histories)
            finally:
                driver.quit()
    rows = [
        {"metric": "page interactive (ms since navigation start)", "p50": round(statistics.median(loads), 1),
         "p95": pct(loads, 95), "max": round(max(loads), 1), "target": "< 2000", "met": max(loads) < 2000},
        {"metric": "page load as the test driver sees it (ms)", "p50": round(statistics.median(wall), 1),
         "p95": pct(wall, 95), "max": round(max(wall), 1), "target": "-", "met": "-"},
        {"metric": "recommend round trip in the page, fetch (ms)", "p50": pct(page_ms, 50), "p95": pct(page_ms, 95),
         "max": round(max(page_ms), 1), "target": "p95 < 150", "met": pct(page_ms, 95) < 150},
        {"metric": "recommend round trip from Python, urllib (ms)", "p50": pct(py_ms, 50), "p95": pct(py_ms, 95),
         "max": round(max(py_ms), 1), "target": "p95 < 150", "met": pct(py_ms, 95) < 150},
        {"metric": "one full map redraw in the page (ms)", "p50": round(frame_ms, 1), "p95": "", "max": "",
         "target": "-", "met": "-"},
    ]
    res = {"tracks": args.tracks, "loads": args.loads, "requests": args.requests, "history": 20, "n": 20,
           "server_start_s": round(start_s, 2), "catalog_build_s": round(build_s, 1), "map_json_bytes": map_bytes,
           "rows": rows, "environment": environment()}
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / "web.json", res)
    md = ["# Web app speed", "",
          f"Written by `benchmarks/web.py` (see its docstring for what is timed). Synthetic catalog of "
          f"{args.tracks:,} tracks (10 genres, 128-d embeddings), headless Chromium on this machine, server and "
          f"browser sharing its cores. {args.loads} page loads; {args.requests} recommendation requests per client, "
          "each with a different random 20-track history, n = 20, temperatures 0 / 0.3 / 1 / 2 in turn.", "",
          md_table(rows, [("metric", "metric"), ("p50", "p50"), ("p95", "p95"), ("max", "max"), ("target", "target"),
                          ("met", "met")]), "",
          f"Server start-up (catalog open, FAISS index, PCA map, first JSON) took {res['server_start_s']} s; "
          f"the map payload is {map_bytes / 1e6:.1f} MB of JSON.", "", env_md(res["environment"]), ""]
    atomic_write_text(args.out / "web.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
