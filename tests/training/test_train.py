"""A tiny training run on synthetic 'genres' learns far above chance, and resumes."""

import json

import torch

from genrerec.models.checkpoint import load_checkpoint
from genrerec.training.config import TrainConfig
from genrerec.training.evaluate import evaluate
from genrerec.training.train import train
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

    from genrerec.training.data import DataError

    with pytest.raises(DataError, match="different settings"):
        train(data, tmp_path / "run", TrainConfig(epochs=1, crops_per_clip=1, seed=1), cache_dir=tmp_path / "c",
              show_progress=False)


def test_runs_saved_before_a_setting_existed_still_resume(tmp_path):
    data = _dataset(tmp_path / "data")
    cfg = TrainConfig(epochs=1, crops_per_clip=1, seed=0)
    train(data, tmp_path / "run", cfg, cache_dir=tmp_path / "c", show_progress=False)
    conf = json.loads((tmp_path / "run" / "config.json").read_text())
    del conf["train"]["freq_shift"], conf["train"]["time_stretch"]  # as written by genrerec 0.1.0
    (tmp_path / "run" / "config.json").write_text(json.dumps(conf))
    s = train(data, tmp_path / "run", TrainConfig(epochs=2, crops_per_clip=1, seed=0), cache_dir=tmp_path / "c",
              show_progress=False)
    assert s["epochs_run"] == 2


def test_pitch_and_tempo_augmentations_keep_shapes_and_move_content():
    from genrerec.training.train import augment, random_crops

    gen = torch.Generator().manual_seed(0)
    ramp = torch.arange(96.0)[None, :, None].expand(8, 96, 150).clone()  # each mel bin holds its index
    plain = TrainConfig(gain_db=0.0, freq_masks=0, time_masks=0)
    assert torch.equal(augment(ramp, plain, gen, 15.0), ramp)
    shifted = augment(ramp, TrainConfig(gain_db=0.0, freq_masks=0, time_masks=0, freq_shift=4), gen, 15.0)
    offsets = (ramp - shifted)[:, 48, 0]  # middle bin: moved by the example's shift, at most 4
    assert shifted.shape == ramp.shape and offsets.abs().max() <= 4 and len(set(offsets.tolist())) > 1
    spec = torch.linspace(0, 1, 600)[None].expand(96, 600)  # a rising line in time
    x, y = random_crops([spec], [3], 150, 6, gen, stretch=0.2)
    assert x.shape == (6, 96, 150) and y.tolist() == [3] * 6
    slopes = (x[:, 0, -1] - x[:, 0, 0]).tolist()  # a stretched crop spans more or less of the line
    assert max(slopes) / min(slopes) > 1.05
    assert all(0.8 * 149 / 599 - 1e-3 <= s <= 1.2 * 149 / 599 + 1e-2 for s in slopes)
