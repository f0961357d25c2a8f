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
    from genrerec.data import make_split, save_split, scan_genre_tree

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
