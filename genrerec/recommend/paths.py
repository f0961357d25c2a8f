"""Orderings through the similarity space: song paths and smooth playlists.

`song_path` walks from track A to track B through the library: the cheapest
route in the graph of each track's nearest neighbours, where a step costs the
square of its distance (1 - similarity), so many small steps beat one jump.
The graph (`NeighbourGraph`, compact arrays) is built with batched index
searches once per catalog snapshot and kept on the Recommender
(`library_graph`): a path call after the first is only the route search.
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
from typing import Callable, Iterator

import numpy as np

GRAPH_NEIGHBOURS = 12  # edges per track in the neighbour graph
ALBUM_RETRIES = 5  # routes tried before a path keeps an album over max_per_album
GRAPH_CHUNK = 1024  # queries per batched index search while building the graph
EDGE_CHUNK = 16384  # edges whose costs are computed at once (bounds the temporary memory)


@dataclass
class PathStats:
    """How smooth a path is: steps are 1 - similarity of neighbours."""

    largest_step: float
    mean_step: float
    direct_step: float  # 1 - similarity(A, B): the jump a path avoids
    monotone: float  # share of steps that come closer to B


class NeighbourGraph:
    """The symmetric neighbour graph as compressed rows: row u's neighbours are
    nbr[indptr[u]:indptr[u + 1]], each with its step cost (1 - similarity)^2 + 1e-9.
    About 12 bytes an edge (at most 2 x GRAPH_NEIGHBOURS edges a track)."""

    def __init__(self, indptr: np.ndarray, nbr: np.ndarray, cost: np.ndarray):
        self.indptr, self.nbr, self.cost = indptr, nbr, cost

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def neighbours(self, u: int) -> Iterator[tuple[int, float]]:
        s, e = int(self.indptr[u]), int(self.indptr[u + 1])
        return zip(self.nbr[s:e].tolist(), self.cost[s:e].tolist())

    @property
    def nbytes(self) -> int:
        return int(self.indptr.nbytes + self.nbr.nbytes + self.cost.nbytes)


def build_graph(vectors: np.ndarray, knn_rows: Callable[[np.ndarray, int], np.ndarray]) -> NeighbourGraph:
    """Each row linked both ways to its GRAPH_NEIGHBOURS nearest rows. `knn_rows(matrix, k)` gives,
    for each query row of `matrix`, the k nearest rows (-1 where fewer exist), as one batched search."""
    n = len(vectors)
    src_parts, dst_parts = [], []
    for s in range(0, n, GRAPH_CHUNK):
        found = np.asarray(knn_rows(vectors[s:s + GRAPH_CHUNK], GRAPH_NEIGHBOURS + 1), np.int64)
        r = np.repeat(np.arange(s, s + len(found), dtype=np.int64), found.shape[1])
        q = found.ravel()
        keep = (q >= 0) & (q != r)
        src_parts.append(r[keep])
        dst_parts.append(q[keep])
    src, dst = (np.concatenate(p) if p else np.zeros(0, np.int64) for p in (src_parts, dst_parts))
    key = np.unique(np.concatenate([src * n + dst, dst * n + src]))  # both directions, each edge once, sorted
    a, b = key // max(n, 1), key % max(n, 1)
    cost = np.empty(len(key), np.float64)
    for s in range(0, len(key), EDGE_CHUNK):
        va, vb = vectors[a[s:s + EDGE_CHUNK]], vectors[b[s:s + EDGE_CHUNK]]
        sim = np.einsum("ij,ij->i", va, vb).astype(np.float64)
        cost[s:s + EDGE_CHUNK] = np.maximum(0.0, 1.0 - sim) ** 2 + 1e-9
    indptr = np.searchsorted(a, np.arange(n + 1)).astype(np.int64)
    return NeighbourGraph(indptr, b.astype(np.int32), cost)


def library_graph(rec) -> NeighbourGraph:
    """The Recommender's neighbour graph, built on first use and kept until its catalog snapshot
    changes (`Recommender.refresh` loads a new generation, with new vectors and index)."""
    key = (rec.generation, id(rec.vectors), len(rec.ids))
    cached = getattr(rec, "_path_graph", None)
    if cached is not None and cached[0] == key:
        return cached[1]

    ids_all = np.asarray(rec.ids, np.int64)
    order = np.argsort(ids_all, kind="stable")
    sorted_ids = ids_all[order]

    def knn_rows(matrix: np.ndarray, k: int) -> np.ndarray:
        """Catalog ids found -> rows (rec.row_of, vectorised); -1 for none or an id not in the snapshot."""
        _, ids = rec.search(np.ascontiguousarray(matrix, np.float32), k)
        pos = np.clip(np.searchsorted(sorted_ids, ids), 0, max(len(sorted_ids) - 1, 0))
        hit = (ids >= 0) & (sorted_ids[pos] == ids) if len(sorted_ids) else np.zeros(ids.shape, bool)
        return np.where(hit, order[pos], -1)

    graph = build_graph(rec.vectors, knn_rows)
    rec._path_graph = (key, graph)
    return graph


def _cheapest(g: NeighbourGraph, a: int, b: int, usable) -> list[int] | None:
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
        for v, c in g.neighbours(u):
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


def song_path(vectors: np.ndarray, knn, start: int, end: int, n: int, usable,
              graph: NeighbourGraph | None = None) -> list[int]:
    """Rows from `start` to `end` (both included), n in all when the library allows.

    `knn(vec, k)` returns the rows nearest to vec; `usable(row)` says whether a
    row may be on the path (one copy per recording, file still there); `graph`
    is the neighbour graph of `vectors` (built here from `knn` when not given)."""
    if graph is None:
        graph = build_graph(vectors, lambda m, k: np.array([(knn(v, k) + [-1] * k)[:k] for v in m], np.int64))
    route = _cheapest(graph, start, end, usable) or [start, end]
    b = vectors[end]
    route = _forward_only(vectors, route)
    worst = max(1.0 - float(vectors[u] @ vectors[w]) for u, w in zip(route, route[1:]))
    if len(route) > n:
        return _keep_n(vectors, route, n)
    near: dict[tuple[int, int], list[int]] = {}
    while len(route) < n:
        steps = [1.0 - float(vectors[route[i]] @ vectors[route[i + 1]]) for i in range(len(route) - 1)]
        placed = False
        for i in np.argsort(steps)[::-1]:  # the largest step first
            u, w = route[i], route[i + 1]
            lo, hi = float(vectors[u] @ b), float(vectors[w] @ b)
            if (u, w) not in near:  # the same gap is tried again after each insertion elsewhere
                mid = vectors[u] + vectors[w]
                near[u, w] = knn(mid / max(np.linalg.norm(mid), 1e-12), GRAPH_NEIGHBOURS * 4)
            for r in near[u, w]:
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
    from .results import RecommendError, _check_n

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
    graph = library_graph(rec)
    for _ in range(ALBUM_RETRIES + 1):
        rows = _one_per_recording(rec, song_path(rec.vectors, knn, rec.row_of[ta], rec.row_of[tb], n, usable,
                                                 graph))
        over = _over_album_cap(rec, rows[1:-1], cap) if cap else []
        if not over:
            break
        banned |= {rec.group_of.get(t, t) for t in over}
    out = []
    for i, r in enumerate(rows):
        tid = int(rec.ids[r])
        score = 1.0 if i == 0 else float(rec.vectors[r] @ rec.vectors[rows[i - 1]])
        out.append(rec._result(tid, score))
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
