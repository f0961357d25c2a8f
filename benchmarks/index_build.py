#!/usr/bin/env python
"""Building the search index from a big catalog on the driver: wall time and
peak memory of the streamed build (`library.vectors.build_vector_index`, the catalog
read BUILD_CHUNK tracks at a time) against the build before it (every vector
loaded at once with `Catalog.vectors`, then combined, then added), on the same
SQLite catalog, each in a fresh process.

The catalog is synthetic: N usable tracks with vectors of the shipped model's
sizes (200-d embedding + 10 genres), in 20 clustered "styles"; only sizes
matter for memory, and the clusters keep k-means honest. It is written straight
with SQL (about 1 GB at 1M tracks) into --work (default: a temporary folder).
Writes docs/benchmarks/index_build.{json,md}. About 20 minutes at 1M on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import DOCS, ROOT, env_md, environment, md_table

from genrerec.utils import atomic_write_json, atomic_write_text


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_catalog(path: Path, n: int, emb_dim: int, n_genres: int, model_id: str) -> None:
    """n usable tracks written with executemany in transactions of 50k (upsert would take ~10 min at 1M)."""
    from genrerec.library.catalog import Catalog

    cat = Catalog(path)
    cat.set_meta("model_id", model_id)
    rng = np.random.default_rng(0)
    centres_g = rng.dirichlet(np.ones(n_genres) * 0.3, 20).astype(np.float32)
    centres_e = rng.standard_normal((20, emb_dim)).astype(np.float32)
    for start in range(0, n, 50_000):
        m = min(50_000, n - start)
        style = rng.integers(0, 20, m)
        g = centres_g[style] + 0.05 * rng.random((m, n_genres), dtype=np.float32)
        e = np.maximum(centres_e[style] + 0.5 * rng.standard_normal((m, emb_dim), dtype=np.float32), 0)
        e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        rows = [(f"album{(start + i) // 12}/track{start + i}.mp3".encode(), 5_000_000, 0, f"{start + i:016x}",
                 "ok", model_id, g[i].tobytes(), e[i].tobytes()) for i in range(m)]
        with cat.transaction():
            cat.db.executemany("INSERT INTO tracks (path, size, mtime_ns, fingerprint, status, model_id, genres, "
                               "embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        print(f"catalog: {start + m:,} / {n:,} tracks", flush=True)
    cat.close()


def build_at_once(cat, model_id: str, kind: str):
    """The build before streaming, kept here to measure against: every vector in memory, twice."""
    from genrerec.library.vectors import VectorIndex, combined_vectors

    rows = cat.db.execute("SELECT id, path, genres, embedding FROM tracks WHERE status='ok' AND model_id=? "
                          "ORDER BY id", (model_id,)).fetchall()  # Catalog.vectors as it was
    ids = np.array([r[0] for r in rows], np.int64)
    genres = np.stack([np.frombuffer(r[2], np.float32) for r in rows])
    embs = np.stack([np.frombuffer(r[3], np.float32) for r in rows])
    del rows
    vecs = combined_vectors(genres, embs)
    vi = VectorIndex(vecs.shape[1], kind, n_hint=len(ids))
    if vi.needs_training:
        vi.train(vecs)
    vi.add(ids, vecs)
    return vi


def measure(catalog: Path, method: str, kind: str) -> dict:
    """Runs in a fresh process: build once, report wall time and memory above the imports."""
    import faiss

    from genrerec.library.catalog import Catalog
    from genrerec.library.vectors import build_vector_index

    cat = Catalog(catalog, create=False)
    model_id = cat.get_meta("model_id")
    base = rss_mb()
    t0 = time.perf_counter()
    vi = build_vector_index(cat, model_id, kind=kind) if method == "streamed" else build_at_once(cat, model_id, kind)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"method": method, "kind": kind, "tracks": len(vi), "seconds": round(seconds, 1),
            "peak_mb": round(peak - base, 0), "index_mb": round(faiss.serialize_index(vi.index).nbytes / 2**20, 1)}


def commit_cost(catalog: Path, emb_dim: int, n_genres: int, n: int = 3200, batch: int = 16) -> float:
    """Seconds per track the driver spends committing new tracks into this big catalog, in
    transactions of `batch` with every column the indexer writes (then removed again)."""
    from genrerec.library.catalog import Catalog

    cat = Catalog(catalog, create=False)
    model_id = cat.get_meta("model_id")
    rng = np.random.default_rng(1)
    g, e = rng.random((n, n_genres), dtype=np.float32), rng.random((n, emb_dim), dtype=np.float32)
    sig, tags = rng.random((16, 56)).astype(np.float16), rng.random(50, dtype=np.float32)
    t0 = time.perf_counter()
    for b in range(0, n, batch):
        with cat.transaction():
            for j in range(b, min(n, b + batch)):
                cat.upsert(f"new/album{j // 12}/track{j}.ogg".encode(), 5_000_000, j, f"new{j:012x}", status="ok",
                           duration=190.0, tags={"artist": f"Artist {j // 12}", "title": f"Track {j}",
                                                 "album": f"Album {j // 12}"},
                           model_id=model_id, genres=g[j], embedding=e[j], signature=sig, tag_scores=tags)
    seconds = (time.perf_counter() - t0) / n
    with cat.transaction():
        cat.db.execute("DELETE FROM tracks WHERE path >= ? AND path < ?", (b"new/", b"new0"))
    cat.close()
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=1_000_000)
    ap.add_argument("--kinds", default="flat,ivfpq", help="index kinds to build (flat, hnsw, ivfpq)")
    ap.add_argument("--emb-dim", type=int, default=200)
    ap.add_argument("--genres", type=int, default=10)
    ap.add_argument("--work", type=Path, help="folder for the synthetic catalog (kept; reused when it exists)")
    ap.add_argument("--out", type=Path, default=DOCS)
    ap.add_argument("--measure", nargs=3, metavar=("CATALOG", "METHOD", "KIND"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), args.measure[1], args.measure[2])))
        return
    from genrerec.library.vectors import BUILD_CHUNK

    env = environment()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        catalog = work / f"synthetic-{args.tracks}-{args.emb_dim}-{args.genres}.sqlite"
        if not catalog.exists():
            t0 = time.perf_counter()
            write_catalog(catalog.with_suffix(".part"), args.tracks, args.emb_dim, args.genres, "synthetic")
            catalog.with_suffix(".part").rename(catalog)
            print(f"catalog written in {time.perf_counter() - t0:.0f} s", flush=True)
        size_mb = catalog.stat().st_size / 2**20
        rows = []
        for kind in args.kinds.split(","):
            for method in ("at once", "streamed"):
                out = subprocess.run([sys.executable, __file__, "--measure", str(catalog), method, kind],
                                     capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
                if out.returncode:
                    raise SystemExit(f"{method} {kind} failed:\n{out.stderr[-2000:]}")
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(rows[-1], flush=True)
        commit_s = commit_cost(catalog, args.emb_dim, args.genres)
        print(f"commit: {commit_s * 1000:.3f} ms a track", flush=True)
    dim = args.emb_dim + args.genres
    result = {"environment": env, "tracks": args.tracks, "dim": dim, "catalog_mb": round(size_mb), "chunk": BUILD_CHUNK,
              "rows": rows, "commit_s_per_track": commit_s}
    atomic_write_json(args.out / "index_build.json", result)
    md = ["# Building the index from a big catalog", "",
          "Generated by `python benchmarks/index_build.py` — do not edit by hand.", "",
          f"One synthetic catalog of {args.tracks:,} usable tracks ({dim}-d combined vectors: {args.emb_dim}-d "
          f"embedding + {args.genres} genres, the shipped model's sizes; SQLite file {size_mb:,.0f} MB). Each row "
          "builds the search index from it in a fresh process. `at once` is the build before streaming "
          "(every row fetched at once as `Catalog.vectors` did, stacked, combined, then added); `streamed` is "
          f"`build_vector_index`, which reads {BUILD_CHUNK:,} tracks at a time (an `ivfpq` index first trains on "
          "a sample of 50k tracks fetched by id). `memory MB` is peak resident memory above the process's "
          "footprint after its imports; `index MB` the serialised index.", "",
          md_table(rows, [("kind", "index"), ("method", "build"), ("tracks", "tracks"), ("seconds", "wall s"),
                          ("peak_mb", "memory MB"), ("index_mb", "index MB")]), "",
          f"Committing new tracks into this catalog, as the indexer's driver does (transactions of 16, every "
          f"column it writes): {commit_s * 1000:.3f} ms a track, {1 / commit_s:,.0f} tracks/s.", "",
          env_md(env), ""]
    atomic_write_text(args.out / "index_build.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
