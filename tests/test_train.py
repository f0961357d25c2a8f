"""A tiny training run on synthetic 'genres' learns far above chance, and resumes."""

import json

import numpy as np
import torch

from genrerec.checkpoint import load_checkpoint
from genrerec.evaluate import evaluate
from genrerec.train import TrainConfig, train
from tests.conftest import write_audio


def _dataset(root):
    for kind in ("low", "high", "mid"):
        for i in range(6):
            write_audio(root / kind / f"{kind}.{i:05d}.wav", kind, seconds=4.0, seed=i)
    return root


def test_tiny_run_learns_and_resumes(tmp_path):
    data = _dataset(tmp_path / "data")
    cfg = TrainConfig(model="cnn", epochs=6, crops_per_clip=4, batch_size=16, lr=3e-3, warmup_epochs=1,
                      mixup_alpha=0.0, patience=50, seed=0)
    out = tmp_path / "run"
    s = train(data, out, TrainConfig(**{**cfg.__dict__, "epochs": 3}), cache_dir=tmp_path / "c", show_progress=False)
    assert s["epochs_run"] == 3
    s = train(data, out, cfg, cache_dir=tmp_path / "c", show_progress=False)  # resumes at epoch 3
    hist = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2, 3, 4, 5, 6]
    split = json.loads((out / "split.json").read_text())["clips"]
    assert set(split.values()) == {"train", "val", "test"}
    ck = load_checkpoint(out / "best.pt")
    assert ck.genres == ["high", "low", "mid"] and ck.train_config["model"] == "cnn"
    rep = evaluate(out / "best.pt", data, out / "split.json", "test", out / "eval", cache_dir=tmp_path / "c",
                   show_progress=False)
    assert rep["n_clips"] == 3
    assert rep["clip_accuracy"] > 1 / 3  # chance is 1/3
    assert (out / "eval" / "confusion.png").stat().st_size > 1000
    # the three kinds must be told apart on *all* clips, not just the 3 test ones
    all_rep = evaluate(out / "best.pt", data, cache_dir=tmp_path / "c", show_progress=False)
    assert all_rep["clip_accuracy"] >= 0.8


def test_changed_settings_refuse_to_mix_runs(tmp_path):
    data = _dataset(tmp_path / "data")
    cfg = TrainConfig(epochs=1, crops_per_clip=1, seed=0)
    train(data, tmp_path / "run", cfg, cache_dir=tmp_path / "c", show_progress=False)
    import pytest

    from genrerec.data import DataError

    with pytest.raises(DataError, match="different settings"):
        train(data, tmp_path / "run", TrainConfig(epochs=1, crops_per_clip=1, seed=1), cache_dir=tmp_path / "c",
              show_progress=False)
