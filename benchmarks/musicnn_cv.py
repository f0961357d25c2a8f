#!/usr/bin/env python
"""Model selection for the v2 default: MusiCNN fine-tuning modes on GTZAN, by
2-fold block cross-validation with several seeds (the same folds as
retrieval.md), never on one 20-clip split.

For each mode (head: genre head only, the pretrained embedding unchanged;
backend: also the dense back end) and seed, a model is trained per fold on the
other fold's clips and scored on its held-out clips: clip accuracy, and genre
precision@5 of the Recommender's combined similarity among the held-out clips
for several genre weights. Held-out clips are encoded exactly as the indexer
does (its windows, its pooling); the frozen front end, identical in every fold
model, runs once per clip. Writes docs/benchmarks/musicnn_cv.{json,md}.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from common import cv_parser, env_md, environment, md_table, parse_cv_args
from retrieval import cosine, retrieval_metrics

from genrerec.library.vectors import combined_vectors
from genrerec.models.checkpoint import load_checkpoint
from genrerec.models.inference import MAX_WINDOWS, GenreModel, pretrained_model_path, track_windows
from genrerec.training.config import TrainConfig
from genrerec.training.data import block_folds, save_split, scan_genre_tree
from genrerec.training.train import train
from genrerec.utils import atomic_write_json, atomic_write_text

WEIGHTS = (0.0, 0.25, 0.5)


@torch.no_grad()
def pooled_windows(clips, cache_path) -> dict[str, np.ndarray]:
    """The frozen front + mid end's pooled features [k, 1506] of each clip's indexer windows."""
    if cache_path.exists():
        z = np.load(cache_path)
        if all(c.key in z.files for c in clips):
            return {c.key: z[c.key] for c in clips}
    ck = load_checkpoint(pretrained_model_path("msd"))
    net, feats = ck.build(), ck.features
    out = {}
    for c in clips:
        specs, _ = track_windows(c.path, feats, MAX_WINDOWS)
        out[c.key] = net.pooled(torch.from_numpy(specs.astype(np.float32))).numpy()
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache_path, **out)
    return out


@torch.no_grad()
def encode_from_pooled(model: GenreModel, pooled: np.ndarray):
    """What GenreModel.encode computes, from the pooled features: (genre vector, unit embedding)."""
    net = model.net
    e = net.backend(torch.from_numpy(pooled))
    te = model.aggregate(net.classify(e).softmax(-1).numpy(), e.numpy(), 0.0)
    return te.genres, te.embedding


def main() -> None:
    ap = cv_parser(__doc__)
    ap.add_argument("--modes", default="head,backend")
    ap.add_argument("--seeds", default="0,1,2")
    ap.set_defaults(epochs=40)
    args = parse_cv_args(ap)
    env = environment()
    print(env_md(env))
    clips = scan_genre_tree(args.data)
    genres = sorted({c.genre for c in clips})
    pooled = pooled_windows(clips, args.runs / "musicnn-pooled.npz")
    folds = block_folds(clips, args.folds)
    rows = []
    for mode in args.modes.split(","):
        for seed in map(int, args.seeds.split(",")):
            accs, sims = [], {w: [] for w in WEIGHTS}
            t0 = time.perf_counter()
            for fi, fold in enumerate(folds):
                fpath = args.runs / f"fold{fi}.json"
                save_split(fold, fpath, method=f"block-cv{args.folds}", fold=fi)
                cfg = TrainConfig(model="musicnn", finetune=mode, epochs=args.epochs, patience=args.epochs, seed=seed)
                s = train(args.data, args.runs / f"musicnn-{mode}-s{seed}-fold{fi}", cfg, fpath,
                          show_progress=False)
                model = GenreModel(load_checkpoint(s["checkpoint"]))
                test = [c for c in clips if fold[c.key] == "test"]
                labels = np.array([genres.index(c.genre) for c in test])
                G, E = map(np.stack, zip(*[encode_from_pooled(model, pooled[c.key]) for c in test]))
                accs.append(float((G.argmax(1) == labels).mean()))
                for w in WEIGHTS:
                    sims[w].append((cosine(combined_vectors(G, E, w)), labels))
            row = {"mode": mode, "seed": seed, "acc_folds": " / ".join(f"{a:.3f}" for a in accs),
                   "clip_acc": round(float(np.mean(accs)), 3), "seconds": round(time.perf_counter() - t0)}
            for w in WEIGHTS:
                ms = [retrieval_metrics(s_, y)["precision@5"] for s_, y in sims[w]]
                row[f"p5_w{w}"] = round(float(np.average(ms, weights=[len(y) for _, y in sims[w]])), 3)
            rows.append(row)
            print(row, flush=True)
    summary = []
    for mode in args.modes.split(","):
        rs = [r for r in rows if r["mode"] == mode]
        s = {"mode": mode, "seeds": len(rs),
             "clip_acc": f"{np.mean([r['clip_acc'] for r in rs]):.3f} ± {np.std([r['clip_acc'] for r in rs]):.3f}"}
        for w in WEIGHTS:
            v = [r[f"p5_w{w}"] for r in rs]
            s[f"p5_w{w}"] = f"{np.mean(v):.3f} ± {np.std(v):.3f}"
        summary.append(s)
    atomic_write_json(args.out / "musicnn_cv.json", {"environment": env, "folds": args.folds, "epochs": args.epochs,
                                                     "data": str(args.data), "runs": rows, "summary": summary})
    cols = [("mode", "mode"), ("seeds", "seeds"), ("clip_acc", "clip accuracy (mean ± sd over seeds)")] + [
        (f"p5_w{w}", f"p@5, genre weight {w}") for w in WEIGHTS]
    md = ["# MusiCNN fine-tuning: model selection by block cross-validation", "",
          "Generated by `python benchmarks/musicnn_cv.py` — do not edit by hand.", "",
          f"Data: {len(clips)} GTZAN clips, {args.folds}-fold block CV (the folds of [retrieval.md](retrieval.md)); "
          f"each fold model starts from the MSD-pretrained MusiCNN and trains {args.epochs} epochs on the other "
          "fold. Clip accuracy and genre precision@5 of the Recommender similarity among held-out clips, pooled "
          "over folds; mean ± standard deviation over seeds.", "",
          md_table(summary, cols), "", "Every run (accuracy per fold):", "",
          md_table(rows, [("mode", "mode"), ("seed", "seed"), ("acc_folds", "clip acc per fold"),
                          ("clip_acc", "clip acc"), *[(f"p5_w{w}", f"p@5 w={w}") for w in WEIGHTS],
                          ("seconds", "seconds")]), "",
          "Caveats: the same artist-overlap caveat as retrieval.md applies (contiguous blocks share artists). The "
          "pretrained network saw the Million Song Dataset, which may hold some of the songs GTZAN's clips come "
          "from; its tags were learned without GTZAN's labels. 'full' fine-tuning (every layer) is implemented "
          "(`genrerec train --model musicnn --finetune full`) but not in this table: one full run costs about an "
          "hour on this CPU.", "", env_md(env), ""]
    atomic_write_text(args.out / "musicnn_cv.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
