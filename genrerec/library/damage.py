"""Damage inside the catalog, caught at its boundary.

Every query goes through `GuardedConnection`: SQLite's corruption errors
("database disk image is malformed", "file is not a database"), text that is
not UTF-8 in a row, and meta values that are not JSON become one
`CatalogError` naming the catalog and the safe fix, `genrerec index --rebuild`
(which moves the damaged file aside, never deletes it, and indexes the audio
again). Faults of the moment (locked, disk full) are not damage and pass through.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterator

from ..safety import display

REBUILD_HINT = ("run `genrerec index --rebuild` to rebuild it from the audio "
                "(the damaged file is moved aside and kept)")
# the catalog and the files SQLite keeps beside it: moved aside together (a WAL belongs to its database)
CATALOG_SIDE_FILES = ("", "-wal", "-shm", "-journal")


class CatalogError(Exception):
    """The catalog file is missing, damaged or from another version."""


def is_damage(e: BaseException) -> bool:
    """Whether a sqlite3 error means the file's content is damaged (not a lock, a full disk or a bug)."""
    if not isinstance(e, sqlite3.DatabaseError):
        return False
    text = str(e).lower()
    return (type(e) is sqlite3.DatabaseError or "malformed" in text or "could not decode" in text
            or "not a database" in text)


def damaged_message(shown, why: str) -> str:
    """One line: which catalog, that it is damaged (and how), and the safe fix."""
    why = display(why.splitlines()[0] if why else "unreadable")[:160]
    return f"{display(shown)}: catalog is damaged ({why}); {REBUILD_HINT}"


class GuardedCursor:
    """A sqlite3 cursor whose fetches turn damage into CatalogError."""

    def __init__(self, cur: sqlite3.Cursor, conn: "GuardedConnection"):
        self._cur, self._conn = cur, conn

    def fetchone(self):
        with self._conn.guard():
            return self._cur.fetchone()

    def fetchall(self):
        with self._conn.guard():
            return self._cur.fetchall()

    def fetchmany(self, size: int = 1):
        with self._conn.guard():
            return self._cur.fetchmany(size)

    def __iter__(self) -> Iterator:
        it = iter(self._cur)
        while True:
            with self._conn.guard():
                try:
                    row = next(it)
                except StopIteration:
                    return
            yield row

    def __getattr__(self, name):
        return getattr(self._cur, name)


class GuardedConnection:
    """sqlite3.Connection with the catalog's damage check on every call; anything else is passed through."""

    def __init__(self, conn: sqlite3.Connection, shown):
        self._conn, self.shown = conn, shown

    @contextlib.contextmanager
    def guard(self):
        try:
            yield
        except sqlite3.DatabaseError as e:
            if is_damage(e):
                raise CatalogError(damaged_message(self.shown, str(e))) from None
            raise

    def execute(self, *args) -> GuardedCursor:
        with self.guard():
            return GuardedCursor(self._conn.execute(*args), self)

    def executemany(self, *args) -> GuardedCursor:
        with self.guard():
            return GuardedCursor(self._conn.executemany(*args), self)

    def executescript(self, script: str) -> GuardedCursor:
        with self.guard():
            return GuardedCursor(self._conn.executescript(script), self)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def move_aside(db_dir: Path, name: str, stamp: str | None = None) -> Path | None:
    """Rename `name` (and its -wal, -shm, -journal) in `db_dir` to `name.damaged-<time>`: each rename is
    atomic and nothing is deleted. Returns the new path of the catalog, or None if there was none."""
    if not os.path.lexists(db_dir / name):
        return None
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S")
    base, n = f"{name}.damaged-{stamp}", 1
    while any(os.path.lexists(db_dir / (base + s)) for s in CATALOG_SIDE_FILES):
        base, n = f"{name}.damaged-{stamp}-{n}", n + 1
    for side in CATALOG_SIDE_FILES[1:] + ("",):  # the main file last: a crash leaves it findable
        if os.path.lexists(db_dir / (name + side)):
            os.rename(db_dir / (name + side), db_dir / (base + side))
    return db_dir / base
