"""Small safety helpers shared by everything that touches user-controlled names
and state files: open without following links, keep paths inside a root, and
make file names and tags safe to print (rich markup) or write (M3U lines).

Threat model: someone who can write into a shared music folder must not get
genrerec to write through a planted link, read outside the library, or inject
lines into a playlist or markup into the terminal.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from .errors import LibraryError

# C0/C1 controls, DEL, the Unicode line/paragraph separators some players treat as newlines, and the
# bidirectional marks, overrides and isolates (U+202E turns "gpj.exe" around on screen: Trojan Source)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
SYSTEM_TREES = ("/proc", "/sys", "/dev")  # never walked, even with --follow-external-links
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


class UnsafePathError(LibraryError):
    """A state file or folder is a symbolic link, or belongs to someone else."""


def display(text) -> str:
    """Any name (str, bytes, Path; undecodable bytes too) as one printable line:
    control characters become '?', undecodable bytes '\\xNN'."""
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    text = str(text)
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub("?", text)


def markup_escape(text) -> str:
    """`display(text)` with rich markup escaped: safe inside console.print()."""
    from rich.markup import escape

    return escape(display(text))


def clean_tag(text: str | None, limit: int = 200) -> str:
    """A tag (title, artist) fit for one `#EXTINF` line: controls become spaces, runs collapse."""
    if not text:
        return ""
    return " ".join(_CONTROL.sub(" ", str(text)).split())[:limit]


def one_line(path: str) -> bool:
    """Whether a path can be written as one M3U line (no control characters, no leading '#',
    no surrounding spaces a reader would strip)."""
    return bool(path) and not _CONTROL.search(path) and not path.startswith("#") and path == path.strip()


def exists(path: str | os.PathLike) -> bool:
    """Path.exists() that says False instead of raising for names too long or odd for the OS."""
    try:
        return os.path.exists(path)
    except (OSError, ValueError):
        return False


def is_within(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """Whether `path` (links resolved) lies inside `root` (links resolved)."""
    p, r = os.path.realpath(path), os.path.realpath(root)
    return p == r or p.startswith(r.rstrip(os.sep) + os.sep)


def in_system_tree(path: str | os.PathLike) -> bool:
    p = os.path.realpath(path)
    return any(p == t or p.startswith(t + os.sep) for t in SYSTEM_TREES)


def open_nofollow(path: str | os.PathLike, flags: int = os.O_RDONLY, mode: int = PRIVATE_FILE_MODE) -> int:
    """os.open that refuses a symbolic link at the last component (UnsafePathError)."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UnsafePathError(f"{display(path)}: is a symbolic link; genrerec does not follow links for its "
                                  "own files (someone may have planted it): remove the link") from None
        raise


def read_bytes_nofollow(path: str | os.PathLike) -> bytes:
    fd = open_nofollow(path)
    with os.fdopen(fd, "rb") as f:
        return f.read()


def check_state_dir(d: Path, files: tuple[str, ...] = ()) -> None:
    """Refuse a catalog folder that is a link, not a folder or not ours, and any
    of its `files` that is a link or not a regular file."""
    try:
        st = os.lstat(d)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePathError(f"{display(d)}: the catalog folder is a symbolic link; genrerec does not follow it "
                              "(someone may have planted it): remove the link, or pass --db DIR")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePathError(f"{display(d)}: is not a folder; remove it, or pass --db DIR")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():  # root too: another user's folder can be swapped
        raise UnsafePathError(f"{display(d)}: the catalog folder belongs to another user (uid {st.st_uid}); "
                              "pass --db DIR to keep your own catalog")
    for name in files:
        try:
            fst = os.lstat(d / name)
        except FileNotFoundError:
            continue
        refuse_unless_regular(fst, d / name)


def make_private_dir(d: Path) -> None:
    """mkdir -p with the last folder 0700 (a catalog lists the library's paths and tags)."""
    d.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(d, PRIVATE_DIR_MODE)
    except FileExistsError:
        pass


class NotRegularFileError(LibraryError):
    """What was opened is a FIFO, device, socket or folder, not a regular file."""


def fstat_regular(fd: int, name) -> os.stat_result:
    """fstat of an open handle, refusing anything but a regular file (a FIFO swapped in would block readers)."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFileError(f"{display(name)}: not a regular file (a FIFO, device or folder); not read")
    return st


def open_regular(path: str | os.PathLike | bytes) -> int:
    """A read-only fd of a regular file, opened non-blocking so a FIFO cannot hang the open
    (then refused by fstat_regular); the fd is closed on refusal."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        fstat_regular(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_beneath(root: str | os.PathLike, rel: str | bytes | os.PathLike) -> int:
    """A read-only fd of the regular file `root/rel` that lies inside `root` at the moment it is opened.

    `rel` is resolved once (links inside the library are allowed), then walked from an fd of the
    root one component at a time with O_NOFOLLOW (openat): a folder or file swapped for a link
    between the check and the open makes the open fail instead of escaping, and what is served
    is the handle that was checked, never the path opened again. The last open is O_NONBLOCK and
    fstat'ed, so a FIFO is refused instead of hanging. Raises UnsafePathError (outside the root, or
    a link appeared), NotRegularFileError, or the OSError of a missing file."""
    real_root = os.path.realpath(os.fsencode(root))
    real = os.path.realpath(os.path.join(real_root, os.fsencode(rel)))
    inside = real[len(real_root):] if real.startswith(real_root.rstrip(b"/") + b"/") else b".."
    parts = [p for p in inside.split(b"/") if p not in (b"", b".")]
    if not parts or b".." in parts:
        raise UnsafePathError(f"{display(rel)}: leads outside the library; not opened")
    dir_flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(real_root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            nxt = os.open(part, dir_flags, dir_fd=fd)
            os.close(fd)
            fd = nxt
        leaf = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=fd)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):  # a component became a link (or a file) after the check
            raise UnsafePathError(f"{display(rel)}: a folder or file on its path was swapped for a link; "
                                  "not opened") from None
        raise
    finally:
        os.close(fd)
    try:
        fstat_regular(leaf, rel)
    except BaseException:
        os.close(leaf)
        raise
    return leaf


def refuse_unless_regular(st: os.stat_result, path: Path) -> None:
    """One of genrerec's own state files (lstat'ed as `st`) must be a regular file, never a link."""
    if not stat.S_ISREG(st.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
        raise UnsafePathError(f"{display(path)}: is {kind}; genrerec does not follow links for its own "
                              "files (someone may have planted it): remove it")
