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

With --ivfpq it measures the index genrerec itself builds past IVFPQ_THRESHOLD
(VectorIndex "ivfpq": OPQ + IVF-PQ trained on a sample) at 1M and 10M vectors,
streamed in chunks of 1M (a float16 copy is kept, as a Recommender holds
the vectors, to measure its exact re-ranking of the candidates); exact
top-10 is kept by a running merge over the chunks. Writes
docs/benchmarks/scale-ivfpq.{json,md}.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path

import numpy as np
from common import DOCS, ROOT, env_md, environment, md_table

from genrerec.utils import atomic_write_json, atomic_write_text


def real_vectors(db: Path | None) -> tuple[np.ndarray, int]:
    """Combined vectors of a real catalog and the genre count; synthetic clusters if none."""
    from genrerec.library.catalog import Catalog
    from genrerec.library.vectors import combined_vectors

    if db and (db / "catalog.sqlite").exists():
        cat = Catalog(db / "catalog.sqlite", create=False)
        _, _, g, e = cat.vectors(cat.get_meta("model_id"))
        cat.close()
        if len(g) >= 10:
            return combined_vectors(g, e), g.shape[1]
    rng = np.random.default_rng(0)  # no catalog: 10 genre clusters in the shipped model's 200 + 10 dims
    g = rng.dirichlet(np.ones(10) * 0.3, 200)
    e = np.maximum(rng.standard_normal((10, 200))[g.argmax(1)] + 0.5 * rng.standard_normal((200, 200)), 0)
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
    if kind == "ivfpq":  # 3 dims a byte, as first measured at 138-d (PQ46); a divisor of d
        m = max(k for k in range(1, d // 3 + 1) if d % k == 0)
        return faiss.IndexIVFPQ(q, d, nlist, m, 8, faiss.METRIC_INNER_PRODUCT), {"quantizer": q}
    return faiss.IndexIVFFlat(q, d, nlist, faiss.METRIC_INNER_PRODUCT), {"quantizer": q}


def ivfpq_rows(base: np.ndarray, n_genres: int, sizes: list[int], n_queries: int, env: dict) -> list[dict]:
    import faiss

    from genrerec.library.vectors import IVFPQ_NPROBE, IVFPQ_TRAIN_SAMPLE, VectorIndex, ivfpq_factory

    d = base.shape[1]
    rows = []
    for n in sizes:
        rng = np.random.default_rng(n)
        xq = synthesize(base, n_genres, n_queries, rng)
        vi = VectorIndex(d, "ivfpq", n_hint=n)
        gc.collect()
        t0 = time.perf_counter()
        vi.train(synthesize(base, n_genres, min(n, IVFPQ_TRAIN_SAMPLE), rng))
        train_s = time.perf_counter() - t0
        held = np.empty((n, d), np.float16)  # the vectors a Recommender holds, for the exact re-ranking (fp16: 4 GB at 10M)
        best_s = np.full((n_queries, 10), -np.inf, np.float32)
        best_i = np.full((n_queries, 10), -1, np.int64)
        add_s = 0.0
        for start in range(0, n, 1_000_000):
            chunk = synthesize(base, n_genres, min(1_000_000, n - start), rng)
            ids = np.arange(start, start + len(chunk), dtype=np.int64)
            t0 = time.perf_counter()
            vi.add(ids, chunk)
            add_s += time.perf_counter() - t0
            held[start:start + len(chunk)] = chunk
            sc = xq @ chunk.T  # exact scores against this chunk, merged into the running top 10
            top = np.argpartition(-sc, 10, axis=1)[:, :10]
            cand_s = np.concatenate([best_s, np.take_along_axis(sc, top, 1)], 1)
            cand_i = np.concatenate([best_i, ids[top]], 1)
            keep = np.argsort(-cand_s, axis=1)[:, :10]
            best_s, best_i = np.take_along_axis(cand_s, keep, 1), np.take_along_axis(cand_i, keep, 1)
            del chunk, sc
        size_mb = faiss.serialize_index(vi.index).nbytes / 2**20
        ivf = faiss.extract_index_ivf(faiss.downcast_index(vi.index.index))
        for nprobe in (16, IVFPQ_NPROBE, 128):
            ivf.nprobe = nprobe
            lat, found = [], np.empty((n_queries, 10), np.int64)
            for i in range(n_queries):
                t0 = time.perf_counter()
                found[i] = vi.query(xq[i], 10)[1][0]
                lat.append((time.perf_counter() - t0) * 1000)
            recall = np.mean([len(set(found[i]) & set(best_i[i])) / 10 for i in range(n_queries)])
            lat_rr = []
            for i in range(n_queries):  # as the Recommender searches: IVFPQ_RERANK x 10 candidates re-scored
                t0 = time.perf_counter()
                found[i] = vi.query(xq[i], 10, rerank=lambda f: held[f].astype(np.float32))[1][0]
                lat_rr.append((time.perf_counter() - t0) * 1000)
            recall_rr = np.mean([len(set(found[i]) & set(best_i[i])) / 10 for i in range(n_queries)])
            rows.append({"vectors": n, "index": f"{ivfpq_factory(d, n)} nprobe={nprobe}"
                         + (" (default)" if nprobe == IVFPQ_NPROBE else ""),
                         "train_s": round(train_s, 1), "add_s": round(add_s, 1), "size_mb": round(size_mb, 1),
                         "bytes_per_track": round(size_mb * 2**20 / n, 1),
                         "flat_mb": round(n * d * 4 / 2**20, 1),
                         "p50_ms": round(float(np.percentile(lat, 50)), 3),
                         "p99_ms": round(float(np.percentile(lat, 99)), 3), "recall@10": round(float(recall), 3),
                         "p50_ms_rerank": round(float(np.percentile(lat_rr, 50)), 3),
                         "recall@10_rerank": round(float(recall_rr), 3)})
            print(rows[-1], flush=True)
        ivf.nprobe = IVFPQ_NPROBE
        del held
        del vi
    return rows


def ivfpq_main(args, env: dict, base: np.ndarray, n_genres: int) -> None:
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:  # written after each size: 10M takes long
        rows += ivfpq_rows(base, n_genres, [n], args.queries, env)
        ivfpq_write(args, env, base, rows)


def hnsw_bytes_per_vector(d: int) -> float:
    """HNSW32's bytes per vector at the largest size scale.md measured, its float part moved to `d` dims."""
    try:
        saved = json.loads((DOCS / "scale.json").read_text())
        big = max((r for r in saved["rows"] if r["index"].startswith("HNSW")), key=lambda r: r["vectors"])
        return big["size_mb"] * 2**20 / big["vectors"] + 4 * (d - saved["dim"])
    except (OSError, ValueError, KeyError):
        return float("nan")


def ivfpq_write(args, env: dict, base: np.ndarray, rows: list[dict]) -> None:
    per_vec = hnsw_bytes_per_vector(base.shape[1])  # derived, not measured: recomputed on every write
    for r in rows:
        r["hnsw_mb_est"] = round(per_vec * r["vectors"] / 2**20, 1)
    atomic_write_json(args.out / "scale-ivfpq.json", {"environment": env, "dim": base.shape[1], "rows": rows,
                                                     "real_vectors": len(base)})
    from genrerec.library.vectors import IVFPQ_RERANK, IVFPQ_TRAIN_SAMPLE

    sizes = sorted({r["vectors"] for r in rows})
    md = [f"# IVF-PQ at {', '.join(f'{n:,}' for n in sizes)} tracks", "",
          "Generated by `python benchmarks/scale.py --ivfpq` — do not edit by hand.", "",
          f"The index genrerec builds from `IVFPQ_THRESHOLD` tracks up (`VectorIndex` kind `ivfpq`): an OPQ "
          f"rotation, sqrt(n) inverted lists and a product quantizer of 2 dimensions per byte, trained on a sample "
          f"of at most {IVFPQ_TRAIN_SAMPLE // 1000}k vectors. Vectors: {base.shape[1]}-d combined track vectors "
          f"synthesised around {len(base)} real ones as in [scale.md](scale.md), streamed in chunks of 1M "
          "(10M: `--sizes 10000000`). "
          "Recall@10 against exact search over the same vectors; latency one query at a time; size the serialised "
          "index with its ids. `flat MB` is what exact search holds; `HNSW MB` extrapolates HNSW32's measured "
          "bytes per track from scale.md (moved to this dimension where that was measured at another).", "",
          md_table(rows, [("vectors", "vectors"), ("index", "index"), ("train_s", "train s"), ("add_s", "add s"),
                          ("size_mb", "size MB"), ("bytes_per_track", "bytes/track"), ("flat_mb", "flat MB"),
                          ("hnsw_mb_est", "HNSW MB (est.)"), ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"),
                          ("recall@10", "recall@10"), ("p50_ms_rerank", "p50 ms re-ranked"),
                          ("recall@10_rerank", "recall@10 re-ranked")]), "",
          f"`re-ranked`: how the Recommender searches this index: the {IVFPQ_RERANK * 10} best candidates by their PQ "
          "codes are re-scored with the full vectors it holds anyway (here a float16 copy), and the best 10 kept.",
          "", env_md(env), ""]
    atomic_write_text(args.out / "scale-ivfpq.md", "\n".join(md))
    print("\n".join(md))


def main() -> None:
    import faiss

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--db", type=Path, default=ROOT / ".demo" / "library.genrerec")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--out", type=Path, default=DOCS)
    ap.add_argument("--quick", action="store_true", help="10k vectors only")
    ap.add_argument("--ivfpq", action="store_true", help="genrerec's IVF-PQ index at --sizes (default 1M,10M)")
    ap.add_argument("--rewrite", action="store_true", help="with --ivfpq: rewrite its page from the saved JSON")
    args = ap.parse_args()
    if args.ivfpq:
        if args.sizes == ap.get_default("sizes"):
            args.sizes = "1000000,10000000"
        if args.rewrite:  # measure nothing: rewrite the page from its JSON (e.g. after scale.md was remeasured)
            saved = json.loads((args.out / "scale-ivfpq.json").read_text())
            base = np.zeros((saved["real_vectors"], saved["dim"]), np.float32)
            return ivfpq_write(args, saved["environment"], base, saved["rows"])
        return ivfpq_main(args, environment(), *real_vectors(args.db))
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
                    "ivfpq": f"IVF-PQ{idx.pq.M if kind == 'ivfpq' else ''} nprobe={param}"}[kind]
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
