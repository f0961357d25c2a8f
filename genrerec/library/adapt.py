"""Library-adapted statistics: a v3 catalog's vectors standardised by its own tracks' statistics.

The v3 space standardises each feature by a reference corpus shipped with the model, so a
20-track library works. A library unlike that corpus (songs against its game music, say) can be
better standardised by its own statistics, shrunk toward the reference's with weight
n / (n + ADAPT_N0) so a small library stays close to it (docs/benchmarks/v3_adapt.md: +0.05 p@5
for GTZAN songs against a game-music reference from 50 tracks up, +0.01 on the soundtrack albums,
but -0.027 on a second game-music benchmark that resembles the reference, docs/benchmarks/v3_second.md).
The evidence is mixed, so it is opt-in: `index --stats library` turns it on for a catalog
(recorded, so later runs keep it), `--stats reference` back off. The catalog keeps every track's raw features, so
adapting needs no decoding: `index` recomputes the statistics when the library has changed by
ADAPT_CHANGE since they were last taken and re-projects every vector in one transaction; in
between, new tracks are projected with the recorded statistics. Genres, calls and tags keep the
reference statistics they were fitted with. Catalog meta "library_stats" records them (with the
model id they belong to).
"""

from __future__ import annotations

import logging

import numpy as np

from ..models.space import ADAPT_N0, LibraryStats
from .catalog import Catalog

log = logging.getLogger(__name__)

META_KEY = "library_stats"
ADAPT_CHANGE = 0.1  # statistics are taken again once the track count moved this much (share) since the last time


def iter_features(cat: Catalog, model_id: str, chunk: int = 20_000):
    """(ids, raw track features [n, F] float32) of usable tracks of one model, in id order, `chunk` at a
    time; features None for a chunk where any track has none stored (indexed before they were kept)."""
    last = -1
    while rows := cat.db.execute("SELECT id, features FROM tracks WHERE status='ok' AND model_id=? AND id>? "
                                 "ORDER BY id LIMIT ?", (model_id, last, chunk)).fetchall():
        last = rows[-1][0]
        ids = np.array([r[0] for r in rows], np.int64)
        if any(r[1] is None for r in rows):
            yield ids, None
            continue
        yield ids, np.frombuffer(b"".join(r[1] for r in rows), np.float16).reshape(len(rows), -1).astype(np.float32)


def set_embeddings(cat: Catalog, ids: np.ndarray, embeddings: np.ndarray) -> None:
    """Replace the stored vectors of these tracks (inside the caller's transaction)."""
    cat.db.executemany("UPDATE tracks SET embedding=? WHERE id=?",
                       ((np.asarray(e, np.float32).tobytes(), int(i)) for i, e in zip(ids, embeddings)))


def recorded_stats(cat: Catalog, model) -> LibraryStats | None:
    """The library statistics this catalog recorded for this model, or None (none, another model's,
    or unreadable: then the reference statistics apply until `index` takes them again)."""
    d = cat.get_meta(META_KEY)
    if not isinstance(d, dict) or d.get("model_id") != model.model_id:
        return None
    try:
        return LibraryStats.from_json(d)
    except ValueError as e:
        log.warning("catalog library statistics ignored (%s); the next index takes them again", e)
        return None


def with_catalog_stats(model, cat: Catalog):
    """The model projecting new vectors the way this catalog's stored ones were (its recorded statistics)."""
    space = getattr(model, "space", None)
    if space is None:
        return model
    stats = recorded_stats(cat, model)
    return model.with_vector_stats(stats) if stats is not None else model


def moments(cat: Catalog, model_id: str) -> tuple[int, np.ndarray, np.ndarray] | None:
    """(n, sum, sum of squares) of the stored raw features of the model's usable tracks, in float64;
    None if some track has none stored (indexed before features were kept)."""
    n, s, q = 0, None, None
    for _, f in iter_features(cat, model_id):
        if f is None:
            return None
        f64 = f.astype(np.float64)
        s = f64.sum(0) if s is None else s + f64.sum(0)
        q = (f64 ** 2).sum(0) if q is None else q + (f64 ** 2).sum(0)
        n += len(f)
    return (n, s, q) if n else None


def adapt_vectors(cat: Catalog, model, *, enabled: bool | None = None, changed: bool = True) -> str:
    """Take the library's statistics again if due and re-project the stored vectors; returns a note
    for the summary ("" when nothing was done).

    Args:
        cat: the catalog, its writes finished for this run.
        model: the v3 model the catalog is indexed with (anything else: nothing to do).
        enabled: True takes (and keeps) the library's statistics; False puts the vectors back on the
            reference statistics; None keeps what the catalog was set to (off for a new one).
        changed: whether this run added, removed or re-embedded tracks (a no-op run with statistics
            already recorded does nothing).
    """
    space = getattr(model, "space", None)
    if space is None:
        return ""
    old = recorded_stats(cat, model)
    if enabled is None:
        enabled = cat.get_meta(META_KEY) is not None
    if not enabled:
        if cat.get_meta(META_KEY) is None:
            return ""
        _reproject(cat, model, None)
        return "vectors standardised by the reference statistics again (--stats reference)"
    n = cat.count("ok")
    if old is not None and (not changed or abs(n - old.tracks) < ADAPT_CHANGE * max(old.tracks, 1)):
        return ""
    m = moments(cat, model.model_id)
    if m is None:
        log.info("some tracks have no stored features: vectors stay on the reference statistics")
        return ""
    stats = LibraryStats.from_moments(space, m[0], m[1], m[2], ADAPT_N0)
    _reproject(cat, model, stats)
    return f"vectors standardised by this library's statistics ({stats.tracks} tracks)"


def _reproject(cat: Catalog, model, stats: LibraryStats | None) -> None:
    """Every usable track's vector from its stored features with these statistics (None: the
    reference's), and the statistics recorded, in one transaction: readers see all or nothing."""
    space = model.space.adapted(stats)
    d = len(space.pooled_mean)
    with cat.transaction():
        for ids, f in iter_features(cat, model.model_id):
            if f is not None:
                set_embeddings(cat, ids, space.vector(f[:, :d], f[:, d:]))
        if stats is None:
            cat.db.execute("DELETE FROM meta WHERE key=?", (META_KEY,))
        else:
            cat.set_meta(META_KEY, {"model_id": model.model_id, **stats.to_json()})
