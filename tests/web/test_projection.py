"""Map coordinates: PCA by default, UMAP where installed, cached per catalog generation."""

from __future__ import annotations

import sys
import types

import numpy as np

from genrerec.web.projection import cached_projection, pca_2d, project


def test_pca_separates_clusters_and_is_deterministic():
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0, 0.1, (50, 8)), rng.normal(3, 0.1, (50, 8))]
    xy = pca_2d(x)
    assert np.array_equal(xy, pca_2d(x.copy()))
    assert abs(xy[:50, 0].mean() - xy[50:, 0].mean()) > 10 * xy[:, 1].std()
    scaled, method = project(x)
    assert method == "PCA" and np.abs(scaled).max() <= 1.0 + 1e-6 and scaled.dtype == np.float32


def test_tiny_catalogs_get_a_map_too():
    for n in (0, 1, 2):
        xy, _ = project(np.ones((n, 4)))
        assert xy.shape == (n, 2) and np.isfinite(xy).all()


def test_umap_is_used_where_installed(monkeypatch):
    calls = []

    class FakeUMAP:
        def __init__(self, **kw):
            calls.append(kw)

        def fit_transform(self, x):
            return np.c_[np.arange(len(x)), -np.arange(len(x))].astype(float)

    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=FakeUMAP))
    xy, method = project(np.random.default_rng(0).normal(size=(40, 5)))
    assert method == "UMAP" and calls[0]["random_state"] == 0
    assert np.allclose(xy[:, 0], -xy[:, 1]) and xy[:, 0].max() == 1.0


def test_projection_is_cached_by_key(tmp_path, monkeypatch):
    x = np.random.default_rng(0).normal(size=(30, 4))
    first, _ = cached_projection(tmp_path, "m:1:30", x)
    import genrerec.web.projection as proj

    monkeypatch.setattr(proj, "project", lambda x: (_ for _ in ()).throw(AssertionError("recomputed")))
    again, _ = cached_projection(tmp_path, "m:1:30", x)
    assert np.array_equal(first, again)
    monkeypatch.setattr(proj, "project", lambda x: (np.zeros((len(x), 2), np.float32), "PCA"))
    changed, _ = cached_projection(tmp_path, "m:2:30", x)  # a new catalog generation
    assert not changed.any()
