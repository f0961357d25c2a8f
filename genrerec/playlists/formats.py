"""Playlists out in the formats players and tools read: M3U8, XSPF, JSON.

`write_playlist` picks the format from `fmt` or the file's suffix (.xspf,
.json, anything else M3U8). XSPF locations are percent-encoded URIs (relative
ones resolve against the playlist, as the XSPF spec says), so any file name,
non-UTF-8 bytes included, round-trips; XML escaping is done by ElementTree.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ..safety import clean_tag
from ..utils import atomic_write_text
from .m3u import m3u_line, write_m3u

FORMATS = ("m3u8", "xspf", "json")
SUFFIXES = {".m3u8": "m3u8", ".m3u": "m3u8", ".xspf": "xspf", ".json": "json"}  # what -o may end with


@dataclass
class Entry:
    path: Path
    artist: str | None = None
    title: str | None = None
    duration: float | None = None
    score: float | None = None


def format_for(path: str | os.PathLike, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise ValueError(f"unknown playlist format {fmt!r}; one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "m3u8"


def check_output(path: str | os.PathLike, fmt: str | None = None) -> None:
    """ValueError (one line) for an output whose suffix says no known format while no `fmt` is given:
    `x.pls` must not silently become M3U8 under a name that promises something else."""
    suffix = Path(path).suffix.lower()
    if fmt is None and suffix and suffix not in SUFFIXES:
        raise ValueError(f"{path}: unknown playlist suffix {suffix!r}; name it {', '.join(SUFFIXES)}, or give "
                         f"--format ({', '.join(FORMATS)})")


def entries_written(path: str | os.PathLike, entries: list[Entry], relative: bool = True,
                    fmt: str | None = None) -> int:
    """How many of `entries` `write_playlist` writes (M3U leaves out names no line can hold)."""
    if format_for(path, fmt) != "m3u8":
        return len(entries)
    base = Path(path).resolve().parent
    return sum(m3u_line(e.path, base, relative) is not None for e in entries)


def _location(p: Path, base: Path, relative: bool) -> str:
    raw = os.fsencode(os.path.relpath(p, base) if relative else str(p))
    uri = quote(raw, safe="/")
    return uri if relative else "file://" + uri


def write_xspf(path: str | os.PathLike, entries: list[Entry], relative: bool = True) -> Path:
    out = Path(path)
    base = out.resolve().parent
    ET.register_namespace("", "http://xspf.org/ns/0/")
    root = ET.Element("{http://xspf.org/ns/0/}playlist", version="1")
    tracks = ET.SubElement(root, "{http://xspf.org/ns/0/}trackList")
    for e in entries:
        t = ET.SubElement(tracks, "{http://xspf.org/ns/0/}track")
        ET.SubElement(t, "{http://xspf.org/ns/0/}location").text = _location(Path(e.path).resolve(), base, relative)
        if clean_tag(e.title):
            ET.SubElement(t, "{http://xspf.org/ns/0/}title").text = clean_tag(e.title)
        if clean_tag(e.artist):
            ET.SubElement(t, "{http://xspf.org/ns/0/}creator").text = clean_tag(e.artist)
        if e.duration:
            ET.SubElement(t, "{http://xspf.org/ns/0/}duration").text = str(int(round(e.duration * 1000)))
    atomic_write_text(out, '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n")
    return out


def write_json(path: str | os.PathLike, entries: list[Entry], relative: bool = True) -> Path:
    out = Path(path)
    base = out.resolve().parent
    items = [{"path": os.path.relpath(Path(e.path).resolve(), base) if relative else str(Path(e.path).resolve()),
              "title": e.title, "artist": e.artist, "duration": e.duration, "score": e.score} for e in entries]
    atomic_write_text(out, json.dumps({"tracks": items}, indent=2, ensure_ascii=False) + "\n")
    return out


def write_playlist(path: str | os.PathLike, entries: list[Entry], relative: bool = True, fmt: str | None = None) -> Path:
    """Write `entries` as M3U8, XSPF or JSON (see module doc)."""
    f = format_for(path, fmt)
    if f == "xspf":
        return write_xspf(path, entries, relative)
    if f == "json":
        return write_json(path, entries, relative)
    titles = [" - ".join(x for x in (e.artist, e.title) if x) or None for e in entries]
    return write_m3u(path, [e.path for e in entries], relative=relative, titles=titles,
                     durations=[e.duration for e in entries])
