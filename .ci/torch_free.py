#!/usr/bin/env python
"""CI's light-install check: index a synthetic library, re-index it, recommend, find
similar tracks and classify with the genrerec CLI in the light venv (no torch), while
every process (the CLI and its forked indexing workers) refuses torch, torchaudio and
torchvision and writes down each attempt, so even an attempt that is caught and survived
fails the check. Needs only the light install (numpy, soundfile): run it with that venv's
python. Exit 0 and one line on success; one line per problem and exit 1 otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

BLOCKER_DIR = Path(__file__).resolve().parents[1] / "tests" / "no_torch"  # its sitecustomize refuses torch


def write_track(path: Path, seed: int, seconds: float = 7.0, sr: int = 22050) -> None:
    """A few seconds of tones and noise bursts: enough for the model, nothing downloaded."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * rng.uniform(80, 1200) * t) * (0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.3, 3) * t))
    x += 0.05 * rng.standard_normal(t.size) * (np.sin(2 * np.pi * rng.uniform(2, 8) * t) > 0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x.astype(np.float32), sr)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_p = Path(tmp)
        lib, db, site, attempts = tmp_p / "music", tmp_p / "db", BLOCKER_DIR, tmp_p / "attempts.txt"
        for i in range(6):
            write_track(lib / f"album{i % 2}" / f"t{i}.wav", seed=i)
        env = {**os.environ, "TORCH_ATTEMPTS": str(attempts), "COLUMNS": "100",
               "PYTHONPATH": os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])}
        env.pop("GENREREC_RUNTIME", None)
        first = str(lib / "album0" / "t0.wav")
        steps = [["index", str(lib), "--db", str(db), "--workers", "2"],
                 ["index", str(lib), "--db", str(db)],
                 ["recommend", first, "--db", str(db), "-n", "3", "-o", str(tmp_p / "mix.m3u8")],
                 ["similar", first, "--db", str(db), "-n", "3"],
                 ["classify", first, "--json"]]
        problems = []
        probe = subprocess.run([sys.executable, "-c", "import sys; assert any(type(f).__name__ == 'NoTorch' "
                                "for f in sys.meta_path)"], env=env, capture_output=True, text=True)
        if probe.returncode != 0:
            problems.append(f"the torch blocker ({BLOCKER_DIR}/sitecustomize.py) did not load")
        for args in steps:
            p = subprocess.run([sys.executable, "-m", "genrerec", *args], env=env, capture_output=True, text=True,
                               timeout=600)
            if p.returncode != 0:
                last = (p.stderr.strip() or p.stdout.strip() or "no output").splitlines()[-1]
                problems.append(f"`genrerec {args[0]}` exited {p.returncode}: {last}")
        if attempts.exists():
            problems.append("torch was imported: " + "; ".join(sorted(set(attempts.read_text().split("\n")) - {""})))
        if not problems and not (tmp_p / "mix.m3u8").exists():
            problems.append("recommend wrote no playlist")
    for line in problems:
        print(f"torch-free check: {line}", file=sys.stderr)
    if not problems:
        print("torch-free check: index, re-index, recommend, similar and classify ran without importing torch")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
