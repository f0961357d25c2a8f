"""M3U/M3U8 playlists, as players read them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence
from urllib.parse import unquote, urlparse

from .utils import atomic_write_text


def write_m3u(path: str | os.PathLike, tracks: Sequence[str | os.PathLike], relative: bool = True,
              titles: Sequence[str | None] | None = None, durations: Sequence[float | None] | None = None) -> Path:
    """Write an extended M3U (UTF-8) playlist; paths relative to the playlist's folder when `relative`."""
    out = Path(path)
    base = out.resolve().parent
    lines = ["#EXTM3U"]
    for i, t in enumerate(tracks):
        p = Path(t).resolve()
        title = titles[i] if titles else None
        dur = durations[i] if durations else None
        lines.append(f"#EXTINF:{int(round(dur)) if dur else -1},{title or p.stem}")
        lines.append(os.path.relpath(p, base) if relative else str(p))
    atomic_write_text(out, "\n".join(lines) + "\n")
    return out


def read_m3u(path: str | os.PathLike) -> list[Path]:
    """Track paths listed in an M3U/M3U8 file (comments skipped, relative paths
    resolved against the playlist's folder, file:// URLs accepted)."""
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
        if line.startswith("file://"):
            line = unquote(urlparse(line).path)
        q = Path(line)
        out.append(q if q.is_absolute() else (p.parent / q))
    return out
