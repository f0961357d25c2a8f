"""The IVF-PQ index for huge catalogues: chosen by size, trained on a sample,
compressed, close to exact search, saved and loaded like the others."""

import faiss
import numpy as np

from genrerec.vectors import (HNSW_THRESHOLD, IVFPQ_THRESHOLD, VectorIndex, combined_vectors,
                              ivfpq_factory)


def clustered_tracks(n: int, seed: int = 0) -> np.ndarray:
    """Combined vectors of n tracks in 20 'styles' (4 genres, 10-d embeddings: small, so training is quick)."""
    rng = np.random.default_rng(seed)
    style = rng.integers(0, 20, n)
    g = rng.dirichlet(np.ones(4) * 0.3, 20)[style] + 0.05 * rng.random((n, 4))
    e = np.maximum(rng.standard_normal((20, 10))[style] + 0.4 * rng.standard_normal((n, 10)), 0)
    return combined_vectors(g, e)


def test_index_kind_follows_catalogue_size():
    assert [VectorIndex.kind_for(n) for n in (10, HNSW_THRESHOLD, IVFPQ_THRESHOLD)] == ["flat", "hnsw", "ivfpq"]
    assert ivfpq_factory(138, 1_000_000) == "OPQ69,IVF1000,PQ69"  # 2 dims a byte, sqrt(n) lists
    assert ivfpq_factory(138, 10_000_000) == "OPQ69,IVF1282,PQ69"  # at most 1 list per 39 training vectors


def test_ivfpq_finds_near_neighbours_in_a_fraction_of_the_memory(tmp_path):
    v = clustered_tracks(4000)
    ids = np.arange(1000, 5000)
    vi = VectorIndex(v.shape[1], "ivfpq", n_hint=len(v))
    assert vi.needs_training
    vi.train(v)
    vi.add(ids, v)
    exact = VectorIndex(v.shape[1], "flat")
    exact.add(ids, v)
    q = v[::100]
    _, want = exact.query(q, 10)
    _, got = vi.query(q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, want)])
    assert recall >= 0.6, recall
    assert set(got.ravel()) <= set(ids)
    pq_bytes, flat_bytes = (faiss.serialize_index(x.index).nbytes for x in (vi, exact))
    assert pq_bytes < flat_bytes / 2
    vi.save(tmp_path / "pq.faiss")
    back = VectorIndex.load(tmp_path / "pq.faiss")
    assert back.kind == "ivfpq" and len(back) == 4000 and np.array_equal(back.query(q, 10)[1], got)
    back.remove(np.array([1000]))
    assert len(back) == 3999 and 1000 not in back.ids()
