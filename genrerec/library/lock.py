"""The library lock: one `genrerec index` at a time per catalog."""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from ..errors import LibraryLocked
from ..safety import open_nofollow


class LibraryLock:
    """An exclusive flock on <db>/lock: released by the OS if the holder dies."""

    def __init__(self, db_dir: Path, shown: Path | None = None):
        self.path = db_dir / "lock"
        self.shown = (shown or db_dir) / "lock"  # db_dir may be a held folder's /proc/self/fd/N
        self.fd: int | None = None

    def __enter__(self):
        self.fd = open_nofollow(self.path, os.O_RDWR | os.O_CREAT)  # never write our PID through a planted link
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(self.fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(self.fd)
            raise LibraryLocked(f"another `genrerec index` (pid {holder}) is running on this library "
                                f"({self.shown.parent}); wait for it to finish or stop it") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
