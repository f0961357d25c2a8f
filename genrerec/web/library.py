"""The served library: a Recommender plus what the pages need (names, map,
search, stats), all on one worker thread.

SQLite connections belong to the thread that opened them and the Recommender
is not thread-safe, so every call goes through `LibraryWorker`, a
single-thread executor: the event loop stays free for audio streaming while
library work runs one call at a time. The catalog's `generation` is checked
before each call (at most once a second) and the library reopened when an
`index` run changed it, so a long-running server never answers from a stale
catalog.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, TypeVar

import numpy as np

from ..library.names import short_name
from ..media.transcode import browser_playable
from ..models.space import UNCERTAIN, genre_text, readable_tags, tags_then_genre
from ..playlists.m3u import write_m3u
from ..recommend.recommender import Recommender
from ..recommend.results import RecommendError
from ..safety import NotRegularFileError, UnsafePathError, display, open_beneath
from .projection import cached_projection
from .tags import track_tags

T = TypeVar("T")
FRESHNESS_CHECK_S = 1.0
MAX_M3U_LINES = 100_000  # entries of an uploaded playlist that are matched; the rest count as unknown
MAX_M3U_LINE = 4096  # PATH_MAX: a longer line names no file


class WebError(Exception):
    """A request the library cannot answer; `status` is the HTTP code to send."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class TrackInfo:
    id: int
    rel: str  # path relative to the library root, as text
    name: str  # "Artist - Title" (Recommender.tag_label), else "album folder/file name" without the extension
    artist: str | None
    title: str | None
    album: str | None
    duration: float | None
    genre: str  # the model's genre call (Recommender.labels): a genre, or "uncertain" (v3)
    playable: str  # "direct" (the browser plays the file) or "transcode"

    def brief(self) -> dict:
        return {"id": self.id, "name": self.name, "path": self.rel, "duration": self.duration,
                "playable": self.playable, "genre": self.genre}


def genre_dict(names: list[str], g: np.ndarray) -> dict[str, float]:
    """Genre -> probability, highest first."""
    return {names[i]: round(float(g[i]), 4) for i in np.argsort(-g)}


class WebLibrary:
    """Everything the web app asks of a library. Call only from its worker thread."""

    def __init__(self, source: str | os.PathLike):
        self.source = source
        self._rec: Recommender | None = None
        self._checked = 0.0
        self._open()

    # --- lifecycle ---
    def _open(self) -> None:
        self._rec = Recommender.open(self.source)
        rec = self._rec
        self.generation = rec.catalog.generation
        self.genres = list(rec.genres)
        meta = {r[0]: r[1:] for r in rec.catalog.db.execute(
            "SELECT id, title, artist, album, duration FROM tracks WHERE status='ok'")}
        self.tracks: list[TrackInfo] = []
        for row, (tid, rel) in enumerate(zip(rec.ids.tolist(), rec.rels)):
            title, artist, album, duration = meta.get(tid, (None, None, None, None))
            text = os.fsdecode(rel)
            name = display(rec.tag_label(tid) or short_name(text))  # no bidi override reorders it on the page
            self.tracks.append(TrackInfo(tid, text, name, artist, title, album,
                                         duration, rec.labels[row],
                                         "direct" if browser_playable(text) else "transcode"))
        self.by_id = {t.id: t for t in self.tracks}
        self.tag_names, self.tag_scores = track_tags(rec)
        self._search_keys = [" ".join(x for x in (t.name, t.rel, t.album or "", t.genre, *top, *readable_tags(top))
                                      if x).lower()
                             for t, top in zip(self.tracks, map(self._top_tags, range(len(self.tracks))))]
        self._map: dict | None = None

    def _top_tags(self, row: int, k: int = 3, floor: float = 0.3) -> list[str]:
        """The track's strongest style/mood tags (searchable as words), when the catalog has tags."""
        if self.tag_scores is None:
            return []
        s = self.tag_scores[row]
        return [self.tag_names[i] for i in np.argsort(-s)[:k] if s[i] >= floor]

    def style(self, row: int, k: int = 2) -> list[str]:
        """The track's k strongest style/mood tags in readable form ([] without tags): shown before its genre."""
        if self.tag_scores is None:
            return []
        return readable_tags([self.tag_names[i] for i in np.argsort(-self.tag_scores[row])], k)

    def labels(self) -> list[str]:
        """The genre calls the map colours by: the model's genres, then "uncertain" when any track is."""
        extra = sorted({t.genre for t in self.tracks} - set(self.genres), key=lambda g: (g == UNCERTAIN, g))
        return self.genres + extra

    def pick(self, r) -> dict:
        """One recommended track as the API sends it: the track, its score, genre call, genres and tags
        (`style`: readable tags, shown before the genre)."""
        return {**self.by_id[r.track_id].brief(), "score": r.score, "genres": dict(list(r.genres.items())[:3]),
                "tags": dict(list(r.tags.items())[:3]), "style": readable_tags(r.tags, 2)}

    def refresh(self) -> None:
        """Reopen when the catalog changed since it was read (checked at most once a second)."""
        now = time.monotonic()
        if now - self._checked < FRESHNESS_CHECK_S:
            return
        self._checked = now
        if self.rec.catalog.generation != self.generation:
            self.close()
            self._open()

    @property
    def rec(self) -> Recommender:
        assert self._rec is not None
        return self._rec

    def close(self) -> None:
        if self._rec is not None:
            self._rec.close()
            self._rec = None

    # --- lookups ---
    def track(self, track_id: int) -> TrackInfo:
        t = self.by_id.get(track_id)
        if t is None:
            raise WebError(f"no track with id {track_id} in the library", 404)
        return t

    def detail(self, track_id: int) -> dict:
        t = self.track(track_id)
        row = self.rec.row_of[track_id]
        genres = genre_dict(self.genres, self.rec.genre_vectors[row])
        out = {**t.brief(), "artist": t.artist, "title": t.title, "album": t.album, "style": self.style(row, 3),
               "genre_text": genre_text(t.genre, genres),
               "description": tags_then_genre(self.style(row, 3), genre_text(t.genre, genres)), "genres": genres}
        if self.tag_scores is not None:
            s = self.tag_scores[row]
            out["tags"] = {self.tag_names[i]: round(float(s[i]), 4) for i in np.argsort(-s)[:10]}
        return out

    def search(self, q: str, limit: int, offset: int = 0) -> dict:
        """Tracks whose name, path, album, genre call ("uncertain" too) or strongest tags contain every word
        of q (any case)."""
        words = q.lower().split()
        hits = [t for t, key in zip(self.tracks, self._search_keys) if all(w in key for w in words)]
        return {"total": len(hits), "tracks": [t.brief() for t in hits[offset:offset + limit]]}

    def audio_open(self, track_id: int) -> tuple[int, TrackInfo]:
        """An open handle of a catalog track's file, opened once from the library root without following
        a link out of it at any step (safety.open_beneath); the caller serves from it and closes it."""
        t = self.track(track_id)
        try:
            return open_beneath(self.rec.root, os.fsencode(t.rel)), t
        except UnsafePathError:
            raise WebError(f"track {track_id} points outside the library; not served", 404) from None
        except NotRegularFileError:
            raise WebError(f"track {track_id} is not a regular file any more; not served", 404) from None
        except OSError:
            raise WebError(f"track {track_id}: the file is gone (re-run `genrerec index`)", 404) from None

    # --- map ---
    def map(self) -> dict:
        if self._map is None:
            rec = self.rec
            key = f"{rec.model_id}:{self.generation}:{len(rec)}"
            xy, method = cached_projection(rec.db_dir, key, rec.vectors)
            labels = self.labels()  # "genre": each point's index into these; "uncertain" last (shown grey)
            self._map = {
                "generation": self.generation, "method": method, "count": len(self.tracks),
                "ids": [t.id for t in self.tracks],
                "x": np.round(xy[:, 0].astype(float), 4).tolist(), "y": np.round(xy[:, 1].astype(float), 4).tolist(),
                "genre": [labels.index(t.genre) for t in self.tracks], "genres": labels,
                "names": [t.name for t in self.tracks], "tags": list(self.tag_names),
            }
            if self.tag_scores is not None:  # readable top tags per point: the tooltip shows them before the genre
                self._map["style"] = [", ".join(self.style(row)) for row in range(len(self.tracks))]
            self._map_json = json.dumps(self._map, separators=(",", ":")).encode()
        return self._map

    def warm_up(self) -> None:
        """What the first page load and the first playlist would otherwise wait for: the map, and the
        clustering import behind `tastes` (~0.35 s on first use)."""
        import scipy.cluster.hierarchy  # noqa: F401

        self.map_json()

    def map_json(self) -> bytes:
        """map() as JSON bytes, serialised once per catalog generation (every page load asks for it)."""
        self.map()
        return self._map_json

    def tag_values(self, name: str) -> dict:
        if name not in self.tag_names:
            raise WebError(f"no tag {name!r} in this catalog" + ("" if self.tag_names else " (it has no tags)"), 404)
        col = self.tag_scores[:, self.tag_names.index(name)]
        return {"tag": name, "values": np.round(col.astype(float), 3).tolist()}

    # --- recommendations ---
    def _history(self, history: list[int] | dict[int, float]) -> dict[int, float]:
        items = history.items() if isinstance(history, dict) else ((h, 1.0) for h in history)
        out: dict[int, float] = {}
        for tid, w in items:
            self.track(tid)
            out[tid] = out.get(tid, 0.0) + w
        if not out:
            raise WebError("history is empty: add at least one track")
        return out

    def recommend(self, history, n: int, temperature: float, seed: int, exclude: list[int],
                  controls: dict | None = None, avoid: list[int] = ()) -> dict:
        """A playlist of n picks; `exclude` (picks the listener removed) never comes back; `controls`
        are Recommender.recommend's playlist controls, `avoid` its avoided tracks."""
        t0 = time.perf_counter()
        ban = set(exclude)
        for tid in avoid:
            self.track(tid)
        recs = self.rec.recommend(self._history(history), n=n + len(ban), temperature=temperature, seed=seed,
                                  avoid=list(avoid) or None, **(controls or {}))
        picks = [r for r in recs if r.track_id not in ban][:n]
        root = self.rec.root
        picks_out = []
        for r in picks:
            because = None
            if r.because is not None:
                bid = self.rec.id_of_rel.get(os.fsencode(os.path.relpath(r.because, root)))
                because = {"id": bid, "name": self.by_id[bid].name} if bid in self.by_id else None
            picks_out.append({**self.pick(r), "taste": r.taste, "because": because})
        return {"seed": seed, "temperature": temperature, "n": n, "picks": picks_out,
                "server_ms": round((time.perf_counter() - t0) * 1000, 2)}

    def similar(self, track_id: int, n: int, controls: dict | None = None) -> dict:
        self.track(track_id)
        recs = self.rec.similar(track_id, n, **(controls or {}))
        return {"track": self.by_id[track_id].brief(),
                "similar": [self.pick(r) for r in recs]}

    def profile(self, history) -> dict:
        h = self._history(history)
        tastes = self.rec.tastes(h)
        root = self.rec.root
        return {"genres": self.rec.profile(h),
                "tastes": [{"share": round(t.share, 4), "style": readable_tags(t.tags, 2),
                            "genres": dict(list(t.genres.items())[:3]),
                            "tracks": [self.rec.id_of_rel.get(os.fsencode(os.path.relpath(p, root)))
                                       for p in t.tracks]} for t in tastes]}

    def playlist_m3u8(self, ids: list[int]) -> str:
        """An extended M3U8 of the given tracks with absolute paths (a download lands far from the music)."""
        tracks = [self.track(i) for i in ids]
        if not tracks:
            raise WebError("the playlist is empty")
        with tempfile.TemporaryDirectory(prefix="genrerec-m3u-") as d:
            p = write_m3u(Path(d) / "playlist.m3u8", [self.rec.root / t.rel for t in tracks], relative=False,
                          titles=[t.name for t in tracks], durations=[t.duration for t in tracks])
            return p.read_bytes().decode("utf-8", "surrogateescape")

    def resolve_m3u(self, text: str) -> dict:
        """Catalog ids of the entries of an uploaded playlist, matched by path text only (no file access):
        an absolute path under the library root, else the longest trailing run of path parts.

        Work is linear in the upload: only the last `depth` parts of a line are tried (no catalog path
        is deeper), lines longer than a path can be are not matched, and at most MAX_M3U_LINES are read."""
        from urllib.parse import unquote, urlparse

        root = PurePosixPath(os.fspath(self.rec.root))
        by_rel = {t.rel: t.id for t in self.tracks}
        by_tail: dict[tuple[str, ...], list[int]] = {}
        depth = 0
        for t in self.tracks:
            parts = PurePosixPath(t.rel).parts
            depth = max(depth, len(parts))
            for k in range(1, len(parts) + 1):
                by_tail.setdefault(parts[-k:], []).append(t.id)
        found, unknown = [], []
        entries = 0
        for line in text.splitlines():
            line = line.strip().lstrip("\ufeff")
            if not line or line.startswith("#"):
                continue
            entries += 1
            if entries > MAX_M3U_LINES or len(line) > MAX_M3U_LINE:
                unknown.append(line[:MAX_M3U_LINE])
                continue
            if line.startswith("file://"):
                line = unquote(urlparse(line).path)
            p = PurePosixPath(line.replace("\\", "/"))
            tid = None
            if p.is_absolute() and p.is_relative_to(root):
                tid = by_rel.get(str(p.relative_to(root)))
            if tid is None:
                parts = [x for x in p.parts if x not in ("/", ".", "..")]
                for k in range(min(len(parts), depth), 0, -1):
                    cands = by_tail.get(tuple(parts[-k:]))
                    if cands:
                        tid = cands[0] if len(cands) == 1 or k == len(parts) else None
                        break
            (found.append(tid) if tid is not None else unknown.append(line))
        return {"tracks": [self.by_id[i].brief() for i in dict.fromkeys(found)], "unknown": unknown[:50],
                "unknown_count": len(unknown)}

    # --- stats ---
    def stats(self) -> dict:
        rec, cat = self.rec, self.rec.catalog
        hist = {g: 0 for g in self.genres}
        for t in self.tracks:  # each track's genre call: "uncertain" (v3) counts on its own
            hist[t.genre] = hist.get(t.genre, 0) + 1
        failures = [{"path": os.fsdecode(p), "error": e} for p, e in cat.failures()]
        seconds = sum(t.duration or 0.0 for t in self.tracks)
        dups = [[self.by_id[i].rel for i in g if i in self.by_id] for g in rec.duplicates]
        return {"library": str(rec.root), "db": str(rec.db_dir), "model_id": rec.model_id,
                "generation": self.generation, "tracks": len(self.tracks), "failed": len(failures),
                "hours": round(seconds / 3600, 3), "genres": hist, "failures": failures[:500],
                "tags": list(self.tag_names), "duplicates": dups,
                "transcoded": sum(t.playable == "transcode" for t in self.tracks)}


def _one_faiss_thread() -> None:
    """Single queries on this thread run FAISS without OpenMP: on 2 busy cores its thread team cost
    7x the search itself (p50 67 -> 10 ms per recommendation at 20,000 tracks, docs/benchmarks/web.md).
    OpenMP keeps the setting per thread, so other threads of the process are unaffected."""
    try:
        import faiss

        faiss.omp_set_num_threads(1)
    except (ImportError, AttributeError):
        pass


class LibraryWorker:
    """Runs WebLibrary calls one at a time on a dedicated thread."""

    def __init__(self, source: str | os.PathLike):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="genrerec-library",
                                        initializer=_one_faiss_thread)
        self.lib: WebLibrary = self._pool.submit(WebLibrary, source).result()  # errors surface here
        self.transcoder = None  # the app's media.transcode.Transcoder, set by create_app

    def _call(self, fn: Callable[..., T], *args) -> T:
        self.lib.refresh()
        return fn(*args)

    def run(self, fn: Callable[..., T], *args) -> T:
        """Blocking call (for scripts and start-up work)."""
        return self._pool.submit(self._call, fn, *args).result()

    async def __call__(self, fn: Callable[..., T], *args) -> T:
        return await asyncio.wrap_future(self._pool.submit(self._call, fn, *args))

    def close(self) -> None:
        self._pool.submit(self.lib.close).result()
        self._pool.shutdown()


__all__ = ["LibraryWorker", "RecommendError", "TrackInfo", "WebError", "WebLibrary"]
