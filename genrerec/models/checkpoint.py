"""Versioned model checkpoints: weights plus everything needed to use them
(model kind and dimensions, genre labels, feature settings, metrics)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..audio.features import FeatureConfig
from ..utils import atomic_path

if TYPE_CHECKING:  # torch and the model classes only where a checkpoint is read or built (train install)
    import torch

    from .registry import ModelDims

FORMAT = "genrerec-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(Exception):
    """A file is not a usable genrerec checkpoint; the message says why."""


@dataclass
class Checkpoint:
    dims: ModelDims
    genres: list[str]
    features: FeatureConfig
    state_dict: dict
    metrics: dict = field(default_factory=dict)
    train_config: dict = field(default_factory=dict)
    version: str = ""
    tags: list[str] = field(default_factory=list)  # labels of the model's tag head (MusiCNN), if any

    def build(self) -> "torch.nn.Module":
        from .registry import build_model

        model = build_model(self.dims)
        try:
            model.load_state_dict(self.state_dict)
        except RuntimeError as e:
            raise CheckpointError(f"weights do not fit a {self.dims.kind} model: {str(e).splitlines()[0]}") from None
        return model.eval()

    def model_id(self) -> str:
        """Stable id of these weights + settings: the catalog re-embeds when it changes."""
        h = hashlib.sha1()
        h.update(repr((self.dims.to_dict(), self.genres, self.features.to_dict())).encode())
        if self.tags:  # added with MusiCNN; absent from v1 ids
            h.update(repr(self.tags).encode())
        for k in sorted(self.state_dict):
            h.update(k.encode())
            h.update(self.state_dict[k].detach().cpu().numpy().tobytes())
        return f"{self.dims.kind}-{h.hexdigest()[:12]}"


def save_checkpoint(ckpt: Checkpoint, path: str | os.PathLike) -> None:
    import torch

    from ..version import __version__

    payload = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "genrerec_version": __version__,
        "dims": ckpt.dims.to_dict(), "genres": list(ckpt.genres), "features": ckpt.features.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in ckpt.state_dict.items()},
        "metrics": ckpt.metrics, "train_config": ckpt.train_config, "tags": list(ckpt.tags),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | os.PathLike, expect_features: FeatureConfig | None = None) -> Checkpoint:
    """Read and validate a checkpoint; raises CheckpointError with the reason."""
    import torch

    from .registry import MODEL_KINDS, ModelDims

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:2] != b"PK" and magic[:1] != b"\x80":  # torch files are zip archives (or old pickles)
        raise CheckpointError(f"{path}: not a genrerec checkpoint (not a PyTorch file at all)")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds on foreign or damaged files
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{path}: not a genrerec checkpoint (unreadable: {msg[:200]})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a genrerec checkpoint (no '{FORMAT}' header; "
                              "a plain state_dict or another program's file?)")
    if raw.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format v{raw['format_version']} is newer than this "
                              f"genrerec reads (v{FORMAT_VERSION}); upgrade genrerec")
    try:
        dims = ModelDims(**raw["dims"])
        feats = FeatureConfig.from_dict(raw["features"])
        genres = [str(g) for g in raw["genres"]]
        tags = [str(t) for t in raw.get("tags", [])]
        state = raw["state_dict"]
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: checkpoint is missing or has bad fields ({e})") from None
    if dims.kind not in MODEL_KINDS:
        raise CheckpointError(f"{path}: unknown model kind {dims.kind!r}")
    if len(genres) != dims.n_classes:
        raise CheckpointError(f"{path}: {len(genres)} genre labels for a {dims.n_classes}-class model")
    if expect_features is not None and feats != expect_features:
        diff = {k: (v, getattr(expect_features, k)) for k, v in feats.to_dict().items()
                if getattr(expect_features, k) != v}
        raise CheckpointError(f"{path}: feature settings differ from the expected ones: "
                              + ", ".join(f"{k}={a} (expected {b})" for k, (a, b) in diff.items()))
    return Checkpoint(dims, genres, feats, state, raw.get("metrics", {}), raw.get("train_config", {}),
                      raw.get("genrerec_version", ""), tags)
