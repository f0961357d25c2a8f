"""The embedded catalog: one SQLite file holding every track's state.

The catalog is the source of truth. The FAISS index is derived from it and
rebuilt whenever the two disagree; `generation` counts committed changes so
that disagreement is cheap to detect.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..safety import UnsafePathError, display, open_nofollow
from .damage import CatalogError, GuardedConnection, damaged_message

__all__ = ["Catalog", "CatalogError", "TrackRow", "holders_text", "is_disk_full"]

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0  # how long a write waits for another program's lock on the catalog

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path BLOB UNIQUE NOT NULL,       -- os.fsencode(path relative to the library root)
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    fingerprint TEXT,
    status TEXT NOT NULL,            -- 'ok' or 'failed'
    error TEXT,
    duration REAL,
    title TEXT, artist TEXT, album TEXT, genre_tag TEXT,
    model_id TEXT,
    genres BLOB,                     -- float32 [n_genres]
    embedding BLOB,                  -- float32 [embed_dim], unit norm
    indexed_at REAL,
    signature BLOB,                  -- float16 [windows, bands], see duplicates.signature
    tags BLOB,                       -- float32 [n_tags] style/mood tag scores (models with a tag head;
                                     -- labels in meta 'tags')
    features BLOB,                   -- float16 raw track features the vector is built from (v3), to rebuild it
    label TEXT                       -- the model's genre call: its top genre, or 'uncertain' (v3)
);
CREATE INDEX IF NOT EXISTS tracks_fingerprint ON tracks(fingerprint);
"""


@dataclass
class TrackRow:
    id: int
    path: bytes
    size: int
    mtime_ns: int
    fingerprint: str | None
    status: str
    error: str | None
    model_id: str | None
    duration: float | None = None


class Catalog:
    """The catalog at `path` (created when `create`); `shown` names it in messages when `path` is a
    handle path such as /proc/self/fd/N/catalog.sqlite (the indexer holds its folder open)."""

    def __init__(self, path: str | os.PathLike, create: bool = True, shown: str | os.PathLike | None = None):
        self.path = Path(path)
        self.shown = Path(shown) if shown is not None else self.path
        if not create and not self.path.exists():
            raise CatalogError(f"{self.shown}: no catalog here; run `genrerec index` on the library first")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_symlink():
            raise UnsafePathError(f"{display(self.shown)}: the catalog is a symbolic link; genrerec does not follow "
                                  "links for its own files (someone may have planted it): remove the link")
        if create:  # create it private and never through a link; SQLite's own open follows links
            try:
                os.close(open_nofollow(self.path, os.O_RDONLY | os.O_CREAT))
            except OSError:
                pass  # unwritable folder: SQLite's own error below says so
        self.read_only = False
        try:
            try:
                # mode=rw: SQLite never creates the file itself (it was created above, privately, without following
                # a link): a folder swapped for a link at this moment makes the open fail instead of creating there
                uri = "file:" + urllib.parse.quote(os.fsencode(self.path.absolute())) + "?mode=rw"
                self.db = GuardedConnection(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S,
                                                            isolation_level=None), self.shown)
                self.db.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:
                if create or not _read_only_folder(self.path.parent):
                    raise
                self._open_read_only()
            if not self.read_only:
                self.db.execute("PRAGMA synchronous=FULL")
            version = self._schema_version()
            if version is not None and version > SCHEMA_VERSION:
                raise CatalogError(f"{self.shown}: catalog schema v{version} is newer than this genrerec "
                                   f"understands (v{SCHEMA_VERSION}); upgrade genrerec")
            if version is None:
                if not create:
                    raise CatalogError(f"{self.shown}: not a genrerec catalog")
                self.db.executescript(_SCHEMA)
                self.set_meta("schema_version", SCHEMA_VERSION)
                self.set_meta("generation", 0)
            if not self.read_only:  # catalogs from before duplicate detection / tag scores / v3
                self._add_columns("tracks")
            self.db.execute("SELECT count(*) FROM tracks").fetchone()
        except sqlite3.OperationalError as e:  # a fault of the moment, not damage: never advise deleting
            if is_disk_full(e, self.path.parent):
                raise CatalogError(f"{self.shown}: no space left on the device; the catalog is intact: free some "
                                   "space and run the command again") from None
            if "locked" in str(e):
                raise CatalogError(f"{self.shown}: the catalog is locked by another program"
                                   f"{holders_text(self.path)}; "
                                   "close it and run the command again") from None
            raise CatalogError(f"{self.shown}: cannot open the catalog ({e})") from None
        except sqlite3.DatabaseError as e:
            raise CatalogError(damaged_message(self.shown, str(e))) from None
        except CatalogError:
            if getattr(self, "db", None) is not None:
                self.db.close()
            raise

    def _add_columns(self, table: str) -> None:
        cols = {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}
        for col, kind in (("signature", "BLOB"), ("tags", "BLOB"), ("features", "BLOB"), ("label", "TEXT")):
            if cols and col not in cols:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {col} {kind}")

    def _open_read_only(self) -> None:
        """A catalog on a read-only mount: SQLite cannot create its WAL index
        there, but nobody can write it either, so it is read as immutable."""
        uri = "file:" + urllib.parse.quote(str(self.path.absolute())) + "?immutable=1"
        self.db = GuardedConnection(sqlite3.connect(uri, uri=True, isolation_level=None), self.shown)
        self.read_only = True

    def _schema_version(self) -> int | None:
        has = self.db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
        if not has:
            return None
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        try:
            return int(row[0]) if row else None
        except ValueError:
            raise CatalogError(damaged_message(self.shown, f"schema version {row[0]!r} is not a number")) from None

    def close(self) -> None:
        self.db.close()

    # --- meta ---
    def get_meta(self, key: str, default=None):
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        try:
            return json.loads(row[0]) if row else default
        except (ValueError, TypeError):
            raise CatalogError(damaged_message(self.shown, f"meta value {key!r} is not valid JSON")) from None

    def set_meta(self, key: str, value) -> None:
        self.db.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                        (key, json.dumps(value)))

    @property
    def generation(self) -> int:
        try:
            return int(self.get_meta("generation", 0))
        except (ValueError, TypeError):
            raise CatalogError(damaged_message(self.shown, "meta value 'generation' is not a number")) from None

    def transaction(self):
        return _Transaction(self)

    @contextmanager
    def snapshot(self) -> Iterator["Catalog"]:
        """One consistent view across several reads (WAL keeps it while a writer commits),
        so ids, vectors and `generation` read together describe the same catalog."""
        if self.db.in_transaction:  # already inside one: that view holds
            yield self
            return
        self.db.execute("BEGIN")
        try:
            yield self
        finally:
            if self.db.in_transaction:
                self.db.execute("COMMIT")

    # --- rows ---
    def rows(self) -> dict[bytes, TrackRow]:
        cur = self.db.execute("SELECT id, path, size, mtime_ns, fingerprint, status, error, model_id, duration FROM tracks")
        return {r[1]: TrackRow(*r) for r in cur}

    def upsert(self, path: bytes, size: int, mtime_ns: int, fingerprint: str | None, *, status: str,
               error: str | None = None, duration: float | None = None, tags: dict | None = None,
               model_id: str | None = None, genres: np.ndarray | None = None,
               embedding: np.ndarray | None = None, signature: np.ndarray | None = None,
               tag_scores: np.ndarray | None = None, features: np.ndarray | None = None, label: str | None = None,
               table: str = "tracks") -> None:
        """Insert or update a track by path; table="pending" holds a model switch in progress."""
        assert table in ("tracks", "pending")
        tags = tags or {}
        self.db.execute(
            f"""INSERT INTO {table}(path, size, mtime_ns, fingerprint, status, error, duration, title, artist, album,
                   genre_tag, model_id, genres, embedding, indexed_at, signature, tags, features, label)
               VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(path) DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns,
                   fingerprint=excluded.fingerprint, status=excluded.status, error=excluded.error,
                   duration=excluded.duration, title=excluded.title, artist=excluded.artist, album=excluded.album,
                   genre_tag=excluded.genre_tag, model_id=excluded.model_id, genres=excluded.genres,
                   embedding=excluded.embedding, indexed_at=excluded.indexed_at, signature=excluded.signature,
                   tags=excluded.tags, features=excluded.features, label=excluded.label""",
            (path, size, mtime_ns, fingerprint, status, error, duration, tags.get("title"), tags.get("artist"),
             tags.get("album"), tags.get("genre"), model_id,
             None if genres is None else np.asarray(genres, np.float32).tobytes(),
             None if embedding is None else np.asarray(embedding, np.float32).tobytes(), time.time(),
             None if signature is None else _sig_blob(signature),
             None if tag_scores is None else np.asarray(tag_scores, np.float32).tobytes(),
             None if features is None else np.asarray(features, np.float16).tobytes(), label))

    # --- a model switch: new vectors wait in `pending` until they cover the library ---
    def ensure_pending(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS pending AS SELECT * FROM tracks WHERE 0")
        self._add_columns("pending")  # a switch begun by an older genrerec
        self.db.execute("CREATE UNIQUE INDEX IF NOT EXISTS pending_path ON pending(path)")

    def pending_rows(self, model_id: str) -> dict[bytes, TrackRow]:
        """Tracks already embedded by the model being switched to (empty when no switch is under way)."""
        if not self.db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='pending'").fetchone():
            return {}
        cur = self.db.execute("SELECT id, path, size, mtime_ns, fingerprint, status, error, model_id, duration "
                              "FROM pending WHERE model_id=?", (model_id,))
        return {r[1]: TrackRow(*r) for r in cur}

    def drop_pending(self, keep: set[bytes], model_id: str) -> None:
        """Forget pending rows of another model, or of files no longer to be kept."""
        for path, mid in self.db.execute("SELECT path, model_id FROM pending").fetchall():
            if mid != model_id or path not in keep:
                self.db.execute("DELETE FROM pending WHERE path=?", (path,))

    def apply_pending(self) -> None:
        """Move every pending row into `tracks` (inside the caller's transaction)."""
        cols = [r[1] for r in self.db.execute("PRAGMA table_info(tracks)") if r[1] != "id"]
        names = ", ".join(cols)
        self.db.execute(f"INSERT INTO tracks({names}) SELECT {names} FROM pending WHERE true ON CONFLICT(path) "
                        "DO UPDATE SET " + ", ".join(f"{c}=excluded.{c}" for c in cols if c != "path"))
        self.db.execute("DELETE FROM pending")

    def move(self, track_id: int, new_path: bytes, size: int, mtime_ns: int) -> None:
        self.db.execute("UPDATE tracks SET path=?, size=?, mtime_ns=? WHERE id=?", (new_path, size, mtime_ns, track_id))

    def touch(self, track_id: int, size: int, mtime_ns: int) -> None:
        self.db.execute("UPDATE tracks SET size=?, mtime_ns=? WHERE id=?", (size, mtime_ns, track_id))

    def delete(self, ids: list[int]) -> None:
        self.db.executemany("DELETE FROM tracks WHERE id=?", [(i,) for i in ids])

    def vectors(self, model_id: str | None = None) -> tuple[np.ndarray, list[bytes], np.ndarray, np.ndarray]:
        """(ids, relative paths, genre vectors [N,G], embeddings [N,D]) of usable tracks.

        Read in chunks into arrays sized up front: peak memory is the arrays plus
        one chunk, not a Python object per row as well (GBs at millions of tracks)."""
        where, args = self._vector_filter(model_id)
        with self.snapshot():  # the count and the rows agree even while a writer commits
            n = self.db.execute(f"SELECT count(*) FROM tracks {where}", args).fetchone()[0]
            if not n:
                return np.zeros(0, np.int64), [], np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)
            cur = self.db.execute(f"SELECT id, genres, embedding, path FROM tracks {where} ORDER BY id", args)
            ids, paths = np.empty(n, np.int64), []
            genres = embs = None
            i = 0
            while rows := cur.fetchmany(20_000):
                c_ids, g, e = _vector_rows(rows)
                if genres is None:
                    genres, embs = np.empty((n, g.shape[1]), np.float32), np.empty((n, e.shape[1]), np.float32)
                ids[i:i + len(rows)], genres[i:i + len(rows)], embs[i:i + len(rows)] = c_ids, g, e
                paths += [r[3] for r in rows]
                i += len(rows)
        return ids, paths, genres, embs

    def _vector_filter(self, model_id: str | None) -> tuple[str, tuple]:
        return ("WHERE status='ok' AND model_id=?", (model_id,)) if model_id else ("WHERE status='ok'", ())

    def vector_ids(self, model_id: str | None = None) -> np.ndarray:
        """Ids of usable tracks in id order: 8 bytes a track, for sampling without loading vectors."""
        where, args = self._vector_filter(model_id)
        cur = self.db.execute(f"SELECT id FROM tracks {where} ORDER BY id", args)
        return np.fromiter((r[0] for r in cur), np.int64)

    def iter_vectors(self, model_id: str | None = None, chunk: int = 100_000,
                     ids: np.ndarray | None = None) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(ids, genre vectors, embeddings) of usable tracks, `chunk` tracks at a time in id order
        (only those in `ids` if given), so a catalog of millions never sits in memory at once."""
        where, args = self._vector_filter(model_id)
        if ids is not None:
            ids = np.sort(np.asarray(ids, np.int64))
            parts = (ids[i:i + 500] for i in range(0, len(ids), 500))  # under SQLite's bound-variable limit
            queries = ((f"SELECT id, genres, embedding FROM tracks {where} AND id IN ({','.join('?' * len(p))})"
                        " ORDER BY id", args + tuple(int(i) for i in p)) for p in parts)
            rows: list = []
            for q, a in queries:
                rows += self.db.execute(q, a).fetchall()
                if len(rows) >= chunk:
                    yield _vector_rows(rows)
                    rows = []
            if rows:
                yield _vector_rows(rows)
            return
        last = -1
        while True:
            rows = self.db.execute(f"SELECT id, genres, embedding FROM tracks {where} AND id>? ORDER BY id LIMIT ?",
                                   args + (last, chunk)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield _vector_rows(rows)

    def failures(self) -> list[tuple[bytes, str]]:
        return self.db.execute("SELECT path, error FROM tracks WHERE status='failed' ORDER BY path").fetchall()

    def tags(self, track_id: int) -> dict:
        r = self.db.execute("SELECT title, artist, album, genre_tag, duration FROM tracks WHERE id=?",
                            (track_id,)).fetchone()
        return dict(zip(("title", "artist", "album", "genre", "duration"), r)) if r else {}

    def track_info(self) -> dict[int, tuple[bytes, str | None, str | None, float | None]]:
        """(path, artist, title, duration) of every usable track, by id."""
        rows = self.db.execute("SELECT id, path, artist, title, duration FROM tracks WHERE status='ok'")
        return {r[0]: tuple(r[1:]) for r in rows}

    def album_genre_tags(self) -> dict[int, tuple[str | None, str | None]]:
        """(album tag, genre tag) of every usable track, by id (playlist controls)."""
        rows = self.db.execute("SELECT id, album, genre_tag FROM tracks WHERE status='ok'")
        return {r[0]: (r[1], r[2]) for r in rows}

    def labels(self) -> dict[int, str]:
        """The model's genre call of each usable track that has one (v3: may be 'uncertain')."""
        return dict(self.db.execute("SELECT id, label FROM tracks WHERE status='ok' AND label IS NOT NULL"))

    def tag_scores(self, ids: np.ndarray, n_tags: int) -> np.ndarray | None:
        """Tag scores [len(ids), n_tags] for these track ids, or None unless every one has them."""
        if not n_tags or not len(ids):
            return None
        blobs = dict(self.db.execute("SELECT id, tags FROM tracks WHERE status='ok' AND tags IS NOT NULL"))
        rows = [blobs.get(int(i)) for i in ids]
        if any(b is None or len(b) != 4 * n_tags for b in rows):
            return None
        return np.stack([np.frombuffer(b, np.float32) for b in rows])

    def signatures(self) -> dict[int, np.ndarray]:
        """Audio signatures of usable tracks (those indexed since they were introduced)."""
        rows = self.db.execute("SELECT id, signature FROM tracks WHERE status='ok' AND signature IS NOT NULL")
        out = {}
        for tid, blob in rows:
            w = int.from_bytes(blob[:2], "little")
            out[tid] = np.frombuffer(blob[2:], np.float16).reshape(w, -1)
        return out

    def count(self, status: str | None = None) -> int:
        if status:
            return self.db.execute("SELECT count(*) FROM tracks WHERE status=?", (status,)).fetchone()[0]
        return self.db.execute("SELECT count(*) FROM tracks").fetchone()[0]


def _vector_rows(rows: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(id, genres, embedding) rows -> arrays, without a Python object per float."""
    ids = np.array([r[0] for r in rows], np.int64)
    genres = np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), -1)
    embs = np.frombuffer(b"".join(r[2] for r in rows), np.float32).reshape(len(rows), -1)
    return ids, genres, embs


def _sig_blob(sig: np.ndarray) -> bytes:
    """[windows, bands] float16 with the window count in front (tracks differ in windows)."""
    sig = np.asarray(sig, np.float16)
    return len(sig).to_bytes(2, "little") + sig.tobytes()


def _read_only_folder(d: Path) -> bool:
    """Whether nothing can be written in d (a read-only mount, or no write permission)."""
    try:
        if os.statvfs(d).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        pass
    return not os.access(d, os.W_OK)


def is_disk_full(e: BaseException, folder: Path | None = None) -> bool:
    """ENOSPC/EDQUOT however it surfaces: OSError, SQLite's message, FAISS's write
    error, or SQLite's bare "disk I/O error" while `folder`'s device has no room."""
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(e).lower()
    if folder is not None and ("i/o error" in text or "write" in text):
        try:
            st = os.statvfs(folder)
            if st.f_bavail * st.f_frsize < 1 << 20:
                return True
        except OSError:
            pass
    return "disk is full" in text or "no space left" in text or (isinstance(e, RuntimeError) and "write" in text
                                                                 and "error" in text)


def holders_text(path: Path) -> str:
    """' (held by pid 123: sqlite3 ...)' from /proc: who else has the file open, or ''."""
    found = []
    try:
        target = os.path.realpath(path)
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
                if any(os.readlink(f"/proc/{pid}/fd/{fd}") == target for fd in fds):
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:60]
                    found.append(f"pid {pid}: {cmd}")
            except OSError:
                continue
    except OSError:
        return ""
    return f" (held by {'; '.join(found[:3])})" if found else ""


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, bumping `generation`: a killed process
    leaves either the whole batch or none of it."""

    def __init__(self, cat: Catalog):
        self.cat = cat

    def __enter__(self) -> Catalog:
        self.cat.db.execute("BEGIN IMMEDIATE")
        return self.cat

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.cat.set_meta("generation", self.cat.generation + 1)
            self.cat.db.execute("COMMIT")
        else:
            self.cat.db.execute("ROLLBACK")
