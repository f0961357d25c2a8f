#!/usr/bin/env python
"""Genre accuracy on GTZAN: seed CNN, compact CNN, ResNet18 and a classic
MFCC baseline, trained and tested on the same saved split.

Writes docs/benchmarks/accuracy.{json,md} and confusion-matrix PNGs. Runs are
kept under --runs and resumed, so an interrupted benchmark continues. On the
2-core CPU the full run takes about 1.5 hours (`--quick`: 2 epochs, minutes).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from common import DEFAULT_DATA, DOCS, ROOT, env_md, environment, fold_models, md_table, saved_split

from genrerec.training.config import TrainConfig
from genrerec.training.data import genres_of, load_split, scan_genre_tree
from genrerec.training.evaluate import classification_report, evaluate, plot_confusion
from genrerec.training.train import train
from genrerec.utils import atomic_write_json, atomic_write_text


def run_model(model: str, data: Path, split: Path, run_dir: Path, epochs: int, out: Path, tag: str) -> dict:
    summary = train(data, run_dir, TrainConfig(model=model, epochs=epochs), split, show_progress=True)
    rep = evaluate(run_dir / "best.pt", data, split, "test", show_progress=False)
    plot_confusion(rep, out / f"confusion_{tag}.png", f"{tag}: clip accuracy {rep['clip_accuracy']:.2f} "
                                                       f"(n={rep['n_clips']})")
    return {"model": model, "split": split.stem, "clip_accuracy": round(rep["clip_accuracy"], 3),
            "macro_f1": round(rep["macro_f1"], 3), "test_clips": rep["n_clips"],
            "epochs": f"{summary['epochs_run']} (best {summary['best_epoch']})",
            "params": f"{summary['parameters'] / 1e6:.2f} M", "train_minutes": round(summary["seconds"] / 60, 1),
            "confusion": f"confusion_{tag}.png", "per_genre": rep["per_genre"]}


def run_baseline(data: Path, split_path: Path, out: Path, tag: str, kind: str = "svm") -> dict:
    from baseline import fit_predict, handcrafted_features

    clips = scan_genre_tree(data)
    split = load_split(split_path, clips)
    genres = genres_of(clips)
    t0 = time.time()
    X = {c.key: handcrafted_features(c.path) for c in clips if c.key in split}
    tr = [c for c in clips if split.get(c.key) in ("train", "val")]
    te = [c for c in clips if split.get(c.key) == "test"]
    pred, _ = fit_predict(np.stack([X[c.key] for c in tr]), [genres.index(c.genre) for c in tr],
                          np.stack([X[c.key] for c in te]), kind)
    rep = classification_report(np.array([genres.index(c.genre) for c in te]), np.asarray(pred), genres)
    plot_confusion(rep, out / f"confusion_{tag}.png", f"{tag}: clip accuracy {rep['clip_accuracy']:.2f}")
    return {"model": f"mfcc+spectral {kind}", "split": split_path.stem, "clip_accuracy": round(rep["clip_accuracy"], 3),
            "macro_f1": round(rep["macro_f1"], 3), "test_clips": rep["n_clips"], "epochs": "-",
            "params": "-", "train_minutes": round((time.time() - t0) / 60, 1), "confusion": f"confusion_{tag}.png",
            "per_genre": rep["per_genre"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder-per-genre GTZAN tree")
    ap.add_argument("--out", type=Path, default=DOCS)
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "bench")
    ap.add_argument("--models", default="cnn,resnet18,seed-cnn")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--model-epochs", default="resnet18=30,seed-cnn=30",
                    help="per-model epoch budgets overriding --epochs (the big models converge in fewer epochs "
                         "and cost 3-4x more per epoch on the CPU)")
    ap.add_argument("--random-split-models", default="cnn", help="models also run on a random split (leaky)")
    ap.add_argument("--cv", type=int, default=0, help="also k-fold block cross-validation of the cnn (0 = off)")
    ap.add_argument("--quick", action="store_true", help="2 epochs, to check the script end to end")
    args = ap.parse_args()
    if args.quick:
        args.epochs, args.runs = 2, args.runs.parent / "bench-quick"
        args.out = args.out / "quick"
    args.out.mkdir(parents=True, exist_ok=True)
    env = environment()
    print(env_md(env))
    blocks = saved_split(args.data, "blocks")
    random = saved_split(args.data, "random")
    rows = [run_baseline(args.data, blocks, args.out, "baseline_blocks")]
    budget = {k: int(v) for k, v in (x.split("=") for x in args.model_epochs.split(",") if x)}
    if args.quick:
        budget = {}
    for m in [m for m in args.models.split(",") if m]:
        rows.append(run_model(m, args.data, blocks, args.runs / "blocks" / m, budget.get(m, args.epochs), args.out,
                              f"{m}_blocks"))
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "per_genre"}))
    rows.append(run_baseline(args.data, random, args.out, "baseline_random"))
    for m in [m for m in args.random_split_models.split(",") if m]:
        rows.append(run_model(m, args.data, random, args.runs / "random" / m, budget.get(m, args.epochs), args.out,
                              f"{m}_random"))
    cv_rows = []
    if args.cv:
        clips = scan_genre_tree(args.data)
        genres = genres_of(clips)
        y_true, y_pred = [], []
        for i, (_, ckpt) in enumerate(fold_models(args.data, args.runs / f"cv{args.cv}", args.cv, "cnn", args.epochs)):
            rep = evaluate(ckpt, args.data, args.runs / f"cv{args.cv}" / f"fold{i}.json", "test", show_progress=False)
            for k, g in rep["predictions"].items():
                y_true.append(genres.index(k.split("/")[0]))
                y_pred.append(genres.index(g))
        rep = classification_report(np.array(y_true), np.array(y_pred), genres)
        plot_confusion(rep, args.out / f"confusion_cnn_cv{args.cv}.png", f"cnn {args.cv}-fold block CV (pooled)")
        cv_rows.append({"model": "cnn", "split": f"{args.cv}-fold block CV, pooled", "clip_accuracy":
                        round(rep["clip_accuracy"], 3), "macro_f1": round(rep["macro_f1"], 3),
                        "test_clips": rep["n_clips"]})
    result = {"environment": env, "data": str(args.data), "n_clips": len(scan_genre_tree(args.data)),
              "splits": {"blocks": str(blocks.relative_to(ROOT)), "random": str(random.relative_to(ROOT))},
              "epochs": {**{m: args.epochs for m in args.models.split(",")}, **budget}, "rows": rows, "cv": cv_rows}
    atomic_write_json(args.out / "accuracy.json", result)
    cols = [("model", "model"), ("split", "split"), ("clip_accuracy", "clip accuracy"), ("macro_f1", "macro-F1"),
            ("test_clips", "test clips"), ("epochs", "epochs"), ("params", "params"),
            ("train_minutes", "train min")]
    n_split = {k: sum(v == "test" for v in load_split(p).values()) for k, p in (("b", blocks), ("r", random))}
    md = [
        "# Genre classification accuracy on GTZAN",
        "",
        "Generated by `python benchmarks/gtzan_accuracy.py` — do not edit by hand.",
        "",
        f"Data: `{args.data.name}` ({result['n_clips']} real GTZAN clips, 10 genres, 30 s, 16 kHz). "
        f"Each model is trained on the *train* part of a saved split, picks its best epoch on *val*, "
        f"and is scored once on *test* ({n_split['b']} clips). Clip accuracy = argmax of the mean of "
        "3 s window softmaxes over the whole clip.",
        "",
        "- `gtzan_blocks_seed0`: within each genre, clips sorted by number are cut into contiguous blocks, "
        "so neighbouring numbers (often the same artist) stay on one side except at block edges: the honest "
        "figure. Most genres here are clips 00000-00009 (often one or two artists) plus a few later numbers, "
        "so some test clips still share an artist with training clips, while the later-numbered test clips "
        "are new artists.",
        "- `gtzan_random_seed0`: a random split, which leaks artists between train and test; "
        "reported only for comparison with published random-split numbers.",
        "",
        md_table(rows, cols),
        "",
    ]
    if cv_rows:
        md += ["Cross-validation (every clip tested once by a model that did not train on it):", "",
               md_table(cv_rows, cols[:5]), ""]
    md += [f"With {n_split['b']} test clips one clip is {100 / max(1, n_split['b']):.0f} points of accuracy: "
           "read differences of less than ~10 points as noise.", "",
           env_md(env), "", "Confusion matrices:", ""]
    md += [f"![{r['model']} {r['split']}]({r['confusion']})" for r in rows]
    atomic_write_text(args.out / "accuracy.md", "\n".join(md) + "\n")
    print((args.out / "accuracy.md").read_text())


if __name__ == "__main__":
    main()
