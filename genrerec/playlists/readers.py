"""Playlists back in: the track paths of an M3U/M3U8, XSPF or JSON playlist
(the formats `formats` writes), for `--not-in` and history.

Relative locations resolve against the playlist's folder (XSPF: as URIs, so
percent-encoded names round-trip). Remote URLs are skipped. A playlist that is
unreadable, too big or malformed is a ValueError naming the file.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlparse

from .m3u import read_m3u

MAX_PLAYLIST_BYTES = 64 << 20  # bigger is no playlist (and an XML bomb stays bounded)
READABLE = (".m3u", ".m3u8", ".xspf", ".json")


def _local(location: str, base: Path) -> Path | None:
    """A local path for a playlist location (plain path or file:// URI), else None."""
    if location.startswith("file://"):
        return Path(os.fsdecode(unquote(urlparse(location).path, errors="surrogateescape")))
    if "://" in location[:16]:
        return None
    p = Path(location)
    return p if p.is_absolute() else base / p


def _read_bytes(p: Path) -> bytes:
    try:
        if p.stat().st_size > MAX_PLAYLIST_BYTES:
            raise ValueError(f"{p}: over {MAX_PLAYLIST_BYTES >> 20} MB, not a playlist")
        return p.read_bytes()
    except OSError as e:
        raise ValueError(f"{p}: cannot read playlist ({e.strerror})") from None


def read_xspf(path: str | os.PathLike) -> list[Path]:
    p = Path(path)
    raw = _read_bytes(p)
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as e:
        raise ValueError(f"{p}: not a readable XSPF playlist ({e})") from None
    out = []
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] == "location" and el.text:
            text = el.text.strip()
            q = _local(text if "://" in text[:16] else unquote(text, errors="surrogateescape"), p.parent)
            if q is not None:
                out.append(q)
    return out


def read_json(path: str | os.PathLike) -> list[Path]:
    """genrerec's JSON playlists ({"tracks": [{"path": ...}]}), or a plain list of paths or such objects."""
    p = Path(path)
    raw = _read_bytes(p)
    try:
        data = json.loads(raw)
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise ValueError(f"{p}: not a JSON playlist ({e})") from None
    items = data.get("tracks") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError(f"{p}: a JSON playlist is a list of tracks or {{\"tracks\": [...]}}")
    out = []
    for it in items:
        loc = it.get("path") or it.get("location") if isinstance(it, dict) else it
        if isinstance(loc, str) and loc:
            q = _local(loc, p.parent)
            if q is not None:
                out.append(q)
    return out


def read_playlist(path: str | os.PathLike) -> list[Path]:
    """Track paths of an .m3u/.m3u8, .xspf or .json playlist (by suffix)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".xspf":
        return read_xspf(path)
    if suffix == ".json":
        return read_json(path)
    if suffix in (".m3u", ".m3u8"):
        return read_m3u(path)
    raise ValueError(f"{path}: not a playlist (give an {', '.join(READABLE)} file)")
