"""Log-mel spectrograms and resampling in numpy/scipy: the torch-free indexing path.

Ports of torchaudio's MelSpectrogram (hann window, centred reflect-padded STFT, power 2,
Slaney mel scale and norm) and of its sinc-interpolation resampler, so an install without
torch computes the same features (tests/audio/test_melspec.py: within 1e-4 of torchaudio)
and both installs give the same embeddings for the same model id.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import scipy.fft

RESAMPLE_WIDTH = 6  # torchaudio's lowpass_filter_width default: zero crossings each side
RESAMPLE_ROLLOFF = 0.99  # torchaudio's default cut-off, a fraction of the lower Nyquist
MEL_FLOOR = 1e-10  # the "db" scale's clamp, as in features.log_mel_spectrogram


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    lin = f / (200.0 / 3)
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-12) / 1000.0) / (math.log(6.4) / 27.0), lin)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp(math.log(6.4) / 27.0 * (m - 15.0)), m * (200.0 / 3))


@lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> np.ndarray:
    """[n_fft // 2 + 1, n_mels] Slaney-normalised triangular filters (torchaudio.functional.melscale_fbanks)."""
    freqs = np.linspace(0, sample_rate // 2, n_fft // 2 + 1)
    f_pts = _mel_to_hz(np.linspace(_hz_to_mel(f_min), _hz_to_mel(f_max), n_mels + 2))
    f_diff = np.diff(f_pts)
    slopes = f_pts[None, :] - freqs[:, None]
    fb = np.maximum(0.0, np.minimum(-slopes[:, :-2] / f_diff[:-1], slopes[:, 2:] / f_diff[1:]))
    fb *= 2.0 / (f_pts[2:n_mels + 2] - f_pts[:n_mels])[None, :]
    return np.ascontiguousarray(fb, dtype=np.float32)


@lru_cache(maxsize=4)
def _hann(n: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)  # periodic, like torch


def power_mel(audio: np.ndarray, cfg) -> np.ndarray:
    """Mel power spectrogram [..., n_mels, frames] float32 of waveform(s) [..., samples]."""
    x = np.asarray(audio, dtype=np.float32)
    lead = x.shape[:-1]
    x = x.reshape(-1, x.shape[-1])
    half = cfg.n_fft // 2
    x = np.pad(x, ((0, 0), (half, half)), mode="reflect")
    n_frames = 1 + (x.shape[-1] - cfg.n_fft) // cfg.hop_length
    frames = np.lib.stride_tricks.as_strided(
        x, (x.shape[0], n_frames, cfg.n_fft), (x.strides[0], x.strides[1] * cfg.hop_length, x.strides[1]),
        writeable=False)
    spec = scipy.fft.rfft(frames * _hann(cfg.n_fft), axis=-1, workers=1)
    power = spec.real ** 2 + spec.imag ** 2
    fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, float(cfg.f_min), float(cfg.f_max))
    mel = np.matmul(power, fb).transpose(0, 2, 1)
    return np.ascontiguousarray(mel, dtype=np.float32).reshape(*lead, cfg.n_mels, n_frames)


def log_mel(audio: np.ndarray, cfg) -> np.ndarray:
    """features.log_mel_spectrogram without torch: float32 [..., n_mels, frames]."""
    mel = power_mel(audio, cfg)
    if cfg.scale == "log10p":
        return np.log10(1.0 + 10000.0 * mel, dtype=np.float32)
    db = 10.0 * np.log10(np.maximum(mel, MEL_FLOOR), dtype=np.float32)
    peak = db.max(axis=(-2, -1), keepdims=True)
    db = np.maximum(db, peak - cfg.top_db)
    return ((db - cfg.norm_mean) / cfg.norm_std).astype(np.float32)


@lru_cache(maxsize=8)
def _sinc_kernel(orig: int, new: int) -> tuple[np.ndarray, int]:
    """torchaudio's sinc_interp_hann kernels [new, 2 * width + orig] (orig, new already divided by their gcd)."""
    base = min(orig, new) * RESAMPLE_ROLLOFF
    width = math.ceil(RESAMPLE_WIDTH * orig / base)
    idx = np.arange(-width, width + orig, dtype=np.float64)[None, :] / orig
    t = (np.arange(0, -new, -1, dtype=np.float64)[:, None] / new + idx) * base
    t = np.clip(t, -RESAMPLE_WIDTH, RESAMPLE_WIDTH)
    window = np.cos(t * math.pi / RESAMPLE_WIDTH / 2) ** 2
    t *= math.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(t == 0, 1.0, np.sin(t) / t)
    return (k * window * (base / orig)).astype(np.float32), width


@lru_cache(maxsize=8)
def _phase_blocks(orig: int, new: int) -> tuple[tuple[int, int, int, int, np.ndarray], ...] | None:
    """The kernel cut into blocks of neighbouring output phases with the input taps each block
    reads: (first phase, end phase, first tap, end tap, weights [taps, phases]).

    Each phase's windowed sinc is zero outside about 2 * RESAMPLE_WIDTH input samples, so a
    block skips the kernel's zeros (over 90% of it for 44.1 kHz -> 16 kHz) and, reading at most
    `orig` taps, is a strided view numpy hands to BLAS. None when that cannot be done
    (upsampling, or phases wider than `orig`): resample then takes the whole kernel."""
    kernel, _ = _sinc_kernel(orig, new)
    nz = kernel != 0
    if new < 8 or not nz.any(axis=1).all():
        return None
    lo, hi = nz.argmax(axis=1), kernel.shape[1] - nz[:, ::-1].argmax(axis=1)
    blocks, size = [], max(1, new // 8)
    p = 0
    while p < new:
        q = min(new, p + size)
        while q > p + 1 and hi[p:q].max() - lo[p:q].min() > orig:
            q = p + (q - p) // 2
        a, b = int(lo[p:q].min()), int(hi[p:q].max())
        if b - a > orig:
            return None
        blocks.append((p, q, a, b, np.ascontiguousarray(kernel[p:q, a:b].T)))
        p = q
    return tuple(blocks)


def resample(wav: np.ndarray, orig_sr: int, sr: int) -> np.ndarray:
    """Band-limited resampling of a mono waveform, the same numbers as torchaudio.functional.resample
    (to float32 rounding)."""
    wav = np.asarray(wav, dtype=np.float32)
    if orig_sr == sr or wav.size == 0:
        return wav
    g = math.gcd(int(orig_sr), int(sr))
    orig, new = int(orig_sr) // g, int(sr) // g
    kernel, width = _sinc_kernel(orig, new)
    length = wav.shape[-1]
    x = np.pad(wav, (width, width + orig))
    n_out = (x.size - kernel.shape[1]) // orig + 1
    frames = np.lib.stride_tricks.as_strided(x, (n_out, kernel.shape[1]), (x.strides[0] * orig, x.strides[0]),
                                             writeable=False)
    blocks = _phase_blocks(orig, new)
    if blocks is None:
        out = frames @ kernel.T  # [n_out, new]: interleaved phases
    else:
        out = np.empty((n_out, new), np.float32)
        for p, q, a, b, w in blocks:
            out[:, p:q] = frames[:, a:b] @ w
    return np.ascontiguousarray(out.reshape(-1)[: math.ceil(new * length / orig)], dtype=np.float32)
