"""Clip-level evaluation: per-genre precision/recall/F1 and a confusion matrix."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..models.checkpoint import load_checkpoint
from ..utils import atomic_path, atomic_write_json
from .data import SpecCache, load_specs, load_split, scan_genre_tree
from .train import clip_probabilities


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, genres: list[str]) -> dict:
    """Accuracy, macro-F1, per-genre P/R/F1 and the confusion matrix (rows = truth)."""
    k = len(genres)
    cm = np.zeros((k, k), dtype=int)
    for t, p in zip(y_true, y_pred):
        cm[t, p] += 1
    per = {}
    for i, g in enumerate(genres):
        tp = cm[i, i]
        prec = tp / cm[:, i].sum() if cm[:, i].sum() else 0.0
        rec = tp / cm[i].sum() if cm[i].sum() else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[g] = {"precision": float(prec), "recall": float(rec), "f1": float(f1), "support": int(cm[i].sum())}
    present = [g for g in genres if per[g]["support"] > 0]
    return {
        "clip_accuracy": float((y_true == y_pred).mean()) if len(y_true) else float("nan"),
        "macro_f1": float(np.mean([per[g]["f1"] for g in present])) if present else float("nan"),
        "n_clips": int(len(y_true)), "per_genre": per, "confusion": cm.tolist(), "genres": genres,
    }


def plot_confusion(report: dict, path: str | os.PathLike, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.array(report["confusion"])
    genres = report["genres"]
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(genres)), genres, rotation=45, ha="right")
    ax.set_yticks(range(len(genres)), genres)
    for i in range(len(genres)):
        for j in range(len(genres)):
            if cm[i, j]:
                ax.text(j, i, cm[i, j], ha="center", va="center", color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or f"clip accuracy {report['clip_accuracy']:.2f} (n={report['n_clips']})")
    fig.tight_layout()
    with atomic_path(path, ".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def evaluate(checkpoint: str | os.PathLike, data_dir: str | os.PathLike, split_path: str | os.PathLike | None = None,
             subset: str = "test", out_dir: str | os.PathLike | None = None, hop_s: float = 1.5,
             cache_dir: str | os.PathLike | None = None, show_progress: bool = True) -> dict:
    """Evaluate a checkpoint on the `subset` clips of a split (all clips if no split)."""
    ckpt = load_checkpoint(checkpoint)
    model = ckpt.build()
    clips = scan_genre_tree(data_dir)
    if split_path:
        split = load_split(split_path, clips)
        clips = [c for c in clips if split.get(c.key) == subset]
    unknown = sorted({c.genre for c in clips} - set(ckpt.genres))
    if unknown:
        raise ValueError(f"genres {unknown} in {data_dir} are not among the model's labels {ckpt.genres}")
    specs, kept = load_specs(clips, SpecCache(ckpt.features, cache_dir), show_progress)
    hop = int(round(hop_s * ckpt.features.sample_rate / ckpt.features.hop_length))
    probs = clip_probabilities(model, specs, ckpt.features.window_frames, hop)
    y_true = np.array([ckpt.genres.index(c.genre) for c in kept])
    report = classification_report(y_true, probs.argmax(1), ckpt.genres)
    report["checkpoint"] = str(checkpoint)
    report["subset"] = subset if split_path else "all"
    report["predictions"] = {c.key: ckpt.genres[int(p)] for c, p in zip(kept, probs.argmax(1))}
    if out_dir:
        out = Path(out_dir)
        atomic_write_json(out / "evaluation.json", report)
        plot_confusion(report, out / "confusion.png")
    return report
