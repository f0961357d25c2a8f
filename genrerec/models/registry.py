"""The model kinds by name, and how to build one from its recorded dimensions.

Each maps [batch, n_mels, frames] log-mels to logits and exposes `embed()`, the
penultimate layer used for similarity search; MusiCNN also has `tags()`, the 50
style/mood tags it was pretrained on."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from torch import nn

from .cnn import CompactCNN
from .musicnn import MusiCNN
from .resnet import ResNet18
from .seed_cnn import SeedCNN

MODEL_KINDS = {"seed-cnn": SeedCNN, "cnn": CompactCNN, "resnet18": ResNet18, "musicnn": MusiCNN}


@dataclass(frozen=True)
class ModelDims:
    """Everything needed to rebuild a model's architecture."""

    kind: str
    n_classes: int
    n_mels: int
    n_frames: int

    def to_dict(self) -> dict:
        return asdict(self)


def build_model(dims: ModelDims, **kwargs) -> nn.Module:
    if dims.kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {dims.kind!r}; choose one of {', '.join(MODEL_KINDS)}")
    return MODEL_KINDS[dims.kind](dims.n_classes, dims.n_mels, dims.n_frames, **kwargs)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["MODEL_KINDS", "ModelDims", "build_model", "count_parameters", "SeedCNN", "CompactCNN", "ResNet18", "MusiCNN"]
