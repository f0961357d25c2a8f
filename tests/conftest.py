"""Shared fixtures: every test makes its own audio; nothing is downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

SR = 16000
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "gtzan"

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def synth(kind: str, seconds: float, sr: int = SR, seed: int = 0, channels: int = 1) -> np.ndarray:
    """Two easily told apart 'genres': 'low' = slow low tones, 'high' = fast
    bright noise bursts. Small random variations per seed."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    if kind == "low":
        f = rng.uniform(80, 300)
        x = 0.3 * np.sin(2 * np.pi * f * t) + 0.2 * np.sin(2 * np.pi * 1.5 * f * t)
        x *= 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.3, 1.0) * t)
    elif kind == "high":
        noise = rng.standard_normal(t.size)
        spec = np.fft.rfft(noise)
        freqs = np.fft.rfftfreq(t.size, 1 / sr)
        spec[(freqs < 2500) | (freqs > 6000)] = 0
        x = np.fft.irfft(spec, n=t.size)
        x = 0.3 * x / (np.abs(x).max() + 1e-9)
        x *= (np.sin(2 * np.pi * rng.uniform(4, 8) * t) > 0.3)
    elif kind == "mid":
        f = rng.uniform(600, 1200)
        x = 0.3 * np.sign(np.sin(2 * np.pi * f * t)) * (np.sin(2 * np.pi * 2 * t) > 0)
    else:
        raise ValueError(kind)
    x = x + 0.01 * rng.standard_normal(t.size)
    x = x.astype(np.float32)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def write_audio(path: Path, kind: str = "low", seconds: float = 8.0, sr: int = SR, seed: int = 0,
                channels: int = 1, fmt: str | None = None, subtype: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), synth(kind, seconds, sr, seed, channels), sr, format=fmt, subtype=subtype)
    return path


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """An untrained compact CNN checkpoint: enough to exercise indexing."""
    from genrerec.audio.features import FeatureConfig
    from genrerec.models.checkpoint import Checkpoint, save_checkpoint
    from genrerec.models.registry import ModelDims, build_model

    torch.manual_seed(0)
    feats = FeatureConfig()
    dims = ModelDims("cnn", 3, feats.n_mels, feats.window_frames)
    model = build_model(dims)
    p = tmp_path_factory.mktemp("model") / "tiny.pt"
    save_checkpoint(Checkpoint(dims, ["high", "low", "mid"], feats, model.state_dict()), p)
    return p


@pytest.fixture
def tiny_model(tiny_model_path):
    from genrerec import load_model

    return load_model(tiny_model_path)


@pytest.fixture
def library(tmp_path) -> Path:
    """A small music folder: 4 tracks of each of three kinds, in sub-folders."""
    root = tmp_path / "music"
    for kind in ("low", "high", "mid"):
        for i in range(4):
            write_audio(root / kind / f"{kind}{i}.wav", kind, seconds=6.0, seed=i)
    return root


def index_matches_catalog(db: Path, model_id: str) -> bool:
    """The FAISS index the library would use holds exactly the catalog's usable tracks."""
    from genrerec.library.catalog import Catalog
    from genrerec.library.vectors import load_or_rebuild_index

    cat = Catalog(db / "catalog.sqlite", create=False)
    try:
        ids, *_ = cat.vectors(model_id)
        return load_or_rebuild_index(db, cat, model_id, save=False).ids() == set(ids.tolist())
    finally:
        cat.close()


def need_shared():
    if not SHARED.is_dir():
        pytest.skip("../shared/gtzan is not available")
    return SHARED


def write_tagged(path: Path, artist: str, title: str, kind: str = "low", seconds: float = 6.0, seed: int = 0) -> Path:
    """A FLAC file with artist and title tags (Vorbis comments)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sf.SoundFile(str(path), "w", SR, 1, format="FLAC") as f:
        f.artist, f.title = artist, title
        f.write(synth(kind, seconds, SR, seed))
    return path


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray instance with 2 CPUs for one test module (skips without Ray)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    yield ray
    ray.shutdown()
