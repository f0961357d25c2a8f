"""The same recording twice in a library (an .ogg and its .m4a, a re-rip).

Two usable tracks are duplicates when
  * their audio signatures agree: per indexed window, the log-mel profile
    pooled to SIGNATURE_BANDS bands and the loudness in SIGNATURE_SLICES time
    slices, gain removed (stored at index time, independent of the model's
    weights); the mean difference must be at most BAND_DISTANCE for the bands
    and RHYTHM_DISTANCE for the slices, and the lengths agree within
    DUP_SECONDS (or DUP_FRACTION); or
  * their artist and title tags match (case, accents and "feat." ignored)
    and their durations agree within TAG_SECONDS.
docs/benchmarks/duplicates.md measures both distances for re-encodings
(opus -> flac/mp3/m4a) and for each GTZAN clip's nearest other clip: the
bands separate real music by a factor of about 9, the slices tell apart the
test suite's same-spectrum noise tracks.
Groups are found after each `genrerec index` run and kept in
<db>/duplicates.json keyed by catalog generation and model id, so a new model
or a changed library recomputes them. Playlists and `similar` keep one track
per group; `genrerec stats --duplicates` lists them.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..utils import atomic_write_json
from .names import track_key

log = logging.getLogger("genrerec")

DUPLICATES_FILE = "duplicates.json"
SIGNATURE_BANDS = 24
SIGNATURE_SLICES = 32
BAND_DISTANCE = 0.06  # mean |difference| of gain-removed band profiles (a Vorbis copy of a test tone: 0.04)
RHYTHM_DISTANCE = 0.065  # ... and of time-slice loudness (an AAC copy's delay shifts it a little)
DUP_SECONDS = 1.0
DUP_FRACTION = 0.01
TAG_SECONDS = 2.0
_RULE = f"sig{SIGNATURE_BANDS}x{SIGNATURE_SLICES}/{BAND_DISTANCE}/{RHYTHM_DISTANCE}/{DUP_SECONDS}/{DUP_FRACTION}/tags{TAG_SECONDS}"  # saved groups follow rule changes


def signature(specs: np.ndarray) -> np.ndarray:
    """A track's audio signature from its log-mel windows [W, mels, frames]: per
    window, the mean over time pooled to SIGNATURE_BANDS bands, then the mean
    over bands in SIGNATURE_SLICES time slices (the rhythm of the window), float16."""
    x = np.asarray(specs, np.float32)
    w, m, f = x.shape
    bands = x.mean(axis=-1)[:, : m - m % SIGNATURE_BANDS].reshape(w, SIGNATURE_BANDS, -1).mean(-1)
    slices = x.mean(axis=1)[:, : f - f % SIGNATURE_SLICES].reshape(w, SIGNATURE_SLICES, -1).mean(-1)
    return np.concatenate([bands, slices], axis=1).astype(np.float16)


def _centered(sig: np.ndarray) -> np.ndarray:
    """Gain removed per window, from the bands and the slices apart, so a louder copy still matches."""
    a = np.asarray(sig, np.float32)
    bands, slices = a[:, :SIGNATURE_BANDS], a[:, SIGNATURE_BANDS:]
    return np.concatenate([bands - bands.mean(1, keepdims=True), slices - slices.mean(1, keepdims=True)], axis=1)


def signature_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(band, rhythm) mean differences between centred signature a and one or more centred signatures b."""
    diff = np.abs(np.asarray(b) - a)
    return np.stack([diff[..., :SIGNATURE_BANDS].mean(axis=(-1, -2)), diff[..., SIGNATURE_BANDS:].mean(axis=(-1, -2))],
                    axis=-1)


@dataclass
class TrackInfo:
    """What a catalog says about one usable track beyond its vectors."""

    artist: str | None = None
    title: str | None = None
    duration: float | None = None


def _close(a: float | None, b: float | None, seconds: float, fraction: float = 0.0) -> bool:
    return a is not None and b is not None and abs(a - b) <= max(seconds, fraction * max(a, b))


def find_duplicates(info: dict[int, TrackInfo], signatures: dict[int, np.ndarray]) -> list[list[int]]:
    """Groups (each sorted, >= 2 ids) of duplicate recordings among the tracks in `info`."""
    parent = {int(i): int(i) for i in info}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    # signatures: only tracks of about the same length can be the same recording
    timed = sorted((t.duration, i) for i, t in info.items() if t.duration is not None and i in signatures)
    durs = np.array([d for d, _ in timed])
    cent = [_centered(signatures[i]) for _, i in timed]
    for x, (da, a) in enumerate(timed):
        end = int(np.searchsorted(durs, da + max(DUP_SECONDS, DUP_FRACTION * da), side="right"))
        same = [y for y in range(x + 1, end) if cent[y].shape == cent[x].shape]
        if same:
            d = signature_distances(cent[x], np.stack([cent[y] for y in same]))
            for y in np.flatnonzero((d[:, 0] <= BAND_DISTANCE) & (d[:, 1] <= RHYTHM_DISTANCE)):
                union(a, timed[same[y]][1])
    by_tags: dict[tuple[str, str], list[int]] = {}
    for i, t in info.items():
        if t.artist and t.title and i in parent:
            by_tags.setdefault(track_key(t.artist, t.title), []).append(i)
    for same in by_tags.values():
        for x in range(len(same)):
            for y in range(x + 1, len(same)):
                if _close(info[same[x]].duration, info[same[y]].duration, TAG_SECONDS):
                    union(same[x], same[y])
    groups: dict[int, list[int]] = {}
    for i in parent:
        groups.setdefault(find(i), []).append(i)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def save_duplicates(db_dir: Path, groups: list[list[int]], generation: int, model_id: str) -> None:
    atomic_write_json(db_dir / DUPLICATES_FILE, {"generation": generation, "model_id": model_id, "rule": _RULE,
                                                 "groups": groups})


def load_duplicates(db_dir: Path, generation: int, model_id: str) -> list[list[int]] | None:
    """The saved groups if they belong to this catalog generation and model, else None."""
    try:
        d = json.loads((db_dir / DUPLICATES_FILE).read_text())
    except (OSError, ValueError):
        return None
    if (d.get("generation"), d.get("model_id"), d.get("rule")) != (generation, model_id, _RULE):
        return None
    return [list(map(int, g)) for g in d.get("groups", [])]


def duplicates_for(db_dir: Path, cat, model_id: str, info: dict[int, TrackInfo]) -> list[list[int]]:
    """Saved groups when current, else found now (and saved when the folder is writable)."""
    groups = load_duplicates(db_dir, cat.generation, model_id)
    if groups is None:
        groups = find_duplicates(info, cat.signatures())
        if os.access(db_dir, os.W_OK):
            try:
                save_duplicates(db_dir, groups, cat.generation, model_id)
            except OSError as e:
                log.warning("could not save duplicates in %s: %s", db_dir, e)
    return groups
