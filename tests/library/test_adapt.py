"""Library-adapted statistics (library.adapt): a v3 catalog's vectors standardised by its own tracks."""

from contextlib import closing

import numpy as np
import pytest

from genrerec import Recommender, load_model
from genrerec.engine.index import index_library
from genrerec.library.adapt import ADAPT_CHANGE, META_KEY, iter_features, moments, recorded_stats
from genrerec.library.catalog import Catalog
from genrerec.library.location import CATALOG_FILE, DB_DIRNAME
from genrerec.models.space import ADAPT_N0, LibraryStats, V3Space
from tests.conftest import write_audio


@pytest.fixture(scope="module")
def v3():
    return load_model()


def open_catalog(library):
    return closing(Catalog(library / DB_DIRNAME / CATALOG_FILE, create=False))


def stored(cat: Catalog, model_id: str) -> tuple[np.ndarray, np.ndarray]:
    ids, _, _, embs = cat.vectors(model_id)
    feats = np.concatenate([f for _, f in iter_features(cat, model_id)])
    return embs, feats


def test_index_standardises_vectors_by_the_library_and_records_it(library, v3):
    s = index_library(library, model=v3, workers=0, show_progress=False, adapt=True)
    assert "this library's statistics (12 tracks)" in s.note
    with open_catalog(library) as cat:
        stats = recorded_stats(cat, v3)
        assert stats is not None and stats.tracks == 12 and stats.n0 == ADAPT_N0
        n, sums, squares = moments(cat, v3.model_id)
        assert np.allclose(stats.pooled_mean, LibraryStats.from_moments(v3.space, n, sums, squares).pooled_mean)
        embs, feats = stored(cat, v3.model_id)
    d = len(v3.space.pooled_mean)
    want = v3.space.adapted(stats).vector(feats[:, :d], feats[:, d:])
    assert np.allclose(embs, want, atol=1e-5)
    ref = v3.space.vector(feats[:, :d], feats[:, d:])
    assert not np.allclose(embs, ref, atol=1e-3)  # the library's statistics moved them
    with Recommender.open(library) as rec:  # the search index is built from the adapted vectors
        assert np.allclose(rec.vectors[:, : embs.shape[1]] / np.linalg.norm(rec.vectors[:, : embs.shape[1]], axis=1,
                                                                             keepdims=True), embs, atol=1e-4)


def test_a_no_op_index_leaves_the_statistics_and_generation_alone(library, v3):
    index_library(library, model=v3, workers=0, show_progress=False, adapt=True)
    with open_catalog(library) as cat:
        gen, before = cat.generation, cat.get_meta(META_KEY)
    s = index_library(library, model=v3, workers=0, show_progress=False)  # still adapting: recorded
    assert s.indexed == 0 and "statistics" not in s.note
    with open_catalog(library) as cat:
        assert cat.generation == gen and cat.get_meta(META_KEY) == before


def test_a_new_track_is_projected_with_the_recorded_statistics_until_the_library_grows(library, v3):
    index_library(library, model=v3, workers=0, show_progress=False, adapt=True)
    write_audio(library / "new" / "one.wav", "mid", seconds=6.0, seed=40)  # 13 of 12: +8%, under ADAPT_CHANGE
    assert 1 / 12 < ADAPT_CHANGE
    s = index_library(library, model=v3, workers=0, show_progress=False)  # still adapting: recorded
    assert s.indexed == 1 and "statistics" not in s.note
    with open_catalog(library) as cat:
        stats = recorded_stats(cat, v3)
        assert stats.tracks == 12
        embs, feats = stored(cat, v3.model_id)
    d = len(v3.space.pooled_mean)
    assert np.allclose(embs, v3.space.adapted(stats).vector(feats[:, :d], feats[:, d:]), atol=1e-3)
    write_audio(library / "new" / "two.wav", "low", seconds=6.0, seed=41)  # 14 of 12: taken again
    s = index_library(library, model=v3, workers=0, show_progress=False)  # still adapting: recorded
    assert "(14 tracks)" in s.note
    with open_catalog(library) as cat:
        assert recorded_stats(cat, v3).tracks == 14


def test_a_new_catalog_uses_the_reference_unless_asked(library, v3):
    s = index_library(library, model=v3, workers=0, show_progress=False)
    assert "statistics" not in s.note
    with open_catalog(library) as cat:
        assert cat.get_meta(META_KEY) is None
        embs, feats = stored(cat, v3.model_id)
    d = len(v3.space.pooled_mean)
    assert np.allclose(embs, v3.space.vector(feats[:, :d], feats[:, d:]), atol=1e-3)


def test_no_adapt_puts_the_vectors_back_on_the_reference(library, v3):
    index_library(library, model=v3, workers=0, show_progress=False, adapt=True)
    s = index_library(library, model=v3, workers=0, show_progress=False, adapt=False)
    assert "reference statistics again" in s.note
    with open_catalog(library) as cat:
        assert cat.get_meta(META_KEY) is None
        embs, feats = stored(cat, v3.model_id)
    d = len(v3.space.pooled_mean)
    assert np.allclose(embs, v3.space.vector(feats[:, :d], feats[:, d:]), atol=1e-3)


def test_statistics_shrink_toward_the_reference_for_a_small_library():
    space = V3Space.load()
    ref = np.concatenate([space.pooled_mean, space.emb_mean])
    x = ref + 5.0  # a library far from the reference
    for n, w in ((1, 1 / (1 + ADAPT_N0)), (10_000, 10_000 / (10_000 + ADAPT_N0))):
        st = LibraryStats.from_moments(space, n, x * n, x ** 2 * n)
        assert np.allclose(st.pooled_mean, space.pooled_mean + 5.0 * w, atol=1e-3)
        assert ((st.pooled_sd > 0) == (space.pooled_sd > 1e-6)).all()  # dead features stay dead
    assert LibraryStats.from_json(st.to_json()).tracks == 10_000
    with pytest.raises(ValueError, match="not library statistics"):
        LibraryStats.from_json({"tracks": 3})


def test_calls_and_tags_keep_the_reference_statistics():
    space = V3Space.load()
    rng = np.random.default_rng(0)
    p = space.pooled_mean + rng.standard_normal(space.pooled_mean.shape) * space.pooled_sd
    e = space.emb_mean + rng.standard_normal(space.emb_mean.shape) * space.emb_sd
    x = np.concatenate([p, e]) + 1.0
    other = space.adapted(LibraryStats.from_moments(space, 500, x * 500, x ** 2 * 500))
    assert other.call(p, e).probs == space.call(p, e).probs and other.digest() == space.digest()
    assert np.allclose(other.tags(p, e, np.full(50, 0.5)), space.tags(p, e, np.full(50, 0.5)))
    assert not np.allclose(other.vector(p, e), space.vector(p, e))


def test_the_cli_turns_it_on_and_off_with_stats(library):
    import json

    from typer.testing import CliRunner

    from genrerec.cli.main import app

    runner = CliRunner()
    on = runner.invoke(app, ["index", str(library), "--workers", "0", "--stats", "library", "--json"])
    assert on.exit_code == 0, on.output
    assert "this library's statistics (12 tracks)" in json.loads(on.stdout)["note"]
    off = runner.invoke(app, ["index", str(library), "--workers", "0", "--stats", "reference", "--json"])
    assert off.exit_code == 0 and "reference statistics again" in json.loads(off.stdout)["note"]
    with open_catalog(library) as cat:
        assert cat.get_meta(META_KEY) is None
