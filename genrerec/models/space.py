"""The v3 similarity space and genres that admit doubt, in numpy alone (the light install runs it).

A `V3Space` (file `genrerec/assets/genrerec-space-v3.npz`, written by scripts/build_space_v3.py
from cached MusiCNN-MSD features, provenance inside) holds:

- per-dimension mean and standard deviation of the track-level pooled mid-level features
  [1506] and of the unit embedding [200] over a broad reference corpus (Debian game-music
  packages outside the benchmark + the shared GTZAN clips), so that a library of 20 tracks is
  standardised as well as one of 20,000. `project()` turns a track's window features into a
  unit vector whose cosine spreads over [-1, 1] instead of crowding into 0.85-0.95;
- an MTT tag head: ridge regression from the standardised live features to the logits of the
  MTT MusiCNN backbone's 50 tags, so a track gets MTT's vocabulary (classical, piano, strings,
  choir, techno, ...) without a second network pass; `tags()` merges them with MSD's 50 into
  one readable vocabulary (musicnn_tags.MERGED_TAGS; docs/benchmarks/v3_mtt_tags.md);
- a softmax-regression genre head on the standardised track features with one calibration
  temperature, and the standardised vectors of its training clips: `genres()` gives calibrated
  probabilities and `uncertain` when the top probability is below `p_min` or the track's
  cosine to its nearest training clip is below `sim_threshold` (both chosen on held-out GTZAN
  groups: docs/benchmarks/v3_genres.md).

The default model since v3 (`load_model()`: the v2 network with this space on top;
docs/model-card.md). v2's own similarity settings live here too, so every room reads both.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

SPACE_FORMAT = "genrerec-space"
SPACE_FILE = "genrerec-space-v3.npz"
UNCERTAIN = "uncertain"
GENRE_WEIGHT = 0.25  # v2: share of the genre vector in the combined similarity (embedding gets the rest); chosen
# for v2 on both GTZAN CV (p@5 0.74, docs/benchmarks/musicnn_cv.md) and soundtrack albums (0.60, albums.md):
# 0.5 suits GTZAN best (0.79) but pulls albums to 0.56; 0 suits albums (0.63) but GTZAN falls to 0.66
TASTE_SIMILARITY = 0.45  # v2: history tracks less similar than this (average linkage) are separate tastes
V3_GENRE_WEIGHT = 0.0  # v3: the genre vector adds nothing on the reference packages (ties at best, worse elsewhere:
# docs/benchmarks/v3_space.md); the space file carries the value scripts/build_space_v3.py read from v3_space.json
DEAD_SD = 1e-6  # a feature this still over the reference corpus is a dead channel (1082 of MSD's 1506 pooled
# features: a ReLU that never fires, then a batch norm's constant): standardised to 0, never divided by its ~0 sd,
# which would blow ORT's and torch's last-bit differences up to the largest coordinates of the vector
V3_TASTE_SIMILARITY = 0.35  # v3: Ward split threshold, mean of the values chosen on either half of the mixed-history
# benchmark (0.325 and 0.375; docs/benchmarks/v3_tastes.md); the space file carries what build_space_v3.py read there
TASTE_RULE = "average"  # v2: average-linkage clusters cut at TASTE_SIMILARITY (recommend.tastes)
V3_TASTE_RULE = "ward"  # v3: Ward's tree split top-down (recommend.tastes; chosen in docs/benchmarks/v3_tastes.md)
V3_TASTE_MIN_SIZE = 3  # v3: the fewest tracks a taste may have (v3_tastes.md); the space file carries the chosen value
ADAPT_N0 = 50  # library statistics count as much as the reference at this many tracks: weight n / (n + ADAPT_N0)
# (docs/benchmarks/v3_adapt.md: within a draw's noise at 20 tracks; +0.01..+0.06 p@5 from 50 tracks up where the
# library is unlike the reference, -0.02..-0.03 on a benchmark like it: so `index --stats library` is opt-in)
# MSD's tag names as shown: one spelling each, lower case; decade tags are dropped from labels (they date songs, not styles)
_TAG_NAMES = {"Hip-Hop": "hip-hop", "Mellow": "mellow", "House": "house", "Progressive rock": "progressive rock",
              "female vocalist": "female vocalists", "rnb": "r&b"}
_DECADES = {"00s", "60s", "70s", "80s", "90s"}


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _z(x: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Standardised features; 0 for dead ones (sd below DEAD_SD)."""
    live = sd > DEAD_SD
    return np.where(live, (x - mean) / np.where(live, sd, 1.0), 0.0)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(-1, keepdims=True)


@dataclass
class GenreCall:
    """Calibrated genre probabilities of one track and whether its top genre may be shown as a label."""

    probs: dict[str, float]  # highest first
    uncertain: bool
    nearest_similarity: float  # cosine to the nearest genre-training clip in the v3 space

    @property
    def label(self) -> str:
        """The top genre, or "uncertain"."""
        return UNCERTAIN if self.uncertain else next(iter(self.probs))


@dataclass
class V3Space:
    """Reference statistics, the calibrated genre head and its anchors (see the module docstring)."""

    pooled_mean: np.ndarray
    pooled_sd: np.ndarray
    emb_mean: np.ndarray
    emb_sd: np.ndarray
    emb_weight: float
    genres: list[str]
    head_w: np.ndarray  # [G, 1506 + 200] on standardised track features
    head_b: np.ndarray
    temperature: float
    p_min: float
    sim_threshold: float
    anchors: np.ndarray  # [n_train, D] unit v3 vectors of the head's training clips
    meta: dict = field(default_factory=dict)  # provenance: corpus, counts, benchmarks, source model id
    genre_weight: float = V3_GENRE_WEIGHT  # of the genre vector in the search vector (library.vectors)
    taste_similarity: float = V3_TASTE_SIMILARITY  # between tastes (recommend.tastes)
    source: str = SPACE_FILE
    taste_rule: str = V3_TASTE_RULE  # how a history splits into tastes (recommend.tastes.TASTE_RULES)
    taste_min_size: int = V3_TASTE_MIN_SIZE
    mtt_w: np.ndarray = field(default_factory=lambda: np.zeros((0, 50), np.float32))  # [n_live, 50] MTT tag head
    mtt_b: np.ndarray = field(default_factory=lambda: np.zeros(50, np.float32))  # (no rows: MSD's tags alone)
    vector_stats: "LibraryStats | None" = None  # a library's adapted statistics, for `vector` only (adapted())

    def digest(self) -> str:
        """sha256 of everything that shapes the vectors, tags and calls: part of the v3 model id."""
        h = hashlib.sha256()
        for k in ("pooled_mean", "pooled_sd", "emb_mean", "emb_sd", "head_w", "head_b", "anchors"):
            h.update(np.ascontiguousarray(getattr(self, k), np.float32).tobytes())
        if self.has_mtt:  # the tags a catalog stores change with it
            h.update(np.ascontiguousarray(self.mtt_w, np.float32).tobytes())
            h.update(np.ascontiguousarray(self.mtt_b, np.float32).tobytes())
        h.update(repr((self.emb_weight, self.genres, self.temperature, self.p_min, self.sim_threshold,
                       self.genre_weight, DEAD_SD)).encode())
        return h.hexdigest()

    def standardise(self, pooled: np.ndarray, emb: np.ndarray) -> np.ndarray:
        """Window or track features -> [.., 1506 + 200] standardised, each block of squared norm about 1."""
        e = _unit(emb)
        zp = _z(pooled, self.pooled_mean, self.pooled_sd) / np.sqrt(pooled.shape[-1])
        ze = _z(e, self.emb_mean, self.emb_sd) / np.sqrt(e.shape[-1])
        return np.concatenate([zp, ze], axis=-1)

    def project(self, pooled: np.ndarray, emb: np.ndarray) -> np.ndarray:
        """Unit v3 vector(s) of track-level features: pooled [.., 1506] window mean, emb [.., 200] window mean."""
        z = self.standardise(pooled, emb)
        d = self.pooled_mean.shape[-1]
        return _unit(np.concatenate([z[..., :d], np.sqrt(self.emb_weight) * z[..., d:]], axis=-1)).astype(np.float32)

    @property
    def live(self) -> np.ndarray:
        """[1506 + 200] bool: the features that vary over the reference corpus (the others project to 0)."""
        return np.concatenate([self.pooled_sd > DEAD_SD, self.emb_sd > DEAD_SD])

    def vector(self, pooled: np.ndarray, emb: np.ndarray) -> np.ndarray:
        """`project` without its always-zero coordinates: the same cosines in a third of the memory
        (MSD: 624 of 1706 live), which is what a catalog and its search index store. With library
        statistics (`adapted`), standardised by those instead of the reference's."""
        src = self if self.vector_stats is None else self.vector_stats.space(self)
        return np.ascontiguousarray(src.project(pooled, emb)[..., self.live])

    def adapted(self, stats: "LibraryStats | None") -> "V3Space":
        """A copy whose vectors are standardised by a library's statistics (None: the reference's);
        genres, calls and tags stay on the reference statistics they were fitted with."""
        import copy

        out = copy.copy(self)
        out.vector_stats = stats
        return out

    @property
    def has_mtt(self) -> bool:
        return len(self.mtt_w) > 0

    @property
    def tag_names(self) -> list[str]:
        """The tags `tags()` scores: the merged MSD + MTT vocabulary, or MSD's own without an MTT head."""
        from .musicnn_tags import MERGED_TAG_NAMES, MSD_TAGS

        return list(MERGED_TAG_NAMES) if self.has_mtt else list(MSD_TAGS)

    def mtt_tags(self, pooled: np.ndarray, emb: np.ndarray) -> np.ndarray:
        """[.., 50] MTT tag probabilities from track-level MSD features (the MTT head)."""
        z = self.standardise(pooled, emb)[..., self.live]
        return (1.0 / (1.0 + np.exp(-(z @ self.mtt_w + self.mtt_b)))).astype(np.float32)

    def tags(self, pooled: np.ndarray, emb: np.ndarray, msd_tags: np.ndarray) -> np.ndarray:
        """Scores of `tag_names` for a track: its MSD tag probabilities (window mean) and, with an MTT head,
        MTT's from its features, merged (each name the highest of its sources)."""
        if not self.has_mtt:
            return np.asarray(msd_tags, np.float32)
        from .musicnn_tags import MERGED_TAGS, MSD_TAGS, MTT_TAGS

        mtt = self.mtt_tags(pooled, emb)
        msd_i, mtt_i = {t: i for i, t in enumerate(MSD_TAGS)}, {t: i for i, t in enumerate(MTT_TAGS)}
        cols = [np.max(np.stack([msd_tags[..., msd_i[t]] for t in a] + [mtt[..., mtt_i[t]] for t in b]), axis=0)
                for _, a, b in MERGED_TAGS]
        return np.stack(cols, axis=-1).astype(np.float32)

    def project_embedding(self, emb: np.ndarray) -> np.ndarray:
        """Unit vectors of the standardised embedding alone: a re-projection of the embeddings a v2 catalog
        already stores, no decoding (album p@5 0.618 vs v2's 0.599, docs/benchmarks/v3_space.md)."""
        return _unit(_z(_unit(emb), self.emb_mean, self.emb_sd)).astype(np.float32)

    def genres_of(self, pooled_windows: np.ndarray, emb_windows: np.ndarray) -> GenreCall:
        """Calibrated genres of one track from its window features ([k, 1506], [k, 200])."""
        return self.call(pooled_windows.mean(0), emb_windows.mean(0))  # track features, as the head was trained

    def call(self, pooled: np.ndarray, emb: np.ndarray) -> GenreCall:
        """Calibrated genres of one track from its track-level features (window means)."""
        p = _softmax((self.standardise(pooled, emb) @ self.head_w.T + self.head_b) / self.temperature)
        v = self.project(pooled, emb)
        sim = float(np.max(self.anchors @ v)) if len(self.anchors) else 1.0
        order = np.argsort(-p)
        probs = {self.genres[i]: float(p[i]) for i in order}
        return GenreCall(probs, bool(p.max() < self.p_min or sim < self.sim_threshold), sim)

    def save(self, path: str | os.PathLike) -> None:
        arrays = {k: np.asarray(getattr(self, k), np.float32) for k in
                  ("pooled_mean", "pooled_sd", "emb_mean", "emb_sd", "head_w", "head_b", "anchors", "mtt_w", "mtt_b")}
        meta = {"format": SPACE_FORMAT, "version": 1, "genres": self.genres, "emb_weight": self.emb_weight,
                "temperature": self.temperature, "p_min": self.p_min, "sim_threshold": self.sim_threshold,
                "genre_weight": self.genre_weight, "taste_similarity": self.taste_similarity,
                "taste_rule": self.taste_rule, "taste_min_size": self.taste_min_size, **self.meta}
        np.savez_compressed(path, meta=np.array(json.dumps(meta)), **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "V3Space":
        """The shipped space (path None) or one written by `save`; ValueError if it is not one."""
        p = Path(path) if path else Path(str(resources.files("genrerec") / "assets" / SPACE_FILE))
        with np.load(p, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("format") != SPACE_FORMAT:
                raise ValueError(f"{p}: not a genrerec space file")
            arr = {k: z[k] for k in z.files if k != "meta"}
        known = {"format", "version", "genres", "emb_weight", "temperature", "p_min", "sim_threshold",
                 "genre_weight", "taste_similarity", "taste_rule", "taste_min_size"}
        return cls(arr["pooled_mean"], arr["pooled_sd"], arr["emb_mean"], arr["emb_sd"], float(meta["emb_weight"]),
                   list(meta["genres"]), arr["head_w"], arr["head_b"], float(meta["temperature"]),
                   float(meta["p_min"]), float(meta["sim_threshold"]), arr["anchors"],
                   {k: v for k, v in meta.items() if k not in known},
                   float(meta.get("genre_weight", V3_GENRE_WEIGHT)),
                   float(meta.get("taste_similarity", V3_TASTE_SIMILARITY)), p.name,
                   str(meta.get("taste_rule", TASTE_RULE)), int(meta.get("taste_min_size", 1)),
                   arr.get("mtt_w", np.zeros((0, 50), np.float32)), arr.get("mtt_b", np.zeros(50, np.float32)))


@dataclass
class LibraryStats:
    """A library's feature statistics shrunk toward the reference's (ADAPT_N0), for its vectors."""

    tracks: int
    pooled_mean: np.ndarray
    pooled_sd: np.ndarray
    emb_mean: np.ndarray
    emb_sd: np.ndarray
    n0: float = ADAPT_N0

    @classmethod
    def from_moments(cls, space: V3Space, n: int, sums: np.ndarray, squares: np.ndarray,
                     n0: float = ADAPT_N0) -> "LibraryStats":
        """From the sum and sum of squares over n tracks of the raw track features [1506 + 200]
        (pooled window mean, unit embedding: what a catalog stores). A feature dead in the reference
        stays dead, so vectors keep the space's live coordinates."""
        ref_m = np.concatenate([space.pooled_mean, space.emb_mean]).astype(np.float64)
        ref_s = np.concatenate([space.pooled_sd, space.emb_sd]).astype(np.float64)
        w = n / (n + n0) if n + n0 > 0 else 0.0
        lib_m = sums / max(n, 1)
        m = w * lib_m + (1 - w) * ref_m
        lib_var = np.maximum(squares / max(n, 1) - lib_m ** 2, 0.0) + (lib_m - m) ** 2  # around the blended mean
        var = w * lib_var + (1 - w) * (ref_s ** 2 + (ref_m - m) ** 2)
        sd = np.where(ref_s > DEAD_SD, np.maximum(np.sqrt(var), 10 * DEAD_SD), 0.0)
        d = len(space.pooled_mean)
        return cls(int(n), m[:d].astype(np.float32), sd[:d].astype(np.float32), m[d:].astype(np.float32),
                   sd[d:].astype(np.float32), float(n0))

    def space(self, ref: V3Space) -> V3Space:
        """`ref` with these statistics (cached on first use)."""
        cached = getattr(self, "_space", None)
        if cached is None or cached[0] is not ref:
            import copy

            s = copy.copy(ref)
            s.pooled_mean, s.pooled_sd = self.pooled_mean, self.pooled_sd
            s.emb_mean, s.emb_sd = self.emb_mean, self.emb_sd
            s.vector_stats = None
            self._space = cached = (ref, s)
        return cached[1]

    def to_json(self) -> dict:
        return {"tracks": self.tracks, "n0": self.n0, **{k: np.asarray(getattr(self, k), np.float32).tolist()
                                                          for k in ("pooled_mean", "pooled_sd", "emb_mean", "emb_sd")}}

    @classmethod
    def from_json(cls, d: Mapping) -> "LibraryStats":
        """ValueError if d is not one written by to_json."""
        try:
            arr = {k: np.asarray(d[k], np.float32) for k in ("pooled_mean", "pooled_sd", "emb_mean", "emb_sd")}
            return cls(int(d["tracks"]), n0=float(d["n0"]), **arr)
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"not library statistics ({e})") from None


def readable_tags(names: Iterable[str], k: int | None = None) -> list[str]:
    """Raw tag names (strongest first) as shown: one spelling each, lower case, no decade tags, no repeats;
    the first k (all with k None)."""
    out: list[str] = []
    for raw in names:
        if k is not None and len(out) >= k:
            break
        if raw in _DECADES:
            continue
        name = _TAG_NAMES.get(raw, raw.lower())
        if name not in out:
            out.append(name)
    return out


def readable_tag_scores(scores: Mapping[str, float], k: int | None = None) -> dict[str, float]:
    """{raw tag: score} (strongest first) as {readable tag: score}: the first k readable names, each once."""
    out: dict[str, float] = {}
    for raw, p in scores.items():
        if k is not None and len(out) >= k:
            break
        for name in readable_tags([raw]):
            out.setdefault(name, p)
    return out


def style_tags(tags: np.ndarray | None, names: list[str], k: int = 3) -> list[str]:
    """The k strongest style tags in readable form (one spelling each, no decade tags), strongest first."""
    if tags is None or not len(names):
        return []
    return readable_tags((names[i] for i in np.argsort(-np.asarray(tags))), k)


def genre_text(label: str | None, genres: Mapping[str, float]) -> str:
    """The genre call as shown: "rock 91%", or "uncertain (nearest: rock 45%)" (genres: highest first)."""
    top = next(iter(genres.items()), None)
    if label == UNCERTAIN:
        return UNCERTAIN + (f" (nearest: {top[0]} {top[1]:.0%})" if top else "")
    if not label:
        return f"{top[0]} {top[1]:.0%}" if top else ""
    return f"{label} {genres[label]:.0%}" if label in genres else label


def tags_then_genre(tags: Iterable[str], genre: str) -> str:
    """One cell: readable tags first, then the genre text ("ambient, chill · uncertain")."""
    t = ", ".join(tags)
    return f"{t} · {genre}" if t and genre else t or genre


def describe(call: GenreCall, tags: np.ndarray | None, tag_names: list[str], k: int = 3) -> str:
    """One line for tables and the web map: style tags first, then the genre or "uncertain"."""
    return tags_then_genre(style_tags(tags, tag_names, k), genre_text(call.label, call.probs))
