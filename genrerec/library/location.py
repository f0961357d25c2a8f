"""Where a library's catalog lives: <library>/.genrerec, or a per-library
folder in the user cache when the library is read-only; found upward like git."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

DB_DIRNAME = ".genrerec"
CATALOG_FILE = "catalog.sqlite"
# every file genrerec keeps in a catalog folder: none may be a link (tests/reliability/test_security.py)
STATE_FILES = ("lock", CATALOG_FILE, CATALOG_FILE + "-wal", CATALOG_FILE + "-shm", CATALOG_FILE + "-journal",
               "index.faiss", "index.json", "users.sqlite", "users.sqlite-wal", "users.sqlite-shm", "users.key")


def _cache_db_dir(root: Path) -> Path:
    from ..utils import default_cache_dir

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
    if os.path.isfile(p):
        p = p.parent
    for d in [p, *p.parents]:
        for cand in (d / DB_DIRNAME, _cache_db_dir(d)):
            if os.path.exists(cand / CATALOG_FILE):
                return cand
        if os.path.exists(d / CATALOG_FILE):  # --db pointing at the folder itself
            return d
    return None
