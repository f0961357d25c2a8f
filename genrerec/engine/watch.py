"""`genrerec index --watch`: keep a library's index current while files change.

A watchdog observer collects file events; once the library has been quiet for
`delay` seconds (or `max_wait` after the first event of a burst, so a long
copy still gets indexed as it goes) the normal incremental `index_library`
runs, with the same crash safety (a kill loses at most one batch) and lock as
a run by hand. Events in hidden folders (the catalog in .genrerec included)
are ignored, so the indexer's own writes never trigger it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import LibraryLocked
from .index import IndexSummary, index_library

log = logging.getLogger("genrerec")

DELAY = 2.0  # seconds of quiet before a re-index
MAX_WAIT = 30.0  # at most this long after the first event of a burst


@dataclass
class Debouncer:
    """When a burst of change events should be acted on; `clock` is injectable for tests."""

    delay: float = DELAY
    max_wait: float = MAX_WAIT
    clock: Callable[[], float] = time.monotonic
    first: float | None = None
    last: float | None = None
    paths: set[str] = field(default_factory=set)

    def event(self, path: str) -> None:
        now = self.clock()
        self.first = now if self.first is None else self.first
        self.last = now
        self.paths.add(path)

    def wait_time(self) -> float | None:
        """Seconds until the burst is due (0: now), None when nothing is pending."""
        if self.last is None:
            return None
        now = self.clock()
        return max(0.0, min(self.last + self.delay, self.first + self.max_wait) - now)

    def take(self) -> set[str]:
        paths, self.paths, self.first, self.last = self.paths, set(), None, None
        return paths


def _relevant(path: str, root: Path, db: Path | None) -> bool:
    p = Path(os.fsdecode(path))
    if db is not None and (p == db or db in p.parents):
        return False
    try:
        rel = p.relative_to(root)
    except ValueError:
        return True
    return not any(part.startswith(".") for part in rel.parts)


def watch_library(library: str | os.PathLike, db_dir: str | os.PathLike | None = None, model=None,
                  stop: threading.Event | None = None, on_index: Callable[[IndexSummary], None] | None = None,
                  debouncer: Debouncer | None = None, **index_kw) -> None:
    """Index now, then again after every burst of changes, until `stop` is set (or Ctrl-C)."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    from ..models.inference import load_model

    root = Path(library).resolve()
    model = model or load_model()
    stop = stop or threading.Event()
    deb = debouncer or Debouncer()
    wake = threading.Event()
    lock = threading.Lock()
    db = Path(db_dir).resolve() if db_dir is not None else None

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            if event.event_type in ("opened", "closed_no_write") or (event.is_directory and
                                                                      event.event_type == "modified"):
                return  # a folder's "modified" only echoes changes inside it (the catalog's, too)
            paths = [event.src_path] + ([event.dest_path] if getattr(event, "dest_path", "") else [])
            if any(_relevant(p, root, db) for p in paths):
                with lock:
                    deb.event(os.fsdecode(paths[-1]))
                wake.set()

    def run_once() -> None:
        try:
            s = index_library(root, db_dir, model, **index_kw)
        except LibraryLocked as e:  # someone ran `genrerec index` by hand: try again after the next change
            log.warning("%s", e)
            return
        if on_index:
            on_index(s)

    observer = Observer()
    observer.schedule(Handler(), str(root), recursive=True)
    observer.start()
    try:
        run_once()
        while not stop.is_set():
            with lock:
                wait = deb.wait_time()
            if wait is None or wait > 0:
                wake.wait(timeout=wait if wait is not None else 0.5)
                wake.clear()
                continue
            with lock:
                changed = deb.take()
            log.info("%d paths changed: re-indexing", len(changed))
            run_once()
    finally:
        observer.stop()
        observer.join()
