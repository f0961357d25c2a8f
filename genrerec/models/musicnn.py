"""MusiCNN (Pons & Serra, 2019) in PyTorch, with the weights pretrained on the
Million Song Dataset (or MagnaTagATune) converted from the `musicnn` wheel.

A faithful port of the TF1 graph in musicnn/models.py: the converted weights
reproduce the TF penultimate layer and tags to 1e-4 (tests/models/test_musicnn.py
against a committed reference). Two details matter for that: TF's batch norm
epsilon is 1e-3 and sits after the ReLU, and TF's flatten of the [max, mean]
pools interleaves them ([max0, mean0, max1, mean1, ...]).

Copyright (c) Music Technology Group, Universitat Pompeu Fabra 2019 (ISC licence,
see genrerec/assets/LICENSE-musicnn.txt) for the architecture and weights.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from .musicnn_tags import MSD_TAGS, MTT_TAGS  # noqa: F401 (re-exported)

TF_BN_EPS = 1e-3


def _bn1d(c: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(c, eps=TF_BN_EPS, momentum=0.01)  # TF momentum 0.99 == torch 0.01


def _bn2d(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=TF_BN_EPS, momentum=0.01)


class _FreqPooledConv(nn.Module):
    """conv2d -> ReLU -> batch norm -> max over the frequency axis: [B,1,T,F] -> [B,C,T]."""

    def __init__(self, filters: int, kernel: tuple[int, int], time_pad: tuple[int, int]):
        super().__init__()
        self.time_pad = time_pad
        self.conv = nn.Conv2d(1, filters, kernel)
        self.bn = _bn2d(filters)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(F.pad(x, (0, 0, *self.time_pad)))  # pad time only (F.pad pads the last dim first)
        bn = self.bn
        if self.training or bn.running_var is None:
            return bn(torch.relu(y)).amax(dim=3)
        # Inference: ReLU and the batch norm (a per-channel affine map with fixed statistics) are monotone,
        # so the max over frequency can come first: the max of the conv output where the scale is positive,
        # the min where it is negative. The same numbers from a tensor 30-96x smaller (most of the front
        # end's time went to ReLU + batch norm over [B, C, T, F]).
        scale = bn.running_var.add(bn.eps).rsqrt() * (bn.weight if bn.weight is not None else 1.0)
        lo, hi = torch.aminmax(y, dim=3)
        y = torch.where((scale >= 0)[None, :, None], hi, lo)
        return bn(torch.relu(y).unsqueeze(3)).squeeze(3)


def _same(k: int) -> tuple[int, int]:
    """TF 'same' padding for an odd or even kernel: the extra frame goes after."""
    return (k - 1) // 2, k - 1 - (k - 1) // 2


class MusiCNN(nn.Module):
    """MusiCNN with its 50-tag head and a genre head on the 200-d penultimate layer.

    Input: [batch, n_mels=96, frames] of log10(1 + 10000 * mel) (FeatureConfig
    scale "log10p"), any number of frames (trained on 187 = 3 s).
    """

    def __init__(self, n_classes: int, n_mels: int = 96, n_frames: int = 187, n_tags: int = 50,
                 num_filt: float = 1.6, midend: int = 64, backend: int = 200, dropout: float = 0.5):
        super().__init__()
        if n_mels != 96:
            raise ValueError("MusiCNN's front end is built for 96 mel bands")
        self.bn_in = _bn2d(1)
        timbral = int(num_filt * 128)
        temporal = int(num_filt * 32)
        self.timbral = nn.ModuleList(
            [_FreqPooledConv(timbral, (7, int(r * n_mels)), (3, 3)) for r in (0.4, 0.7)])
        self.temporal = nn.ModuleList([_FreqPooledConv(temporal, (k, 1), _same(k)) for k in (128, 64, 32)])
        front = 2 * timbral + 3 * temporal
        self.mid = nn.ModuleList([nn.Conv1d(front if i == 0 else midend, midend, 7, padding=3) for i in range(3)])
        self.mid_bn = nn.ModuleList([_bn1d(midend) for _ in range(3)])
        dense_in = 2 * (front + 3 * midend)
        self.pool_bn = _bn1d(dense_in)
        self.dense = nn.Linear(dense_in, backend)
        self.dense_bn = _bn1d(backend)
        self.dropout = nn.Dropout(dropout)
        self.tag_head = nn.Linear(backend, n_tags)
        with warnings.catch_warnings():  # a pretrained backbone has no genres yet: an empty head
            warnings.filterwarnings("ignore", "Initializing zero-element tensors")
            self.head = nn.Linear(backend, n_classes)
        self.embed_dim = backend

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The 200-d penultimate layer (after its batch norm) for [B, 96, T] inputs."""
        return self.backend(self.pooled(x))

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """Front and mid end, pooled over time: [B, 1506]. Frozen when fine-tuning only the back end."""
        x = self.bn_in(x.transpose(1, 2).unsqueeze(1))  # [B,1,T,F]
        h = torch.cat([b(x) for b in (*self.timbral, *self.temporal)], dim=1)  # [B,561,T]
        feats = [h]
        for i, (conv, bn) in enumerate(zip(self.mid, self.mid_bn)):
            y = bn(torch.relu(conv(feats[-1])))
            feats.append(y if i == 0 else y + feats[-1])
        h = torch.cat(feats, dim=1)  # [B,753,T]
        return torch.stack([h.amax(dim=2), h.mean(dim=2)], dim=2).flatten(1)  # TF order: max0, mean0, ...

    def backend(self, pooled: torch.Tensor) -> torch.Tensor:
        """Batch norm, dense 200 + ReLU, batch norm: the penultimate embedding."""
        return self.dense_bn(torch.relu(self.dense(self.dropout(self.pool_bn(pooled)))))

    def tags(self, e: torch.Tensor) -> torch.Tensor:
        """Tag logits (sigmoid gives the pretrained model's tag probabilities)."""
        return self.tag_head(self.dropout(e))

    def classify(self, e: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(e))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))


def tf_to_torch(tf_vars: dict[str, "object"], model: MusiCNN) -> dict[str, torch.Tensor]:
    """Map the TF checkpoint's variables (name -> numpy array) onto `model`'s state dict.

    TF names layers in creation order (conv2d, conv2d_1, ..., batch_normalization_N,
    dense, dense_1), so the mapping follows models.py's build order.
    """
    import numpy as np

    def t(a) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).float()

    out: dict[str, torch.Tensor] = {}
    bn_names = [f"batch_normalization{'' if i == 0 else '_' + str(i)}" for i in range(10)]
    conv_names = [f"conv2d{'' if i == 0 else '_' + str(i)}" for i in range(8)]
    bn_targets = ["bn_in", "timbral.0.bn", "timbral.1.bn", "temporal.0.bn", "temporal.1.bn", "temporal.2.bn",
                  "mid_bn.0", "mid_bn.1", "mid_bn.2", "pool_bn"]
    for src, dst in zip(bn_names, bn_targets):
        out[f"{dst}.weight"] = t(tf_vars[f"{src}/gamma"])
        out[f"{dst}.bias"] = t(tf_vars[f"{src}/beta"])
        out[f"{dst}.running_mean"] = t(tf_vars[f"{src}/moving_mean"])
        out[f"{dst}.running_var"] = t(tf_vars[f"{src}/moving_variance"])
    conv_targets = ["timbral.0.conv", "timbral.1.conv", "temporal.0.conv", "temporal.1.conv", "temporal.2.conv",
                    "mid.0", "mid.1", "mid.2"]
    for i, (src, dst) in enumerate(zip(conv_names, conv_targets)):
        k = tf_vars[f"{src}/kernel"]  # (time, freq, in, out)
        w = np.transpose(k, (3, 2, 0, 1))  # (out, in, time, freq)
        if dst.startswith("mid."):  # 1-D over time: the TF 'freq' axis spans all input channels
            w = np.transpose(k[:, :, 0, :], (2, 1, 0))  # (out, in=freq, time)
        out[f"{dst}.weight"] = t(w)
        out[f"{dst}.bias"] = t(tf_vars[f"{src}/bias"])
    out["dense_bn.weight"] = t(tf_vars["batch_normalization_10/gamma"])
    out["dense_bn.bias"] = t(tf_vars["batch_normalization_10/beta"])
    out["dense_bn.running_mean"] = t(tf_vars["batch_normalization_10/moving_mean"])
    out["dense_bn.running_var"] = t(tf_vars["batch_normalization_10/moving_variance"])
    out["dense.weight"] = t(tf_vars["dense/kernel"].T)
    out["dense.bias"] = t(tf_vars["dense/bias"])
    out["tag_head.weight"] = t(tf_vars["dense_1/kernel"].T)
    out["tag_head.bias"] = t(tf_vars["dense_1/bias"])
    state = model.state_dict()
    for k in state:
        if k not in out:
            out[k] = state[k]  # genre head (trained later) and num_batches_tracked
    return out


def backbone_parameters(model: MusiCNN, part: str) -> list[str]:
    """Names of the parameters that a fine-tuning mode trains besides the genre head:
    "head" none, "backend" the dense back end, "full" everything (the tag head is never trained)."""
    names = [n for n, _ in model.named_parameters() if not n.startswith(("head.", "tag_head."))]
    if part == "head":
        return []
    if part == "backend":
        return [n for n in names if n.startswith(("pool_bn.", "dense.", "dense_bn."))]
    if part == "full":
        return names
    raise ValueError(f"unknown fine-tuning mode {part!r}; choose head, backend or full")
