"""Every kind of messy file in one library: each is indexed correctly or
skipped with its reason recorded, and the run goes on."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from genrerec.engine.index import index_library
from genrerec.library.catalog import Catalog
from tests.conftest import SR, synth, write_audio


def _truncate(p: Path, frac: float = 0.4) -> Path:
    data = p.read_bytes()
    p.write_bytes(data[: int(len(data) * frac)])
    return p


@pytest.fixture
def messy(tmp_path):
    lib = tmp_path / "messy"
    write_audio(lib / "good" / "ok.wav", "low", 6)
    (lib / "zero.mp3").parent.mkdir(parents=True, exist_ok=True)
    (lib / "zero.mp3").write_bytes(b"")
    _truncate(write_audio(lib / "trunc.mp3", "low", 20, fmt="MP3"))
    _truncate(write_audio(lib / "trunc.flac", "low", 20))
    _truncate(write_audio(lib / "trunc.ogg", "low", 20, fmt="OGG", subtype="VORBIS"))
    (lib / "text.mp3").write_text("hello, I am a text file\n" * 40)
    (lib / "image.mp3").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    sf.write(str(lib / "header_only.wav"), np.zeros(0, np.float32), SR)
    sf.write(str(lib / "silent.wav"), np.zeros(8 * SR, np.float32), SR)
    write_audio(lib / "half_second.wav", "low", 0.5)
    write_audio(lib / "rate_8k.wav", "high", 6, sr=8000)
    write_audio(lib / "rate_192k.flac", "high", 6, sr=192000)
    write_audio(lib / "six_channels.wav", "mid", 6, channels=6)
    x = synth("low", 6)
    x[::7] = np.nan
    x[5] = np.inf
    sf.write(str(lib / "nan_inf.wav"), x, SR, subtype="FLOAT")
    write_audio(lib / "locked.wav", "low", 6)
    os.chmod(lib / "locked.wav", 0)
    weird = os.path.join(os.fsencode(lib), b"caf\xe9 not-utf8 \xf0\x9f\x8e\xb5 emoji.wav")
    sf.write(weird, synth("mid", 6), SR, format="WAV")
    write_audio(lib / "with spaces" / "a song.flac", "high", 6)
    os.symlink(lib, lib / "good" / "loop")
    return lib


EXPECT = {  # file -> ("ok", None) or ("failed", words in the reason)
    "good/ok.wav": ("ok", None),
    "zero.mp3": ("failed", "empty file"),
    "trunc.mp3": ("ok", None),  # what is there decodes
    "trunc.flac": ("ok", None),
    "trunc.ogg": ("ok", None),
    "text.mp3": ("failed", "not a readable audio file"),
    "image.mp3": ("failed", "not a readable audio file"),
    "header_only.wav": ("failed", "zero length"),
    "silent.wav": ("failed", "silent"),
    "half_second.wav": ("failed", "too short"),
    "rate_8k.wav": ("ok", None),
    "rate_192k.flac": ("ok", None),
    "six_channels.wav": ("ok", None),
    "nan_inf.wav": ("ok", None),
    "locked.wav": ("failed", "permission denied"),
    "caf\udce9 not-utf8 🎵 emoji.wav": ("ok", None),
    "with spaces/a song.flac": ("ok", None),
}


def test_messy_library(messy, tiny_model, monkeypatch, record):
    if os.geteuid() == 0:  # root reads anything: make the OS answer as it would for a user
        real = os.access
        monkeypatch.setattr(os, "access", lambda q, m: False if str(q).endswith("locked.wav") else real(q, m))
    s = index_library(messy, model=tiny_model, workers=0, show_progress=False)
    failed = dict(s.failed)
    cat = Catalog(messy / ".genrerec" / "catalog.sqlite", create=False)
    rows = {os.fsdecode(r.path): r for r in cat.rows().values()}
    assert set(rows) == set(EXPECT), set(rows) ^ set(EXPECT)  # the symlink loop added nothing
    for name, (status, words) in EXPECT.items():
        assert rows[name].status == status, (name, rows[name].error)
        if words:
            assert words in rows[name].error and words in failed[name], (name, rows[name].error)
        record(name.encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
               "indexed" if status == "ok" else f"skipped: {rows[name].error}")
    ids, _, g, e = cat.vectors()
    assert np.isfinite(g).all() and np.isfinite(e).all()
    record("symlink loop (good/loop -> library)", "walked once, no duplicates")
    assert s.total_ok == sum(1 for st, _ in EXPECT.values() if st == "ok")


def test_file_deleted_or_replaced_during_run(library, tiny_model, record):
    victims = [library / "mid" / "mid3.wav", library / "high" / "high3.wav"]

    def meddle(done):
        if done == 2 and victims[0].exists():
            victims[0].unlink()
            victims[1].write_text("replaced by text")

    s = index_library(library, model=tiny_model, workers=0, batch_tracks=2, show_progress=False, on_batch=meddle)
    failed = dict(s.failed)
    assert "file disappeared" in failed["mid/mid3.wav"] or "not found" in failed["mid/mid3.wav"]
    assert "not a readable audio file" in failed["high/high3.wav"]
    record("file deleted while indexing", f"skipped: {failed['mid/mid3.wav']}")
    record("file replaced by non-audio while indexing", f"skipped: {failed['high/high3.wav']}")
    s2 = index_library(library, model=tiny_model, workers=0, show_progress=False)
    assert s2.removed == 1  # the deleted file leaves the catalog on the next run


def test_ten_thousand_non_audio_files(tmp_path, tiny_model, record):
    lib = tmp_path / "junk"
    d = lib / "scans"
    d.mkdir(parents=True)
    for i in range(10_000):
        (d / (f"page{i:05d}.jpg" if i % 2 else f"note{i:05d}")).write_bytes(b"not audio")
    write_audio(lib / "one.wav", "low", 5)
    s = index_library(lib, model=tiny_model, workers=0, show_progress=False)
    assert s.total_ok == 1 and s.failed == []
    record("folder of 10,000 non-audio files", f"ignored (not audio); the one track indexed in {s.seconds:.1f} s")


def _peak_rss_mb(code: str) -> float:
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                       cwd=Path(__file__).resolve().parents[2])
    assert r.returncode == 0, r.stderr[-2000:]
    return float(r.stdout.strip().splitlines()[-1])


def test_one_hour_file_memory_is_bounded(tmp_path, tiny_model_path, record):
    long = tmp_path / "hour" / "hour.wav"
    long.parent.mkdir()
    with sf.SoundFile(str(long), "w", 8000, 1, "PCM_16") as f:
        for i in range(60):
            f.write(synth("low", 60.0, 8000, seed=i))
    short = write_audio(tmp_path / "short" / "short.wav", "low", 30, sr=8000)
    code = textwrap.dedent("""
        import resource
        from genrerec import load_model
        from genrerec.engine.index import index_library
        s = index_library({lib!r}, {db!r}, load_model({m!r}), workers=0, show_progress=False)
        assert s.total_ok == 1, s
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    """)
    rss = {}
    for name, f in (("30 s", short), ("1 hour", long)):
        rss[name] = _peak_rss_mb(code.format(lib=str(f.parent), db=str(tmp_path / f"db-{f.stem}"),
                                             m=str(tiny_model_path)))
    # decoding the hour whole would take 230 MB at 16 kHz float32; windows keep it near the 30 s cost
    assert rss["1 hour"] - rss["30 s"] < 60, rss
    record("one-hour file (8 kHz WAV, 57 MB)",
           f"indexed from 16 sampled windows; peak RSS {rss['1 hour']:.0f} MB vs {rss['30 s']:.0f} MB for a 30 s file")
