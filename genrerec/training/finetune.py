"""Fine-tuning a pretrained MusiCNN: where the training loop starts from, which
parameters it trains, and frozen-feature caching.

With the backbone frozen ("head") or only its dense back end trained
("backend"), the expensive convolutional part gives the same output every epoch,
so it runs once per window and is cached on disk; each epoch then samples
windows of those features. This makes a fine-tuning run on a CPU take seconds
instead of an hour. The price: spectrogram augmentation (SpecAugment, gain,
stretch) cannot apply; mixup and window sampling still do.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..audio.features import FeatureConfig, frame_windows
from ..models.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from ..utils import read_npy, write_npy

if TYPE_CHECKING:
    from .config import TrainConfig


def musicnn_start(cfg: "TrainConfig") -> Checkpoint:
    """The pretrained checkpoint a musicnn run starts from ("msd", "mtt" or a path)."""
    from ..models.inference import pretrained_model_path

    path = pretrained_model_path(cfg.init) if cfg.init in ("msd", "mtt") else Path(cfg.init)
    ck = load_checkpoint(path)
    if ck.dims.kind != "musicnn":
        raise CheckpointError(f"{path}: --init must be a MusiCNN checkpoint, this one is a {ck.dims.kind}")
    return ck


def trainable_groups(model: torch.nn.Module, cfg: "TrainConfig") -> list[dict]:
    """AdamW parameter groups: the genre head at lr, the fine-tuned backbone part at
    backbone_lr_scale * lr; everything else frozen (requires_grad False)."""
    if cfg.model != "musicnn":
        return [{"params": list(model.parameters()), "base_lr": cfg.lr, "lr": cfg.lr}]
    from ..models.musicnn import backbone_parameters

    tuned = set(backbone_parameters(model, cfg.finetune))
    head, backbone = [], []
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith("head.") or name in tuned)
        (head if name.startswith("head.") else backbone if name in tuned else []).append(p)
    lr_b = cfg.lr * cfg.backbone_lr_scale
    groups = [{"params": head, "base_lr": cfg.lr, "lr": cfg.lr}]
    if backbone:
        groups.append({"params": backbone, "base_lr": lr_b, "lr": lr_b})
    return groups


class FrozenFeatures:
    """Cached outputs of a MusiCNN's frozen part for every window of every clip."""

    def __init__(self, model: torch.nn.Module, part: str, features: FeatureConfig, hop_frames: int,
                 cache_dir: Path, init_id: str):
        self.model, self.part, self.features, self.hop = model, part, features, hop_frames
        key = hashlib.sha1(f"{init_id}|{part}|{features.key()}|{hop_frames}".encode()).hexdigest()[:12]
        self.dir = cache_dir / "frozen" / key

    @classmethod
    def for_config(cls, model, cfg: "TrainConfig", features: FeatureConfig, cache_dir, init: Checkpoint | None):
        if init is None or cfg.finetune == "full":
            return None
        from ..utils import default_cache_dir

        hop = max(1, int(round(cfg.cached_hop_s * features.sample_rate / features.hop_length)))
        return cls(model, cfg.finetune, features, hop, Path(cache_dir or default_cache_dir()), init.model_id())

    @torch.no_grad()
    def _compute(self, spec: torch.Tensor) -> torch.Tensor:
        self.model.eval()
        wins = frame_windows(spec, self.features.window_frames, self.hop)
        f = self.model.pooled if self.part == "backend" else self.model.embed
        return torch.cat([f(wins[i:i + 32]) for i in range(0, len(wins), 32)])

    def windows(self, specs: list[torch.Tensor], show_progress: bool = False) -> list[torch.Tensor]:
        """[k, D] frozen features per clip, from the disk cache where present."""
        from ..utils import progress

        out = []
        with progress(disable=not show_progress, transient=True) as bar:
            task = bar.add_task(f"frozen {self.part} features", total=len(specs), info="")
            for spec in specs:
                digest = hashlib.sha1(spec.numpy().astype(np.float16).tobytes()).hexdigest()
                f = self.dir / digest[:2] / f"{digest}.npy"
                cached = read_npy(f)
                if cached is None:  # missing or damaged: compute
                    feats = self._compute(spec)
                    write_npy(f, feats.numpy())
                else:
                    feats = torch.from_numpy(cached)
                out.append(feats)
                bar.advance(task)
        return out

    def sample(self, feats: list[torch.Tensor], labels: list[int], per_clip: int,
               gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """per_clip random windows' features from each clip."""
        xs, ys = [], []
        for f, y in zip(feats, labels):
            idx = torch.randint(0, len(f), (per_clip,), generator=gen)
            xs.append(f[idx])
            ys += [y] * per_clip
        return torch.cat(xs), torch.tensor(ys)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Genre logits from frozen features (the trainable rest of the network)."""
        e = self.model.backend(x) if self.part == "backend" else x
        return self.model.classify(e)

    @torch.no_grad()
    def clip_probabilities(self, feats: list[torch.Tensor]) -> np.ndarray:
        self.model.eval()
        return np.stack([self.forward(f).softmax(-1).mean(0).numpy() for f in feats]) if feats else np.zeros((0, 0))
