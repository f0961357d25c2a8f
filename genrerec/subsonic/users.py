"""Users of the Subsonic API and what they do: passwords, API keys, scrobbles, stars,
ratings and playlists, in `users.sqlite` beside the catalog.

A separate file, so `genrerec index --rebuild` or a deleted catalog never loses
anyone's listening. Tracks are stored by their path relative to the library (not
the catalog id, which a rebuild renumbers).

Token auth (t = md5(password + salt)) needs the password itself, so it is kept
encrypted (Fernet: AES-128-CBC + HMAC-SHA256) with a key in `users.key`, mode
0600, created without following links, as Navidrome keeps its own. API keys are
stored only as SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import sqlite3
import threading
import time
from pathlib import Path

from ..errors import LibraryError
from ..safety import PRIVATE_FILE_MODE, check_state_dir, open_nofollow, read_bytes_nofollow

USERS_FILE = "users.sqlite"
KEY_FILE = "users.key"
NAME_RE = re.compile(r"^[A-Za-z0-9_.@+-]{1,64}$")
MAX_PASSWORD = 256
API_KEY_BYTES = 24

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, secret BLOB NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (digest TEXT PRIMARY KEY, user TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS scrobbles (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL,
    path BLOB NOT NULL, time REAL NOT NULL);
CREATE INDEX IF NOT EXISTS scrobbles_user ON scrobbles(user, time);
CREATE TABLE IF NOT EXISTS stars (user TEXT NOT NULL, item TEXT NOT NULL, time REAL NOT NULL,
    PRIMARY KEY (user, item));
CREATE TABLE IF NOT EXISTS ratings (user TEXT NOT NULL, item TEXT NOT NULL, rating INTEGER NOT NULL,
    PRIMARY KEY (user, item));
CREATE TABLE IF NOT EXISTS playlists (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, name TEXT NOT NULL,
    comment TEXT, public INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, changed REAL NOT NULL);
CREATE TABLE IF NOT EXISTS playlist_entries (playlist INTEGER NOT NULL, pos INTEGER NOT NULL, path BLOB NOT NULL,
    PRIMARY KEY (playlist, pos));
"""


class UserError(LibraryError):
    """A bad user name or password, or a user that does not exist; the message says which."""


def _fernet(db_dir: Path):
    try:
        from cryptography.fernet import Fernet
    except ImportError:
        raise UserError("Subsonic users need the `cryptography` package: pip install 'genrerec[subsonic]'") from None
    path = db_dir / KEY_FILE
    try:
        fd = open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        key = read_bytes_nofollow(path).strip()
    else:
        key = Fernet.generate_key()
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
    return Fernet(key)


def item_key(kind: str, key: str) -> str:
    """A starred/rated item: ("song", relative path) or ("album"/"artist", its opaque id)."""
    return f"{kind}:{key}"


class UserStore:
    """The user database of one catalog folder. Thread-safe (one lock around one connection)."""

    def __init__(self, db_dir: str | os.PathLike, clock=time.time):
        self.db_dir = Path(db_dir)
        check_state_dir(self.db_dir, (USERS_FILE, USERS_FILE + "-wal", USERS_FILE + "-shm", KEY_FILE))
        self.path = self.db_dir / USERS_FILE
        self.clock = clock
        self._lock = threading.Lock()
        self._fernet = None
        os.close(open_nofollow(self.path, os.O_RDONLY | os.O_CREAT, PRIVATE_FILE_MODE))
        self.db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)
        self.changes = 0  # bumped by every scrobble or star: self-refreshing playlists watch it

    def close(self) -> None:
        self.db.close()

    def _q(self, sql: str, args=()) -> list:
        with self._lock:
            return self.db.execute(sql, args).fetchall()

    def _w(self, sql: str, args=()) -> int:
        with self._lock:
            cur = self.db.execute(sql, args)
            self.changes += 1
            return cur.lastrowid

    @property
    def fernet(self):
        if self._fernet is None:
            self._fernet = _fernet(self.db_dir)
        return self._fernet

    # --- users ---
    def add(self, name: str, password: str) -> None:
        if not NAME_RE.match(name or ""):
            raise UserError(f"user name {name!r}: use 1-64 letters, digits or . _ @ + -")
        if not password or len(password) > MAX_PASSWORD or "\n" in password:
            raise UserError(f"the password must be 1-{MAX_PASSWORD} characters on one line")
        secret = self.fernet.encrypt(password.encode("utf-8"))
        with self._lock:
            exists = self.db.execute("SELECT 1 FROM users WHERE name=?", (name,)).fetchone()
            self.db.execute("INSERT INTO users(name, secret, created) VALUES(?,?,?) ON CONFLICT(name) DO UPDATE "
                            "SET secret=excluded.secret", (name, secret, self.clock()))
        return bool(exists)

    def remove(self, name: str) -> None:
        self._need(name)
        with self._lock:
            self.db.execute("BEGIN")
            for table in ("users",):
                self.db.execute(f"DELETE FROM {table} WHERE name=?", (name,))
            for table in ("api_keys", "scrobbles", "stars", "ratings"):
                self.db.execute(f"DELETE FROM {table} WHERE user=?", (name,))
            self.db.execute("DELETE FROM playlist_entries WHERE playlist IN (SELECT id FROM playlists WHERE user=?)",
                            (name,))
            self.db.execute("DELETE FROM playlists WHERE user=?", (name,))
            self.db.execute("COMMIT")

    def names(self) -> list[str]:
        return [r[0] for r in self._q("SELECT name FROM users ORDER BY name")]

    def need(self, name: str) -> None:
        """UserError unless the user exists."""
        self._need(name)

    def _need(self, name: str) -> None:
        if not self._q("SELECT 1 FROM users WHERE name=?", (name,)):
            raise UserError(f"no user {name!r}; `genrerec user list` shows them")

    def password(self, name: str) -> str | None:
        """The stored password (for token auth), or None for an unknown user."""
        row = self._q("SELECT secret FROM users WHERE name=?", (name,))
        if not row:
            return None
        return self.fernet.decrypt(row[0][0]).decode("utf-8")

    def new_api_key(self, name: str) -> str:
        self._need(name)
        key = secrets.token_urlsafe(API_KEY_BYTES)
        self._w("INSERT INTO api_keys(digest, user, created) VALUES(?,?,?)",
                (hashlib.sha256(key.encode()).hexdigest(), name, self.clock()))
        return key

    def user_of_key(self, key: str) -> str | None:
        row = self._q("SELECT user FROM api_keys WHERE digest=?", (hashlib.sha256(key.encode()).hexdigest(),))
        return row[0][0] if row else None

    # --- listening ---
    def scrobble(self, user: str, rel: str, when: float | None = None) -> None:
        self._w("INSERT INTO scrobbles(user, path, time) VALUES(?,?,?)",
                (user, os.fsencode(rel), self.clock() if when is None else when))

    def plays(self, user: str, since: float = 0.0) -> dict[str, tuple[int, float]]:
        """relative path -> (play count, last played) for one user's scrobbles since a time."""
        rows = self._q("SELECT path, count(*), max(time) FROM scrobbles WHERE user=? AND time>=? GROUP BY path",
                       (user, since))
        return {os.fsdecode(p): (n, t) for p, n, t in rows}

    def history(self, user: str, id_of_path: dict[str, int], since: float = 0.0) -> dict[int, float]:
        """{catalog id: plays}: the user's scrobbles since a time, plus 1 per starred song, for the
        tracks of `id_of_path` (relative path -> id; tracks gone from the catalog are left out)."""
        out: dict[int, float] = {}
        for rel, (n, _) in self.plays(user, since).items():
            if rel in id_of_path:
                out[id_of_path[rel]] = out.get(id_of_path[rel], 0.0) + n
        for item in self.stars(user):
            kind, _, key = item.partition(":")
            if kind == "song" and key in id_of_path:
                out[id_of_path[key]] = out.get(id_of_path[key], 0.0) + 1.0
        return out

    def star(self, user: str, item: str, on: bool = True) -> None:
        if on:
            self._w("INSERT INTO stars(user, item, time) VALUES(?,?,?) ON CONFLICT DO NOTHING",
                    (user, item, self.clock()))
        else:
            self._w("DELETE FROM stars WHERE user=? AND item=?", (user, item))

    def stars(self, user: str) -> dict[str, float]:
        return dict(self._q("SELECT item, time FROM stars WHERE user=? ORDER BY time", (user,)))

    def rate(self, user: str, item: str, rating: int) -> None:
        if rating == 0:
            self._w("DELETE FROM ratings WHERE user=? AND item=?", (user, item))
        else:
            self._w("INSERT INTO ratings(user, item, rating) VALUES(?,?,?) ON CONFLICT(user, item) DO UPDATE "
                    "SET rating=excluded.rating", (user, item, rating))

    def ratings(self, user: str) -> dict[str, int]:
        return dict(self._q("SELECT item, rating FROM ratings WHERE user=?", (user,)))

    # --- playlists ---
    def playlists(self, user: str) -> list[tuple]:
        """(id, owner, name, comment, public, created, changed) of the user's own and public playlists."""
        return self._q("SELECT id, user, name, comment, public, created, changed FROM playlists "
                       "WHERE user=? OR public=1 ORDER BY id", (user,))

    def playlist(self, pid: int) -> tuple | None:
        row = self._q("SELECT id, user, name, comment, public, created, changed FROM playlists WHERE id=?", (pid,))
        return row[0] if row else None

    def entries(self, pid: int) -> list[str]:
        return [os.fsdecode(r[0]) for r in self._q("SELECT path FROM playlist_entries WHERE playlist=? ORDER BY pos",
                                                   (pid,))]

    def create_playlist(self, user: str, name: str, rels: list[str]) -> int:
        now = self.clock()
        pid = self._w("INSERT INTO playlists(user, name, created, changed) VALUES(?,?,?,?)", (user, name, now, now))
        self.set_entries(pid, rels)
        return pid

    def set_entries(self, pid: int, rels: list[str]) -> None:
        with self._lock:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM playlist_entries WHERE playlist=?", (pid,))
            self.db.executemany("INSERT INTO playlist_entries(playlist, pos, path) VALUES(?,?,?)",
                                [(pid, i, os.fsencode(r)) for i, r in enumerate(rels)])
            self.db.execute("UPDATE playlists SET changed=? WHERE id=?", (self.clock(), pid))
            self.db.execute("COMMIT")

    def update_playlist(self, pid: int, name: str | None = None, comment: str | None = None,
                        public: bool | None = None) -> None:
        for col, v in (("name", name), ("comment", comment), ("public", None if public is None else int(public))):
            if v is not None:
                self._w(f"UPDATE playlists SET {col}=?, changed=? WHERE id=?", (v, self.clock(), pid))

    def delete_playlist(self, pid: int) -> None:
        with self._lock:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM playlist_entries WHERE playlist=?", (pid,))
            self.db.execute("DELETE FROM playlists WHERE id=?", (pid,))
            self.db.execute("COMMIT")
