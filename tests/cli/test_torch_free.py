"""The light install's path: `genrerec index`, `recommend`, `similar`, `mix`, `clusters` and `classify`
never import torch.

Each command runs in a fresh interpreter whose import system refuses torch, torchaudio and
torchvision and writes down every attempt: an attempt anywhere (even one caught and
survived) fails the test, so the path works in a venv without torch (CI's light job runs
the same commands in one: Makefile `test-lite`)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import write_audio

pytest.importorskip("onnxruntime")
REPO = Path(__file__).resolve().parents[2]
GUARD = textwrap.dedent("""
    import sys
    BLOCKED = ("torch", "torchaudio", "torchvision")  # refused by tests/no_torch/sitecustomize.py
    assert any(type(f).__name__ == "NoTorch" for f in sys.meta_path), "the torch blocker did not load"
    for m in BLOCKED:
        assert m not in sys.modules
    sys.argv = ["genrerec"] + sys.argv[1:]
    from genrerec.cli import app
    app()
""")


def _genrerec(args: list[str], attempts: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests" / "no_torch"), str(REPO)]),
           "TORCH_ATTEMPTS": str(attempts), "COLUMNS": "100"}
    env.pop("GENREREC_RUNTIME", None)
    return subprocess.run([sys.executable, "-c", GUARD, *args], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_index_recommend_similar_classify_never_import_torch(tmp_path):
    lib = tmp_path / "music"
    for i, kind in enumerate(["low", "high", "mid", "low", "high", "mid"]):
        write_audio(lib / f"{kind}{i}.wav", kind, seconds=7.0, seed=i, sr=(16000, 44100)[i % 2])  # resampled too
    db, attempts = tmp_path / "db", tmp_path / "attempts.txt"
    runs = [
        ["index", str(lib), "--db", str(db), "--workers", "2"],  # the model in worker processes
        ["index", str(lib), "--db", str(db)],  # no-op re-index
        ["recommend", str(lib / "low0.wav"), "--db", str(db), "-n", "3", "-o", str(tmp_path / "mix.m3u8")],
        ["similar", str(lib / "high1.wav"), "--db", str(db), "-n", "3"],
        ["mix", "--tag", "rock", "--db", str(db), "-n", "3"],
        ["clusters", "-k", "2", "--db", str(db), "-o", str(tmp_path / "clusters")],
        ["classify", str(lib / "mid2.wav"), "--json"],
    ]
    for args in runs:
        p = _genrerec(args, attempts)
        assert p.returncode == 0, (args, p.stdout[-2000:], p.stderr[-3000:])
    assert not attempts.exists(), attempts.read_text()
    assert "6 indexed" in _first_index_output(tmp_path, lib, attempts)
    assert len((tmp_path / "mix.m3u8").read_text().strip().splitlines()) >= 3


def _first_index_output(tmp_path: Path, lib: Path, attempts: Path) -> str:
    p = _genrerec(["index", str(lib), "--db", str(tmp_path / "db2"), "--workers", "0"], attempts)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout + p.stderr


def test_the_guard_catches_an_import_of_torch(tmp_path):
    """The guard itself: a command that needs torch (training) fails there, and the attempt is written down."""
    attempts = tmp_path / "attempts.txt"
    p = _genrerec(["classify", str(write_audio(tmp_path / "a.wav", "low", 4.0)), "--model", "v1"], attempts)
    assert p.returncode != 0
    assert "torch" in attempts.read_text()
    assert "genrerec[train]" in p.stdout + p.stderr  # and it says what to install
