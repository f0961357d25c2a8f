"""Recommender behaviour on a synthetic catalog with known genres."""

import math
import os
from pathlib import Path

import numpy as np
import pytest

from genrerec.library.catalog import Catalog
from genrerec.recommend.recommender import Recommender
from genrerec.recommend.results import RecommendError
from genrerec.recommend.tastes import allocate, cluster_tastes

GENRES = ["jazz", "metal", "pop", "rock"]


def make_library(tmp_path: Path, per_genre: int = 60, dim: int = 16, seed: int = 0) -> Path:
    """Tracks whose genre vectors and embeddings cluster by genre, with spread
    inside each genre so that 'closest' and 'further' are meaningful."""
    rng = np.random.default_rng(seed)
    root = tmp_path / "lib"
    db = root / ".genrerec"
    cat = Catalog(db / "catalog.sqlite")
    centers = rng.standard_normal((len(GENRES), dim)) * 2
    with cat.transaction():
        cat.set_meta("library", str(root))
        cat.set_meta("model_id", "synthetic")
        cat.set_meta("genres", GENRES)
        for gi, g in enumerate(GENRES):
            for i in range(per_genre):
                rel = f"{g}/{g}{i:03d}.mp3"
                (root / g).mkdir(parents=True, exist_ok=True)
                (root / rel).write_bytes(b"x")
                spread = rng.uniform(0.2, 1.5)
                e = centers[gi] + spread * rng.standard_normal(dim)
                logits = np.eye(len(GENRES))[gi] * 3 + spread * rng.standard_normal(len(GENRES))
                p = np.exp(logits) / np.exp(logits).sum()
                cat.upsert(os.fsencode(rel), 1, 1, rel, status="ok", duration=30.0, model_id="synthetic",
                           genres=p, embedding=e / np.linalg.norm(e))
    cat.close()
    return root


@pytest.fixture
def rec(tmp_path):
    r = Recommender.open(make_library(tmp_path))
    yield r
    r.close()


def hist(root, genre, idx):
    return [root / genre / f"{genre}{i:03d}.mp3" for i in idx]


def test_temperature_zero_is_nearest_and_deterministic(rec):
    h = hist(rec.root, "jazz", range(5))
    a = rec.recommend(h, n=10, temperature=0)
    assert [r.path for r in a] == [r.path for r in rec.recommend(h, n=10, temperature=0, seed=123)]
    assert all(r.genres and next(iter(r.genres)) == "jazz" for r in a)
    scores = [r.score for r in a]
    assert scores == sorted(scores, reverse=True)


def test_temperature_is_monotone(rec):
    h = hist(rec.root, "jazz", range(8))
    mean_sim, jazz_share, distinct = [], [], []
    for T in (0.0, 0.25, 0.5, 1.0, 2.0):
        sims, share, seen = [], [], set()
        for seed in range(12):
            rs = rec.recommend(h, n=20, temperature=T, seed=seed)
            sims += [r.score for r in rs]
            share.append(np.mean([next(iter(r.genres)) == "jazz" for r in rs]))
            seen |= {r.track_id for r in rs}
        mean_sim.append(np.mean(sims))
        jazz_share.append(np.mean(share))
        distinct.append(len(seen))
    assert all(a > b for a, b in zip(mean_sim, mean_sim[1:])), mean_sim
    assert all(a >= b for a, b in zip(jazz_share, jazz_share[1:])) and jazz_share[-1] < jazz_share[0], jazz_share
    assert all(a <= b for a, b in zip(distinct, distinct[1:])) and distinct[-1] > distinct[0], distinct


def test_seed_makes_sampling_reproducible(rec):
    h = hist(rec.root, "rock", range(4))
    a = rec.recommend(h, n=15, temperature=1.0, seed=7)
    b = rec.recommend(h, n=15, temperature=1.0, seed=7)
    c = rec.recommend(h, n=15, temperature=1.0, seed=8)
    assert [r.track_id for r in a] == [r.track_id for r in b] != [r.track_id for r in c]


def test_eclectic_history_gets_both_tastes_in_proportion(rec):
    jazz, metal = hist(rec.root, "jazz", range(6)), hist(rec.root, "metal", range(3))
    weights = {**{p: 2.0 for p in jazz}, **{p: 2.0 for p in metal}}  # jazz 12 plays, metal 6
    tastes = rec.tastes(weights)
    assert len(tastes) == 2 and tastes[0].share == pytest.approx(2 / 3)
    rs = rec.recommend(weights, n=30, temperature=0)
    top = [next(iter(r.genres)) for r in rs]
    assert top.count("jazz") == 20 and top.count("metal") == 10
    # not a centroid in between: every pick is close to one of the tastes
    assert min(r.score for r in rs) > 0.5


def test_no_duplicates_history_excluded_and_gone_files_skipped(rec):
    h = hist(rec.root, "pop", range(10))
    (rec.root / "pop" / "pop010.mp3").unlink()
    rs = rec.recommend(h, n=40, temperature=0.7, seed=1)
    ids = [r.track_id for r in rs]
    assert len(ids) == len(set(ids)) == 40
    assert not {r.path for r in rs} & set(h)
    assert all(r.path.exists() for r in rs)
    assert set(h) & {r.path for r in rec.recommend(h, n=20, temperature=0, exclude_history=False)}


def test_more_than_the_library_returns_everything_once(tmp_path):
    r = Recommender.open(make_library(tmp_path, per_genre=3))
    rs = r.recommend(hist(r.root, "jazz", [0]), n=50, temperature=1.0, seed=0)
    assert len(rs) == 11 and len({x.track_id for x in rs}) == 11


def test_profile_and_similar(rec):
    prof = rec.profile({**{p: 3 for p in hist(rec.root, "jazz", range(3))}, rec.root / "rock/rock000.mp3": 1})
    assert list(prof)[0] == "jazz" and math.isclose(sum(prof.values()), 1.0, abs_tol=1e-3)
    sim = rec.similar(rec.root / "metal/metal005.mp3", n=5)
    assert len(sim) == 5 and all(next(iter(r.genres)) == "metal" for r in sim)
    assert rec.root / "metal/metal005.mp3" not in [r.path for r in sim]


@pytest.mark.parametrize("kwargs,msg", [
    (dict(n=0), "n must be"), (dict(n=-3), "n must be"), (dict(n=2.5), "n must be"),
    (dict(temperature=-1), "temperature"), (dict(temperature=float("nan")), "temperature"),
    (dict(temperature=float("inf")), "temperature"),
])
def test_bad_arguments(rec, kwargs, msg):
    with pytest.raises(RecommendError, match=msg):
        rec.recommend(hist(rec.root, "jazz", [0]), **kwargs)


def test_bad_history(rec, tmp_path):
    with pytest.raises(RecommendError, match="history is empty"):
        rec.recommend([])
    with pytest.raises(RecommendError, match="no such file"):
        rec.recommend([tmp_path / "nope.mp3"])
    outside = tmp_path / "elsewhere.mp3"
    outside.write_bytes(b"x")
    with pytest.raises(RecommendError, match="not in the library"):
        rec.recommend([outside])
    with pytest.raises(RecommendError, match="track id 99999"):
        rec.recommend([99999])


def test_allocate_and_clusters():
    assert allocate(10, [2, 1]) == [7, 3] and sum(allocate(7, [1, 1, 1])) == 7
    v = np.array([[1, 0, 0], [0.99, 0.1, 0], [0, 1, 0], [0.05, 0.99, 0]], float)
    labels = cluster_tastes(v)
    assert labels[0] == labels[1] != labels[2] == labels[3]
