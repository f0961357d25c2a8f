"""Orderings through the similarity space: song paths and smooth playlists.

`song_path` walks from track A to track B: n - 2 waypoints spread evenly on the
great circle between their vectors, each filled by the nearest free track that
also moves on toward B (its similarity to B above the previous step's), so the
path makes steady progress and each step stays close to the last.

`smooth_order` orders a playlist as a nearest-neighbour tour from its first
track, so neighbouring tracks are similar (no jarring jumps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PATH_CANDIDATES = 32  # nearest tracks considered per waypoint


@dataclass
class PathStats:
    """How smooth a path is: steps are 1 - similarity of neighbours."""

    largest_step: float
    mean_step: float
    direct_step: float  # 1 - similarity(A, B): the jump a path avoids
    monotone: float  # share of steps that come closer to B


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """The point a fraction t along the great circle from unit a to unit b."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    omega = math.acos(float(np.clip(a @ b, -1.0, 1.0)))
    if omega < 1e-6:
        return a
    return (math.sin((1 - t) * omega) * a + math.sin(t * omega) * b) / math.sin(omega)


def song_path(vectors: np.ndarray, query, start: int, end: int, n: int, allowed) -> list[int]:
    """Rows from `start` to `end` (both included), n in all when the library allows.

    `query(vec, k)` returns candidate rows nearest to vec; `allowed(row, taken)`
    says whether a row may join (duplicates, files gone)."""
    a, b = vectors[start], vectors[end]
    rows, taken = [start], {start, end}
    progress = float(a @ b)
    for i in range(1, n - 1):
        target = slerp(a, b, i / (n - 1))
        best = None
        for r in query(target, PATH_CANDIDATES + len(taken)):
            if r in taken or not allowed(r, taken):
                continue
            p = float(vectors[r] @ b)
            if p >= progress:  # nearest-to-target first, but never backwards
                best = r
                break
        if best is None:
            continue
        rows.append(best)
        taken.add(best)
        progress = float(vectors[best] @ b)
    return rows + [end]


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
