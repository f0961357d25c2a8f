"""Put this folder on PYTHONPATH and set TORCH_ATTEMPTS=FILE: every Python process started so
(workers and Ray processes included) refuses to import torch, torchaudio and torchvision, and
writes each attempt ("PID module") to FILE. Used by the torch-free checks: tests/cli/test_torch_free.py,
tests/engine/test_ray_torch_free.py and .ci/torch_free.py (inside the light install)."""

import os
import sys

BLOCKED = ("torch", "torchaudio", "torchvision")


class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED and os.environ.get("TORCH_ATTEMPTS"):
            with open(os.environ["TORCH_ATTEMPTS"], "a") as f:
                f.write(f"{os.getpid()} {name}\n")
            raise ImportError(f"torch-free path imported {name}")
        return None


sys.meta_path.insert(0, NoTorch())
