"""torchvision's ResNet18 with a one-channel stem.

ImageNet initialisation is optional and only from a local weights file (or
torchvision's cache when online): nothing downloads at run time here.
"""

from __future__ import annotations

import os

import torch
from torch import nn


class ResNet18(nn.Module):
    def __init__(self, n_classes: int, n_mels: int, n_frames: int, imagenet_weights: str | os.PathLike | None = None):
        super().__init__()
        from torchvision.models import resnet18

        net = resnet18(weights=None)
        if imagenet_weights:
            state = torch.load(imagenet_weights, map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        # one input channel: sum the RGB filters so ImageNet weights still apply
        conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        with torch.no_grad():
            conv1.weight.copy_(net.conv1.weight.sum(dim=1, keepdim=True))
        net.conv1 = conv1
        net.fc = nn.Identity()
        self.bn0 = nn.BatchNorm2d(n_mels)
        self.net = net
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(512, n_classes)
        self.embed_dim = 512

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn0(x.unsqueeze(1).transpose(1, 2)).transpose(1, 2)
        return self.net(x)

    def classify(self, e: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(e))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))
