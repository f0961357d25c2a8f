"""A compact CNN that generalises better than the seed on little data:
batch norm, small channel counts, global pooling instead of a huge fc layer."""

from __future__ import annotations

import torch
from torch import nn


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True), nn.MaxPool2d(2),
    )


class CompactCNN(nn.Module):
    def __init__(self, n_classes: int, n_mels: int, n_frames: int, width: int = 32, embed_dim: int = 128,
                 dropout: float = 0.3):
        super().__init__()
        w = width
        self.bn0 = nn.BatchNorm2d(n_mels)  # per-mel-band input normalisation
        chans = [1, w, 2 * w, 4 * w, 4 * w, 8 * w]  # five conv blocks, each halving time and frequency
        self.features = nn.Sequential(*[_block(a, b) for a, b in zip(chans[:-1], chans[1:])])
        self.proj = nn.Linear(16 * w, embed_dim)  # from [mean-pool ; max-pool]
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(embed_dim, n_classes)
        self.embed_dim = embed_dim

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn0(x.unsqueeze(1).transpose(1, 2)).transpose(1, 2)  # [B,1,M,T]
        h = self.features(x).mean(dim=2)  # average over frequency -> [B,C,T]
        h = torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=1)
        return torch.relu(self.proj(self.dropout(h)))

    def classify(self, e: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(e))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))
