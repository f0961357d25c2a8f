"""The library's clusters (Recommender.clusters, recommend.clusters): seeded k-means, k = auto by
silhouette, names and file names, on the synthetic controls library and on separated blobs."""

import numpy as np
import pytest

from genrerec.recommend.clusters import choose_k, file_name, kmeans, silhouette
from genrerec.recommend.recommender import Recommender
from genrerec.recommend.results import RecommendError
from tests.recommend.test_controls import ALBUMS, GENRES, PER_ALBUM, make_controls_library


@pytest.fixture
def rec(tmp_path):
    r = Recommender.open(make_controls_library(tmp_path))
    yield r
    r.close()


def test_clusters_partition_the_library_and_find_the_genres(rec):
    got = rec.clusters("auto", seed=0)
    assert len(got) == len(GENRES)
    ids = [t for c in got for t in c.track_ids]
    assert sorted(ids) == sorted(int(i) for i in rec.ids)
    for c in got:
        assert len({next(iter(rec._genre_dict(rec.genre_vectors[rec.row_of[t]]))) for t in c.track_ids}) <= 2
        assert len(c.track_ids) == ALBUMS * PER_ALBUM
    assert len({c.name for c in got}) == len(got)  # names tell them apart
    assert [c.track_ids for c in rec.clusters(3, seed=5)] == [c.track_ids for c in rec.clusters(3, seed=5)]
    assert len(rec.clusters(1)) == 1


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "many", 10_000])
def test_bad_k_is_a_recommend_error(rec, k):
    with pytest.raises(RecommendError, match="k"):
        rec.clusters(k)


def test_kmeans_and_silhouette_on_separated_blobs():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 8)) * 10
    x = np.concatenate([c + rng.standard_normal((30, 8)) for c in centres])
    truth = np.repeat(np.arange(3), 30)
    labels, _, _ = kmeans(x, 3, seed=1)
    assert len({(a, b) for a, b in zip(labels, truth)}) == 3  # one label per blob
    assert silhouette(x, truth) > 0.7 > silhouette(x, rng.permutation(truth))
    assert choose_k(x, seed=0)[0] == 3
    sklearn = pytest.importorskip("sklearn.metrics")
    assert silhouette(x, labels) == pytest.approx(sklearn.silhouette_score(x, labels), abs=1e-9)


def test_cluster_file_names_are_safe():
    assert file_name(3, "ambient, calm") == "03-ambient-calm.m3u8"
    assert file_name(12, "../../etc/passwd\n", 3) == "012-etc-passwd.m3u8"
    assert file_name(1, "女声") == "01-cluster.m3u8"
