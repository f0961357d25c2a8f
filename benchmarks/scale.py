#!/usr/bin/env python
"""FAISS at library scale: exact, HNSW and IVF indexes over 10k-1M vectors of
the real combined dimension (embedding + genre vector).

Synthetic vectors are drawn to match real ones: each is a real track's vector
from an indexed catalog (--db; by default the demo catalog of ../shared/gtzan)
plus Gaussian noise scaled to the real per-dimension spread, the embedding part
clipped at 0 like the ReLU it comes from, then re-normalised. Queries are
drawn the same way. Reports build time, index size, query latency p50/p99
(one query at a time, as recommend() issues them) and recall@10 against exact
search. Writes docs/benchmarks/scale.{json,md}. 1M vectors take ~15 minutes.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

import numpy as np

from common import DOCS, ROOT, env_md, environment, md_table

from genrerec.utils import atomic_write_json, atomic_write_text


def real_vectors(db: Path | None) -> tuple[np.ndarray, int]:
    """Combined vectors of a real catalog and the genre count; synthetic clusters if none."""
    from genrerec.catalog import Catalog
    from genrerec.index import combined_vectors

    if db and (db / "catalog.sqlite").exists():
        cat = Catalog(db / "catalog.sqlite", create=False)
        _, _, g, e = cat.vectors(cat.get_meta("model_id"))
        cat.close()
        if len(g) >= 10:
            return combined_vectors(g, e), g.shape[1]
    rng = np.random.default_rng(0)  # no catalog: 10 genre clusters in 128 + 10 dims
    g = rng.dirichlet(np.ones(10) * 0.3, 200)
    e = np.maximum(rng.standard_normal((10, 128))[g.argmax(1)] + 0.5 * rng.standard_normal((200, 128)), 0)
    return combined_vectors(g, e), 10


def synthesize(base: np.ndarray, n_genres: int, n: int, rng: np.random.Generator) -> np.ndarray:
    d_emb = base.shape[1] - n_genres
    sd = base.std(0)
    out = np.empty((n, base.shape[1]), np.float32)
    for i in range(0, n, 100_000):
        m = min(100_000, n - i)
        x = base[rng.integers(0, len(base), m)] + rng.standard_normal((m, base.shape[1])).astype(np.float32) * sd * 0.7
        x[:, :d_emb] = np.maximum(x[:, :d_emb], 0)
        x[:, d_emb:] = np.maximum(x[:, d_emb:], 0)
        out[i:i + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def build(kind: str, d: int, n: int):
    import faiss

    if kind == "flat":
        return faiss.IndexFlatIP(d), {}
    if kind.startswith("hnsw"):
        idx = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
        idx.hnsw.efConstruction = 80
        return idx, {}
    nlist = int(4 * np.sqrt(n))
    q = faiss.IndexFlatIP(d)
    if kind == "ivfpq":
        return faiss.IndexIVFPQ(q, d, nlist, 46, 8, faiss.METRIC_INNER_PRODUCT), {"quantizer": q}
    return faiss.IndexIVFFlat(q, d, nlist, faiss.METRIC_INNER_PRODUCT), {"quantizer": q}


def main() -> None:
    import faiss

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--db", type=Path, default=ROOT / ".demo" / "library.genrerec")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--out", type=Path, default=DOCS)
    ap.add_argument("--quick", action="store_true", help="10k vectors only")
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.queries, args.out = "10000", 100, args.out / "quick"
    env = environment()
    base, n_genres = real_vectors(args.db)
    d = base.shape[1]
    rng = np.random.default_rng(0)
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        xb = synthesize(base, n_genres, n, rng)
        xq = synthesize(base, n_genres, args.queries, rng)
        exact = faiss.IndexFlatIP(d)
        exact.add(xb)
        _, truth = exact.search(xq, 10)
        configs = [("flat", None), ("hnsw", 64), ("hnsw", 128), ("hnsw", 256), ("ivf", 16), ("ivf", 64),
                   ("ivfpq", 64)]
        built = {}
        for kind, param in configs:
            if kind not in built:
                gc.collect()
                idx, keep = build(kind, d, n)
                t0 = time.perf_counter()
                if not idx.is_trained:
                    idx.train(xb[rng.choice(n, min(n, 100_000), replace=False)])
                idx.add(xb)
                build_s = time.perf_counter() - t0
                size_mb = faiss.serialize_index(idx).nbytes / 2**20
                built[kind] = (idx, keep, build_s, size_mb)
            idx, keep, build_s, size_mb = built[kind]
            if kind == "hnsw":
                idx.hnsw.efSearch = param
            elif kind.startswith("ivf"):
                idx.nprobe = param
            lat = []
            found = np.empty((len(xq), 10), np.int64)
            for i in range(len(xq)):
                t0 = time.perf_counter()
                _, found[i:i + 1] = idx.search(xq[i:i + 1], 10)
                lat.append((time.perf_counter() - t0) * 1000)
            recall = np.mean([len(set(found[i]) & set(truth[i])) / 10 for i in range(len(xq))])
            name = {"flat": "exact (flat IP)", "hnsw": f"HNSW32 efSearch={param}", "ivf": f"IVF-Flat nprobe={param}",
                    "ivfpq": f"IVF-PQ46 nprobe={param}"}[kind]
            rows.append({"vectors": n, "index": name, "build_s": round(build_s, 1), "size_mb": round(size_mb, 1),
                         "p50_ms": round(float(np.percentile(lat, 50)), 3),
                         "p99_ms": round(float(np.percentile(lat, 99)), 3), "recall@10": round(float(recall), 3)})
            print(rows[-1], flush=True)
        del built, exact, xb
    atomic_write_json(args.out / "scale.json", {"environment": env, "dim": d, "rows": rows,
                                               "real_vectors": len(base)})
    md = ["# FAISS at scale", "", "Generated by `python benchmarks/scale.py` — do not edit by hand.", "",
          f"Vectors: {d}-d combined track vectors (embedding + genre vector), synthesised around {len(base)} real "
          "ones (see the script). Latency: one query at a time, k=10, single process. Recall@10 against exact "
          "search. Size: the serialised index.", "",
          md_table(rows, [("vectors", "vectors"), ("index", "index"), ("build_s", "build s"),
                          ("size_mb", "size MB"), ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"),
                          ("recall@10", "recall@10")]), "", env_md(env), ""]
    atomic_write_text(args.out / "scale.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
