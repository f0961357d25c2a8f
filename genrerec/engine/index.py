"""Indexing a music library: walk, embed, store in the catalog, build FAISS.

`index_library` is incremental (only new or changed files are embedded;
renames are recognised by fingerprint), resumable (each batch is one catalog
transaction, so a kill loses at most the batch in flight), locked against a
second run, and never stops for a bad file: failures are recorded with the
reason and skipped.

The pieces live beside it: scan.py (walk + diff), engine/ (the map step:
decode, features, inference), vectors.py (FAISS), lock.py, library.py (where
the catalog lives). Their names are re-exported here for existing imports.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import signal
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import LibraryError, LibraryLocked
from ..faults import fault as _fault
from ..library.adapt import adapt_vectors, with_catalog_stats
from ..library.catalog import Catalog, CatalogError, holders_text, is_disk_full
from ..library.damage import move_aside
from ..library.location import CATALOG_FILE, DB_DIRNAME, STATE_FILES, default_db_dir
from ..library.lock import LibraryLock
from ..library.scan import plan_changes, scan_library
from ..library.statedir import HeldStateDir
from ..library.vectors import GENRE_WEIGHT, INDEX_FILE, INDEX_META, VectorIndex, build_vector_index, save_vector_index
from ..models.space import TASTE_RULE, TASTE_SIMILARITY
from ..safety import check_state_dir, make_private_dir, read_bytes_nofollow
from .base import Engine, Job
from .local import LocalEngine

log = logging.getLogger("genrerec")

# --- the index command ---------------------------------------------------------

@dataclass
class IndexSummary:
    library: str
    db_dir: str
    indexed: int = 0
    unchanged: int = 0
    moved: int = 0
    removed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    total_ok: int = 0
    seconds: float = 0.0
    audio_seconds: float = 0.0
    index_kind: str = "flat"
    note: str = ""

    def to_dict(self) -> dict:
        d = self.__dict__.copy()
        d["failed"] = [{"path": p, "error": e} for p, e in self.failed]
        return d


def _decode_rel(rel: bytes) -> str:
    return os.fsdecode(rel)


def index_library(
    library: str | os.PathLike,
    db_dir: str | os.PathLike | None = None,
    model=None,
    workers: int | None = None,
    batch_tracks: int = 16,
    max_windows: int | None = None,
    retry_failed: bool = False,
    show_progress: bool = True,
    on_batch: Callable[[int], None] | None = None,
    engine: Engine | None = None,
    follow_external_links: bool = False,
    rebuild: bool = False,
    adapt: bool | None = None,
) -> IndexSummary:
    """Index (or update the index of) a music folder.

    Args:
        library: root folder, walked recursively.
        db_dir: where catalog and index live (default <library>/.genrerec, or the
            user cache if the library is read-only).
        model: a GenreModel (default: the shipped model).
        workers: decoding processes (default: CPU count; 0 decodes in-process).
        batch_tracks: tracks per committed batch: the most a kill can lose.
        max_windows: windows sampled per track (default embed.MAX_WINDOWS).
        retry_failed: try again files that failed before and have not changed.
        on_batch: called with the number of tracks committed so far (tests).
        engine: runs decode + features + inference (default: a LocalEngine
            with `workers` processes).
        follow_external_links: also follow links that leave the library
            (never into /proc, /sys, /dev; each file once).
        rebuild: move the catalog aside (catalog.sqlite.damaged-<time>, never
            deleted) and index the library afresh: the fix for a damaged catalog.
        adapt: True: standardise a v3 catalog's vectors by the library's own statistics
            from now on (library.adapt); False: by the model's reference statistics again;
            None: as the catalog was set (the reference for a new one).
    """
    from ..models.inference import MAX_WINDOWS, load_model
    from ..utils import progress

    t0 = time.time()
    root = Path(library)
    if not root.is_dir():
        raise LibraryError(f"{root}: not a folder; give the folder that holds your music")
    root = root.resolve()
    note = ""
    if db_dir is None:
        db = default_db_dir(root)
        if db != root / DB_DIRNAME and (root / DB_DIRNAME / CATALOG_FILE).exists():
            raise LibraryError(f"{root / DB_DIRNAME}: the catalog folder is read-only (recommend, similar and stats "
                               "still work from it); to index, pass --db DIR with a writable folder")
        if db != root / DB_DIRNAME:
            note = f"library is read-only: catalog kept in {db}"
    else:
        db = Path(db_dir)
    check_state_dir(db, STATE_FILES)
    try:
        make_private_dir(db)
    except OSError as e:
        raise LibraryError(f"{db}: cannot create the catalog folder ({e.strerror}); pass --db DIR") from None
    model = model or load_model()
    max_windows = max_windows or MAX_WINDOWS
    engine = engine or LocalEngine(workers)
    summary = IndexSummary(str(root), str(db), note=note)
    try:
        with HeldStateDir(db) as state:  # every write of the run goes through this handle, never the name again
            state.check_files(STATE_FILES)
            _index_locked(root, db, state, model, engine, summary, batch_tracks, max_windows, retry_failed,
                          show_progress, on_batch, follow_external_links, progress, rebuild, adapt)
    except (sqlite3.OperationalError, CatalogError, OSError, RuntimeError) as e:
        _raise_fault(e, db, summary)
    summary.seconds = round(time.time() - t0, 2)
    return summary


def _similarity_meta(model) -> dict:
    """How this model's vectors are compared: recorded in the catalog, so readers use the model's own."""
    return {"genre_weight": float(getattr(model, "genre_weight", GENRE_WEIGHT)),
            "taste_similarity": float(getattr(model, "taste_similarity", TASTE_SIMILARITY)),
            "taste_rule": str(getattr(model, "taste_rule", TASTE_RULE)),
            "taste_min_size": int(getattr(model, "taste_min_size", 1))}


def _set_model_meta(cat: Catalog, model) -> None:
    cat.set_meta("similarity", _similarity_meta(model))
    cat.set_meta("model_id", model.model_id)
    cat.set_meta("genres", model.genres)
    cat.set_meta("tags", list(getattr(model, "tags", [])))
    cat.set_meta("embed_dim", model.embed_dim)
    cat.set_meta("model_source", model.source)


def _model_meta_differs(cat: Catalog, model) -> bool:
    want = {"model_id": model.model_id, "genres": list(model.genres), "tags": list(getattr(model, "tags", [])),
            "embed_dim": model.embed_dim, "model_source": model.source, "similarity": _similarity_meta(model)}
    return any(cat.get_meta(k) != v for k, v in want.items())


def _saved_index_if_current(db: Path, cat: Catalog, model_id: str, genre_weight: float) -> VectorIndex | None:
    """The saved search index when its meta vouches for this very catalog generation, model and
    genre weight (a no-op re-index reuses it); None when it must be built again."""
    want = {"generation": cat.generation, "model_id": model_id, "genre_weight": genre_weight}
    try:
        meta = json.loads(read_bytes_nofollow(db / INDEX_META))
        if not all(meta.get(k) == v for k, v in want.items()):
            return None
        vi = VectorIndex.load(db / INDEX_FILE)
        return vi if len(vi) == meta.get("count") else None
    except (OSError, ValueError, LibraryError):  # missing, damaged or a planted link: build it again
        return None


def _raise_fault(e: BaseException, db: Path, summary: IndexSummary) -> None:
    """One clear line for faults of the moment (disk full, catalog locked, read-only), saying what was kept."""
    if is_disk_full(e, db):
        raise LibraryError(f"{db}: no space left on the device; the catalog is intact and keeps every track "
                           f"committed so far ({summary.indexed} in this run): free some space and run "
                           "`genrerec index` again to continue") from None
    if "database is locked" in str(e) or "catalog is locked" in str(e):
        raise LibraryLocked(f"{db / CATALOG_FILE}: the catalog is locked by another program"
                            f"{holders_text(db / CATALOG_FILE)}; close it (or wait for it) and run "
                            "`genrerec index` again") from None
    if isinstance(e, OSError) and e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        raise LibraryError(f"{db}: cannot write the catalog here ({e.strerror}); pass --db DIR with a writable "
                           "folder") from None
    raise e


def _open_catalog(db: Path, state: HeldStateDir, summary: IndexSummary, rebuild: bool) -> Catalog:
    """The run's catalog, inside the held folder (moved aside first with `rebuild`)."""
    if rebuild:
        aside = move_aside(state.work, CATALOG_FILE)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(INDEX_META, dir_fd=state.fd)  # derived from the old catalog: rebuilt at the end of the run
        if aside is not None:
            summary.note = "; ".join(x for x in (summary.note, f"the old catalog was moved aside to "
                                                 f"{db / aside.name} (not deleted); rebuilt from the audio") if x)
    state.create_file(CATALOG_FILE)  # created private, in the held folder
    state.check()
    cat = Catalog(state.work / CATALOG_FILE, shown=db / CATALOG_FILE)
    try:  # SQLite opened the catalog, its WAL and shared memory by name: they must be the held folder's
        state.verify_open((CATALOG_FILE, CATALOG_FILE + "-wal", CATALOG_FILE + "-shm"))
    except BaseException:
        cat.close()
        raise
    return cat


def _index_locked(root, db, state, model, engine, summary, batch_tracks, max_windows, retry_failed, show_progress,
                  on_batch, follow_external_links, progress, rebuild=False, adapt=None) -> None:
    def after_batch(done: int) -> None:
        state.check()  # a swap mid-run stops it: nothing more is written through the name
        if on_batch:
            on_batch(done)

    with LibraryLock(state.work, shown=db):
        cat = _open_catalog(db, state, summary, rebuild)
        try:
            old_model = cat.get_meta("model_id")
            # a model switch: readers keep the old model's complete vectors until the new one covers the library
            switching = bool(old_model and old_model != model.model_id and cat.count("ok"))
            if switching:
                log.info("model changed (%s -> %s): every track is embedded again", old_model, model.model_id)
            old_root = cat.get_meta("library")
            if switching or old_root != str(root) or _model_meta_differs(cat, model):
                with cat.transaction():  # nothing written when nothing changed: a no-op keeps the generation
                    cat.set_meta("library", str(root))
                    if switching:
                        cat.ensure_pending()
                    else:
                        _set_model_meta(cat, model)
            if old_root and old_root != str(root):
                log.info("library moved from %s to %s", old_root, root)

            scan_errors: list[tuple[str, str]] = []
            skipped: list[tuple[str, str]] = []
            files = scan_library(root, skip=[db], on_error=lambda p, e: scan_errors.append((p, e)),
                                 follow_external=follow_external_links, on_skip=lambda p, e: skipped.append((p, e)))
            for p, why in skipped:
                log.info("%s: %s", p, why)
            if skipped:
                summary.note = "; ".join(x for x in (summary.note, f"{len(skipped)} links leading outside the library "
                                                     "skipped (--follow-external-links follows them)") if x)
            _fault("scan")
            summary.failed += scan_errors
            plan = plan_changes(files, cat.rows(), model.model_id, retry_failed)
            if switching:  # resume a switch: tracks the new model already embedded are not done again
                pending = cat.pending_rows(model.model_id)
                done = {f.rel for f in plan.todo if f.rel in pending and pending[f.rel].size == f.size
                        and pending[f.rel].mtime_ns == f.mtime_ns}
                plan.todo = [f for f in plan.todo if f.rel not in done]
                plan.unchanged += len(done)
                with cat.transaction():
                    cat.drop_pending(done | {f.rel for f in plan.todo}, model.model_id)
            summary.unchanged = plan.unchanged
            summary.failed += plan.failed_before
            if plan.moved or plan.gone:
                with cat.transaction():
                    for r, f in plan.moved:
                        cat.move(r.id, f.rel, f.size, f.mtime_ns)
                    cat.delete([r.id for r in plan.gone.values()])
            summary.moved, summary.removed = len(plan.moved), len(plan.gone)

            jobs = [Job(f.rel, str(f.path), max_windows) for f in plan.todo]
            base_model = model
            if adapt is not False and not switching:  # new vectors projected as the stored ones were
                model = with_catalog_stats(model, cat)
            with _stop_on_signals() as stop:
                _embed_into(cat, model, engine, jobs, summary, batch_tracks, show_progress, after_batch, progress,
                            stop, "pending" if switching else "tracks")
            if stop.is_set():  # finished tracks are committed; readers rebuild the search index when they open
                raise Interrupted(stop.signum)
            if switching:  # the new model covers the library: readers switch in one transaction
                with cat.transaction():
                    cat.apply_pending()
                    _set_model_meta(cat, model)
            note = adapt_vectors(cat, base_model, enabled=adapt,
                                 changed=bool(switching or summary.indexed or summary.removed))
            if note:
                summary.note = "; ".join(x for x in (summary.note, note) if x)
            weight = _similarity_meta(model)["genre_weight"]
            vi = _saved_index_if_current(state.work, cat, model.model_id, weight)
            if vi is None:
                vi = build_vector_index(cat, model.model_id, weight)
                state.check()
                save_vector_index(state.work, vi, {"generation": cat.generation, "model_id": model.model_id,
                                                   "genre_weight": weight})
            state.check()
            summary.index_kind = vi.kind
            summary.total_ok = cat.count("ok")
        finally:
            cat.close()


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during `index_library`, raised after finished tracks were committed."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


class _StopEvent(threading.Event):
    signum: int = signal.SIGINT


@contextlib.contextmanager
def _stop_on_signals():
    """SIGINT and SIGTERM set an event instead of killing the run, so finished
    work is committed; a second signal interrupts at once."""
    stop = _StopEvent()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):
        if stop.is_set():
            raise Interrupted(signum)
        stop.signum = signum
        stop.set()
        log.warning("stopping: committing the tracks already decoded (signal again to stop at once)")

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _embed_into(cat, model, engine: Engine, jobs: list[Job], summary, batch_tracks, show_progress, on_batch,
                progress, stop: threading.Event | None = None, table: str = "tracks") -> None:
    """Run the engine and commit its results in batches of `batch_tracks`."""
    if not jobs:
        return
    done = 0
    with contextlib.closing(engine.run(jobs, model, batch_tracks, stop=stop)) as results, \
            progress(disable=not show_progress) as bar:
        task = bar.add_task("index", total=len(jobs), info="")
        batch: list[dict] = []
        for res in results:
            batch.append(res)
            if len(batch) >= batch_tracks:
                done += _commit(cat, model, batch, summary, table)
                batch = []
                bar.update(task, completed=done, info=f"{len(summary.failed)} failed")
                if on_batch:
                    on_batch(done)
        if batch:
            done += _commit(cat, model, batch, summary, table)
            bar.update(task, completed=done, info=f"{len(summary.failed)} failed")
            if on_batch:
                on_batch(done)


def _commit(cat: Catalog, model, batch: list[dict], summary: IndexSummary, table: str = "tracks") -> int:
    """One catalog transaction for a batch of engine results (usable ones into `table`)."""
    with cat.transaction():
        for r in batch:
            if "error" in r:
                continue
            te = r.get("embedding")
            if te is None or not (np.all(np.isfinite(te.genres)) and np.all(np.isfinite(te.embedding))):
                r["error"] = "model output is not finite"
                continue
            cat.upsert(r["rel"], r["size"], r["mtime_ns"], r["fingerprint"], status="ok", duration=te.duration,
                       tags=r.get("tags"), model_id=model.model_id, genres=te.genres, embedding=te.embedding,
                       signature=r.get("signature"), tag_scores=te.tags, features=te.features, label=te.label,
                       table=table)
            summary.indexed += 1
            summary.audio_seconds += te.duration
        for r in batch:
            if "error" in r:
                cat.upsert(r["rel"], r.get("size", 0), r.get("mtime_ns", 0), r.get("fingerprint"), status="failed",
                           error=r["error"])
                summary.failed.append((_decode_rel(r["rel"]), r["error"]))
        _fault("commit")  # inside the transaction: a kill here must roll the batch back
    return len(batch)
