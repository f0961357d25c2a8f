"""The IVF-PQ index for huge catalogues: chosen by size, trained on a sample,
compressed, close to exact search once the Recommender re-ranks its candidates,
saved and loaded like the others; and every index built from the catalog a
chunk at a time, from one consistent snapshot."""

import faiss
import numpy as np
import pytest

from genrerec.library.vectors import HNSW_THRESHOLD, IVFPQ_THRESHOLD, VectorIndex, combined_vectors, ivfpq_factory


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


def catalog_of(tmp_path, n: int, seed: int = 0):
    """A catalog of n usable tracks of model "m", plus failed tracks and tracks of another model."""
    from genrerec.library.catalog import Catalog

    rng = np.random.default_rng(seed)
    cat = Catalog(tmp_path / "catalog.sqlite")
    style = rng.integers(0, 20, n)
    g = rng.dirichlet(np.ones(4) * 0.3, 20)[style].astype(np.float32)
    e = np.maximum(rng.standard_normal((20, 10))[style] + 0.4 * rng.standard_normal((n, 10)), 0).astype(np.float32)
    with cat.transaction():
        for i in range(n):
            cat.upsert(f"t{i}.mp3".encode(), 1, 1, f"fp{i}", status="ok", model_id="m", genres=g[i], embedding=e[i])
            if i % 7 == 0:
                cat.upsert(f"bad{i}.mp3".encode(), 1, 1, None, status="failed", error="cannot decode")
            if i % 11 == 0:
                cat.upsert(f"old{i}.mp3".encode(), 1, 1, f"o{i}", status="ok", model_id="old",
                           genres=g[i], embedding=e[i])
    return cat


def test_catalog_vectors_stream_in_chunks_in_id_order(tmp_path):
    cat = catalog_of(tmp_path, 300)
    ids, _, g, e = cat.vectors("m")
    chunks = list(cat.iter_vectors("m", chunk=64))
    assert [len(c[0]) for c in chunks] == [64, 64, 64, 64, 44]
    assert np.array_equal(np.concatenate([c[0] for c in chunks]), ids)
    assert np.array_equal(np.concatenate([c[2] for c in chunks]), e)
    assert np.array_equal(cat.vector_ids("m"), ids)
    pick = ids[::-3]  # any order in, id order out, only those
    got = np.concatenate([c[0] for c in cat.iter_vectors("m", chunk=10, ids=pick)])
    assert np.array_equal(got, np.sort(pick))


def test_index_built_a_chunk_at_a_time_equals_the_whole_catalog_at_once(tmp_path):
    from genrerec.library.vectors import build_vector_index

    cat = catalog_of(tmp_path, 500)
    ids, _, g, e = cat.vectors("m")
    whole = VectorIndex(14, "flat")
    whole.add(ids, combined_vectors(g, e))
    chunked = build_vector_index(cat, "m", chunk=37)
    assert chunked.kind == "flat" and chunked.ids() == set(ids.tolist())
    q = combined_vectors(g[::25], e[::25])
    assert np.array_equal(chunked.query(q, 10)[1], whole.query(q, 10)[1])
    pq = build_vector_index(cat, "m", kind="ivfpq", chunk=37)  # trained on a sample fetched by id
    assert pq.kind == "ivfpq" and pq.ids() == set(ids.tolist())
    _, want = whole.query(q, 10)
    _, got = pq.query(q, 10)
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, want)]) >= 0.6


def test_a_snapshot_keeps_one_view_while_another_process_commits(tmp_path):
    from genrerec.library.catalog import Catalog

    reader = catalog_of(tmp_path, 30)
    writer = Catalog(tmp_path / "catalog.sqlite")
    before = reader.generation
    with reader.snapshot():
        assert len(reader.vector_ids("m")) == 30
        with writer.transaction():
            writer.upsert(b"new.mp3", 1, 1, "fpn", status="ok", model_id="m", genres=np.ones(4, np.float32),
                          embedding=np.ones(10, np.float32))
        assert len(reader.vector_ids("m")) == 30 and reader.generation == before  # still the old view
    assert len(reader.vector_ids("m")) == 31 and reader.generation == before + 1


def test_a_reader_holding_the_vectors_reranks_compressed_candidates_exactly():
    v = clustered_tracks(4000, seed=1)
    ids = np.arange(4000)
    vi = VectorIndex(v.shape[1], "ivfpq", n_hint=len(v))
    vi.train(v)
    vi.add(ids, v)
    exact = VectorIndex(v.shape[1], "flat")
    exact.add(ids, v)
    q = v[5::80]
    want_s, want = exact.query(q, 10)
    _, rough = vi.query(q, 10)
    got_s, got = vi.query(q, 10, rerank=lambda found: v[found])
    recall = lambda found: np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, want)])  # noqa: E731
    assert recall(got) >= 0.95 and recall(got) > recall(rough), (recall(got), recall(rough))
    assert np.allclose(got_s, np.sum(v[got] * q[:, None], -1), atol=1e-5)  # exact scores, best first
    assert np.all(np.diff(got_s, axis=1) <= 0)


def test_the_recommender_searches_a_compressed_index_as_well_as_exact_search(tmp_path, monkeypatch):
    from genrerec.library import vectors
    from genrerec.recommend.recommender import Recommender

    lib, db = tmp_path / "music", tmp_path / "db"
    lib.mkdir()
    cat = catalog_of(db, 2000)
    cat.set_meta("model_id", "m")
    cat.set_meta("genres", ["a", "b", "c", "d"])
    cat.set_meta("library", str(lib))
    for (rel,) in cat.db.execute("SELECT path FROM tracks"):
        (lib / rel.decode()).touch()
    cat.close()
    monkeypatch.setattr(vectors, "HNSW_THRESHOLD", 500)  # a huge catalogue's index, on a small one
    monkeypatch.setattr(vectors, "IVFPQ_THRESHOLD", 1000)
    rec = Recommender.open(db)
    assert rec.index.kind == "ivfpq"
    exact = VectorIndex(rec.vectors.shape[1])
    exact.add(rec.ids, rec.vectors)
    hits = []
    for tid in rec.ids[::100].tolist():
        got = {r.track_id for r in rec.similar(tid, n=10)}
        _, want = exact.query(rec.vectors[rec.row_of[tid]], 11)
        hits.append(len(got & (set(want[0].tolist()) - {tid})) / 10)
    assert np.mean(hits) >= 0.97, np.mean(hits)  # the PQ codes alone find 0.87 here
    rec.close()


def test_the_index_build_never_loads_the_whole_catalog(tmp_path, monkeypatch):
    from genrerec.library.catalog import Catalog
    from genrerec.library.vectors import build_vector_index

    cat = catalog_of(tmp_path, 300)
    n = len(cat.vector_ids("m"))
    seen = []
    chunks = Catalog.iter_vectors

    def watched(self, *a, **kw):
        for part in chunks(self, *a, **kw):
            seen.append(len(part[0]))
            yield part

    monkeypatch.setattr(Catalog, "vectors", lambda *a, **kw: pytest.fail("loaded every vector at once"))
    monkeypatch.setattr(Catalog, "iter_vectors", watched)
    vi = build_vector_index(cat, "m", chunk=50)
    assert len(vi) == n and max(seen) <= 50
