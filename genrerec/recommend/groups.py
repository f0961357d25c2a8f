"""Albums and artists as points in the similarity space: the mean of their
tracks' combined vectors, re-normalised (so the inner product of two groups is
the cosine of their centroids, in the same units as track similarity).
Used for `mpd album` (the album most like the playing one) and for artist
radio / similar artists.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def members(keys: dict[int, str | None]) -> dict[str, list[int]]:
    """Track ids per group key, each list in catalog order; tracks without a key are left out."""
    out: dict[str, list[int]] = defaultdict(list)
    for tid, k in keys.items():
        if k is not None:
            out[k].append(int(tid))
    return dict(out)


def centroid(rec, tids: list[int]) -> np.ndarray:
    v = rec.vectors[[rec.row_of[t] for t in tids]].mean(axis=0)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def nearest_groups(rec, keys: dict[int, str | None], query: np.ndarray, n: int,
                   exclude: set[str] = frozenset(), min_size: int = 1) -> list[tuple[str, float, list[int]]]:
    """The n groups whose centroids are most similar to `query`: (key, similarity, track ids)."""
    groups = [(k, t) for k, t in members(keys).items() if k not in exclude and len(t) >= min_size]
    if not groups:
        return []
    c = np.stack([centroid(rec, t) for _, t in groups])
    sims = c @ query
    order = np.argsort(-sims, kind="stable")[:n]
    return [(groups[i][0], round(float(sims[i]), 4), groups[i][1]) for i in order]


def artist_keys(rec) -> dict[int, str | None]:
    """Artist of each track (tags, else an "Artist - Title" file name), case-folded."""
    return {tid: (t.artist.casefold() if t.artist else None) for tid, t in rec.info.items() if tid in rec.row_of}


def artist_tracks(rec, name: str) -> list[int]:
    """Track ids of an artist, matched case-insensitively; [] when none."""
    want = name.strip().casefold()
    return [tid for tid, a in artist_keys(rec).items() if a == want]


def nearest_artists(rec, name: str) -> list[str]:
    """Known artist names closest in spelling to `name` (for 'did you mean')."""
    import difflib

    names = {t.artist for t in rec.info.values() if t.artist}
    return difflib.get_close_matches(name, sorted(names), n=5, cutoff=0.5)
