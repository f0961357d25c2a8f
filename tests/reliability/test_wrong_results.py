"""Wrong results (issue 12, items 5-7, 13, 14): deleted files never empty a
playlist, a long-lived Recommender follows re-indexing, a model switch never
shows half a library, a moved library keeps working, odd audio is named for
what it is."""

import os
import shutil

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from genrerec.audio.decode import AudioError, read_windows
from genrerec.cli.common import app
from genrerec.engine.index import index_library
from genrerec.recommend.recommender import Recommender
from tests.conftest import synth, write_audio

runner = CliRunner()


@pytest.fixture
def indexed(library, tiny_model):
    index_library(library, model=tiny_model, workers=0, show_progress=False)
    return library


def test_deleted_files_never_shrink_the_playlist(indexed, record):
    with Recommender.open(indexed) as rec:
        first = rec.similar(indexed / "low" / "low0.wav", n=3)
        for r in first:  # the nearest tracks vanish without a re-index
            r.path.unlink()
        again = rec.similar(indexed / "low" / "low0.wav", n=3)
        assert len(again) == 3 and all(r.path.exists() for r in again)
        recs = rec.recommend([indexed / "low" / "low0.wav"], n=5, temperature=0)
        assert len(recs) == 5 and all(r.path.exists() for r in recs)
    record("the 3 nearest tracks deleted, no re-index, then `similar -n 3` / `recommend -t 0 -n 5`",
           "pool widened: full playlists of live tracks")


def test_no_live_track_is_an_error_not_an_empty_playlist(indexed, tmp_path, record):
    keep = indexed / "low" / "low0.wav"
    for p in indexed.rglob("*.wav"):
        if p != keep:
            p.unlink()
    out = tmp_path / "p.m3u8"
    r = runner.invoke(app, ["recommend", "-H", str(keep), "-t", "0", "-o", str(out)])
    assert r.exit_code == 2 and "run `genrerec index`" in r.output and not out.exists(), r.output
    r = runner.invoke(app, ["similar", str(keep)])
    assert r.exit_code == 2 and "run `genrerec index`" in r.output, r.output
    record("every track but the history deleted, no re-index", "exit 2: " + r.output.strip().split(": ", 1)[1][:90])


def test_recommender_follows_a_reindex(indexed, tiny_model, record):
    rec = Recommender.open(indexed)
    try:
        os.rename(indexed / "low" / "low1.wav", indexed / "low" / "moved.wav")
        write_audio(indexed / "new" / "fresh.wav", "high", seconds=6, seed=9)
        index_library(indexed, model=tiny_model, workers=0, show_progress=False)  # a re-index meanwhile
        assert len(rec.similar(indexed / "new" / "fresh.wav", n=4)) == 4
        assert rec.recommend([indexed / "low" / "moved.wav"], n=3, temperature=0)
    finally:
        rec.close()
    record("Recommender opened, then another re-index adds and moves tracks", "notices the new generation, reloads")


def test_moved_library_works_from_its_new_place(indexed, tmp_path, record):
    new = tmp_path / "elsewhere"
    shutil.move(indexed, new)
    r = runner.invoke(app, ["recommend", "-H", str(new / "low" / "low0.wav"), "-n", "3", "--json"])
    assert r.exit_code == 0, r.output
    assert str(new) in r.output and str(indexed) not in r.output
    record("`mv old new`, then `recommend -H new/...`", "works from the new location")


def _write(path, data, sr, subtype="FLOAT"):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, sr, subtype=subtype)
    return path


AUDIO_CASES = {
    "all-NaN samples": (lambda: np.full(16000 * 6, np.nan, np.float32), 16000, "NaN"),
    "stereo channels that cancel": (lambda: np.stack([synth("low", 6), -synth("low", 6)], 1), 16000, "cancel"),
    "amplitudes of 1e30": (lambda: synth("low", 6) * np.float32(1e30), 16000, "outside [-1, 1]"),
    "header claiming 1 Hz": (lambda: synth("low", 6)[:20000], 1, "implausible sample rate"),
    "header claiming 1 MHz": (lambda: synth("low", 6), 1_000_000, "implausible sample rate"),
}


@pytest.mark.parametrize("case", AUDIO_CASES)
def test_odd_audio_is_named_for_what_it_is(tmp_path, case, record):
    make, sr, reason = AUDIO_CASES[case]
    p = _write(tmp_path / "x.wav", make(), sr)
    with pytest.raises(AudioError, match=reason.replace("[", r"\[").replace("]", r"\]")) as ei:
        read_windows(p, 3.0)
    record(case, f"skipped: {ei.value.reason}")


def _other_model(tmp_path):
    import torch

    from genrerec import load_model
    from genrerec.audio.features import FeatureConfig
    from genrerec.models.checkpoint import Checkpoint, save_checkpoint
    from genrerec.models.registry import ModelDims, build_model

    torch.manual_seed(1)
    feats = FeatureConfig()
    dims = ModelDims("cnn", 3, feats.n_mels, feats.window_frames)
    save_checkpoint(Checkpoint(dims, ["high", "low", "mid"], feats, build_model(dims).state_dict()), tmp_path / "b.pt")
    return load_model(tmp_path / "b.pt")


def test_model_switch_never_shows_a_partial_library(indexed, tiny_model, tmp_path, record):
    other = _other_model(tmp_path)
    assert other.model_id != tiny_model.model_id
    seen = []

    def crash_after_first_batch(done):
        with Recommender.open(indexed) as rec:  # a reader in the middle of the switch
            seen.append((rec.model_id, len(rec)))
        raise RuntimeError("killed")  # what a kill leaves: committed batches only

    with pytest.raises(RuntimeError, match="killed"):
        index_library(indexed, model=other, workers=0, batch_tracks=4, show_progress=False,
                      on_batch=crash_after_first_batch)
    with Recommender.open(indexed) as rec:
        after_kill = (rec.model_id, len(rec))
    assert seen == [(tiny_model.model_id, 12)] and after_kill == (tiny_model.model_id, 12)
    s = index_library(indexed, model=other, workers=0, batch_tracks=4, show_progress=False)
    assert s.indexed == 8 and s.total_ok == 12  # the 4 embedded before the kill are kept
    with Recommender.open(indexed) as rec:
        assert (rec.model_id, len(rec)) == (other.model_id, 12)
    record("`index --model other.pt`: a reader mid-run, after a kill, and after the rerun",
           "old model's 12/12 tracks until the new model covers all 12, then all 12 with the new one")
