"""The catalog folder, held open for a whole `genrerec index` run.

`check_state_dir` looks at the folder once, by name; someone who can write the
library folder can then swap `.genrerec` for a link while the run goes on (and
root, running the indexer, would write through it). `HeldStateDir` opens the
folder once (O_NOFOLLOW, owner checked for root too) and everything the run
writes goes through that handle: the lock and the FAISS files by `dir_fd` (or
/proc/self/fd/N, which the kernel resolves to the held folder, never to a link
put in its place), and the catalog is verified after SQLite opened it to be the
file inside the held folder. `check()` says, after each commit and before the
search index is saved, whether the name still leads to the held folder.

SQLite keeps the catalog, its WAL and its shared-memory file open for the whole
connection, so writes after the verification land in the held folder whatever
happens to the name. What remains is SQLite's own housekeeping by name when the
connection closes (it unlinks `catalog.sqlite-wal` and `-shm`): after a swap
that unlink, of files with those names only, is the one thing that can reach
the link's target.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ..safety import UnsafePathError, display, refuse_unless_regular


def owner_problem(st: os.stat_result, d) -> str | None:
    """Why a catalog folder with this stat is not ours, or None. Root is checked too: a
    folder another user owns could be swapped or filled by them (root's own folder is fine)."""
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return (f"{display(d)}: the catalog folder belongs to another user (uid {st.st_uid}); pass --db DIR to keep "
                "your own catalog")
    return None


class HeldStateDir:
    """An O_DIRECTORY | O_NOFOLLOW handle of the catalog folder for the length of a run.

    Attributes:
        path: the folder by name (for messages, and to detect a swap).
        work: where to open files so they land in the held folder: /proc/self/fd/N on
            Linux, else `path` (then `check()` is the only guard).
        fd: the handle.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOTDIR):
                kind = "is a symbolic link" if os.path.islink(self.path) else "is not a folder"
                raise UnsafePathError(f"{display(self.path)}: the catalog folder {kind}; genrerec does not follow "
                                      "it (someone may have planted it): remove it, or pass --db DIR") from None
            raise
        st = os.fstat(self.fd)
        why = owner_problem(st, self.path)
        if why:
            os.close(self.fd)
            raise UnsafePathError(why)
        self.ident = (st.st_dev, st.st_ino)
        proc = Path(f"/proc/self/fd/{self.fd}")
        try:
            pst = os.stat(proc)
            self.work = proc if (pst.st_dev, pst.st_ino) == self.ident else self.path
        except OSError:
            self.work = self.path

    def __enter__(self) -> "HeldStateDir":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def where_now(self) -> str:
        """Where the held folder is now (it may have been moved), as the kernel knows it."""
        try:
            return os.readlink(f"/proc/self/fd/{self.fd}")
        except OSError:
            return "(unknown: /proc is not available)"

    def swapped(self) -> bool:
        """Whether the folder's name no longer leads to the held folder (a link, another folder, nothing)."""
        try:
            st = os.lstat(self.path)
        except OSError:
            return True
        return stat.S_ISLNK(st.st_mode) or (st.st_dev, st.st_ino) != self.ident

    def check(self) -> None:
        """Raise UnsafePathError (one line) if the folder was swapped during the run."""
        if self.swapped():
            raise UnsafePathError(
                f"{display(self.path)}: the catalog folder was replaced while indexing (by a link or another folder; "
                f"someone may have planted it); nothing was written through it and the run stopped; what was "
                f"committed is in the folder genrerec held, now at {display(self.where_now())}: remove what is at "
                f"{display(self.path)}, move that folder back, and run `genrerec index` again")

    def check_files(self, names: tuple[str, ...]) -> None:
        """Refuse any of `names` in the held folder that is a link or not a regular file."""
        for name in names:
            try:
                st = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            refuse_unless_regular(st, self.path / name)

    def create_file(self, name: str) -> None:
        """Create `name` (0600) inside the held folder if missing, never through a link."""
        try:
            os.close(os.open(name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=self.fd))
        except OSError as e:
            if e.errno == errno.ELOOP:
                self.check_files((name,))
            raise

    def file_ident(self, name: str) -> tuple[int, int] | None:
        """(st_dev, st_ino) of `name` inside the held folder (not following a link), or None."""
        try:
            st = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        return st.st_dev, st.st_ino

    def verify_open(self, names: tuple[str, ...]) -> None:
        """After SQLite opened files by their path: each of `names` inside the held folder must be a file this
        process has open, else the path led elsewhere (the folder was swapped between the check and the open)."""
        fds = Path("/proc/self/fd")
        if not fds.is_dir():
            return self.check()
        open_now = set()
        for fd in os.listdir(fds):
            try:
                st = os.stat(fds / fd)
            except OSError:
                continue
            open_now.add((st.st_dev, st.st_ino))
        for name in names:
            if self.file_ident(name) not in open_now:
                self.check()  # the usual message when the name is swapped still
                raise UnsafePathError(f"{display(self.path / name)}: the catalog folder was swapped while the "
                                      "catalog was being opened (someone may have planted a link); refused: "
                                      f"check {display(self.path)} and run `genrerec index` again")
