"""Walking a library: the audio files under a root, their content
fingerprints and tags, and the diff against what the catalog holds."""

from __future__ import annotations

import hashlib
import os
import stat as stat_mod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..audio.decode import AUDIO_EXTENSIONS
from ..safety import in_system_tree, is_within
from .catalog import TrackRow

_MAGIC = (b"ID3", b"fLaC", b"OggS", b"RIFF", b"FORM", b".snd", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")


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


def scan_library(root: Path, skip: list[Path] = (), on_error: Callable[[str, str], None] | None = None,
                 follow_external: bool = False, on_skip: Callable[[str, str], None] | None = None) -> list[FileEntry]:
    """Audio files under root, following symlinks that stay inside root, never looping.

    With `follow_external`, links that leave root are followed too (libraries
    built from links), but never into /proc, /sys or /dev and never to a file
    already found. Skipped links are reported to `on_skip(path, reason)`.
    """
    seen_dirs: set[tuple[int, int]] = set()
    seen_linked: set[tuple[int, int]] = set()
    skip_real = {os.path.realpath(s) for s in skip}
    root_real = os.path.realpath(root)
    out: list[FileEntry] = []

    def outside(full: bytes) -> str | None:
        """Why a path (reached through links) may not be read, or None."""
        real = os.path.realpath(os.fsdecode(full))
        if in_system_tree(real):
            return f"link into a system folder ({real}) skipped"
        if not follow_external and not is_within(real, root_real):
            return "link to outside the library skipped (pass --follow-external-links to follow it)"
        return None

    def onerror(e: OSError) -> None:
        if on_error:
            on_error(os.fsdecode(e.filename) if e.filename else "?", f"cannot read folder ({e.strerror})")

    for dirpath, dirnames, filenames in os.walk(os.fsencode(root), followlinks=True, onerror=onerror):
        try:
            st = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen_dirs or os.fsdecode(os.path.realpath(dirpath)) in skip_real:
            dirnames[:] = []  # symlink loop or already walked via another link
            continue
        why = outside(dirpath)
        if why:
            dirnames[:] = []
            if on_skip:
                on_skip(os.fsdecode(dirpath), why)
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
            if os.path.realpath(full) != os.path.abspath(full):  # reached through a link
                why = outside(full)
                if why or (fst.st_dev, fst.st_ino) in seen_linked:
                    if why and on_skip:
                        on_skip(os.fsdecode(full), why)
                    continue
            seen_linked.add((fst.st_dev, fst.st_ino))
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


def read_tags(path: Path) -> dict:
    try:
        import av

        with av.open(str(path)) as c:
            md = {k.lower(): v for k, v in (c.metadata or {}).items()}
            if not md and c.streams.audio:
                md = {k.lower(): v for k, v in (c.streams.audio[0].metadata or {}).items()}
        return {k: str(md[k])[:500] for k in ("title", "artist", "album", "genre") if md.get(k)}
    except Exception:
        return {}


@dataclass
class ChangePlan:
    """What an index run must do: files to (re)embed, renames to apply, rows to drop."""

    todo: list[FileEntry] = field(default_factory=list)
    moved: list[tuple[TrackRow, FileEntry]] = field(default_factory=list)
    gone: dict[bytes, TrackRow] = field(default_factory=dict)
    unchanged: int = 0
    failed_before: list[tuple[str, str]] = field(default_factory=list)  # unchanged files that failed earlier


def plan_changes(files: list[FileEntry], rows: dict[bytes, TrackRow], model_id: str,
                 retry_failed: bool = False) -> ChangePlan:
    """Diff the files on disk against the catalog rows: new or changed files
    are embedded again, unchanged ones kept (failures too unless `retry_failed`),
    and a new path whose content matches a vanished usable row is a rename."""
    plan = ChangePlan()
    on_disk = {f.rel for f in files}
    gone = {rel: r for rel, r in rows.items() if rel not in on_disk}
    todo: list[FileEntry] = []
    for f in files:
        r = rows.get(f.rel)
        if r is None:
            todo.append(f)
        elif r.size == f.size and r.mtime_ns == f.mtime_ns and (
                r.status == "failed" and not retry_failed or r.status == "ok" and r.model_id == model_id):
            if r.status == "failed":  # counted once: as failed, not also as unchanged
                plan.failed_before.append((os.fsdecode(f.rel), r.error or "failed"))
            else:
                plan.unchanged += 1
        else:
            todo.append(f)

    # renames: a new path whose content matches a vanished, usable row
    by_fp = {r.fingerprint: r for r in gone.values()
             if r.status == "ok" and r.model_id == model_id and r.fingerprint}
    for f in todo:
        if f.rel in rows or not by_fp:
            plan.todo.append(f)
            continue
        try:
            fp = fingerprint(f.path)
        except OSError:
            plan.todo.append(f)
            continue
        r = by_fp.pop(fp, None)
        if r is None:
            plan.todo.append(f)
        else:
            plan.moved.append((r, f))
            gone.pop(r.path, None)
    plan.gone = gone
    return plan
