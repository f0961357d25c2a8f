import numpy as np
import torch

from genrerec.audio.features import FeatureConfig, frame_windows, log_mel_spectrogram
from tests.conftest import synth


def test_log_mel_shape_and_scale():
    cfg = FeatureConfig()
    spec = log_mel_spectrogram(synth("low", 3.0), cfg)
    assert spec.shape == (cfg.n_mels, cfg.window_frames)
    assert torch.isfinite(spec).all()
    assert -6 < float(spec.mean()) < 6


def test_batch_equals_single():
    cfg = FeatureConfig()
    x = np.stack([synth("low", 3.0, seed=1), synth("high", 3.0, seed=2)])
    batch = log_mel_spectrogram(x, cfg)
    torch.testing.assert_close(batch[1], log_mel_spectrogram(x[1], cfg))


def test_low_and_high_sounds_land_in_different_bands():
    cfg = FeatureConfig()
    low = log_mel_spectrogram(synth("low", 3.0), cfg).mean(1)
    high = log_mel_spectrogram(synth("high", 3.0), cfg).mean(1)
    assert low[:20].mean() > high[:20].mean() and high[-30:].mean() > low[-30:].mean()


def test_config_roundtrip_and_key():
    cfg = FeatureConfig()
    assert FeatureConfig.from_dict(cfg.to_dict()) == cfg
    assert FeatureConfig(n_mels=64).key() != cfg.key()


def test_frame_windows_pads_short_input():
    w = frame_windows(torch.zeros(96, 100), 151, 75)
    assert w.shape == (1, 96, 151)
    assert frame_windows(torch.zeros(96, 1501), 151, 75).shape == (19, 96, 151)
