"""The library grouped into playlists: seeded k-means on the track vectors.

The vectors are the Recommender's combined unit vectors (see
`library.vectors.combined_vectors`), so squared Euclidean distance is
2 - 2 x similarity and k-means groups tracks by the same similarity every
playlist uses. k-means++ seeding, N_INIT restarts (the lowest inertia kept),
all from one `seed`: the same library and seed give the same clusters.

`k="auto"` picks k in AUTO_K_MIN..min(AUTO_K_MAX, tracks // MIN_AUTO_SIZE) by
the highest mean silhouette (each track: (b - a) / max(a, b), a its mean
distance to its own cluster, b to the nearest other). The search clusters a
seeded sample of at most SILHOUETTE_SAMPLE tracks for each k (AUTO_N_INIT
restarts) and scores the silhouette there, so it stays fast on big libraries;
the chosen k is then fitted on every track.

Each cluster is named by its top tags: the style/mood tags whose mean score in
the cluster most exceeds their mean over the library (what sets it apart, not
what every track has), with the top genre added when two clusters share
those tags; on catalogs without tags, the top genre.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .results import RecommendError

AUTO_K_MIN, AUTO_K_MAX = 2, 20
MIN_AUTO_SIZE = 5  # k = auto never makes clusters smaller than this on average
SILHOUETTE_SAMPLE = 2000
N_INIT = 4
AUTO_N_INIT = 2
MAX_ITER = 100
NAME_TAGS = 2


@dataclass
class Cluster:
    """One group of similar tracks, closest to its centre first."""

    name: str  # e.g. "ambient, calm": the tags that set it apart (or its top genre)
    track_ids: list[int]
    tags: dict[str, float] = field(default_factory=dict)  # mean tag scores of its tracks, highest first
    genres: dict[str, float] = field(default_factory=dict)  # mean genre distribution, highest first


def kmeans(x: np.ndarray, k: int, seed: int = 0, n_init: int = N_INIT,
           max_iter: int = MAX_ITER) -> tuple[np.ndarray, np.ndarray, float]:
    """(labels [N], centres [k, D], inertia) of the best of `n_init` seeded k-means++ runs."""
    x = np.asarray(x, np.float32)  # float32 products: twice as fast, and ample for unit vectors
    rng = np.random.default_rng(seed)
    sq = (x * x).sum(axis=1)
    best = None
    for _ in range(n_init):
        c = _plus_plus(x, sq, k, rng)
        labels = np.full(len(x), -1)
        for _ in range(max_iter):
            d = sq[:, None] - 2 * x @ c.T + (c * c).sum(axis=1)[None, :]
            new = np.argmin(d, axis=1)
            if np.array_equal(new, labels):
                break
            labels = new
            for j in range(k):
                m = labels == j
                # an emptied cluster restarts at the track farthest from its centre
                c[j] = x[m].mean(axis=0) if m.any() else x[int(np.argmax(d[np.arange(len(x)), labels]))]
        inertia = float(np.maximum(d[np.arange(len(x)), labels], 0).sum(dtype=np.float64))
        if best is None or inertia < best[2] - 1e-9:
            best = (labels.copy(), c.copy(), inertia)
    return best


def _plus_plus(x: np.ndarray, sq: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    c = [x[rng.integers(len(x))]]
    d = np.maximum(sq - 2 * x @ c[0] + c[0] @ c[0], 0).astype(np.float64)
    for _ in range(1, k):
        total = d.sum()
        i = int(rng.choice(len(x), p=d / total)) if total > 0 else int(rng.integers(len(x)))
        c.append(x[i])
        d = np.minimum(d, np.maximum(sq - 2 * x @ x[i] + x[i] @ x[i], 0))
    return np.array(c)


def silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette (Euclidean), 0 for tracks alone in their cluster; -1 with one cluster."""
    x = np.asarray(x, np.float64)
    ks = np.unique(labels)
    if len(ks) < 2:
        return -1.0
    sq = (x * x).sum(axis=1)
    d = np.sqrt(np.maximum(sq[:, None] - 2 * x @ x.T + sq[None, :], 0))
    mean_to = np.stack([d[:, labels == j].sum(axis=1) for j in ks], axis=1)  # [N, k] summed distances
    sizes = np.array([(labels == j).sum() for j in ks], float)
    own = np.searchsorted(ks, labels)
    a = mean_to[np.arange(len(x)), own] / np.maximum(sizes[own] - 1, 1)
    other = mean_to / sizes[None, :]
    other[np.arange(len(x)), own] = np.inf
    b = other.min(axis=1)
    s = np.where(sizes[own] > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


def choose_k(x: np.ndarray, seed: int = 0) -> tuple[int, dict[int, float]]:
    """(k with the best mean silhouette, {k: silhouette}) over the documented range."""
    hi = min(AUTO_K_MAX, len(x) // MIN_AUTO_SIZE)
    if hi < AUTO_K_MIN:
        return 1, {}
    rng = np.random.default_rng(seed)
    if len(x) > SILHOUETTE_SAMPLE:
        x = x[np.sort(rng.choice(len(x), SILHOUETTE_SAMPLE, replace=False))]
    scores = {}
    for k in range(AUTO_K_MIN, hi + 1):
        scores[k] = round(silhouette(x, kmeans(x, k, seed, n_init=AUTO_N_INIT)[0]), 4)
    return max(scores, key=lambda k: (scores[k], -k)), scores


def check_k(k, n_tracks: int) -> int | str:
    if k == "auto":
        return k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise RecommendError(f"k must be a whole number >= 1 or 'auto', got {k!r}")
    if k > n_tracks:
        raise RecommendError(f"k = {k} clusters, but the library has only {n_tracks} tracks; choose k <= "
                             f"{n_tracks} or 'auto'")
    return int(k)


def library_clusters(rec, k: int | str = "auto", seed: int = 0) -> tuple[list[Cluster], dict[int, float]]:
    """(clusters, largest first; {k: silhouette} when k was chosen automatically)."""
    n = len(rec)
    if n == 0:
        raise RecommendError("the library has no indexed tracks to group; run `genrerec index` first")
    k = check_k(k, n)
    x = np.asarray(rec.vectors, np.float64)
    scores: dict[int, float] = {}
    if k == "auto":
        k, scores = choose_k(x, seed)
    labels, centres, _ = kmeans(x, k, seed) if k > 1 else (np.zeros(n, int), x.mean(axis=0, keepdims=True), 0.0)
    base_tags = rec.tag_vectors.mean(axis=0) if rec.tag_vectors is not None else None
    out = []
    for j in range(k):
        rows = np.flatnonzero(labels == j)
        if not len(rows):
            continue
        order = rows[np.argsort(-(x[rows] @ centres[j]), kind="stable")]
        genres = rec.genre_vectors[rows].mean(axis=0)
        gdict = {rec.genres[i]: round(float(genres[i]), 4) for i in np.argsort(-genres)[:3]}
        tdict = {}
        if base_tags is not None:
            t = rec.tag_vectors[rows].mean(axis=0)
            tdict = {rec.tag_names[i]: round(float(t[i]), 4) for i in np.argsort(-t)[:5]}
            lift = t - base_tags
            name = ", ".join(rec.tag_names[i] for i in np.argsort(-lift, kind="stable")[:NAME_TAGS])
        else:
            name = next(iter(gdict), "tracks")
        out.append(Cluster(name, [int(rec.ids[r]) for r in order], tdict, gdict))
    out.sort(key=lambda c: -len(c.track_ids))
    names = Counter(c.name for c in out)
    for c in out:  # two clusters with the same tags: their top genres tell them apart
        if names[c.name] > 1 and c.genres and rec.tag_vectors is not None:
            c.name = f"{c.name} ({next(iter(c.genres))})"
    return out, scores


def cluster_labels(rec, clusters: list[Cluster]) -> np.ndarray:
    """Cluster number of every catalog row (in `clusters` order)."""
    labels = np.zeros(len(rec), int)
    for j, c in enumerate(clusters):
        labels[[rec.row_of[t] for t in c.track_ids]] = j
    return labels


_UNSAFE = re.compile(r"[^a-z0-9]+")


def file_name(number: int, name: str, width: int = 2) -> str:
    """A safe playlist file name: "03-ambient-calm.m3u8" (ASCII letters, digits and dashes only)."""
    slug = _UNSAFE.sub("-", name.casefold()).strip("-")[:60] or "cluster"
    return f"{number:0{width}d}-{slug}.m3u8"
