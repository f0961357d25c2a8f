"""Property-based tests (hypothesis) for the pure parts: aggregation,
similarity, temperature sampling, slot allocation and split generation."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from genrerec.library.vectors import combined_vectors
from genrerec.models.inference import GenreModel
from genrerec.recommend.picks import gumbel_top_k
from genrerec.recommend.tastes import allocate
from genrerec.training.data import Clip, make_split
from tests.reliability.strategies import nonzero

finite = st.floats(-10, 10, allow_nan=False, width=32)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(k=st.integers(1, 20), g=st.integers(2, 12), d=st.integers(1, 32), data=st.data())
def test_aggregation(k, g, d, data):
    logits = data.draw(arrays(np.float32, (k, g), elements=finite))
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    embs = data.draw(arrays(np.float32, (k, d), elements=finite))
    model = GenreModel.__new__(GenreModel)  # the pooling alone: no network, no v3 space
    model.space, model.genres = None, [f"g{i}" for i in range(g)]
    te = model.aggregate(probs, embs, 30.0)
    assert te.label == model.genres[int(np.argmax(te.genres))]
    assert te.genres.sum() == pytest.approx(1.0, abs=1e-4) and (te.genres >= 0).all()
    assert np.linalg.norm(te.embedding) == pytest.approx(1.0, abs=1e-4)  # zero mean falls back to a unit vector
    perm = np.random.default_rng(0).permutation(k)
    te2 = model.aggregate(probs[perm], embs[perm], 30.0)  # window order does not matter
    np.testing.assert_allclose(te.genres, te2.genres, atol=1e-5)
    np.testing.assert_allclose(te.embedding, te2.embedding, atol=1e-4)


@SETTINGS
@given(n=st.integers(2, 8), g=st.integers(2, 10), d=st.integers(2, 16), w=st.floats(0, 1), data=st.data())
def test_combined_similarity(n, g, d, w, data):
    genres = data.draw(arrays(np.float64, (n, g), elements=st.floats(0.01, 1)))
    embs = data.draw(arrays(np.float64, (n, d), elements=nonzero))
    v = combined_vectors(genres, embs, w)
    sim = v @ v.T
    cos = lambda x: (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (x / np.linalg.norm(x, axis=1, keepdims=True)).T
    np.testing.assert_allclose(sim, (1 - w) * cos(embs) + w * cos(genres), atol=1e-5)
    np.testing.assert_allclose(np.diag(sim), 1.0, atol=1e-5)
    assert (sim <= 1 + 1e-5).all() and (sim >= -1 - 1e-5).all()
    np.testing.assert_allclose(sim, sim.T, atol=1e-6)


def test_nonzero_strategy_passes_health_checks_on_every_seed():
    """The embedding strategy of test_combined_similarity, every health check on, under fixed seeds, in a
    fresh interpreter (seeds 1 and 5 failed with FailedHealthCheck while it filtered)."""
    code = textwrap.dedent("""
        import numpy as np
        from hypothesis import given, seed, settings, strategies as st
        from hypothesis.extra.numpy import arrays
        from tests.reliability.strategies import nonzero

        for s in range(8):
            @seed(s)
            @settings(max_examples=60, deadline=None, database=None)
            @given(n=st.integers(2, 8), d=st.integers(2, 16), data=st.data())
            def draw(n, d, data):
                x = data.draw(arrays(np.float64, (n, d), elements=nonzero))
                assert (np.abs(x) >= 1e-3).all() and (np.abs(x) <= 1).all()
            draw()
    """)
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(root)})
    assert r.returncode == 0, r.stderr[-2000:]


@SETTINGS
@given(scores=arrays(np.float64, st.integers(1, 200), elements=st.floats(-1, 1)), k=st.integers(1, 250),
       t=st.floats(0, 5), seed=st.integers(0, 2**32 - 1))
def test_temperature_sampling(scores, k, t, seed):
    a = gumbel_top_k(scores, k, t, np.random.default_rng(seed))
    b = gumbel_top_k(scores, k, t, np.random.default_rng(seed))
    assert len(a) == min(k, len(scores)) and len(set(a.tolist())) == len(a)  # no duplicates, size n
    np.testing.assert_array_equal(a, b)  # deterministic with a seed
    if t == 0:
        np.testing.assert_array_equal(a, np.argsort(-scores, kind="stable")[: len(a)])


@SETTINGS
@given(n=st.integers(1, 500), shares=st.lists(st.floats(0.001, 100), min_size=1, max_size=10))
def test_allocation(n, shares):
    q = allocate(n, shares)
    assert sum(q) == n and all(x >= 0 for x in q)
    ideal = np.array(shares) / sum(shares) * n
    assert np.all(np.abs(np.array(q) - ideal) < 1 + 1e-9)


@SETTINGS
@given(counts=st.lists(st.integers(3, 30), min_size=2, max_size=6), method=st.sampled_from(["blocks", "random"]),
       val=st.floats(0.05, 0.3), test=st.floats(0.05, 0.3), seed=st.integers(0, 1000))
def test_split_generation(counts, method, val, test, seed):
    from pathlib import Path

    clips = [Clip(Path(f"g{g}/c{i:05d}.mp3"), f"g{g}", f"g{g}/c{i:05d}.mp3") for g, n in enumerate(counts)
             for i in range(n)]
    s = make_split(clips, method, val, test, seed)
    assert set(s) == {c.key for c in clips}  # every clip exactly once: disjoint and complete
    assert s == make_split(clips, method, val, test, seed)
    for g, n in enumerate(counts):  # stratified: each genre in each part, in proportion
        parts = [s[f"g{g}/c{i:05d}.mp3"] for i in range(n)]
        assert parts.count("test") == max(1, round(test * n)) and parts.count("val") == max(1, round(val * n))
        assert parts.count("train") >= 1


@pytest.fixture(scope="module")
def synthetic_rec(tmp_path_factory):
    from genrerec.recommend.recommender import Recommender
    from tests.recommend.test_recommender import make_library

    rec = Recommender.open(make_library(tmp_path_factory.mktemp("props"), per_genre=25))
    yield rec
    rec.close()


@SETTINGS
@given(n=st.integers(1, 120), t=st.floats(0, 3), seed=st.integers(0, 10_000),
       picks=st.lists(st.integers(0, 99), min_size=1, max_size=12))
def test_playlists(synthetic_rec, n, t, seed, picks):
    rec = synthetic_rec
    hist = [int(rec.ids[i]) for i in picks]
    out = rec.recommend(hist, n=n, temperature=t, seed=seed)
    ids = [r.track_id for r in out]
    assert len(ids) == len(set(ids))  # no duplicates
    assert len(ids) == min(n, len(rec) - len(set(hist)))  # size n when enough tracks exist
    assert not set(ids) & set(hist)  # history excluded
    assert ids == [r.track_id for r in rec.recommend(hist, n=n, temperature=t, seed=seed)]
