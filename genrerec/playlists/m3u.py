"""M3U/M3U8 playlists, as players read them."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Sequence
from urllib.parse import unquote, urlparse

from ..safety import clean_tag, display, one_line
from ..utils import atomic_write_text

log = logging.getLogger("genrerec")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
MAX_LINE = 16384  # longer lines are no path any file system accepts (PATH_MAX is 4096)


def write_m3u(path: str | os.PathLike, tracks: Sequence[str | os.PathLike], relative: bool = True,
              titles: Sequence[str | None] | None = None, durations: Sequence[float | None] | None = None) -> Path:
    """Write an extended M3U (UTF-8) playlist; paths relative to the playlist's folder when `relative`.

    Tags are cleaned of control characters (a title cannot add entries); a
    path that cannot be one M3U line (a newline in a file name) is skipped
    with a warning. Returns the path written.
    """
    out = Path(path)
    base = out.resolve().parent
    lines = ["#EXTM3U"]
    for i, t in enumerate(tracks):
        p = Path(t).resolve()
        entry = m3u_line(p, base, relative)
        if entry is None:
            log.warning("%s: left out of the playlist: its name cannot be written as one M3U line", display(p))
            continue
        title = clean_tag(titles[i] if titles else None) or clean_tag(p.stem) or "?"
        dur = durations[i] if durations else None
        lines.append(f"#EXTINF:{int(round(dur)) if dur else -1},{title}")
        lines.append(entry)
    atomic_write_text(out, "\n".join(lines) + "\n")
    return out


def m3u_line(track: str | os.PathLike, base: Path, relative: bool = True) -> str | None:
    """The line naming `track` in a playlist in folder `base`, or None when no M3U line can hold it."""
    p = Path(track).resolve()
    entry = os.path.relpath(p, base) if relative else str(p)
    return entry if one_line(entry) else None


def read_m3u(path: str | os.PathLike) -> list[Path]:
    """Track paths listed in an M3U/M3U8 file (comments skipped, relative paths
    resolved against the playlist's folder, file:// URLs accepted; other URLs
    and lines too long to be a path are ignored with a log line)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ValueError(f"{p}: cannot read playlist ({e.strerror})") from None
    text = raw.decode("utf-8-sig", "surrogateescape")  # non-UTF-8 names map back to their bytes
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if len(line) > MAX_LINE:
            log.warning("%s: ignored a %d-character line (too long to be a path)", p, len(line))
            continue
        if line.startswith("file://"):
            line = unquote(urlparse(line).path)
        elif _URL.match(line):
            log.info("%s: ignored a URL (%s): only local tracks can be history", p, display(line)[:80])
            continue
        q = Path(line)
        out.append(q if q.is_absolute() else (p.parent / q))
    return out
