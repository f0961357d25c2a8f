"""Per-track style/mood tag scores, when the catalog's model has a tag head.

Models with a tag head (MusiCNN) store a score per tag for every track (the
catalog's `tags` column, labels in its meta); older catalogs have none, and the
map then colours by genre only. The Recommender loads them (`tag_names`,
`tag_vectors`); this module is the web app's one accessor, so the pages light up
the colour-by-tag menu as soon as a catalog carries them.
"""

from __future__ import annotations

import numpy as np


def track_tags(rec) -> tuple[list[str], np.ndarray | None]:
    """(tag names, scores [n_tracks, n_tags] aligned with rec.ids), or ([], None) without tags."""
    names = [str(n) for n in getattr(rec, "tag_names", None) or []]
    scores = getattr(rec, "tag_vectors", None)
    if not names or scores is None or np.shape(scores) != (len(rec.ids), len(names)):
        return [], None
    return names, np.asarray(scores, np.float32)
