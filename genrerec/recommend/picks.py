"""The rules every draw of one playlist shares (see `recommender`).

Kept apart from the Recommender so that new orderings (paths, smooth order)
reuse them: one track per duplicate group, nothing banned (history, avoided,
already picked, excluded by the playlist controls), soft per-artist and
per-album caps, and a penalty for resembling avoided tracks.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

import numpy as np

POOL_GROWTH = 10.0  # candidate pool = n * (1 + POOL_GROWTH * T)
SIM_SCALE = 0.1  # similarity units per e-fold of sampling probability at T = 1
AVOID_POOL = 3  # avoiding tracks triples the candidate pool, so the penalty has room to work
AVOID_WEIGHT = 0.5  # a candidate's score loses this times its similarity to the closest avoided track


class PickFilter:
    """What the draws of one playlist share: banned duplicate groups (history,
    avoided, excluded and already picked tracks), the per-artist and per-album
    caps, avoided vectors."""

    def __init__(self, rec, banned: set[int], max_per_artist: int | None, avoid: np.ndarray,
                 max_per_album: int | None = None):
        self.rec, self.banned, self.cap, self.avoid = rec, banned, max_per_artist, avoid
        self.album_cap = max_per_album
        self.artists: Counter[str] = Counter()
        self.albums: Counter[str] = Counter()

    def group(self, tid: int) -> int:
        return self.rec.group_of.get(tid, tid)

    def ban(self, tids) -> None:
        self.banned |= {self.group(t) for t in tids}

    def allowed(self, tid: int) -> bool:
        return self.group(tid) not in self.banned

    def artist(self, tid: int) -> str | None:
        t = self.rec.info.get(tid)
        return t.artist.casefold() if t and t.artist else None

    def album(self, tid: int) -> str | None:
        return self.rec.album_of.get(tid) if self.album_cap is not None else None

    def over_cap(self, tid: int, artists: Counter, albums: Counter) -> bool:
        a, b = self.artist(tid), self.album(tid)
        return (self.cap is not None and a is not None and artists[a] >= self.cap) or (
            b is not None and albums[b] >= self.album_cap)

    def penalty(self, tids: list[int]) -> np.ndarray:
        if not len(self.avoid):
            return np.zeros(len(tids))
        sims = self.rec.vectors[[self.rec.row_of[t] for t in tids]] @ self.avoid.T
        return AVOID_WEIGHT * np.maximum(sims.max(axis=1), 0.0)

    def select(self, ranked: list[tuple[int, float]], k: int, exists: Callable[[int], bool],
               relax: bool = False) -> list[tuple[int, float]]:
        """The first k of `ranked` with one per duplicate group and the artist and album caps;
        with `relax` (no wider pool left), tracks over a cap fill what is missing."""
        out, over, groups, artists, albums = [], [], set(), Counter(self.artists), Counter(self.albums)
        for tid, s in ranked:
            g = self.group(tid)
            if g in groups or not exists(tid):
                continue
            if self.over_cap(tid, artists, albums):
                over.append((tid, s))
                continue
            groups.add(g)
            artists[self.artist(tid)] += 1
            albums[self.album(tid)] += 1
            out.append((tid, s))
            if len(out) == k:
                return out
        for artist_too in (False, True) if relax else ():  # the album cap gives way first, then both
            for tid, s in over:
                if len(out) == k:
                    return out
                a = self.artist(tid)
                if self.group(tid) in groups or (not artist_too and self.cap is not None and a is not None
                                                 and artists[a] >= self.cap):
                    continue
                groups.add(self.group(tid))
                artists[a] += 1
                out.append((tid, s))
        return out

    def take(self, got: list[tuple[int, float]]) -> None:
        self.ban([t for t, _ in got])
        self.artists.update(a for a in (self.artist(t) for t, _ in got) if a is not None)
        self.albums.update(b for b in (self.album(t) for t, _ in got) if b is not None)


def gumbel_top_k(scores: np.ndarray, k: int, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """Indices of k draws without replacement, P ~ exp(score / (T * SIM_SCALE)); T=0 is plain top-k."""
    k = min(k, len(scores))
    if temperature < 1e-6:  # the limit of sampling as T -> 0 is plain top-k (and avoids overflow)
        return np.argsort(-scores, kind="stable")[:k]
    keys = scores / (temperature * SIM_SCALE) + rng.gumbel(size=len(scores))
    return np.argsort(-keys, kind="stable")[:k]


def draw(ranked: Callable[[int], list[tuple[int, float]]], total: int, k: int, pool: int, T: float,
         rng: np.random.Generator, flt: PickFilter, exists: Callable[[int], bool]) -> list[tuple[int, float]]:
    """k tracks that pass `flt` (recorded in it), drawn at temperature T from the best `pool` of
    `ranked(size)` (the best `size` candidates, (id, score) best first; less the avoid penalty),
    the pool doubled up to `total` until k are found; tracks whose file is gone are skipped."""
    while True:
        cand = [(i, s) for i, s in ranked(min(pool, total)) if flt.allowed(i)]
        if cand:
            keys = np.array([s for _, s in cand]) - flt.penalty([i for i, _ in cand])
            order = gumbel_top_k(keys, len(cand), T, rng)
            out = flt.select([cand[j] for j in order], k, exists, relax=pool >= total)
        else:
            out = []
        if len(out) >= k or pool >= total:
            flt.take(out)
            return out
        pool = min(total, pool * 2)
