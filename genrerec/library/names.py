"""Artist and title as people write them, folded for matching: the first credited
artist, no accents, case, punctuation, "feat." credits or "(Remastered ...)" notes."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

_FEAT = re.compile(r"[\(\[]\s*(feat\.?|ft\.?|featuring|with)\s[^\)\]]*[\)\]]|\s(feat\.?|ft\.?|featuring)\s.*$")
_REMASTER = re.compile(r"[\(\[][^\)\]]*remaster[^\)\]]*[\)\]]|\s-\s[^-]*remaster.*$")
_ARTIST_SEP = re.compile(r"\s*(,|&|/|;|\+|\band\b|\bx\b|\bvs\.?)\s*")
_TITLE_ARTIST = re.compile(r"^\s*(?:\d+[\s.\-_]+)?(?P<artist>.+?)\s+-\s+(?P<title>.+?)\s*$")


def _fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c)).casefold()
    s = _REMASTER.sub("", _FEAT.sub("", s))
    return re.sub(r"[^\w]+", " ", s).strip()


def track_key(artist: str, title: str) -> tuple[str, str]:
    """Matching key: the first credited artist and the title, folded."""
    a = unicodedata.normalize("NFKD", artist).casefold()
    a = _FEAT.sub("", a)
    a = _ARTIST_SEP.split(a)[0] if a.strip() else a
    return _fold(a), _fold(title)


def tags_from_name(path: str | os.PathLike) -> tuple[str, str] | None:
    """("Artist", "Title") from a file named "[NN ]Artist - Title.ext", else None."""
    m = _TITLE_ARTIST.match(Path(path).stem)
    return (m["artist"], m["title"]) if m else None


def short_name(rel: str) -> str:
    """A track without tags, as a page shows it: its folder and file name without the extension
    ("warzone2100-music/track26"): the bare file name alone ("track26") tells albums apart no more."""
    p = Path(rel)
    parent = p.parent.name
    return f"{parent}/{p.stem}" if parent else p.stem
