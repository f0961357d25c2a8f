"""What every endpoint module shares: the request's parameters, its context, and `@endpoint`.

Handlers are plain functions run one at a time on the library worker thread
(the catalog and the Recommender are single-threaded); each returns the body
of a `subsonic-response` (a dict) or, for binary endpoints, a Response.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from .library import SubsonicView
from .responses import GENERIC, MISSING_PARAMETER, SubsonicError
from .users import UserStore

MAX_VALUES = 10_000  # repeated values of one parameter (songId=...)
ENDPOINTS: dict[str, "Endpoint"] = {}


class Params:
    """The request's parameters (query string and form body), several values per name allowed."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self._all: dict[str, list[str]] = {}
        for k, v in pairs:
            vals = self._all.setdefault(k, [])
            if len(vals) < MAX_VALUES:
                vals.append(v)

    def __contains__(self, name: str) -> bool:
        return name in self._all

    def get(self, name: str, default: str | None = None) -> str | None:
        vals = self._all.get(name)
        return vals[0] if vals else default

    def __getitem__(self, name: str) -> str:
        return self._all[name][0]

    def all(self, name: str) -> list[str]:
        return list(self._all.get(name, ()))

    def need(self, name: str) -> str:
        v = self.get(name)
        if v is None or v == "":
            raise SubsonicError(MISSING_PARAMETER, f"required parameter is missing: {name}")
        return v

    def int(self, name: str, default: int | None = None, lo: int = 0, hi: int = 10**9) -> int | None:
        v = self.get(name)
        if v is None or v == "":
            return default
        try:
            n = int(v)
        except ValueError:
            raise SubsonicError(GENERIC, f"parameter {name} must be a whole number, got {v[:40]!r}") from None
        if not lo <= n <= hi:
            raise SubsonicError(GENERIC, f"parameter {name} must be between {lo} and {hi}, got {n}")
        return n

    def bool(self, name: str, default: bool = False) -> bool:
        v = self.get(name)
        return default if v is None else v.lower() in ("true", "1", "yes")


@dataclass
class Shared:
    """Server-wide state the endpoints keep between requests (touched only on the worker thread)."""
    store: UserStore
    transcoder: Any = None  # the web app's genrerec.media.transcode.Transcoder: one job table and cap for both APIs
    view_: SubsonicView | None = None
    now_playing: dict = field(default_factory=dict)  # user -> (song id, time, client name)
    mixes: dict = field(default_factory=dict)  # (user, kind) -> cached self-refreshing playlists
    lock: threading.Lock = field(default_factory=threading.Lock)

    def view(self, lib) -> SubsonicView:
        if self.view_ is None or self.view_.generation != lib.generation or self.view_.lib_tracks is not lib.tracks:
            self.view_ = SubsonicView(lib)
            self.view_.lib_tracks = lib.tracks
        return self.view_


@dataclass
class Ctx:
    params: Params
    user: str
    lib: Any  # genrerec.web.library.WebLibrary (a room above; passed in, never imported)
    shared: Shared
    client: str = ""
    headers: dict = field(default_factory=dict)

    @property
    def store(self) -> UserStore:
        return self.shared.store

    @property
    def view(self) -> SubsonicView:
        return self.shared.view(self.lib)


@dataclass
class Endpoint:
    name: str
    fn: Callable[[Ctx], Any]
    auth: bool = True


def endpoint(*names: str, auth: bool = True):
    """Register a handler under one or more API names (`/rest/NAME` and `/rest/NAME.view`)."""
    def deco(fn):
        for n in names:
            ENDPOINTS[n.lower()] = Endpoint(n, fn, auth)
        return fn
    return deco
