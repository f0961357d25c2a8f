"""Small shared helpers: atomic writes, seeding, progress bars."""

from __future__ import annotations

import contextlib
import json
import os
import random
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "", mode: int | None = None) -> Iterator[Path]:
    """Yield a temp path beside `path`; rename it over `path` only on success.

    A crash at any moment leaves either the old file or the new one, never a
    half-written file. `mode` (e.g. 0o600 for catalog files) instead of what
    a plain open() would give. The rename replaces a planted link itself,
    never the file it points to.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask if mode is None else mode)  # mkstemp makes 0600; by default give the file
    # the permissions a plain open() would
    try:
        yield Path(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: str | os.PathLike, text: str, mode: int | None = None) -> None:
    """UTF-8; file names that are not valid UTF-8 keep their original bytes."""
    with atomic_path(path, mode=mode) as tmp:
        tmp.write_bytes(text.encode("utf-8", "surrogateescape"))


def atomic_write_json(path: str | os.PathLike, obj, mode: int | None = None) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n", mode)


def read_npy(path: Path) -> np.ndarray | None:
    """A cached array, or None when it is missing or damaged (the caller recomputes it)."""
    if not path.exists():
        return None
    try:
        return np.load(path)
    except (ValueError, OSError, EOFError):
        return None


def write_npy(path: Path, array: np.ndarray) -> None:
    """Write a cache array atomically, so a reader never sees half of it."""
    with atomic_path(path, ".npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, array)


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def progress(disable: bool = False, transient: bool = False):
    """A rich progress bar with count, rate and ETA, on stderr (stdout stays clean for --json)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
        disable=disable, transient=transient, console=Console(stderr=True),
    )


def default_cache_dir() -> Path:
    base = os.environ.get("GENREREC_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "genrerec")
    return Path(base)
