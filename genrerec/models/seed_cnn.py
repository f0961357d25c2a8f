"""The original project's CNN, kept exactly as a baseline."""

from __future__ import annotations

import torch
from torch import nn


class SeedCNN(nn.Module):
    """Four 3x3 conv blocks 1->64->128->256->512, max-pools 2,2,4,4, dropout 0.5,
    fc1 -> 1024 -> 256 -> n_classes. fc1's input size follows from the input
    shape (77,824 in the original project; 1,024 for our 96x151 windows)."""

    def __init__(self, n_classes: int, n_mels: int, n_frames: int):
        super().__init__()
        chans, pools = [1, 64, 128, 256, 512], [2, 2, 4, 4]
        layers: list[nn.Module] = []
        for cin, cout, p in zip(chans[:-1], chans[1:], pools):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(p)]
        self.features = nn.Sequential(*layers)
        with torch.no_grad():
            flat = self.features(torch.zeros(1, 1, n_mels, n_frames)).numel()
        self.fc1_in = flat
        self.dropout = nn.Dropout(0.5)
        self.fc1 = nn.Linear(flat, 1024)
        self.fc2 = nn.Linear(1024, 256)
        self.fc3 = nn.Linear(256, n_classes)
        self.embed_dim = 256

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x.unsqueeze(1)).flatten(1)
        h = torch.relu(self.fc1(self.dropout(h)))
        return torch.relu(self.fc2(self.dropout(h)))

    def classify(self, e: torch.Tensor) -> torch.Tensor:
        return self.fc3(self.dropout(e))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))
