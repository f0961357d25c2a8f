"""The MusiCNN port reproduces the authors' TensorFlow graph.

tests/data/MSD_musicnn-reference.npz was written by scripts/convert_musicnn.sh:
librosa log-mels of two synthetic signals and what the TF graph (the musicnn
wheel's own models.py with its MSD checkpoint) computed for them. No TensorFlow
is needed here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from genrerec.audio.features import FeatureConfig, log_mel_spectrogram
from genrerec.models.checkpoint import load_checkpoint
from genrerec.models.inference import pretrained_model_path
from genrerec.models.musicnn import MSD_TAGS, MusiCNN, backbone_parameters

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "data" / "MSD_musicnn-reference.npz"
sys.path.insert(0, str(ROOT / "scripts"))
from musicnn_tf_export import synth  # noqa: E402  (the signal the reference was computed from)


@pytest.fixture(scope="module")
def msd() -> MusiCNN:
    return load_checkpoint(pretrained_model_path("msd")).build()


@pytest.fixture(scope="module")
def ref():
    with np.load(REF) as z:
        return {k: z[k] for k in z.files}


def test_port_reproduces_tf_penultimate_and_tags(msd, ref):
    x = torch.from_numpy(ref["input"]).transpose(1, 2)  # reference is [B, frames, mels]
    with torch.no_grad():
        e = msd.embed(x)
        tags = torch.sigmoid(msd.tags(e))
    np.testing.assert_allclose(e.numpy(), ref["penultimate"], atol=1e-4)
    np.testing.assert_allclose(tags.numpy(), ref["tags"], atol=1e-4)


def test_features_match_librosa_front_end(ref):
    cfg = FeatureConfig.musicnn()
    assert cfg.window_frames == 187  # the 3 s patches MusiCNN was trained on
    for i in range(2):
        ours = log_mel_spectrogram(synth(i), cfg).T.numpy()[:187]
        np.testing.assert_allclose(ours, ref["input"][i], atol=1e-3)


def test_pretrained_checkpoint_carries_tags_and_provenance():
    ck = load_checkpoint(pretrained_model_path("msd"))
    assert ck.tags == MSD_TAGS and ck.genres == []
    assert "ISC" in ck.train_config["licence"] and ck.features.scale == "log10p"
    assert sum(v.numel() for k, v in ck.state_dict.items() if "num_batches" not in k) == 792_079


def test_embedding_is_length_agnostic_and_batch_independent(msd):
    x = torch.rand(3, 96, 250) * 4
    with torch.no_grad():
        whole = msd.embed(x)
        single = msd.embed(x[1:2])
    assert whole.shape == (3, 200)
    np.testing.assert_allclose(whole[1:2].numpy(), single.numpy(), atol=1e-5)


def test_finetuning_modes_name_what_they_train():
    m = MusiCNN(4)
    assert backbone_parameters(m, "head") == []
    backend = backbone_parameters(m, "backend")
    assert backend and all(n.split(".")[0] in {"pool_bn", "dense", "dense_bn"} for n in backend)
    full = backbone_parameters(m, "full")
    assert set(backend) < set(full) and not any(n.startswith(("head.", "tag_head.")) for n in full)
    with pytest.raises(ValueError, match="fine-tuning mode"):
        backbone_parameters(m, "everything")


def test_v1_model_id_unchanged_by_new_feature_field():
    """Catalogs indexed with v1 must not be re-embedded just because FeatureConfig grew a field."""
    assert "scale" not in FeatureConfig().to_dict()
    assert FeatureConfig.musicnn().to_dict()["scale"] == "log10p"


# --- fine-tuning and tags through the whole pipeline --------------------------------------------

def _genre_tree(root: Path) -> Path:
    from tests.conftest import write_audio

    for kind in ("low", "high", "mid"):
        for i in range(4):
            write_audio(root / kind / f"{kind}.{i:05d}.wav", kind, seconds=4.0, seed=i)
    return root


@pytest.mark.parametrize("mode", ["head", "backend", "full"])
def test_finetune_trains_only_what_the_mode_says(tmp_path, mode):
    from genrerec.training.config import TrainConfig
    from genrerec.training.train import train

    data = _genre_tree(tmp_path / "data")
    cfg = TrainConfig(model="musicnn", finetune=mode, epochs=2, crops_per_clip=2, batch_size=8, warmup_epochs=1,
                      patience=50, seed=0)
    s = train(data, tmp_path / "run", cfg, cache_dir=tmp_path / "c", show_progress=False)
    ck = load_checkpoint(s["checkpoint"])
    assert ck.genres == ["high", "low", "mid"] and ck.tags == MSD_TAGS
    assert ck.train_config["finetune"] == mode and "ISC" in ck.train_config["init"]["licence"]
    start = load_checkpoint(pretrained_model_path("msd")).state_dict
    changed = {k for k, v in ck.state_dict.items()
               if k in start and not k.startswith("head.") and not k.endswith("num_batches_tracked")
               and not torch.equal(v, start[k])}
    assert not any(k.startswith("tag_head.") for k in changed)  # the pretrained tags are kept
    assert changed.issubset(set(backbone_parameters(MusiCNN(3), mode)) | {
        k.replace("weight", w) for k in backbone_parameters(MusiCNN(3), mode) for w in ("running_mean", "running_var")})
    if mode == "head":
        assert not changed  # the pretrained embedding is untouched
    else:
        assert changed


@pytest.fixture(scope="module")
def tagged_model_path(tmp_path_factory) -> Path:
    """The MSD backbone with a (random, seeded) head for three synthetic genres."""
    from genrerec.models.checkpoint import Checkpoint, save_checkpoint
    from genrerec.models.registry import ModelDims

    start = load_checkpoint(pretrained_model_path("msd"))
    torch.manual_seed(0)
    net = MusiCNN(3)
    net.load_state_dict({**net.state_dict(), **{k: v for k, v in start.state_dict.items() if not k.startswith("head.")}})
    p = tmp_path_factory.mktemp("musicnn") / "tagged.pt"
    save_checkpoint(Checkpoint(ModelDims("musicnn", 3, 96, 187), ["high", "low", "mid"], start.features,
                               net.state_dict(), tags=start.tags), p)
    return p


def test_index_stores_tag_scores_and_recommendations_carry_them(library, tagged_model_path):
    from genrerec import Recommender, load_model
    from genrerec.engine.index import index_library

    model = load_model(tagged_model_path)
    index_library(library, model=model, workers=0, show_progress=False)
    rec = Recommender.open(library)
    assert rec.tag_names == MSD_TAGS and rec.tag_vectors.shape == (12, 50)
    assert ((rec.tag_vectors >= 0) & (rec.tag_vectors <= 1)).all()
    picks = rec.recommend([library / "low" / "low0.wav"], n=3, temperature=0.0, seed=0)
    assert picks and all(len(r.tags) == 5 and set(r.tags) <= set(MSD_TAGS) for r in picks)
    assert list(rec.profile_tags([library / "low" / "low0.wav"], k=3)) == list(rec.tag_dict(rec.row_of[
        rec.resolve(library / "low" / "low0.wav")], k=3))


def test_classify_shows_genres_and_tags(tmp_path, tagged_model_path):
    import json

    from typer.testing import CliRunner

    from genrerec.cli.common import app
    from tests.conftest import write_audio

    f = write_audio(tmp_path / "a.wav", "low", seconds=4)
    r = CliRunner().invoke(app, ["classify", str(f), "--model", str(tagged_model_path), "--json", "--tags", "3"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)[str(f)]
    assert set(got["genres"]) == {"high", "low", "mid"} and len(got["tags"]) == 3


def test_backbone_without_genre_head_is_refused_with_advice():
    from genrerec import load_model
    from genrerec.models.checkpoint import CheckpointError

    with pytest.raises(CheckpointError, match="genrerec train --model musicnn"):
        load_model(pretrained_model_path("msd"))


def test_inference_pools_over_frequency_first_with_the_same_numbers():
    from genrerec.models.musicnn import _FreqPooledConv

    torch.manual_seed(0)
    block = _FreqPooledConv(12, (7, 38), (3, 3))
    with torch.no_grad():  # statistics as after training, and some negative scales
        block.bn.weight.copy_(torch.randn(12))
        block.bn.bias.copy_(torch.randn(12))
        block.bn.running_mean.copy_(torch.randn(12))
        block.bn.running_var.copy_(torch.rand(12) + 0.1)
    assert (block.bn.weight < 0).any() and (block.bn.weight > 0).any()
    x = torch.randn(4, 1, 50, 96)
    block.eval()
    with torch.no_grad():
        fast = block(x)
        block.training = True  # the full path: ReLU + batch norm over every frequency, then the max
        block.bn.training = False  # ... with the same fixed statistics
        slow = block(x)
    assert fast.shape == slow.shape == (4, 12, 50)
    assert torch.equal(fast, slow)
