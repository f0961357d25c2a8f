#!/usr/bin/env python
"""Retrieval quality on GTZAN clips the model never trained on.

k-fold block cross-validation (default k=2, so each held-out fold keeps ~5-6
clips per genre and precision@5 can reach 1): for every held-out clip, its
nearest neighbours among the *other held-out clips of its fold*, pooled over
folds. Compares the model embedding, the genre vector, the combined similarity
the Recommender uses, a classic MFCC/spectral-statistics baseline and random.
Writes docs/benchmarks/retrieval.{json,md}. About 20 minutes per model on the
2-core CPU (training dominates; runs are resumed from --runs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from common import cv_parser, env_md, environment, fold_models, md_table, parse_cv_args

from genrerec import load_model
from genrerec.library.vectors import GENRE_WEIGHT, combined_vectors
from genrerec.training.data import block_folds, scan_genre_tree
from genrerec.utils import atomic_write_json, atomic_write_text


def retrieval_metrics(sim: np.ndarray, labels: np.ndarray, k: int = 5) -> dict:
    """precision@k and mean average precision, each clip querying all others."""
    n = len(labels)
    p_at_k, aps = [], []
    for i in range(n):
        s = sim[i].copy()
        s[i] = -np.inf
        order = np.argsort(-s, kind="stable")[: n - 1]
        rel = labels[order] == labels[i]
        p_at_k.append(rel[:k].mean())
        if rel.any():
            hits = np.cumsum(rel)
            aps.append(float((hits[rel] / (np.flatnonzero(rel) + 1)).mean()))
    return {"precision@5": float(np.mean(p_at_k)), "mAP": float(np.mean(aps)) if aps else float("nan")}


def cosine(x: np.ndarray) -> np.ndarray:
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x @ x.T


def cached_features(path: Path, clips, fn) -> dict:
    """fn(clip path) for every clip, cached in an .npz keyed by clip and file digest."""
    from genrerec.training.data import file_digest

    cache = dict(np.load(path)) if path.exists() else {}
    out = {}
    for c in clips:
        key = f"{c.key}:{file_digest(c.path)[:12]}"
        if key not in cache:
            v = fn(c.path)
            if v is None:
                return {c.key: None for c in clips}
            cache[key] = v
        out[c.key] = cache[key]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **cache)
    return out


def held_out_setup(args) -> tuple[dict, list, list[str], dict]:
    """What the held-out-clip benchmarks (this one, ablations.py) start from: the environment
    (printed), the clips, the genre names and the clips' cached MFCC baseline features."""
    from baseline import handcrafted_features

    env = environment()
    print(env_md(env))
    clips = scan_genre_tree(args.data)
    hand = cached_features(args.runs / "features-mfcc.npz", clips, handcrafted_features)
    return env, clips, sorted({c.genre for c in clips}), hand


def main() -> None:
    ap = cv_parser(__doc__)
    ap.add_argument("--models", default="cnn,resnet18")
    args = parse_cv_args(ap)
    from baseline import essentia_features

    env, clips, genres, hand = held_out_setup(args)
    ess = cached_features(args.runs / "features-essentia.npz", clips, essentia_features)
    if any(v is None for v in ess.values()):
        print("essentia is not installed (pip install essentia): its row is left out")
        ess = {}
    per_method: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    accuracy: dict[str, list[bool]] = {}
    rng = np.random.default_rng(0)
    models = {m: fold_models(args.data, args.runs, args.folds, m, args.epochs) for m in args.models.split(",")}
    for fi, fold in enumerate(block_folds(clips, args.folds)):
        test = [c for c in clips if fold[c.key] == "test"]
        train_keys = [c.key for c in clips if fold[c.key] == "train"]
        labels = np.array([genres.index(c.genre) for c in test])
        # baseline features standardised with the fold's training clips only
        H = np.stack([hand[k] for k in train_keys])
        mu, sd = H.mean(0), H.std(0) + 1e-9
        X = np.stack([(hand[c.key] - mu) / sd for c in test])
        per_method.setdefault("MFCC + spectral statistics (baseline)", []).append((cosine(X), labels))
        if ess:  # peer: Essentia MusicExtractor descriptors, standardised the same way
            H = np.stack([ess[k] for k in train_keys])
            mu, sd = H.mean(0), H.std(0) + 1e-9
            X = np.stack([(ess[c.key] - mu) / sd for c in test])
            per_method.setdefault("Essentia MusicExtractor descriptors (peer)", []).append((cosine(X), labels))
        r = rng.standard_normal((len(test), len(test)))
        per_method.setdefault("random", []).append((r + r.T, labels))
        for m in args.models.split(","):
            model = load_model(models[m][fi][1])
            te = model.encode([c.path for c in test])
            G = np.stack([t.genres for t in te])
            E = np.stack([t.embedding for t in te])
            accuracy.setdefault(m, []).extend((G.argmax(1) == labels).tolist())
            per_method.setdefault(f"{m} embedding", []).append((cosine(E), labels))
            per_method.setdefault(f"{m} genre vector", []).append((cosine(G), labels))
            per_method.setdefault(f"{m} combined (Recommender, w={GENRE_WEIGHT})", []).append(
                (cosine(combined_vectors(G, E)), labels))
    rows = []
    for name, folds in per_method.items():
        ms = [retrieval_metrics(s, y) for s, y in folds]
        w = [len(y) for _, y in folds]
        rows.append({"method": name, "precision@5": round(float(np.average([m["precision@5"] for m in ms], weights=w)), 3),
                     "mAP": round(float(np.average([m["mAP"] for m in ms], weights=w)), 3),
                     "queries": sum(w)})
    rows.sort(key=lambda r: -r["precision@5"])
    per_fold = [len(y) / len(genres) for _, y in next(iter(per_method.values()))]
    acc = {m: round(float(np.mean(v)), 3) for m, v in accuracy.items()}
    atomic_write_json(args.out / "retrieval.json", {"environment": env, "folds": args.folds, "epochs": args.epochs,
                                                   "data": str(args.data), "rows": rows, "clip_accuracy": acc})
    md = ["# Retrieval quality on held-out GTZAN clips", "",
          "Generated by `python benchmarks/retrieval.py` — do not edit by hand.", "",
          f"Data: {len(clips)} GTZAN clips, {args.folds}-fold block cross-validation (clips of a genre sorted by "
          "number and cut into contiguous blocks; one block held out per fold, models trained on the rest for "
          f"{args.epochs} epochs, ResNet18 for 30). Each held-out clip queries the other held-out clips of its fold "
          f"(about {np.mean(per_fold):.1f} per genre, so a clip has about {np.mean(per_fold) - 1:.1f} same-genre "
          "neighbours); results pooled over folds. Chance precision@5 is about 0.1.", "",
          md_table(rows, [("method", "similarity"), ("precision@5", "genre precision@5"), ("mAP", "mAP"),
                          ("queries", "queries")]), "",
          "Clip accuracy of the same fold models on their held-out clips (argmax of the genre vector): "
          + ", ".join(f"{m} {a:.3f}" for m, a in acc.items()) + f" ({sum(len(y) for _, y in next(iter(per_method.values())))} clips).", "",
          "Caveat: most genres here are clips 00000-00009 plus one to three later numbers, and 00000-00009 are "
          "often one or two artists. Two contiguous blocks cut that run in half, so these folds share artists "
          "between training and held-out clips: the numbers overstate how well neighbours match for *new* "
          "artists. They compare the similarity methods fairly (all see the same folds); for an artist-aware "
          "figure see the block-split accuracy in [accuracy.md](accuracy.md), whose test clips include the "
          "later-numbered ones.", "",
          "Seed noise: the same CNN recipe trained with another seed, ensembles and other tries are in "
          "[ablations.md](ablations.md); differences of a few points between rows here are within it.", "",
          env_md(env), ""]
    atomic_write_text(args.out / "retrieval.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
