"""The `subsonic-response` envelope and the shapes inside it, rendered as JSON or XML.

A response body is a tree of dicts: scalar values become XML attributes, dict
values child elements, and lists repeated child elements of the list's key, which
is exactly how the Subsonic spec maps its XML schema onto JSON. The shape
builders at the bottom (`song`, `album`, `artist`, ...) carry every field the
OpenSubsonic spec marks required, so clients that validate them accept ours.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from fastapi.responses import Response

from ..version import __version__

API_VERSION = "1.16.1"
SERVER_TYPE = "genrerec"
XMLNS = "http://subsonic.org/restapi"

# the spec's error codes
MISSING_PARAMETER = 10
CLIENT_TOO_OLD = 20
WRONG_CREDENTIALS = 40
TOKEN_AUTH_UNSUPPORTED = 41
AUTH_MECHANISM_CONFLICT = 43  # apiKey given together with u/p/t/s
INVALID_API_KEY = 44
NOT_AUTHORISED = 50
NOT_FOUND = 70
GENERIC = 0


class SubsonicError(Exception):
    """An answer with status "failed": the spec's `code` and a message safe to show (never a credential)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def envelope(body: dict | None = None, error: SubsonicError | None = None) -> dict:
    out: dict[str, Any] = {"status": "failed" if error else "ok", "version": API_VERSION, "type": SERVER_TYPE,
                           "serverVersion": __version__, "openSubsonic": True}
    if error is not None:
        out["error"] = {"code": error.code, "message": error.message}
    out.update(body or {})
    return out


def _text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(round(v, 6))
    return str(v)


def _xml(parent: ET.Element, key: str, value) -> None:
    if isinstance(value, list):
        for item in value:
            _xml(parent, key, item)
    elif isinstance(value, dict):
        el = ET.SubElement(parent, key)
        for k, v in value.items():
            if v is None:
                continue
            if isinstance(v, (dict, list)):
                _xml(el, k, v)
            elif k == "value" and key in ("genre",):  # <genre songCount="1">Rock</genre>
                el.text = _text(v)
            else:
                el.set(k, _text(v))
    elif value is not None:  # a bare scalar as an element (e.g. <allowedUser>bob</allowedUser>)
        ET.SubElement(parent, key).text = _text(value)


def to_xml(env: dict) -> bytes:
    root = ET.Element("subsonic-response", {"xmlns": XMLNS})
    for k, v in env.items():
        if isinstance(v, (dict, list)):
            _xml(root, k, v)
        elif v is not None:
            root.set(k, _text(v))
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def _drop_none(v):
    if isinstance(v, dict):
        return {k: _drop_none(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_drop_none(x) for x in v]
    return v


def render(env: dict, fmt: str | None, callback: str | None = None) -> Response:
    """The envelope as the client asked: f=json, f=jsonp (with callback), else XML (the spec's default)."""
    if fmt in ("json", "jsonp"):
        body = json.dumps({"subsonic-response": _drop_none(env)}, separators=(",", ":"), ensure_ascii=False)
        if fmt == "jsonp" and callback and callback.replace("_", "").replace(".", "").isalnum():
            return Response(f"{callback}({body});", media_type="application/javascript")
        return Response(body, media_type="application/json")
    return Response(to_xml(env), media_type="application/xml")


# --- shapes ---------------------------------------------------------------

def iso(t: float | None) -> str:
    """A Unix time as the spec's ISO 8601 UTC text."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t or 0)) + "Z"


@dataclass(frozen=True)
class Song:
    """What the server knows of one catalog track (built by library.SubsonicView)."""
    id: str
    title: str
    artist: str
    artist_id: str
    album: str
    album_id: str
    parent: str  # the folder's id (getMusicDirectory)
    genre: str
    path: str  # relative to the library
    suffix: str
    content_type: str
    size: int
    duration: float
    created: float
    track_id: int  # the catalog id (never sent)
    genres: tuple[str, ...] = ()  # OpenSubsonic `genres`: style tags first, then the genre (library.song_genres)


def song(s: Song, user: dict | None = None) -> dict:
    """A `Child` (isDir false); `user` adds this listener's starred/userRating/playCount/played."""
    out = {"id": s.id, "parent": s.parent, "isDir": False, "title": s.title, "album": s.album, "artist": s.artist,
           "genre": s.genre or None, "coverArt": s.album_id, "size": s.size, "contentType": s.content_type,
           "suffix": s.suffix, "duration": int(round(s.duration)), "path": s.path, "isVideo": False,
           "created": iso(s.created), "albumId": s.album_id, "artistId": s.artist_id, "type": "music",
           "mediaType": "song", "bitRate": int(s.size * 8 / s.duration / 1000) if s.duration > 0 else None,
           "genres": [{"name": g} for g in s.genres or ([s.genre] if s.genre else [])],
           "artists": [{"id": s.artist_id, "name": s.artist}], "displayArtist": s.artist,
           "albumArtists": [{"id": s.artist_id, "name": s.artist}], "displayAlbumArtist": s.artist}
    if user:
        out.update(user)
    return out


def directory_child(id: str, parent: str, name: str) -> dict:
    return {"id": id, "parent": parent, "isDir": True, "title": name}
