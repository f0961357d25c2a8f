#!/usr/bin/env python
"""Subsonic API speed on a synthetic 20,000-track catalog, against a real `genrerec serve`.

Targets (issue 20): a full `search3` sync in pages of 500 < 10 s;
`getSonicSimilarTracks` p95 < 50 ms; `getSimilarSongs2` p95 < 100 ms; the
server's memory with 20,000 tracks reported.

* the server is `python -m genrerec.cli serve LIB --port 0` in its own process
  (so its memory is its own: VmRSS and VmHWM from /proc/PID/status);
* the client keeps one HTTP/1.1 connection (http.client), token auth, f=json,
  as Subsonic clients do; every time includes parsing the JSON answer;
* sync: search3 with query "" and songCount=500, songOffset 0, 500, ... until a
  short page, each page's songs counted (the sync must see every track once);
* findSonicPath (count=25) between random pairs: the first call builds the
  neighbour graph of the whole library (genrerec.recommend.paths, batched index
  searches) and is reported on its own; the graph is then kept until the
  catalog changes, so the later calls (p50/p95) are the route search alone;
* getSonicSimilarTracks (count=20) and getSimilarSongs2 (count=50, the instant
  mix: Recommender.recommend at the default temperature) for random seed songs;
  the first of each is warm-up and not counted.

Vectors are synthetic (benchmarks/web.py's catalog: 10 genre clusters, 128-d
embeddings, artist/title tags; albums come from the folder fallback); files are
1-byte stand-ins, since nothing is played. Writes docs/benchmarks/subsonic.{json,md}.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import DOCS, ROOT, env_md, environment, md_table
from web import pct, synthetic_catalog

from genrerec.utils import atomic_write_json, atomic_write_text

USER, PASSWORD = "bench", "bench-password"


class Client:
    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, **params) -> tuple[dict, float]:
        from urllib.parse import urlencode

        salt = os.urandom(6).hex()
        q = {"u": USER, "t": hashlib.md5((PASSWORD + salt).encode()).hexdigest(), "s": salt, "v": "1.16.1",
             "c": "bench", "f": "json", **params}
        t = time.perf_counter()
        self.conn.request("GET", f"/rest/{method}?{urlencode(q)}")
        body = json.loads(self.conn.getresponse().read())["subsonic-response"]
        ms = (time.perf_counter() - t) * 1000
        if body["status"] != "ok":
            raise SystemExit(f"{method}: {body['error']}")
        return body, ms


def memory(pid: int) -> dict:
    out = {}
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(("VmRSS", "VmHWM")):
            k, v = line.split(":")
            out[k] = round(int(v.split()[0]) / 1024, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=20_000)
    ap.add_argument("--page", type=int, default=500)
    ap.add_argument("--requests", type=int, default=200, help="timed calls per sonic endpoint")
    ap.add_argument("--paths", type=int, default=20, help="timed findSonicPath calls after the first (graph build)")
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args()

    from genrerec.subsonic.users import UserStore

    with tempfile.TemporaryDirectory(prefix="genrerec-subsonic-bench-") as tmp:
        root = synthetic_catalog(Path(tmp) / "music", args.tracks)
        store = UserStore(root / ".genrerec")
        store.add(USER, PASSWORD)
        store.close()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-m", "genrerec.cli", "serve", str(root), "--port", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            p.stdout.readline()
            line = p.stdout.readline()
            port = int(line.split("Subsonic API: ", 1)[1].split()[0].rstrip("/").rsplit(":", 1)[1])
            c = Client(port)
            c.call("ping")
            start_s = time.perf_counter() - t0
            mem_start = memory(p.pid)
            # full sync, as a client's first library scan does
            t = time.perf_counter()
            seen, pages, offset = set(), 0, 0
            while True:
                body, _ = c.call("search3", query="", artistCount=0, albumCount=0, songCount=args.page,
                                 songOffset=offset)
                songs = body["searchResult3"].get("song", [])
                seen.update(s["id"] for s in songs)
                pages += 1
                if len(songs) < args.page:
                    break
                offset += args.page
            sync_s = time.perf_counter() - t
            assert len(seen) == args.tracks, len(seen)
            ids = sorted(seen)
            rng = np.random.default_rng(0)
            sonic, mix = [], []
            for i, sid in enumerate(rng.choice(ids, args.requests + 1, replace=False)):
                body, ms = c.call("getSonicSimilarTracks", id=sid, count=20)
                assert len(body["sonicMatch"]) == 20
                if i:
                    sonic.append(ms)
            for i, sid in enumerate(rng.choice(ids, args.requests + 1, replace=False)):
                body, ms = c.call("getSimilarSongs2", id=sid, count=50)
                assert len(body["similarSongs2"]["song"]) == 50
                if i:
                    mix.append(ms)
            paths = []
            for a, b in rng.choice(ids, (args.paths + 1, 2), replace=False):
                body, ms = c.call("findSonicPath", startSongId=a, endSongId=b, count=25)
                assert body["sonicMatch"][0]["entry"]["id"] == a and body["sonicMatch"][-1]["entry"]["id"] == b
                paths.append(ms)
            graph_ms, paths = paths[0], paths[1:]
            mem_end = memory(p.pid)
            load = [round(x, 2) for x in os.getloadavg()]
        finally:
            p.terminate()
            p.communicate(timeout=30)
    rows = [
        {"metric": f"full search3 sync, pages of {args.page} ({pages} pages), s", "value": round(sync_s, 2),
         "target": "< 10", "met": sync_s < 10},
        {"metric": "getSonicSimilarTracks count=20, p50 / p95 ms", "value": f"{pct(sonic, 50)} / {pct(sonic, 95)}",
         "target": "p95 < 50", "met": pct(sonic, 95) < 50},
        {"metric": "getSimilarSongs2 count=50, p50 / p95 ms", "value": f"{pct(mix, 50)} / {pct(mix, 95)}",
         "target": "p95 < 100", "met": pct(mix, 95) < 100},
        {"metric": "findSonicPath count=25, first call (builds the neighbour graph), ms", "value": round(graph_ms),
         "target": "-", "met": "-"},
        {"metric": f"findSonicPath count=25, {args.paths} later calls, p50 / p95 ms",
         "value": f"{pct(paths, 50)} / {pct(paths, 95)}", "target": "-", "met": "-"},
        {"metric": "server memory after start-up, RSS MiB", "value": mem_start.get("VmRSS"), "target": "report",
         "met": "-"},
        {"metric": "server memory at the end, RSS / peak MiB",
         "value": f"{mem_end.get('VmRSS')} / {mem_end.get('VmHWM')}", "target": "report", "met": "-"},
    ]
    res = {"tracks": args.tracks, "page": args.page, "requests": args.requests, "server_start_s": round(start_s, 2),
           "sync_s": round(sync_s, 3), "sonic_ms": {"p50": pct(sonic, 50), "p95": pct(sonic, 95)},
           "mix_ms": {"p50": pct(mix, 50), "p95": pct(mix, 95)}, "path_first_ms": round(graph_ms, 1),
           "path_ms": {"p50": pct(paths, 50), "p95": pct(paths, 95), "all": [round(x, 1) for x in paths]},
           "memory_start_mib": mem_start, "memory_end_mib": mem_end, "load_average": load, "rows": rows,
           "environment": environment()}
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / "subsonic.json", res)
    md = ["# Subsonic API speed", "",
          f"Written by `benchmarks/subsonic.py` (its docstring says what is timed). Synthetic catalog of "
          f"{args.tracks:,} tracks (10 genre clusters, 128-d embeddings, 1-byte stand-in files), served by a real "
          "`genrerec serve` process; one client on a keep-alive connection on the same machine, server and client "
          f"sharing its cores. {args.requests} timed calls per sonic endpoint, each for a different random song.", "",
          md_table(rows, [("metric", "metric"), ("value", "value"), ("target", "target"), ("met", "met")]), "",
          f"Server start-up until the first answered ping: {res['server_start_s']} s (catalog open, FAISS index, "
          "map for the web app). Memory after start-up is the whole `genrerec serve` process (Python, torch and "
          "FAISS imported, the web app's library and map); the Subsonic view of artists, albums and folders is "
          "built on the first library call, so the growth to the last row is its cost plus the answers' buffers. "
          f"Load average (1/5/15 min) at the end: {' / '.join(map(str, load))}, from other work sharing the "
          "machine.", "", env_md(res["environment"]), ""]
    atomic_write_text(args.out / "subsonic.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
