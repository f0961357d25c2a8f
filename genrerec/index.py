"""Indexing a music library: walk, embed, store in the catalog, build FAISS.

`index_library` is incremental (only new or changed files are embedded;
renames are recognised by fingerprint), resumable (each batch is one catalog
transaction, so a kill loses at most the batch in flight), locked against a
second run, and never stops for a bad file: failures are recorded with the
reason and skipped.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import multiprocessing as mp
import os
import stat as stat_mod
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .audio import AUDIO_EXTENSIONS, AudioError
from .catalog import Catalog, TrackRow
from .utils import atomic_path, atomic_write_json

log = logging.getLogger("genrerec")

DB_DIRNAME = ".genrerec"
CATALOG_FILE = "catalog.sqlite"
INDEX_FILE = "index.faiss"
INDEX_META = "index.json"
GENRE_WEIGHT = 0.5  # share of the genre vector in the combined similarity (embedding gets the rest)
HNSW_THRESHOLD = 100_000  # exact below (<= 4 ms a query at 100k), HNSW above: docs/benchmarks/scale.md

_MAGIC = (b"ID3", b"fLaC", b"OggS", b"RIFF", b"FORM", b".snd", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")


def _fault(stage: str) -> None:
    """Crash-test hook: with GENREREC_FAULT="stage:n" the process SIGKILLs itself
    the n-th time it reaches `stage` (scan, decode, infer, commit, save-index).
    Used by tests/reliability to kill the indexer at exact points."""
    spec = os.environ.get("GENREREC_FAULT")
    if not spec:
        return
    want, _, n = spec.partition(":")
    if want == stage:
        _FAULT_COUNTS[stage] = _FAULT_COUNTS.get(stage, 0) + 1
        if _FAULT_COUNTS[stage] >= int(n or 1):
            os.kill(os.getpid(), 9)


_FAULT_COUNTS: dict[str, int] = {}


class LibraryError(Exception):
    """A library cannot be indexed or opened; the message says what to do."""


class LibraryLocked(LibraryError):
    pass


# --- vectors -----------------------------------------------------------------

def combined_vectors(genres: np.ndarray, embeddings: np.ndarray, genre_weight: float = GENRE_WEIGHT) -> np.ndarray:
    """[sqrt(1-w) * e/|e| , sqrt(w) * g/|g|]: its inner product is
    (1-w) * cos(embeddings) + w * cos(genre vectors), in [-1, 1]."""
    g = genres / np.maximum(np.linalg.norm(genres, axis=-1, keepdims=True), 1e-12)
    e = embeddings / np.maximum(np.linalg.norm(embeddings, axis=-1, keepdims=True), 1e-12)
    return np.concatenate([np.sqrt(1 - genre_weight) * e, np.sqrt(genre_weight) * g], axis=-1).astype(np.float32)


class VectorIndex:
    """A tiny FAISS wrapper (add, remove, query, save, load) keyed by catalog id.

    Inner product on unit vectors; exact (`flat`) for small libraries, HNSW for
    large ones.
    """

    def __init__(self, dim: int, kind: str = "flat", hnsw_m: int = 32, ef_search: int = 128):
        import faiss

        self.dim, self.kind = dim, kind
        if kind == "flat":
            base = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            base = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            base.hnsw.efConstruction = 80
            base.hnsw.efSearch = ef_search
        else:
            raise ValueError(f"unknown index kind {kind!r}")
        self.index = faiss.IndexIDMap2(base)

    @staticmethod
    def kind_for(n: int) -> str:
        return "flat" if n < HNSW_THRESHOLD else "hnsw"

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> set[int]:
        """The catalog ids held, to check the index against the catalog."""
        return {int(self.index.id_map.at(i)) for i in range(len(self))}

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, np.float32), np.asarray(ids, np.int64))

    def remove(self, ids: np.ndarray) -> None:
        import faiss

        if self.kind != "flat":
            raise NotImplementedError("HNSW cannot remove vectors; rebuild the index")
        self.index.remove_ids(faiss.IDSelectorArray(np.asarray(ids, np.int64)))

    def query(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores [q, k], ids [q, k]); id -1 where fewer than k exist."""
        k = max(1, min(k, len(self)))
        return self.index.search(np.ascontiguousarray(np.atleast_2d(vectors), np.float32), k)

    def save(self, path: str | os.PathLike) -> None:
        import faiss

        with atomic_path(path) as tmp:
            faiss.write_index(self.index, str(tmp))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "VectorIndex":
        import faiss

        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:
            raise LibraryError(f"{path}: FAISS index is damaged ({str(e).splitlines()[0][:120]})") from None
        self = cls.__new__(cls)
        self.index = index
        self.dim = index.d
        base = faiss.downcast_index(index.index) if hasattr(index, "index") else index
        self.kind = "hnsw" if "HNSW" in type(base).__name__ else "flat"
        return self


def build_vector_index(cat: Catalog, model_id: str, genre_weight: float = GENRE_WEIGHT,
                       kind: str | None = None) -> VectorIndex:
    ids, _, genres, embs = cat.vectors(model_id)
    if not len(ids):
        return VectorIndex(1, "flat")
    vecs = combined_vectors(genres, embs, genre_weight)
    vi = VectorIndex(vecs.shape[1], kind or VectorIndex.kind_for(len(ids)))
    vi.add(ids, vecs)
    return vi


def load_or_rebuild_index(db_dir: Path, cat: Catalog, model_id: str, genre_weight: float = GENRE_WEIGHT,
                          save: bool = True) -> VectorIndex:
    """The FAISS index if it matches the catalog's generation, else a rebuild from the catalog."""
    meta_path, index_path = db_dir / INDEX_META, db_dir / INDEX_FILE
    want = {"generation": cat.generation, "model_id": model_id, "genre_weight": genre_weight}
    try:
        meta = json.loads(meta_path.read_text())
        if all(meta.get(k) == v for k, v in want.items()):
            vi = VectorIndex.load(index_path)
            if len(vi) == meta.get("count"):
                return vi
    except (OSError, ValueError, LibraryError) as e:
        log.info("index at %s unusable (%s): rebuilding from the catalog", db_dir, e)
    vi = build_vector_index(cat, model_id, genre_weight)
    if save:
        try:
            save_vector_index(db_dir, vi, want)
        except OSError as e:
            log.warning("could not save the rebuilt index in %s: %s", db_dir, e)
    return vi


def save_vector_index(db_dir: Path, vi: VectorIndex, meta: dict) -> None:
    vi.save(db_dir / INDEX_FILE)  # index first, then the meta that vouches for it
    _fault("save-index")
    atomic_write_json(db_dir / INDEX_META, {**meta, "count": len(vi), "kind": vi.kind})


# --- locating the database -----------------------------------------------------

def _cache_db_dir(root: Path) -> Path:
    from .data import default_cache_dir

    h = hashlib.sha1(os.fsencode(str(root.resolve()))).hexdigest()[:12]
    return default_cache_dir() / "libraries" / f"{root.resolve().name}-{h}"


def _writable(d: Path) -> bool:
    probe = d if d.exists() else d.parent
    return os.access(probe, os.W_OK)


def default_db_dir(root: Path) -> Path:
    """<library>/.genrerec, or a per-library folder in the user cache when the library is read-only."""
    d = root / DB_DIRNAME
    return d if _writable(d) else _cache_db_dir(root)


def find_db_dir(start: str | os.PathLike) -> Path | None:
    """Like git: from `start` upward, the first folder with a genrerec catalog
    (in it, or in the cache fallback for a read-only library)."""
    p = Path(start).resolve()
    if p.is_file():
        p = p.parent
    for d in [p, *p.parents]:
        for cand in (d / DB_DIRNAME, _cache_db_dir(d)):
            if (cand / CATALOG_FILE).exists():
                return cand
        if (d / CATALOG_FILE).exists():  # --db pointing at the folder itself
            return d
    return None


class _Lock:
    """An exclusive flock on <db>/lock: released by the OS if the holder dies."""

    def __init__(self, db_dir: Path):
        self.path = db_dir / "lock"
        self.fd: int | None = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(self.fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(self.fd)
            raise LibraryLocked(f"another `genrerec index` (pid {holder}) is running on this library "
                                f"({self.path.parent}); wait for it to finish or stop it") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)


# --- scanning ----------------------------------------------------------------

@dataclass
class FileEntry:
    rel: bytes  # os.fsencode(path relative to root)
    path: Path
    size: int
    mtime_ns: int


def _looks_like_audio(path: Path) -> bool:
    ext = path.suffix.lower()
    if ext in AUDIO_EXTENSIONS:
        return True
    if ext:
        return False
    try:  # no extension: sniff the header
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return head.startswith(_MAGIC) or head[4:8] == b"ftyp"


def scan_library(root: Path, skip: list[Path] = (), on_error: Callable[[str, str], None] | None = None) -> list[FileEntry]:
    """Audio files under root, following symlinks but never looping."""
    seen_dirs: set[tuple[int, int]] = set()
    skip_real = {os.path.realpath(s) for s in skip}
    out: list[FileEntry] = []

    def onerror(e: OSError) -> None:
        if on_error:
            on_error(e.filename or "?", f"cannot read folder ({e.strerror})")

    for dirpath, dirnames, filenames in os.walk(os.fsencode(root), followlinks=True, onerror=onerror):
        try:
            st = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen_dirs or os.fsdecode(os.path.realpath(dirpath)) in skip_real:
            dirnames[:] = []  # symlink loop or already walked via another link
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(b"."))
        for name in sorted(filenames):
            if name.startswith(b"."):
                continue
            full = os.path.join(dirpath, name)
            p = Path(os.fsdecode(full))
            try:
                fst = os.stat(full)
            except OSError as e:
                if _looks_like_audio(p) and on_error:
                    on_error(os.fsdecode(full), f"cannot stat ({e.strerror})")
                continue
            if not stat_mod.S_ISREG(fst.st_mode) or not _looks_like_audio(p):
                continue
            out.append(FileEntry(os.path.relpath(full, os.fsencode(root)), p, fst.st_size, fst.st_mtime_ns))
    return out


def fingerprint(path: str | os.PathLike, block: int = 1 << 16) -> str:
    """Content fingerprint from size and three 64 KiB samples: recognises a
    moved file without reading all of it."""
    h = hashlib.sha1()
    size = os.path.getsize(path)
    h.update(str(size).encode())
    with open(path, "rb") as f:
        for off in sorted({0, max(0, size // 2 - block // 2), max(0, size - block)}):
            f.seek(off)
            h.update(f.read(block))
    return h.hexdigest()


def _read_tags(path: Path) -> dict:
    try:
        import av

        with av.open(str(path)) as c:
            md = {k.lower(): v for k, v in (c.metadata or {}).items()}
            if not md and c.streams.audio:
                md = {k.lower(): v for k, v in (c.streams.audio[0].metadata or {}).items()}
        return {k: str(md[k])[:500] for k in ("title", "artist", "album", "genre") if md.get(k)}
    except Exception:
        return {}


# --- worker ------------------------------------------------------------------

_WORKER_FEATURES = None


def _worker_init(features, threads: int) -> None:
    global _WORKER_FEATURES
    import torch

    try:  # Linux: die with the parent, so a killed indexer leaves no orphans
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except Exception:
        pass

    torch.set_num_threads(threads)
    _WORKER_FEATURES = features


def _prepare(args: tuple[bytes, str, int]) -> dict:
    """Decode + features for one track (runs in a worker process)."""
    from .embed import track_windows

    rel, path, max_windows = args
    p = Path(path)
    out: dict = {"rel": rel, "path": path}
    try:
        st = os.stat(p)
        out.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
        out["fingerprint"] = fingerprint(p)
        specs, dur = track_windows(p, _WORKER_FEATURES, max_windows)
        _fault("decode")
        out.update(specs=specs, duration=dur, tags=_read_tags(p))
    except AudioError as e:
        out["error"] = e.reason
    except FileNotFoundError:
        out["error"] = "file disappeared while indexing"
    except OSError as e:
        out["error"] = f"cannot read file ({e.strerror or e})"
    except Exception as e:  # never let one file kill the run
        out["error"] = f"unexpected {type(e).__name__}: {e}"
    return out


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
    """
    from .embed import MAX_WINDOWS, load_model
    from .utils import progress

    t0 = time.time()
    root = Path(library)
    if not root.is_dir():
        raise LibraryError(f"{root}: not a folder; give the folder that holds your music")
    root = root.resolve()
    note = ""
    if db_dir is None:
        db = default_db_dir(root)
        if db != root / DB_DIRNAME:
            note = f"library is read-only: catalog kept in {db}"
    else:
        db = Path(db_dir)
    try:
        db.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise LibraryError(f"{db}: cannot create the catalog folder ({e.strerror}); pass --db DIR") from None
    model = model or load_model()
    max_windows = max_windows or MAX_WINDOWS
    summary = IndexSummary(str(root), str(db), note=note)

    with _Lock(db):
        cat = Catalog(db / CATALOG_FILE)
        try:
            old_model = cat.get_meta("model_id")
            if old_model and old_model != model.model_id:
                log.info("model changed (%s -> %s): every track is embedded again", old_model, model.model_id)
            old_root = cat.get_meta("library")
            with cat.transaction():
                cat.set_meta("library", str(root))
                cat.set_meta("model_id", model.model_id)
                cat.set_meta("genres", model.genres)
                cat.set_meta("embed_dim", model.embed_dim)
                cat.set_meta("model_source", model.source)
            if old_root and old_root != str(root):
                log.info("library moved from %s to %s", old_root, root)

            scan_errors: list[tuple[str, str]] = []
            files = scan_library(root, skip=[db], on_error=lambda p, e: scan_errors.append((p, e)))
            _fault("scan")
            summary.failed += scan_errors
            rows = cat.rows()
            on_disk = {f.rel for f in files}
            gone = {rel: r for rel, r in rows.items() if rel not in on_disk}
            todo: list[FileEntry] = []
            for f in files:
                r = rows.get(f.rel)
                if r is None:
                    todo.append(f)
                elif r.size == f.size and r.mtime_ns == f.mtime_ns and (
                        r.status == "failed" and not retry_failed or r.status == "ok" and r.model_id == model.model_id):
                    summary.unchanged += 1
                    if r.status == "failed":
                        summary.failed.append((_decode_rel(f.rel), r.error or "failed"))
                else:
                    todo.append(f)

            # renames: a new path whose content matches a vanished, usable row
            by_fp = {r.fingerprint: r for r in gone.values()
                     if r.status == "ok" and r.model_id == model.model_id and r.fingerprint}
            still: list[FileEntry] = []
            moved: list[tuple[TrackRow, FileEntry]] = []
            for f in todo:
                if f.rel in rows or not by_fp:
                    still.append(f)
                    continue
                try:
                    fp = fingerprint(f.path)
                except OSError:
                    still.append(f)
                    continue
                r = by_fp.pop(fp, None)
                if r is None:
                    still.append(f)
                else:
                    moved.append((r, f))
                    gone.pop(r.path, None)
            todo = still
            with cat.transaction():
                for r, f in moved:
                    cat.move(r.id, f.rel, f.size, f.mtime_ns)
                cat.delete([r.id for r in gone.values()])
            summary.moved, summary.removed = len(moved), len(gone)

            _embed_into(cat, model, todo, summary, workers, batch_tracks, max_windows, show_progress, on_batch,
                        progress)
            vi = build_vector_index(cat, model.model_id)
            save_vector_index(db, vi, {"generation": cat.generation, "model_id": model.model_id,
                                       "genre_weight": GENRE_WEIGHT})
            summary.index_kind = vi.kind
            summary.total_ok = cat.count("ok")
        finally:
            cat.close()
    summary.seconds = round(time.time() - t0, 2)
    return summary


def _embed_into(cat, model, todo, summary, workers, batch_tracks, max_windows, show_progress, on_batch, progress):
    if not todo:
        return
    n_workers = (os.cpu_count() or 1) if workers is None else workers
    jobs = [(f.rel, str(f.path), max_windows) for f in todo]
    pool = None
    if n_workers > 0:
        ctx = mp.get_context("spawn" if os.environ.get("GENREREC_SPAWN") else "fork")
        pool = ctx.Pool(n_workers, initializer=_worker_init, initargs=(model.features, 1))
        results = pool.imap(_prepare, jobs, chunksize=1)
    else:
        _worker_init(model.features, 0 or __import__("torch").get_num_threads())
        results = map(_prepare, jobs)
    done = 0
    try:
        with progress(disable=not show_progress) as bar:
            task = bar.add_task("index", total=len(jobs), info="")
            batch: list[dict] = []
            for res in results:
                batch.append(res)
                if len(batch) >= batch_tracks:
                    done += _commit(cat, model, batch, summary)
                    batch = []
                    bar.update(task, completed=done, info=f"{len(summary.failed)} failed")
                    if on_batch:
                        on_batch(done)
            if batch:
                done += _commit(cat, model, batch, summary)
                bar.update(task, completed=done, info=f"{len(summary.failed)} failed")
                if on_batch:
                    on_batch(done)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()


def _commit(cat: Catalog, model, batch: list[dict], summary: IndexSummary) -> int:
    good = [r for r in batch if "error" not in r]
    _fault("infer")
    try:
        embs = model.encode_windows([(r["specs"], r["duration"]) for r in good])
    except Exception as e:  # a model failure on one batch: fall back to one by one
        embs = []
        for r in good:
            try:
                embs.append(model.encode_windows([(r["specs"], r["duration"])])[0])
            except Exception as e1:
                r["error"] = f"model failed ({type(e1).__name__}: {e1})"
                embs.append(None)
        log.debug("batch inference failed: %s", e)
    with cat.transaction():
        for r, te in zip(good, embs):
            if te is None or not (np.all(np.isfinite(te.genres)) and np.all(np.isfinite(te.embedding))):
                r.setdefault("error", "model output is not finite")
                continue
            cat.upsert(r["rel"], r["size"], r["mtime_ns"], r["fingerprint"], status="ok", duration=te.duration,
                       tags=r.get("tags"), model_id=model.model_id, genres=te.genres, embedding=te.embedding)
            summary.indexed += 1
            summary.audio_seconds += te.duration
        for r in batch:
            if "error" in r:
                cat.upsert(r["rel"], r.get("size", 0), r.get("mtime_ns", 0), r.get("fingerprint"), status="failed",
                           error=r["error"])
                summary.failed.append((_decode_rel(r["rel"]), r["error"]))
        _fault("commit")  # inside the transaction: a kill here must roll the batch back
    return len(batch)

