"""The same recording twice (an .ogg and its .flac copy): found at index time, kept once."""

import json

import numpy as np
import soundfile as sf
from typer.testing import CliRunner

from genrerec.cli.common import app
from genrerec.engine.index import index_library
from genrerec.library.duplicates import TrackInfo, find_duplicates
from genrerec.recommend.recommender import Recommender
from tests.conftest import write_audio, write_tagged

runner = CliRunner()


def copy_as(src, dst, fmt, subtype=None):
    """Re-encode a file in another format, as a second rip of a CD would be."""
    x, sr = sf.read(str(src))
    sf.write(str(dst), x, sr, format=fmt, subtype=subtype)
    return dst


def test_a_reencoded_copy_is_one_recording_everywhere(library, tiny_model):
    copy_as(library / "low" / "low1.wav", library / "low" / "low1 (copy).ogg", "OGG", "VORBIS")
    copy_as(library / "high" / "high2.wav", library / "high2.flac", "FLAC")
    index_library(library, model=tiny_model, workers=0, show_progress=False)
    with Recommender.open(library) as rec:
        groups = [sorted(rec.label(i) for i in g) for g in rec.duplicates]
        assert groups == [["high/high2.wav", "high2.flac"], ["low/low1 (copy).ogg", "low/low1.wav"]]
        low1 = rec.resolve(library / "low" / "low1.wav")
        copy = rec.resolve(library / "low" / "low1 (copy).ogg")
        near = [r.track_id for r in rec.similar(low1, n=20)]
        assert copy not in near and len(near) == 11  # 14 files, 12 recordings, minus low1's own
        picks = [r.track_id for r in rec.recommend([low1], n=20, temperature=0)]
        assert copy not in picks and len(picks) == 11
    r = runner.invoke(app, ["stats", "--library", str(library), "--duplicates"])
    assert r.exit_code == 0 and "2 duplicated recordings" in r.stdout
    assert "same recording: low/low1 (copy).ogg  =  low/low1.wav" in r.stdout.replace("\n", " ") or \
        "same recording: low/low1.wav  =  low/low1 (copy).ogg" in r.stdout.replace("\n", " ")


def test_same_artist_title_and_length_in_tags_is_a_duplicate(tmp_path, tiny_model):
    root = tmp_path / "m"
    write_tagged(root / "cd1" / "01.flac", "Nina Simone", "Sinnerman", "low", seconds=8.0, seed=1)
    write_tagged(root / "best of" / "07.flac", "Nina Simone", "Sinnerman - Remastered 2006", "mid",
                 seconds=8.5, seed=2)  # different master, different audio: found only by tags
    write_tagged(root / "live" / "03.flac", "Nina Simone", "Sinnerman", "low", seconds=12.0, seed=3)  # not the same
    write_audio(root / "other.wav", "high", seconds=8.0)
    index_library(root, model=tiny_model, workers=0, show_progress=False)
    r = runner.invoke(app, ["stats", str(root), "--json"])
    assert json.loads(r.stdout)["duplicates"] == [["cd1/01.flac", "best of/07.flac"]] or \
        json.loads(r.stdout)["duplicates"] == [["best of/07.flac", "cd1/01.flac"]]


def test_signatures_separate_distinct_tracks_of_equal_length():
    rng = np.random.default_rng(0)
    sigs = {i: rng.standard_normal((16, 56)).astype(np.float16) for i in range(50)}
    sigs[50] = (sigs[3].astype(np.float32) + 2.0 + 0.005 * rng.standard_normal((16, 56))).astype(np.float16)
    info = {i: TrackInfo(duration=30.0) for i in sigs}  # louder copy of 3 with codec noise
    assert find_duplicates(info, sigs) == [[3, 50]]


def test_max_per_artist_spreads_the_playlist(tmp_path, tiny_model):
    root = tmp_path / "m"
    for i in range(6):
        write_tagged(root / f"a{i}.flac", "Prolific", f"Song {i}", "low", seconds=6 + i, seed=i)
        write_tagged(root / f"b{i}.flac", f"Other {i}", f"Tune {i}", "mid", seconds=6 + i, seed=20 + i)
    index_library(root, model=tiny_model, workers=0, show_progress=False)
    with Recommender.open(root) as rec:
        seed = rec.resolve(root / "a0.flac")
        capped = rec.recommend([seed], n=6, temperature=0, max_per_artist=2)
        assert sum(rec.info[r.track_id].artist == "Prolific" for r in capped) == 2
        assert len(rec.recommend([seed], n=11, temperature=0, max_per_artist=2)) == 11  # cap gives way, no gaps
