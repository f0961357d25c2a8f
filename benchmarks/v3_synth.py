#!/usr/bin/env python
"""Synthetic out-of-domain clips for the "uncertain" checks of v3_genres.py: sine drones, pink and
white noise, and espeak-ng speech (where espeak-ng is installed), 30 s each at 16 kHz, written
to --out (outside the repository). v3_features.py --sets synth then caches their features."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000
SPEECH = ("The committee will meet on Tuesday to review the budget for the coming year. Members are asked to read "
          "the report in advance and to send their questions to the secretary before the meeting begins. "
          "After the review we will discuss the schedule, the new office and the training plan for next spring.")


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f power) noise by shaping white noise's spectrum."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    spec[1:] /= np.sqrt(f[1:])
    spec[0] = 0
    return np.fft.irfft(spec, n)


def clips(seed: int = 0) -> dict[str, np.ndarray]:
    """{name: 30 s mono float signal in [-0.5, 0.5]}."""
    rng = np.random.default_rng(seed)
    t = np.arange(30 * SR) / SR
    out = {
        "sine-drone-110hz": np.sin(2 * np.pi * 110 * t) * (0.8 + 0.2 * np.sin(2 * np.pi * 0.1 * t)),
        "sine-drone-440hz": np.sin(2 * np.pi * 440 * t),
        "sine-chord-a-minor": sum(np.sin(2 * np.pi * f * t) for f in (220.0, 261.63, 329.63)),
        "pink-noise": pink(len(t), rng),
        "white-noise": rng.standard_normal(len(t)),
        "pink-noise-pulsed": pink(len(t), rng) * (np.sin(2 * np.pi * 2 * t) > 0),
    }
    return {k: 0.5 * v / np.abs(v).max() for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("/work/cache/v3/synth"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, x in clips().items():
        sf.write(args.out / f"{name}.wav", x.astype(np.float32), SR)
    if shutil.which("espeak-ng"):
        for voice in ("en", "en-us+f3", "de"):
            wav = args.out / f"speech-{voice.replace('+', '-')}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), SPEECH * 2], check=True)
    print(sorted(p.name for p in args.out.glob("*.wav")))


if __name__ == "__main__":
    main()
