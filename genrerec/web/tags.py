"""Per-track style/mood tag scores, when the catalog's model has a tag head.

Models with a tag head (MusiCNN) store a score per tag for every track; older
catalogs have none, and the map then colours by genre only. This module is the
one place that knows where the scores live, so the pages light up the
colour-by-tag menu as soon as a catalog carries them.
"""

from __future__ import annotations

import numpy as np


def _column_scores(rec, names: list[str]) -> np.ndarray | None:
    """Scores from a `tags` BLOB column (float32 [n_tags]) of the usable tracks, in `rec.ids` order."""
    cat = rec.catalog
    cols = {r[1] for r in cat.db.execute("PRAGMA table_info(tracks)")}
    if "tags" not in cols:
        return None
    blobs = dict(cat.db.execute("SELECT id, tags FROM tracks WHERE status='ok' AND tags IS NOT NULL"))
    out = np.zeros((len(rec.ids), len(names)), np.float32)
    for row, tid in enumerate(rec.ids.tolist()):
        b = blobs.get(tid)
        if b is None:
            continue
        v = np.frombuffer(b, np.float32)
        if len(v) != len(names):
            return None  # written by another model: do not show mislabelled colours
        out[row] = v
    return out


def track_tags(rec) -> tuple[list[str], np.ndarray | None]:
    """(tag names, scores [n_tracks, n_tags] aligned with rec.ids), or ([], None) without tags."""
    names = getattr(rec, "tag_names", None) or rec.catalog.get_meta("tags") or []
    if not names:
        return [], None
    names = [str(n) for n in names]
    scores = getattr(rec, "tag_vectors", None)
    if scores is None:
        scores = _column_scores(rec, names)
    if scores is None or np.shape(scores) != (len(rec.ids), len(names)):
        return [], None
    return names, np.asarray(scores, np.float32)
