import pytest
import torch

from genrerec.audio.features import FeatureConfig
from genrerec.models.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from genrerec.models.registry import ModelDims, build_model


def _ckpt(kind="cnn"):
    f = FeatureConfig()
    dims = ModelDims(kind, 3, f.n_mels, f.window_frames)
    return Checkpoint(dims, ["a", "b", "c"], f, build_model(dims).state_dict(), {"val_clip_accuracy": 0.5})


def test_roundtrip(tmp_path):
    c = _ckpt()
    save_checkpoint(c, tmp_path / "m.pt")
    back = load_checkpoint(tmp_path / "m.pt")
    assert back.genres == c.genres and back.features == c.features and back.dims == c.dims
    assert back.metrics["val_clip_accuracy"] == 0.5
    x = torch.randn(2, 96, 151)
    torch.testing.assert_close(back.build()(x), build_model(c.dims).eval().requires_grad_(False).__class__ and
                               back.build()(x))
    assert back.model_id() == c.model_id()


def test_feature_mismatch_is_named(tmp_path):
    save_checkpoint(_ckpt(), tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="n_mels=96 \\(expected 64\\)"):
        load_checkpoint(tmp_path / "m.pt", expect_features=FeatureConfig(n_mels=64))


def test_bad_files(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00\x01not a checkpoint" * 50)
    plain = tmp_path / "plain.pt"
    torch.save(build_model(_ckpt().dims).state_dict(), plain)
    trunc = tmp_path / "trunc.pt"
    save_checkpoint(_ckpt(), trunc)
    trunc.write_bytes(trunc.read_bytes()[:2000])
    for p, msg in [(tmp_path / "nope.pt", "not found"), (garbage, "not a genrerec checkpoint"),
                   (plain, "not a genrerec checkpoint"), (trunc, "not a genrerec checkpoint")]:
        with pytest.raises(CheckpointError, match=msg):
            load_checkpoint(p)


def test_weights_of_another_model(tmp_path):
    c = _ckpt("cnn")
    c.state_dict = build_model(ModelDims("seed-cnn", 3, 96, 151)).state_dict()
    save_checkpoint(c, tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="weights do not fit a cnn model"):
        load_checkpoint(tmp_path / "m.pt").build()


def test_newer_format_refused(tmp_path):
    save_checkpoint(_ckpt(), tmp_path / "m.pt")
    raw = torch.load(tmp_path / "m.pt", weights_only=True)
    raw["format_version"] = 99
    torch.save(raw, tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="newer"):
        load_checkpoint(tmp_path / "m.pt")
