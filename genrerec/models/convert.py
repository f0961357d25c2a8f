"""Step 2 of scripts/convert_musicnn.sh: the TF variables of the `musicnn` wheel's
MSD/MTT graphs (.npz) into genrerec checkpoints, with their provenance and licence."""

from __future__ import annotations

import numpy as np

from ..audio.features import FeatureConfig
from .checkpoint import Checkpoint, save_checkpoint
from .musicnn import MSD_TAGS, MTT_TAGS, MusiCNN, tf_to_torch
from .registry import ModelDims


def convert(npz_path: str, out_path: str, model_name: str = "MSD_musicnn", source: str = "") -> None:
    """Step 2 of scripts/convert_musicnn.sh: TF variables (.npz) -> a genrerec checkpoint
    with the tag head and no genre head yet (`genrerec train --model musicnn` adds one)."""
    feats = FeatureConfig.musicnn()
    dims = ModelDims("musicnn", 0, feats.n_mels, feats.window_frames)
    model = MusiCNN(0)
    with np.load(npz_path) as z:
        state = tf_to_torch(dict(z), model)
    model.load_state_dict(state)
    tags = MSD_TAGS if model_name.startswith("MSD") else MTT_TAGS
    provenance = {"pretrained": model_name, "source": source or "musicnn 0.1.0 wheel (PyPI)",
                  "licence": "ISC, Copyright (c) Music Technology Group, Universitat Pompeu Fabra 2019",
                  "converted_by": "scripts/convert_musicnn.sh"}
    save_checkpoint(Checkpoint(dims, [], feats, model.state_dict(), {}, provenance, tags=list(tags)), out_path)

