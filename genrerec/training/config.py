"""Every setting of a training run in one dataclass, recorded in its checkpoint."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class TrainConfig:
    model: str = "cnn"
    epochs: int = 80
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_epochs: int = 3
    crops_per_clip: int = 8  # random 3 s crops drawn from each training clip per epoch
    mixup_alpha: float = 0.4  # 0 disables mixing of examples
    freq_masks: int = 2
    freq_mask_width: int = 12
    time_masks: int = 2
    time_mask_width: int = 20
    gain_db: float = 6.0
    freq_shift: int = 0  # random shift of the mel axis by up to this many bins (rough pitch/EQ change); off:
    time_stretch: float = 0.0  # crops resampled in time by a factor in [1-x, 1+x]; off: neither helped in
    # 2-fold CV (docs/benchmarks/ablations.md)
    label_smoothing: float = 0.05
    patience: int = 25  # epochs without val improvement before stopping
    eval_hop_s: float = 1.5
    seed: int = 0
    threads: int = 0  # torch threads; 0 = torch default
    imagenet_weights: str = ""  # resnet18 only: local torchvision weights file
    # musicnn only: what to train besides the genre head ("head": nothing, the pretrained embedding stays
    # as it is; "backend": the dense back end; "full": everything, at backbone_lr_scale * lr)
    finetune: str = "head"
    backbone_lr_scale: float = 0.1
    init: str = "msd"  # musicnn only: "msd", "mtt" (shipped pretrained backbones) or a checkpoint path
    cached_hop_s: float = 0.5  # head/backend: frozen features of windows every this many seconds

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
