"""Training data: a folder-per-genre tree, saved splits, and a spectrogram cache.

Splits are by *blocks of clip numbers* by default: GTZAN puts several clips of
one artist under neighbouring numbers, so a random split leaks artists from
train to test and inflates accuracy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..audio.decode import AUDIO_EXTENSIONS, AudioError, load_audio
from ..audio.features import FeatureConfig, log_mel_spectrogram
from ..utils import atomic_write_json, default_cache_dir, read_npy, write_npy
from .errors import DataError

log = logging.getLogger("genrerec")

SPLIT_VERSION = 1
MAX_TRAIN_AUDIO_S = 600.0  # a training file longer than this is truncated


@dataclass(frozen=True)
class Clip:
    path: Path
    genre: str
    key: str  # "<genre>/<file name>": stable id used in split files


def _natural_key(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def scan_genre_tree(root: str | os.PathLike) -> list[Clip]:
    """Every audio file under root/<genre>/, sorted by genre then clip number."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: data folder not found (expected <genre>/<clip> sub-folders)")
    clips = []
    for gdir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted((f for f in gdir.rglob("*") if f.suffix.lower() in AUDIO_EXTENSIONS and f.is_file()),
                       key=lambda f: _natural_key(f.relative_to(gdir).as_posix()))
        clips += [Clip(f, gdir.name, f"{gdir.name}/{f.relative_to(gdir).as_posix()}") for f in files]
    if not clips:
        raise DataError(f"{root}: no audio files found in genre sub-folders")
    genres = sorted({c.genre for c in clips})
    if len(genres) < 2:
        raise DataError(f"{root}: found only one genre folder ({genres[0]}); need at least two")
    return clips


def genres_of(clips: list[Clip]) -> list[str]:
    return sorted({c.genre for c in clips})


def _by_genre(clips: list[Clip]) -> dict[str, list[Clip]]:
    out: dict[str, list[Clip]] = {}
    for c in clips:
        out.setdefault(c.genre, []).append(c)
    return out


def make_split(clips: list[Clip], method: str = "blocks", val: float = 0.15, test: float = 0.15,
               seed: int = 0) -> dict[str, str]:
    """Stratified train/val/test assignment {clip key: split}.

    "blocks": within each genre, clips sorted by number are cut into contiguous
    runs (starting at a seeded offset), so neighbouring numbers fall on the same
    side except at run boundaries. "random": a seeded shuffle (leaks artists on
    GTZAN; report it only as such).
    """
    if method not in ("blocks", "random"):
        raise DataError(f"unknown split method {method!r}; use 'blocks' or 'random'")
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise DataError(f"bad split fractions val={val}, test={test}")
    rng = np.random.default_rng(seed)
    out = {}
    for genre, gclips in sorted(_by_genre(clips).items()):
        n = len(gclips)
        n_test = int(round(test * n)) if test > 0 else 0
        n_val = int(round(val * n)) if val > 0 else 0
        if test > 0 and n >= 3:
            n_test = max(n_test, 1)
        if val > 0 and n >= 3:
            n_val = max(n_val, 1)
        if method == "random":
            order = list(rng.permutation(n))
        else:
            start = int(rng.integers(n))
            order = [(start + i) % n for i in range(n)]
        for rank, i in enumerate(order):
            out[gclips[i].key] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return out


def block_folds(clips: list[Clip], k: int) -> list[dict[str, str]]:
    """k cross-validation splits: fold i tests the i-th contiguous block of each
    genre, validates on the next block, trains on the rest."""
    if k < 2:
        raise DataError("need at least 2 folds")
    chunks = {g: np.array_split(np.arange(len(cs)), k) for g, cs in _by_genre(clips).items()}
    folds = []
    for i in range(k):
        split = {}
        for g, cs in _by_genre(clips).items():
            for j, idx in enumerate(chunks[g]):
                name = "test" if j == i else ("val" if j == (i + 1) % k and k > 2 else "train")
                for t in idx:
                    split[cs[t].key] = name
        folds.append(split)
    return folds


def save_split(split: dict[str, str], path: str | os.PathLike, **meta) -> None:
    atomic_write_json(path, {"version": SPLIT_VERSION, **meta, "clips": split})


def load_split(path: str | os.PathLike, clips: list[Clip] | None = None) -> dict[str, str]:
    """Read a split file: {"clips": {key: split}} or a plain {key: split} mapping.

    Keys may carry an extension or not ("blues/blues.00000" matches
    "blues/blues.00000.mp3"). Clips the file does not list are left out.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: split file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: split file is not valid JSON ({e})") from None
    mapping = raw.get("clips", raw) if isinstance(raw, dict) else None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise DataError(f"{path}: expected {{clip: 'train'|'val'|'test'}}")
    bad = {v for v in mapping.values()} - {"train", "val", "test"}
    if bad:
        raise DataError(f"{path}: unknown split names {sorted(bad)}; use train/val/test")
    if clips is None:
        return dict(mapping)
    out = {}
    for c in clips:
        stem = c.key.rsplit(".", 1)[0]
        name = c.path.stem
        v = mapping.get(c.key) or mapping.get(stem) or mapping.get(name)
        if v is not None:
            out[c.key] = v
    if not out:
        raise DataError(f"{path}: none of its clips are in the data folder")
    return out


def file_digest(path: str | os.PathLike) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class SpecCache:
    """Whole-clip log-mels on disk (float16), keyed by file content and feature
    settings, so epochs and reruns never decode twice."""

    def __init__(self, cfg: FeatureConfig, cache_dir: str | os.PathLike | None = None):
        self.cfg = cfg
        self.dir = Path(cache_dir or default_cache_dir()) / "spec" / cfg.key()

    def get(self, path: str | os.PathLike) -> torch.Tensor:
        key = file_digest(path)
        f = self.dir / key[:2] / f"{key}.npy"
        cached = read_npy(f)
        if cached is not None:
            return torch.from_numpy(cached.astype(np.float32))
        wav = load_audio(path, self.cfg.sample_rate, duration=MAX_TRAIN_AUDIO_S)
        if wav.size < self.cfg.window_samples // 2:
            raise AudioError(path, f"too short for training ({wav.size / self.cfg.sample_rate:.2f} s)")
        if np.sqrt(np.mean(wav.astype(np.float64) ** 2)) < 1e-4:
            raise AudioError(path, "audio is silent")
        spec = log_mel_spectrogram(wav, self.cfg)
        write_npy(f, spec.numpy().astype(np.float16))
        return spec


def load_specs(clips: list[Clip], cache: SpecCache, show_progress: bool = True) -> tuple[list[torch.Tensor], list[Clip]]:
    """Spectrograms for clips, skipping (and logging) unreadable ones."""
    from ..utils import progress

    specs, kept = [], []
    with progress(disable=not show_progress, transient=True) as bar:
        task = bar.add_task("spectrograms", total=len(clips), info="")
        for c in clips:
            try:
                specs.append(cache.get(c.path))
                kept.append(c)
            except AudioError as e:
                log.warning("skipping %s", e)
            bar.advance(task)
    return specs, kept
