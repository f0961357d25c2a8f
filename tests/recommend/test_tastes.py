"""Tastes: how a history splits (recommend.tastes), under v2's average-linkage rule and v3's Ward split."""

import numpy as np
import pytest

from genrerec.recommend.tastes import cluster_tastes


def styles(n_per: list[int], dim: int = 32, spread: float = 0.35, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around orthogonal style centres, n_per[i] of style i (seeded)."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for i, n in enumerate(n_per):
        c = np.zeros(dim)
        c[i] = 1.0
        x = c + spread * rng.standard_normal((n, dim)) / np.sqrt(dim)
        rows.append(x / np.linalg.norm(x, axis=1, keepdims=True))
        truth += [i] * n
    return np.concatenate(rows), np.array(truth)


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return all(len(set(a[b == k])) == 1 for k in set(b)) and len(set(a)) == len(set(b))


@pytest.mark.parametrize("n_per", [[3, 3], [5, 3, 4], [40, 25]])
def test_ward_finds_each_style_of_a_mixed_history(n_per):
    v, truth = styles(n_per)
    assert same_partition(cluster_tastes(v, 0.35, rule="ward", min_size=3), truth)


@pytest.mark.parametrize("n", [6, 60, 600])
def test_a_single_style_stays_one_taste_however_long_the_history(n):
    # the split test is the mean cosine between halves, which does not grow with n as Ward's merge height does
    v, _ = styles([n], spread=0.9, seed=n)
    assert cluster_tastes(v, 0.35, rule="ward", min_size=3).max() == 0


def test_a_stray_track_joins_a_taste_instead_of_making_its_own():
    v, truth = styles([4, 4])
    stray = np.zeros((1, v.shape[1]))
    stray[0, 5] = 1.0  # unlike everything else
    labels = cluster_tastes(np.concatenate([v, stray]), 0.35, rule="ward", min_size=3)
    assert labels.max() == 1 and same_partition(labels[:-1], truth)
    assert cluster_tastes(np.concatenate([v, stray]), 0.35, rule="ward", min_size=1).max() == 2


@pytest.mark.parametrize("n_per", [[1, 1], [2, 1], [2, 2]])
def test_a_short_history_of_two_styles_still_splits(n_per):
    # fewer than 2 * min_size tracks: the halves may be smaller than min_size (the web demo's jazz + metal listener)
    v, truth = styles(n_per)
    assert same_partition(cluster_tastes(v, 0.35, rule="ward", min_size=3), truth)


def test_at_most_max_tastes_and_labels_in_order_of_first_track():
    v, _ = styles([3] * 6, dim=8)
    labels = cluster_tastes(v, 0.35, max_tastes=4, rule="ward", min_size=3)
    assert labels.max() == 3 and labels[0] == 0
    firsts = [int(np.flatnonzero(labels == c)[0]) for c in range(labels.max() + 1)]
    assert firsts == sorted(firsts)


def test_short_histories_and_unknown_rule():
    assert cluster_tastes(np.ones((1, 4)), rule="ward").tolist() == [0]
    assert cluster_tastes(np.ones((0, 4)), rule="ward").tolist() == []
    with pytest.raises(ValueError, match="taste rule 'kmeans'"):
        cluster_tastes(np.ones((3, 4)), rule="kmeans")
