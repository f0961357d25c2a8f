import os

import numpy as np
import pytest
import soundfile as sf

from genrerec.audio.decode import AudioError, audio_info, load_audio, read_windows, window_starts
from tests.conftest import SR, synth, write_audio


@pytest.mark.parametrize("ext,fmt,subtype", [
    ("wav", "WAV", "PCM_16"), ("flac", "FLAC", None), ("ogg", "OGG", "VORBIS"), ("opus", "OGG", "OPUS"),
    ("mp3", "MP3", None), ("aiff", "AIFF", None), ("au", "AU", None),
])
def test_formats_decode_to_mono_16k(tmp_path, ext, fmt, subtype):
    sr = 48000 if ext == "opus" else 22050
    p = write_audio(tmp_path / f"a.{ext}", "low", seconds=4.0, sr=sr, channels=2, fmt=fmt, subtype=subtype)
    wav = load_audio(p)
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert abs(wav.size / SR - 4.0) < 0.1
    ref = synth("low", 4.0, SR)
    n = min(ref.size, wav.size)
    # lossy codecs shift and colour the signal, but the energy stays
    assert 0.5 < np.std(wav[:n]) / np.std(ref[:n]) < 2.0


def test_m4a_through_pyav(tmp_path):
    av = pytest.importorskip("av")
    p = tmp_path / "a.m4a"
    x = synth("low", 4.0, 44100)
    with av.open(str(p), "w", format="mp4") as c:
        s = c.add_stream("aac", rate=44100, layout="mono")
        frame = av.AudioFrame.from_ndarray(x[None, :], format="flt", layout="mono")
        frame.sample_rate = 44100
        for pkt in s.encode(frame):
            c.mux(pkt)
        for pkt in s.encode(None):
            c.mux(pkt)
    assert audio_info(p).backend == "pyav"
    wav = load_audio(p)
    assert abs(wav.size / SR - 4.0) < 0.2
    w2 = load_audio(p, offset=1.0, duration=2.0)
    assert abs(w2.size - 2 * SR) <= 1


def test_offset_and_duration_read_only_a_window(tmp_path):
    p = write_audio(tmp_path / "a.flac", "low", seconds=10.0)
    full = load_audio(p)
    part = load_audio(p, offset=3.0, duration=2.0)
    assert part.size == 2 * SR
    np.testing.assert_allclose(part, full[3 * SR:5 * SR], atol=1e-4)


def test_windows_cover_whole_track_not_just_start(tmp_path):
    assert window_starts(30.0, 3.0, 1.5, None) == [i * 1.5 for i in range(19)]
    starts = window_starts(600.0, 3.0, 1.5, 16)
    assert len(starts) == 16 and starts[0] == 0 and starts[-1] == pytest.approx(597.0)
    p = write_audio(tmp_path / "long.flac", "low", seconds=120.0)
    wins, dur = read_windows(p, 3.0, max_windows=8)
    assert wins.shape == (8, 3 * SR) and dur == pytest.approx(120.0, abs=0.1)


def test_resamples_any_rate(tmp_path):
    for sr in (8000, 192000):
        p = write_audio(tmp_path / f"r{sr}.wav", "low", seconds=3.5, sr=sr, channels=6)
        wav = load_audio(p)
        assert abs(wav.size - 3.5 * SR) < 5


def test_errors_name_file_and_reason(tmp_path):
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp3"
    text.write_text("this is not audio\n" * 100)
    header_only = tmp_path / "header.wav"
    sf.write(str(header_only), np.zeros(0, np.float32), SR)
    silent = write_audio(tmp_path / "silent.wav", "low", seconds=5)
    sf.write(str(silent), np.zeros(5 * SR, np.float32), SR)
    short = write_audio(tmp_path / "short.wav", "low", seconds=0.5)
    cases = {
        tmp_path / "missing.wav": "not found",
        empty: "empty file",
        text: "not a readable audio file",
        header_only: "zero length",
        silent: "silent",
        short: "too short",
    }
    for path, reason in cases.items():
        with pytest.raises(AudioError) as ei:
            read_windows(path, 3.0)
        assert str(path) in str(ei.value) and reason in ei.value.reason, (path, ei.value)


def test_unreadable_file(tmp_path, monkeypatch):
    p = write_audio(tmp_path / "locked.wav", "low", seconds=4)
    p.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the OS answer as it would for a user
        real = os.access
        monkeypatch.setattr(os, "access", lambda q, mode: False if str(q) == str(p) else real(q, mode))
    with pytest.raises(AudioError, match="permission denied"):
        load_audio(p)


def test_truncated_file_decodes_what_is_there_or_fails_cleanly(tmp_path):
    p = write_audio(tmp_path / "cut.flac", "low", seconds=10)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    try:
        wins, dur = read_windows(p, 3.0)
        assert len(wins) >= 1
    except AudioError as e:
        assert "cut.flac" in str(e)


def test_nonfinite_samples_are_zeroed(tmp_path):
    x = synth("low", 4.0)
    x[1000:2000] = np.nan
    x[5000] = np.inf
    p = tmp_path / "nan.wav"
    sf.write(str(p), x, SR, subtype="FLOAT")
    wav = load_audio(p)
    assert np.isfinite(wav).all()


def test_a_flac_cut_off_before_one_window_is_called_damaged_not_short(tmp_path):
    """Its header promises 20 s: the file was cut off (issue 23, user's list), not a short recording."""
    p = write_audio(tmp_path / "cut.flac", "low", 20)
    p.write_bytes(p.read_bytes()[:int(p.stat().st_size * 0.05)])
    with pytest.raises(AudioError, match="damaged or truncated: the header says 20.0 s"):
        read_windows(p, 3.0)
