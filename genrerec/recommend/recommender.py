"""Recommendations from a listening history.

Similarity between two tracks is the inner product of their combined vectors
(see `library.vectors.combined_vectors`): (1 - w) * embedding cosine + w * genre-vector
cosine, with the weight w the catalog's model records (v3: 0, its embedding is the
standardised space; v2: GENRE_WEIGHT = 0.25; models.space).

The history is first split into *tastes* (recommend.tastes, under the rule and
threshold the catalog's model records: v3 splits Ward's tree of the history, v2
cuts average linkage at TASTE_SIMILARITY), so a listener of jazz and metal gets
jazz picks and metal picks, not the no-man's-land between them.
Each taste gets a share of the playlist proportional to its listening
(weights such as play counts), and a centroid.

Temperature T >= 0 controls how far picks stray from each centroid:
  * T = 0: the n nearest tracks to the centroid, deterministic.
  * T > 0: the query's genre part is relaxed toward uniform,
    g = (1 - lam) * g_taste + lam * uniform with lam = T / (1 + T); a pool of
    the nearest n * (1 + 10 T) tracks is retrieved, and n are drawn without
    replacement with probability proportional to exp(similarity / (T * 0.1))
    (Gumbel top-k, reproducible with `seed`).
So as T rises, mean similarity to the listener falls, the genre mix widens and
diversity grows, while the taste shares stay fixed. DEFAULT_TEMPERATURE (0.5)
is the default of both `Recommender.recommend` and `genrerec recommend`.

Every draw keeps one track per duplicate group (see `library.duplicates`), never
returns history or avoided tracks (nor their duplicates), scores candidates
down by their similarity to avoided tracks, and holds each artist to
`max_per_artist` picks unless nothing else is left to fill the playlist.
The playlist controls (durations, excluded tags and genres, `max_per_album`,
`not_in`) are keyword arguments of `recommend`, `similar` and `path`; see
`controls`. Tag mixes, artist radio and similar artists, and the library's
clusters are methods too (see `mixes`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import LibraryError
from ..library.catalog import Catalog
from ..library.duplicates import TrackInfo, duplicates_for
from ..library.location import CATALOG_FILE, DB_DIRNAME, STATE_FILES, find_db_dir
from ..library.names import tags_from_name
from ..library.vectors import GENRE_WEIGHT, combined_vectors, load_or_rebuild_index
from ..safety import check_state_dir, display, exists
from .controls import DEFAULT_MAX_PER_ALBUM, Controls, album_keys
from .mixes import DEFAULT_TEMPERATURE, Mixes  # the default lives in results.py (recommend and mix share it)
from .paths import recommender_path
from .picks import AVOID_POOL, POOL_GROWTH, SIM_SCALE, PickFilter, draw
from .results import History, Recommendation, RecommendError, TrackRef, _check_n, _check_temperature
from .tastes import TASTE_SIMILARITY, Taste, allocate, cluster_tastes

DEFAULT_MAX_PER_ARTIST = 3  # picks per artist (tags) before other artists are preferred
MAX_PLAY_COUNT = 1e9  # weights past this overflow float sums (1e308 each: inf) and drown every other track



class Recommender(Mixes):
    """Playlists from a library indexed with `genrerec index`.

    Example:
        rec = Recommender.open("~/Music")
        for r in rec.recommend(["~/Music/a.mp3", "~/Music/b.flac"], n=10, temperature=0.5):
            print(r.path, r.score, r.because)
    """

    def __init__(self, catalog: Catalog, db_dir: Path, genre_weight: float | None = None):
        self.db_dir = db_dir
        self.catalog = catalog
        self._genre_weight_arg = genre_weight  # None: the catalog model's own
        self._load()

    def _load(self) -> None:
        """Read the catalog's current snapshot (again after another process re-indexed)."""
        with self.catalog.snapshot():  # vectors, index and tags of one generation, even while `index` runs
            self._load_snapshot()

    def _load_snapshot(self) -> None:
        catalog, db_dir = self.catalog, self.db_dir
        sim = catalog.get_meta("similarity") or {}  # recorded by `index` for its model; none before v3: v2's
        self.genre_weight = genre_weight = float(self._genre_weight_arg if self._genre_weight_arg is not None
                                                 else sim.get("genre_weight", GENRE_WEIGHT))
        self.taste_similarity = float(sim.get("taste_similarity", TASTE_SIMILARITY))
        self.taste_rule = str(sim.get("taste_rule", "average"))  # catalogs indexed before the rule was recorded
        self.taste_min_size = int(sim.get("taste_min_size", 1))
        self.generation = catalog.generation
        self.model_id = catalog.get_meta("model_id")
        self.genres: list[str] = catalog.get_meta("genres", [])
        root = catalog.get_meta("library")
        if not self.model_id or root is None:
            raise LibraryError(f"{db_dir}: the catalog has no indexed tracks yet; run `genrerec index` first")
        self.root = Path(root)
        if db_dir.name == DB_DIRNAME and not os.path.isdir(self.root) and db_dir.parent.resolve() != self.root:
            self.root = db_dir.parent.resolve()  # the library was moved with its catalog: paths are relative
        self.ids, rels, self.genre_vectors, emb = catalog.vectors(self.model_id)
        self.rels = rels
        self.tag_names: list[str] = catalog.get_meta("tags", []) or []
        self.tag_vectors = catalog.tag_scores(self.ids, len(self.tag_names))  # [N, n_tags] or None
        labels = catalog.labels()  # the model's genre call (v3: may be "uncertain"), else the top genre
        top = np.argmax(self.genre_vectors, axis=1).tolist() if len(self.ids) and self.genres else [None] * len(self.ids)
        self.labels: list[str] = [labels.get(i) or (self.genres[t] if t is not None else "")
                                  for i, t in zip(self.ids.tolist(), top)]
        self.vectors = combined_vectors(self.genre_vectors, emb, genre_weight) if len(self.ids) else emb
        self.row_of = {int(i): r for r, i in enumerate(self.ids)}
        self.id_of_rel = {rel: int(i) for rel, i in zip(rels, self.ids)}
        self.index = load_or_rebuild_index(db_dir, catalog, self.model_id, genre_weight,
                                           save=os.access(db_dir, os.W_OK))
        self.info: dict[int, TrackInfo] = {}
        for tid, (rel, artist, title, dur) in catalog.track_info().items():
            artist, title = (t.split(";")[0].strip() if t else t for t in (artist, title))  # multi-valued: the first
            if not (artist and title):
                artist, title = tags_from_name(os.fsdecode(rel)) or (artist, title)
            self.info[tid] = TrackInfo(artist, title, dur)
        tagged = catalog.album_genre_tags()
        self.albums = {i: a for i, (a, _) in tagged.items() if a}  # album tags (controls.album_keys)
        self.genre_tags = {i: g for i, (_, g) in tagged.items() if g}  # the files' own genre tags
        self.album_of = album_keys(self.ids, rels, self.albums)
        self.duplicates = duplicates_for(db_dir, catalog, self.model_id, self.info)
        self.group_of = {i: g[0] for g in self.duplicates for i in g}

    @classmethod
    def open(cls, library_or_db: str | os.PathLike = ".", genre_weight: float | None = None) -> "Recommender":
        """Open a library folder, its .genrerec folder, a catalog file, or any path inside a library
        (genre_weight None: the one its model was chosen with, recorded in the catalog)."""
        p = Path(library_or_db).expanduser()
        if not exists(p):
            raise LibraryError(f"{display(p)}: no such file or folder")
        if p.is_file() and p.name == CATALOG_FILE:
            db = p.parent
        elif (p / CATALOG_FILE).exists():
            db = p
        elif (p / DB_DIRNAME / CATALOG_FILE).exists():
            db = p / DB_DIRNAME
        else:
            found = find_db_dir(p)
            if found is None:
                raise LibraryError(f"{p}: no genrerec library found here or above; run `genrerec index DIR` "
                                   "first, or pass --library / --db")
            db = found
        check_state_dir(db, STATE_FILES)
        return cls(Catalog(db / CATALOG_FILE, create=False), db, genre_weight)

    def refresh(self) -> bool:
        """Reload if another process committed to the catalog since; True if it did.
        Every query calls this, so a long-lived Recommender never answers from a stale snapshot."""
        if self.catalog.generation == self.generation:
            return False
        self._load()
        return True

    def __len__(self) -> int:
        return len(self.ids)

    # --- helpers ---
    def path_of(self, track_id: int) -> Path:
        return self.root / os.fsdecode(self.rels[self.row_of[track_id]])

    def tag_label(self, track_id: int) -> str | None:
        """ "Artist - Title" from tags (or a file named "Artist - Title"), else None."""
        t = self.info.get(track_id)
        return f"{t.artist} - {t.title}" if t and t.artist and t.title else None

    def label(self, track_id: int) -> str:
        """What to show for a track: `tag_label`, else its path in the library."""
        return self.tag_label(track_id) or os.fsdecode(self.rels[self.row_of[track_id]])

    def tracks_under(self, folder: str | os.PathLike) -> list[int]:
        """Ids of the indexed tracks inside a folder of the library (recursively)."""
        p = Path(os.path.abspath(os.path.expanduser(os.fspath(folder))))
        for base in (self.root, self.root.resolve()):
            for cand in (p, p.resolve()):
                try:
                    rel = os.path.relpath(cand, base)
                except ValueError:
                    continue
                if rel == ".":
                    return [int(i) for i in self.ids]
                if not rel.startswith(".."):
                    prefix = os.fsencode(rel) + b"/"
                    found = [int(i) for r, i in zip(self.rels, self.ids) if r.startswith(prefix)]
                    if found:
                        return found
        return []

    def _result(self, tid: int, score: float, because: Path | None = None, taste: int = 0) -> Recommendation:
        """One pick as returned: its genres, the model's call (`label`) and its top tags."""
        r = self.row_of[tid]
        return Recommendation(tid, self.path_of(tid), round(float(score), 4), self._genre_dict(self.genre_vectors[r]),
                              because, taste, self.tag_dict(r), self.labels[r])

    def _genre_dict(self, g: np.ndarray) -> dict[str, float]:
        order = np.argsort(-g)
        return {self.genres[i]: round(float(g[i]), 4) for i in order}

    def tag_dict(self, rows: int | list[int], k: int = 5, weights: np.ndarray | None = None) -> dict[str, float]:
        """Top k style/mood tags of one catalog row (or the weighted mean of several); {} without tags."""
        if self.tag_vectors is None:
            return {}
        t = np.average(self.tag_vectors[np.atleast_1d(rows)], axis=0, weights=weights)
        return {self.tag_names[i]: round(float(t[i]), 4) for i in np.argsort(-t)[:k]}

    def profile_tags(self, history: History, k: int = 10) -> dict[str, float]:
        """The listener's top style/mood tags: play-weighted mean of tag scores ({} without tags)."""
        ids, w = self._history(history)
        return self.tag_dict([self.row_of[i] for i in ids], k, w)

    def resolve(self, track: TrackRef) -> int:
        """Catalog id of a track given by id or path; RecommendError if not indexed."""
        self.refresh()
        if isinstance(track, (int, np.integer)) and not isinstance(track, bool):
            if int(track) not in self.row_of:
                raise RecommendError(f"track id {track} is not in the library")
            return int(track)
        p = Path(os.path.abspath(os.path.expanduser(os.fspath(track))))
        for base in (self.root, self.root.resolve()):
            for cand in (p, p.resolve() if exists(p) else p):
                try:
                    rel = os.fsencode(os.path.relpath(cand, base))
                except ValueError:
                    continue
                if rel in self.id_of_rel:
                    return self.id_of_rel[rel]
        if not exists(p):
            raise RecommendError(f"{display(track)}: no such file")
        raise RecommendError(f"{track}: not in the library at {self.root} (not indexed, or failed to index; "
                             "run `genrerec index` or check `genrerec stats`)")

    def _history(self, history: History) -> tuple[np.ndarray, np.ndarray]:
        """(ids, weights); a folder stands for all its indexed tracks, each with the folder's weight."""
        if isinstance(history, (str, bytes, os.PathLike, int)):
            raise RecommendError("history must be a list of tracks (or a mapping track -> play count)")
        items = list(history.items()) if isinstance(history, Mapping) else [
            h if isinstance(h, tuple) else (h, 1.0) for h in history]
        if not items:
            raise RecommendError("history is empty: give at least one track the listener played")
        weights: dict[int, float] = {}
        unknown = []
        for track, w in items:
            try:
                is_dir = not isinstance(track, (int, np.integer)) and os.path.isdir(os.path.expanduser(track))
                tids = self.tracks_under(track) if is_dir else [self.resolve(track)]
            except RecommendError as e:
                unknown.append(str(e))
                continue
            if not tids:
                unknown.append(f"{track}: no indexed tracks in this folder")
            w = float(w)
            if not math.isfinite(w) or w < 0:
                raise RecommendError(f"{track}: play count must be a finite number >= 0, got {w}")
            for tid in tids:
                weights[tid] = weights.get(tid, 0.0) + w
        if unknown:
            raise RecommendError("unknown history tracks:\n  " + "\n  ".join(unknown[:20])
                                 + (f"\n  ... and {len(unknown) - 20} more" if len(unknown) > 20 else ""))
        total = sum(weights.values())
        if total <= 0:
            raise RecommendError("history weights are all zero")
        if not math.isfinite(total) or max(weights.values()) > MAX_PLAY_COUNT:
            raise RecommendError(f"play counts must be at most {MAX_PLAY_COUNT:g} (larger ones overflow when "
                                 "added up); scale them down")
        ids = np.array(list(weights), np.int64)
        return ids, np.array([weights[i] for i in ids], float)

    # --- public API ---
    def profile(self, history: History) -> dict[str, float]:
        """The listener's genre distribution: play-weighted mean of genre vectors."""
        self.refresh()
        ids, w = self._history(history)
        g = np.average(self.genre_vectors[[self.row_of[i] for i in ids]], axis=0, weights=w)
        return self._genre_dict(g)

    def tastes(self, history: History) -> list[Taste]:
        """The distinct tastes found in a history, largest first."""
        self.refresh()
        ids, w = self._history(history)
        return [t for t, _, _ in self._tastes(ids, w)]

    def _tastes(self, ids: np.ndarray, w: np.ndarray):
        rows = [self.row_of[i] for i in ids]
        labels = cluster_tastes(self.vectors[rows], self.taste_similarity, rule=self.taste_rule,
                                min_size=self.taste_min_size)
        out = []
        for c in range(labels.max() + 1):
            m = labels == c
            g = np.average(self.genre_vectors[rows][m], axis=0, weights=w[m] + 1e-12)
            e = np.average(self.vectors[rows][m, : -len(self.genres)], axis=0, weights=w[m] + 1e-12)
            share = float(w[m].sum() / w.sum())
            taste = Taste(share, self._genre_dict(g), [self.path_of(int(i)) for i in ids[m]],
                          self.tag_dict([rows[j] for j in np.flatnonzero(m)], weights=w[m] + 1e-12))
            out.append((taste, g, e))
        out.sort(key=lambda t: -t[0].share)
        return out

    def recommend(self, history: History, n: int = 20, temperature: float = DEFAULT_TEMPERATURE,
                  exclude_history: bool = True, seed: int | None = None, avoid: History | None = None,
                  max_per_artist: int | None = DEFAULT_MAX_PER_ARTIST, *, min_duration: float | None = None,
                  max_duration: float | None = None, exclude_tags: Sequence[str] = (),
                  exclude_genres: Sequence[str] = (), max_per_album: int | None = DEFAULT_MAX_PER_ALBUM,
                  not_in: Sequence[int] = ()) -> list[Recommendation]:
        """A playlist of up to n tracks for a listener (fewer only when the library runs out).

        Args:
            history: tracks the listener played (paths, folders or ids), or a
                mapping track -> play count.
            n: playlist length.
            temperature: 0 = closest matches; higher = further afield (see module
                doc); default DEFAULT_TEMPERATURE = 0.5, the same as `genrerec recommend`.
            exclude_history: leave out tracks already in the history.
            seed: makes sampling at temperature > 0 reproducible.
            avoid: tracks the listener skipped or dislikes: never picked, and
                picks are steered away from them.
            max_per_artist: picks per artist before other artists are preferred
                (None: no cap).
            min_duration, max_duration, exclude_tags, exclude_genres,
            max_per_album, not_in: the playlist controls (see `controls`).
        """
        n = _check_n(n)
        T = _check_temperature(temperature)
        ctl = Controls(min_duration, max_duration, tuple(exclude_tags), tuple(exclude_genres), max_per_album,
                       tuple(not_in))
        self.refresh()
        ids, w = self._history(history)
        avoid_ids = self._history(avoid)[0] if avoid is not None and len(avoid) else np.zeros(0, np.int64)
        rng = np.random.default_rng(seed)
        tastes = self._tastes(ids, w)
        quotas = allocate(n, [t.share for t, _, _ in tastes])
        hist_rows = np.array([self.row_of[i] for i in ids])
        flt = PickFilter(self, set(), max_per_artist, self.vectors[[self.row_of[i] for i in avoid_ids]],
                         ctl.max_per_album)
        flt.ban([int(i) for i in avoid_ids] + ([int(i) for i in ids] if exclude_history else []))
        flt.ban(ctl.excluded(self))
        lam = T / (1.0 + T)
        uniform = np.full(len(self.genres), 1.0 / len(self.genres))
        picks: list[tuple[float, Recommendation]] = []
        for ti, ((taste, g, e), quota) in enumerate(zip(tastes, quotas)):
            if quota == 0:
                continue
            e_unit = e / max(np.linalg.norm(e), 1e-12) * math.sqrt(1 - self.genre_weight)
            q_genre = (1 - lam) * g + lam * uniform
            query = np.concatenate([e_unit, math.sqrt(self.genre_weight) * q_genre / np.linalg.norm(q_genre)])
            pool = int(math.ceil(quota * (1 + POOL_GROWTH * T))) * (AVOID_POOL if len(flt.avoid) else 1)
            pool += len(flt.banned) + len(picks)
            got = self._draw(query, quota, pool, T, rng, flt)
            members = np.isin(ids, [self.id_of_path(p) for p in taste.tracks])
            for rank, (tid, score) in enumerate(got):
                because = self._because(self.vectors[self.row_of[tid]], hist_rows[members], ids[members], w[members])
                rec = self._result(tid, score, because, ti)
                picks.append(((rank + 0.5) / quota, rec))  # interleave tastes evenly
        picks.sort(key=lambda x: x[0])
        return [r for _, r in picks][:n]

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The index's k nearest tracks, compressed-index candidates re-scored with the exact vectors."""
        return self.index.query(query, k, rerank=self._exact_vectors)

    def _exact_vectors(self, ids: np.ndarray) -> np.ndarray:
        return self.vectors[[self.row_of[int(i)] for i in ids]]

    def id_of_path(self, path: Path) -> int:
        return self.id_of_rel[os.fsencode(os.path.relpath(path, self.root))]

    def _because(self, v: np.ndarray, rows: np.ndarray, ids: np.ndarray, w: np.ndarray) -> Path:
        """The history track a pick is most owed to: similarity plus SIM_SCALE per e-fold of plays."""
        score = self.vectors[rows] @ v + SIM_SCALE * np.log(np.maximum(w, 1e-9) / max(w.max(), 1e-9))
        return self.path_of(int(ids[int(np.argmax(score))]))

    def _draw(self, query: np.ndarray, k: int, pool: int, T: float, rng: np.random.Generator,
              flt: PickFilter) -> list[tuple[int, float]]:
        """k tracks for one query that pass `flt` (recorded in it), skipping files gone since indexing."""
        def nearest(size: int) -> list[tuple[int, float]]:
            scores, found = self.search(query, size)
            return [(int(i), float(s)) for i, s in zip(found[0], scores[0]) if i >= 0]

        return draw(nearest, len(self.index), k, pool, T, rng, flt, lambda tid: self.path_of(tid).exists())

    def similar(self, track: TrackRef, n: int = 10, *, min_duration: float | None = None,
                max_duration: float | None = None, exclude_tags: Sequence[str] = (),
                exclude_genres: Sequence[str] = (), max_per_album: int | None = DEFAULT_MAX_PER_ALBUM,
                not_in: Sequence[int] = ()) -> list[Recommendation]:
        """The n tracks most similar to one track (one per duplicate group, never its own duplicates),
        under the playlist controls (see `controls`; at most `max_per_album` from one album while
        others are left)."""
        n = _check_n(n)
        ctl = Controls(min_duration, max_duration, tuple(exclude_tags), tuple(exclude_genres), max_per_album,
                       tuple(not_in))
        self.refresh()
        tid = self.resolve(track)
        flt = PickFilter(self, set(), None, np.zeros((0, self.vectors.shape[1]), np.float32), ctl.max_per_album)
        flt.ban([tid])
        flt.ban(ctl.excluded(self))
        got = self._draw(self.vectors[self.row_of[tid]], n, n + 1 + len(flt.banned), 0.0,
                         np.random.default_rng(0), flt)
        src = self.path_of(tid)
        return [self._result(i, s, src) for i, s in got]

    def path(self, a: TrackRef, b: TrackRef, n: int = 12, *, min_duration: float | None = None,
             max_duration: float | None = None, exclude_tags: Sequence[str] = (),
             exclude_genres: Sequence[str] = (), max_per_album: int | None = None,
             not_in: Sequence[int] = ()) -> list[Recommendation]:
        """A playlist of n tracks moving smoothly from track a to track b (both
        included), each close to the last and closer to b (see `paths`). The
        controls exclude tracks between the ends (never the ends themselves);
        `max_per_album` (off by default: a path often stays in an album) caps
        each album's tracks between the ends."""
        ctl = Controls(min_duration, max_duration, tuple(exclude_tags), tuple(exclude_genres), max_per_album,
                       tuple(not_in))
        return recommender_path(self, a, b, n, ctl)

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> "Recommender":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

