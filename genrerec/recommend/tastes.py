"""Tastes: a history split into clusters of similar tracks, each with its share of the listening.

Two rules, recorded per model in the catalog (catalog meta "similarity"):

- "average" (v2): average-linkage clusters whose members are more similar than the threshold;
- "ward" (v3): Ward's tree of the history, split top-down, largest group first, while the two
  halves of a group have at least `min_size` tracks each (half the history in one shorter than
  2 * min_size) and their mean cosine is below the threshold. Ward's balanced tree keeps a stray track from becoming a taste of its own, and the
  mean cosine does not grow with the history's length as Ward's merge heights do
  (docs/benchmarks/v3_tastes.md: chosen there on held-out styles).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..models.space import TASTE_SIMILARITY  # v2's (0.45); a catalog records its model's (catalog meta)

MAX_TASTES = 8
TASTE_RULES = ("average", "ward")


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


def cluster_tastes(vectors: np.ndarray, threshold: float = TASTE_SIMILARITY, max_tastes: int = MAX_TASTES,
                   rule: str = "average", min_size: int = 1) -> np.ndarray:
    """Cluster labels (0..k-1) for history vectors under one of TASTE_RULES (module doc).

    Args:
        vectors: [n, d] search vectors of the history's tracks.
        threshold: cosine below which two groups are separate tastes.
        max_tastes: at most this many tastes.
        rule: "average" (average linkage cut at the threshold) or "ward" (Ward's tree split top-down).
        min_size: "ward" only: the fewest tracks a taste may have (half the history, rounded
            down, when that is fewer: a short history may still split).
    """
    if rule not in TASTE_RULES:
        raise ValueError(f"taste rule {rule!r}: expected one of {', '.join(TASTE_RULES)}")
    if len(vectors) < 2:
        return np.zeros(len(vectors), int)
    from scipy.cluster.hierarchy import fcluster, linkage

    v = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    if rule == "ward":
        # a history shorter than 2 * min_size may still split, into halves: two tracks, jazz and metal, are two tastes
        ms = max(1, min(int(min_size), len(v) // 2))
        return _ward_split(v, linkage(v, method="ward"), threshold, max_tastes, ms)
    dist = np.clip(1.0 - v @ v.T, 0, 2)
    iu = np.triu_indices(len(v), 1)
    Z = linkage(dist[iu], method="average")
    labels = fcluster(Z, t=1.0 - threshold, criterion="distance")
    if labels.max() > max_tastes:
        labels = fcluster(Z, t=max_tastes, criterion="maxclust")
    _, labels = np.unique(labels, return_inverse=True)
    return labels


def _ward_split(v: np.ndarray, Z: np.ndarray, threshold: float, max_tastes: int, min_size: int) -> np.ndarray:
    """Labels from a Ward tree split top-down (cluster_tastes, rule "ward")."""
    n = len(v)
    members: dict[int, np.ndarray] = {i: np.array([i]) for i in range(n)}
    for j, (a, b, _, _) in enumerate(Z):
        members[n + j] = np.concatenate([members[int(a)], members[int(b)]])
    children = {n + j: (int(a), int(b)) for j, (a, b, _, _) in enumerate(Z)}
    groups, done = [2 * n - 2], []
    while groups:
        groups.sort(key=lambda k: (-len(members[k]), k))  # largest first: the cap keeps the big splits
        g = groups.pop(0)
        if g in children and len(groups) + len(done) + 2 <= max_tastes:
            a, b = children[g]
            na, nb = len(members[a]), len(members[b])
            mean_cos = float(v[members[a]].sum(0) @ v[members[b]].sum(0)) / (na * nb)
            if min(na, nb) >= min_size and mean_cos < threshold:
                groups += [a, b]
                continue
        done.append(g)
    labels = np.zeros(n, int)
    for c, g in enumerate(sorted(done, key=lambda k: members[k].min())):
        labels[members[g]] = c
    return labels
