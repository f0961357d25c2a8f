"""Log-mel spectrograms, with every setting in one dataclass.

The FeatureConfig is stored inside every checkpoint and compared when a
checkpoint is used, so a model never silently sees features it was not
trained on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from .decode import SAMPLE_RATE

if TYPE_CHECKING:  # torch is the train install's; indexing uses melspec.log_mel (numpy)
    import torch

SCALES = ("db", "log10p")


@dataclass(frozen=True)
class FeatureConfig:
    sample_rate: int = SAMPLE_RATE
    n_fft: int = 1024
    hop_length: int = 320  # 20 ms: 150 frames per 3 s window
    n_mels: int = 96
    f_min: float = 20.0
    f_max: float = 8000.0  # the shared data carries nothing above 8 kHz
    top_db: float = 80.0
    window_s: float = 3.0  # model input: one segment
    norm_mean: float = -17.0  # dB mean and std measured on GTZAN clips
    norm_std: float = 15.0
    # "db": standardised dB with a top_db floor (v1 models); "log10p": log10(1 + 10000 * mel),
    # MusiCNN's input (its own input batch norm standardises it; norm_* and top_db are unused)
    scale: str = "db"

    @property
    def window_samples(self) -> int:
        return int(round(self.window_s * self.sample_rate))

    @property
    def window_frames(self) -> int:
        return self.window_samples // self.hop_length + 1

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"unknown feature scale {self.scale!r}; choose one of {', '.join(SCALES)}")

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["scale"] == "db":  # added after v1: left out at its default so v1 model ids and caches stay valid
            del d["scale"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown feature settings: {sorted(unknown)}")
        return cls(**d)

    @classmethod
    def musicnn(cls) -> "FeatureConfig":
        """MusiCNN's front end: 512-point STFT, hop 256, 96 Slaney mels up to 8 kHz,
        log10(1 + 10000 * power), 187-frame (2.98 s) patches."""
        return cls(n_fft=512, hop_length=256, n_mels=96, f_min=0.0, f_max=8000.0, window_s=186 * 256 / SAMPLE_RATE,
                   norm_mean=0.0, norm_std=1.0, scale="log10p")

    def key(self) -> str:
        """Short stable hash, used in cache file names."""
        return hashlib.sha1(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]


_MEL_CACHE: dict = {}


def _mel(cfg: FeatureConfig) -> "torch.nn.Module":
    import torchaudio.transforms as T

    if cfg not in _MEL_CACHE:
        _MEL_CACHE[cfg] = T.MelSpectrogram(
            sample_rate=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
            n_mels=cfg.n_mels, f_min=cfg.f_min, f_max=cfg.f_max, power=2.0,
            norm="slaney", mel_scale="slaney",
        )
    return _MEL_CACHE[cfg]


def log_mel_spectrogram(audio: "np.ndarray | torch.Tensor", cfg: FeatureConfig = FeatureConfig()) -> "torch.Tensor":
    """Standardised log-mel spectrogram (torch, for training; melspec.log_mel gives the same numbers
    in numpy for indexing).

    Args:
        audio: waveform(s) at cfg.sample_rate, shape [samples] or [batch, samples].
        cfg: feature settings.

    Returns:
        float32 tensor [n_mels, frames] or [batch, n_mels, frames]: with the "db"
        scale roughly zero mean and unit variance on music; with "log10p" MusiCNN's input.
    """
    import torch

    with torch.no_grad():
        return _log_mel(torch.as_tensor(audio, dtype=torch.float32), cfg)


def _log_mel(x: "torch.Tensor", cfg: FeatureConfig) -> "torch.Tensor":
    import torch

    mel = _mel(cfg)(x)
    if cfg.scale == "log10p":
        return torch.log10(1.0 + 10000.0 * mel)
    db = 10.0 * torch.log10(torch.clamp(mel, min=1e-10))
    # top_db relative to each example's peak keeps silence from dominating
    peak = db.amax(dim=(-2, -1), keepdim=True)
    db = torch.maximum(db, peak - cfg.top_db)
    return (db - cfg.norm_mean) / cfg.norm_std


def frame_windows(spec: "torch.Tensor", n_frames: int, hop_frames: int) -> "torch.Tensor":
    """Cut a [n_mels, T] spectrogram into [k, n_mels, n_frames] windows (k >= 1)."""
    import torch

    T = spec.shape[-1]
    if T < n_frames:
        spec = torch.nn.functional.pad(spec, (0, n_frames - T))
        T = n_frames
    starts = list(range(0, T - n_frames + 1, hop_frames))
    return torch.stack([spec[:, s:s + n_frames] for s in starts])
