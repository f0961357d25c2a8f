"""The numpy features and resampler match torchaudio's, so both installs embed alike."""

from __future__ import annotations

import numpy as np
import pytest

from genrerec.audio import melspec
from genrerec.audio.features import FeatureConfig, log_mel_spectrogram
from tests.conftest import synth

TOL = 1e-4
torchaudio = pytest.importorskip("torchaudio")


@pytest.mark.parametrize("cfg", [FeatureConfig.musicnn(), FeatureConfig()], ids=["musicnn-log10p", "v1-db"])
@pytest.mark.parametrize("kind", ["low", "high", "mid"])
def test_log_mel_matches_torchaudio(cfg, kind):
    rng = np.random.default_rng(3)
    wavs = np.stack([synth(kind, cfg.window_s, seed=s) for s in range(3)])
    wavs[2] = (0.05 * rng.standard_normal(wavs.shape[1])).astype(np.float32)  # plain noise as well
    want = log_mel_spectrogram(wavs, cfg).numpy()
    got = melspec.log_mel(wavs, cfg)
    assert got.shape == want.shape and got.dtype == np.float32
    assert np.abs(got - want).max() < TOL
    assert np.abs(melspec.log_mel(wavs[1], cfg) - got[1]).max() < TOL  # one waveform as in a batch


def test_filterbank_matches_torchaudio():
    import torchaudio.functional as AF

    cfg = FeatureConfig.musicnn()
    want = AF.melscale_fbanks(cfg.n_fft // 2 + 1, cfg.f_min, cfg.f_max, cfg.n_mels, cfg.sample_rate,
                              norm="slaney", mel_scale="slaney").numpy()
    got = melspec.mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.f_min, cfg.f_max)
    assert np.abs(got - want).max() < 1e-6


@pytest.mark.parametrize("orig", [8000, 22050, 44100, 48000, 96000])
def test_resample_matches_torchaudio(orig):
    import math

    import torch
    import torchaudio.functional as AF

    rng = np.random.default_rng(orig)
    x = (0.2 * rng.standard_normal(int(orig * 1.7) + 3)).astype(np.float32)
    g = math.gcd(orig, 16000)
    want = AF.resample(torch.from_numpy(x), orig // g, 16000 // g).numpy()
    got = melspec.resample(x, orig, 16000)
    assert got.shape == want.shape
    assert np.abs(got - want).max() < TOL  # float32 sums over kernels of up to ~1,000 taps


@pytest.mark.parametrize("orig", [11025, 22050, 44056, 44100, 88200])
def test_resample_by_phase_blocks_equals_the_whole_kernel(orig):
    """The fast path (only each phase block's non-zero taps) gives the whole kernel's numbers."""
    import math

    x = (0.3 * np.random.default_rng(orig).standard_normal(int(orig * 2.3) + 7)).astype(np.float32)
    g = math.gcd(orig, 16000)
    o, n = orig // g, 16000 // g
    assert melspec._phase_blocks(o, n) is not None
    kernel, width = melspec._sinc_kernel(o, n)
    xp = np.pad(x, (width, width + o)).astype(np.float64)
    n_out = (xp.size - kernel.shape[1]) // o + 1
    frames = np.stack([xp[i * o:i * o + kernel.shape[1]] for i in range(n_out)])
    want = (frames @ kernel.T.astype(np.float64)).reshape(-1)[: math.ceil(n * x.size / o)]
    got = melspec.resample(x, orig, 16000)
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 1e-5
