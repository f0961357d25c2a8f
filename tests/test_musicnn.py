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

from genrerec.checkpoint import load_checkpoint
from genrerec.embed import pretrained_model_path
from genrerec.features import FeatureConfig, log_mel_spectrogram
from genrerec.models.musicnn import MSD_TAGS, MusiCNN, backbone_parameters

ROOT = Path(__file__).resolve().parents[1]
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
