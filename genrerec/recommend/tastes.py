"""Tastes: a history split into average-linkage clusters whose members are more
similar than TASTE_SIMILARITY, each with its share of the listening."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..models.space import TASTE_SIMILARITY  # v2's (0.45); a catalog records its model's (catalog meta)

MAX_TASTES = 8


@dataclass
class Taste:
    share: float  # fraction of listening
    genres: dict[str, float]
    tracks: list[Path] = field(default_factory=list)
    tags: dict[str, float] = field(default_factory=dict)  # top style/mood tags of these tracks


def allocate(n: int, shares: Sequence[float]) -> list[int]:
    """Split n slots by shares (largest remainder): sums to n, each within 1 of n*share."""
    s = np.asarray(shares, float)
    s = s / s.sum()
    raw = s * n
    base = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - base), kind="stable")[: n - base.sum()]:
        base[i] += 1
    return base.tolist()


def cluster_tastes(vectors: np.ndarray, threshold: float = TASTE_SIMILARITY, max_tastes: int = MAX_TASTES) -> np.ndarray:
    """Cluster labels (0..k-1) for history vectors, by average linkage on cosine."""
    if len(vectors) < 2:
        return np.zeros(len(vectors), int)
    from scipy.cluster.hierarchy import fcluster, linkage

    v = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    dist = np.clip(1.0 - v @ v.T, 0, 2)
    iu = np.triu_indices(len(v), 1)
    Z = linkage(dist[iu], method="average")
    labels = fcluster(Z, t=1.0 - threshold, criterion="distance")
    if labels.max() > max_tastes:
        labels = fcluster(Z, t=max_tastes, criterion="maxclust")
    _, labels = np.unique(labels, return_inverse=True)
    return labels
