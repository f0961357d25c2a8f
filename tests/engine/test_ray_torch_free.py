"""The Ray engine's indexing path never imports torch, in the driver or in the Ray workers.

Every process (driver and Ray worker alike) starts with a sitecustomize whose import system
refuses torch, torchaudio and torchvision and writes down each attempt (the approach of
tests/cli/test_torch_free.py, carried to the workers through PYTHONPATH, which Ray's local
workers inherit). The shipped v2 model runs on ONNX Runtime in every actor."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import write_audio

pytest.importorskip("ray")
pytest.importorskip("onnxruntime")
REPO = Path(__file__).resolve().parents[2]
BLOCKER_DIR = REPO / "tests" / "no_torch"  # its sitecustomize refuses torch in every process
DRIVER = textwrap.dedent("""
    import sys
    assert any(type(f).__name__ == "NoTorch" for f in sys.meta_path), "the torch blocker did not load"
    from genrerec import index_library, load_model
    from genrerec.engine.ray import RayEngine
    model = load_model()
    assert model.runtime_name == "onnx", model.runtime_name
    s = index_library(sys.argv[1], sys.argv[2], model, batch_tracks=2, show_progress=False,
                      engine=RayEngine(workers=2))
    print("indexed", s.indexed, "failed", len(s.failed))
""")


def test_ray_engine_indexes_without_importing_torch(tmp_path):
    lib = tmp_path / "music"
    for i in range(4):
        write_audio(lib / f"t{i}.wav", ("low", "high")[i % 2], 4.0, seed=i)
    site, attempts = BLOCKER_DIR, tmp_path / "attempts.txt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]), "TORCH_ATTEMPTS": str(attempts)}
    env.pop("GENREREC_RUNTIME", None)
    env.pop("RAY_ADDRESS", None)
    p = subprocess.run([sys.executable, "-c", DRIVER, str(lib), str(tmp_path / "db")], env=env, cwd=REPO,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, (p.stdout[-2000:], p.stderr[-3000:])
    assert "indexed 4 failed 0" in p.stdout
    assert not attempts.exists(), attempts.read_text()
