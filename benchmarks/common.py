"""Shared bits of the benchmark scripts: environment report, split files, Markdown tables."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "gtzan"
DOCS = ROOT / "docs" / "benchmarks"
SPLITS = ROOT / "benchmarks" / "splits"


def environment() -> dict:
    import numpy as np
    import torch

    try:
        import faiss

        faiss_v = faiss.__version__
    except Exception:
        faiss_v = None
    cpu = platform.processor() or ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import genrerec

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "faiss": faiss_v, "genrerec": genrerec.__version__, "cpu": cpu, "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "gpu": torch.cuda.is_available(), "platform": platform.platform()}


def saved_split(data: Path, method: str = "blocks", seed: int = 0) -> Path:
    """The split every benchmark reuses; created once, then read from benchmarks/splits/."""
    from genrerec.training.data import make_split, save_split, scan_genre_tree

    path = SPLITS / f"gtzan_{method}_seed{seed}.json"
    if not path.exists():
        save_split(make_split(scan_genre_tree(data), method, seed=seed), path, method=method, seed=seed,
                   note="val 0.15 / test 0.15 per genre; 'blocks' keeps neighbouring clip numbers together")
    return path


def md_table(rows: list[dict], cols: list[tuple[str, str]]) -> str:
    head = "| " + " | ".join(h for _, h in cols) + " |"
    sep = "|" + "|".join("---" for _ in cols) + "|"
    body = ["| " + " | ".join(str(r.get(k, "")) for k, _ in cols) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def env_md(env: dict) -> str:
    return (f"Hardware: {env['cpu']} ({env['cores']} cores, torch threads {env['torch_threads']}, "
            f"GPU: {'yes' if env['gpu'] else 'no'}). Software: Python {env['python']}, torch {env['torch']}, "
            f"numpy {env['numpy']}, faiss {env['faiss']}, genrerec {env['genrerec']}.")


MODEL_EPOCHS = {"resnet18": 30, "seed-cnn": 30}  # the big models converge in fewer epochs, at 3-4x the cost


def fold_models(data: Path, runs: Path, folds: int = 2, model: str = "cnn", epochs: int = 60,
                tag: str = "", **overrides):
    """k-fold block CV models: [(fold split {clip key: part}, checkpoint path)], trained (or resumed) as needed.
    Fold i holds out the i-th contiguous block of clip numbers of every genre. `overrides` change
    TrainConfig fields; give such variants a `tag` so their runs get folders of their own."""
    from genrerec.training.config import TrainConfig
    from genrerec.training.data import block_folds, save_split, scan_genre_tree
    from genrerec.training.train import train

    out = []
    for fi, fold in enumerate(block_folds(scan_genre_tree(data), folds)):
        fpath = runs / f"fold{fi}.json"
        save_split(fold, fpath, method=f"block-cv{folds}", fold=fi)
        run = runs / f"{model}{'-' + tag if tag else ''}-fold{fi}"
        cfg = TrainConfig(model=model, epochs=min(epochs, MODEL_EPOCHS.get(model, epochs)), **overrides)
        train(data, run, cfg, fpath)
        out.append((fold, run / "best.pt"))
    return out


def cv_parser(description: str):
    """Arguments shared by the scripts that use the k-fold block CV models."""
    import argparse

    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder-per-genre GTZAN tree")
    ap.add_argument("--out", type=Path, default=DOCS)
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "retrieval", help="where fold models are kept")
    ap.add_argument("--folds", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--quick", action="store_true",
                    help="2-epoch fold models, results under OUT/quick: checks the script end to end")
    return ap


def parse_cv_args(ap):
    """Parse a cv_parser's arguments; --quick swaps in 2-epoch models kept apart from the full runs."""
    args = ap.parse_args()
    if args.quick:
        args.epochs, args.runs, args.out = 2, args.runs.parent / "retrieval-quick", args.out / "quick"
    return args
