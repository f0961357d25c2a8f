"""Orderings through the similarity space: song paths and smooth playlists.

`song_path` walks from track A to track B through the library: the cheapest
route in the graph of each track's nearest neighbours, where a step costs the
square of its distance (1 - similarity), so many small steps beat one jump.
The route is then fitted to n tracks: a longer one keeps the n tracks whose
largest step is smallest (dynamic programming), a shorter one gets tracks
inserted into its largest steps, each chosen to sit between its neighbours and
to keep moving toward B.

`smooth_order` orders a playlist as a nearest-neighbour tour from its first
track, so neighbouring tracks are similar (no jarring jumps).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

GRAPH_NEIGHBOURS = 12  # edges per track in the neighbour graph
ALBUM_RETRIES = 5  # routes tried before a path keeps an album over max_per_album


@dataclass
class PathStats:
    """How smooth a path is: steps are 1 - similarity of neighbours."""

    largest_step: float
    mean_step: float
    direct_step: float  # 1 - similarity(A, B): the jump a path avoids
    monotone: float  # share of steps that come closer to B


def _graph(vectors: np.ndarray, knn) -> dict[int, dict[int, float]]:
    """Symmetric neighbour graph: row -> {row: step cost}."""
    g: dict[int, dict[int, float]] = {r: {} for r in range(len(vectors))}
    for r in range(len(vectors)):
        for q in knn(vectors[r], GRAPH_NEIGHBOURS + 1):
            if q != r:
                cost = max(0.0, 1.0 - float(vectors[r] @ vectors[q])) ** 2 + 1e-9
                g[r][q] = g[q][r] = cost
    return g


def _cheapest(g: dict[int, dict[int, float]], a: int, b: int, usable) -> list[int] | None:
    dist, prev, heap = {a: 0.0}, {}, [(0.0, a)]
    while heap:
        d, u = heapq.heappop(heap)
        if u == b:
            path = [b]
            while path[-1] != a:
                path.append(prev[path[-1]])
            return path[::-1]
        if d > dist[u]:
            continue
        for v, c in g[u].items():
            if v != b and not usable(v):
                continue
            if d + c < dist.get(v, math.inf):
                dist[v], prev[v] = d + c, u
                heapq.heappush(heap, (d + c, v))
    return None


def _keep_n(vectors: np.ndarray, route: list[int], n: int) -> list[int]:
    """n rows of `route` (ends kept, order kept) whose largest step is smallest,
    each closer to the end than the one before."""
    m = len(route)
    v = vectors[route]
    step = 1.0 - v @ v.T
    progress = v @ v[-1]
    step[progress[:, None] > progress[None, :] + 1e-6] = np.inf  # never a step away from the end
    best = np.full((n, m), np.inf)  # best[k, j]: smallest largest step choosing k+1 rows ending at j
    back = np.zeros((n, m), int)
    best[0, 0] = 0.0
    for k in range(1, n):
        for j in range(k, m):
            cand = np.maximum(best[k - 1, :j], step[:j, j])
            i = int(np.argmin(cand))
            best[k, j], back[k, j] = cand[i], i
    rows, j = [m - 1], m - 1
    for k in range(n - 1, 0, -1):
        j = back[k, j]
        rows.append(j)
    return [route[i] for i in rows[::-1]]


def song_path(vectors: np.ndarray, knn, start: int, end: int, n: int, usable) -> list[int]:
    """Rows from `start` to `end` (both included), n in all when the library allows.

    `knn(vec, k)` returns the rows nearest to vec; `usable(row)` says whether a
    row may be on the path (one copy per recording, file still there)."""
    route = _cheapest(_graph(vectors, knn), start, end, usable) or [start, end]
    b = vectors[end]
    route = _forward_only(vectors, route)
    worst = max(1.0 - float(vectors[u] @ vectors[w]) for u, w in zip(route, route[1:]))
    if len(route) > n:
        return _keep_n(vectors, route, n)
    while len(route) < n:
        steps = [1.0 - float(vectors[route[i]] @ vectors[route[i + 1]]) for i in range(len(route) - 1)]
        placed = False
        for i in np.argsort(steps)[::-1]:  # the largest step first
            u, w = route[i], route[i + 1]
            lo, hi = float(vectors[u] @ b), float(vectors[w] @ b)
            mid = vectors[u] + vectors[w]
            for r in knn(mid / max(np.linalg.norm(mid), 1e-12), GRAPH_NEIGHBOURS * 4):
                if r in route or not usable(r) or not lo <= float(vectors[r] @ b) <= hi:
                    continue
                if 1.0 - min(vectors[r] @ vectors[u], vectors[r] @ vectors[w]) <= worst + 1e-6:
                    route.insert(i + 1, r)
                    placed = True
                    break
            if placed:
                break
        if not placed:
            break
    return route


def _forward_only(vectors: np.ndarray, route: list[int]) -> list[int]:
    """Drop tracks that would move away from the end (the gaps are filled again later)."""
    b = vectors[route[-1]]
    out = [route[0]]
    for r in route[1:-1]:
        if float(vectors[r] @ b) >= float(vectors[out[-1]] @ b):
            out.append(r)
    return out + [route[-1]]


def path_stats(vectors: np.ndarray, rows: list[int]) -> PathStats:
    v = vectors[rows]
    steps = 1.0 - np.sum(v[:-1] * v[1:], axis=1)
    to_end = v @ v[-1]
    return PathStats(float(steps.max()) if len(steps) else 0.0, float(steps.mean()) if len(steps) else 0.0,
                     float(1.0 - v[0] @ v[-1]), float(np.mean(np.diff(to_end) >= -1e-6)) if len(rows) > 1 else 1.0)


def smooth_order(vectors: np.ndarray, rows: list[int]) -> list[int]:
    """`rows` as a nearest-neighbour tour starting from the first."""
    if len(rows) < 3:
        return list(rows)
    v = vectors[rows]
    left = list(range(1, len(rows)))
    order = [0]
    while left:
        sims = v[left] @ v[order[-1]]
        order.append(left.pop(int(np.argmax(sims))))
    return [rows[i] for i in order]


def recommender_path(rec, a, b, n: int, controls=None):
    """`Recommender.path`: Recommendations from a to b (both included); each
    score is the similarity to the track before it. `controls` (see `controls`)
    exclude tracks between the ends; an album over `max_per_album` has its
    later tracks banned and the route found again (at most ALBUM_RETRIES times)."""
    from .results import Recommendation, RecommendError, _check_n

    n = _check_n(n)
    if n < 2:
        raise RecommendError(f"a path needs n >= 2 (its two ends), got {n}")
    ta, tb = rec.resolve(a), rec.resolve(b)
    if rec.group_of.get(ta, ta) == rec.group_of.get(tb, tb):
        raise RecommendError("a path needs two different recordings as its ends")

    def knn(vec: np.ndarray, k: int) -> list[int]:
        _, ids = rec.search(vec.astype(np.float32), k)
        return [rec.row_of[int(i)] for i in ids[0] if int(i) in rec.row_of]

    ends = {rec.group_of.get(ta, ta), rec.group_of.get(tb, tb)}
    banned = {rec.group_of.get(t, t) for t in (controls.excluded(rec) if controls else ())} - ends
    gone: dict[int, bool] = {}

    def usable(row: int) -> bool:
        tid = int(rec.ids[row])
        g = rec.group_of.get(tid, tid)
        if g in ends or g in banned:
            return False
        if tid not in gone:
            gone[tid] = not rec.path_of(tid).exists()
        return not gone[tid]

    cap = controls.max_per_album if controls else None
    for _ in range(ALBUM_RETRIES + 1):
        rows = _one_per_recording(rec, song_path(rec.vectors, knn, rec.row_of[ta], rec.row_of[tb], n, usable))
        over = _over_album_cap(rec, rows[1:-1], cap) if cap else []
        if not over:
            break
        banned |= {rec.group_of.get(t, t) for t in over}
    out = []
    for i, r in enumerate(rows):
        tid = int(rec.ids[r])
        score = 1.0 if i == 0 else float(rec.vectors[r] @ rec.vectors[rows[i - 1]])
        out.append(Recommendation(tid, rec.path_of(tid), round(score, 4),
                                  rec._genre_dict(rec.genre_vectors[r]), None, 0, rec.tag_dict(r)))
    return out


def _over_album_cap(rec, rows: list[int], cap: int) -> list[int]:
    """Track ids beyond the first `cap` of each album among `rows`."""
    from collections import Counter

    seen: Counter[str] = Counter()
    over = []
    for r in rows:
        tid = int(rec.ids[r])
        k = rec.album_of.get(tid)
        seen[k] += 1
        if k is not None and seen[k] > cap:
            over.append(tid)
    return over


def _one_per_recording(rec, rows: list[int]) -> list[int]:
    """Drop later copies of a recording already on the path (the ends stay)."""
    seen, out = set(), []
    for i, r in enumerate(rows):
        tid = int(rec.ids[r])
        g = rec.group_of.get(tid, tid)
        if g not in seen or i == len(rows) - 1:
            seen.add(g)
            out.append(r)
    return out
