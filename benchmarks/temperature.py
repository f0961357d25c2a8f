#!/usr/bin/env python
"""Temperature sweep: how playlists change with temperature for simulated listeners.

Uses the k-fold block CV models (see retrieval.py): each fold's held-out GTZAN
clips are indexed with the model that did not train on them (a folder of
symlinks, so nothing is copied), and simulated listeners whose history is
drawn from 1, 2 or 3 genres of those clips get playlists at temperatures 0..2.
Measured against the clips' true (folder) genres: genre match with the
history, total-variation distance between the playlist's genre mix and the
history's, intra-playlist diversity, catalogue coverage, and mean similarity
to the listener. Playlists are drawn with max_per_album=None: the default album cap
takes an untagged file's folder for its album, and GTZAN's folders are its genres.
Writes docs/benchmarks/temperature.{json,md,png}.

--model v3 measures the shipped default (the v2 network + the v3 space) on all the clips
in one catalog, no folds: its similarity uses no genre label (genre weight 0; the
space's reference statistics include the GTZAN clips, but not their genres), so there is
nothing to hold out; its genre head, which did see these clips, does not enter the picks.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from common import cv_parser, env_md, environment, fold_models, md_table, parse_cv_args

from genrerec import Recommender, index_library, load_model
from genrerec.training.data import scan_genre_tree
from genrerec.utils import atomic_path, atomic_write_json, atomic_write_text

TEMPS = [0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0]
# the shipped v2 model's recipe (docs/model-card.md), run per fold: head fine-tuning of the MSD backbone
V2_RECIPE = {"musicnn": {"epochs": 40, "tag": "head-s0", "finetune": "head", "patience": 40, "seed": 0}}


def main() -> None:
    ap = cv_parser(__doc__)
    ap.add_argument("--listeners", type=int, default=30, help="per history size and fold")
    ap.add_argument("--n", type=int, default=10, help="playlist length")
    ap.add_argument("--model", default="cnn", choices=["cnn", "resnet18", "musicnn", "v3"],
                    help="which fold models embed the clips; outputs other than cnn get a -MODEL suffix "
                         "(musicnn: the shipped v2 recipe, pretrained MSD backbone + genre head, 40 epochs; "
                         "v3: the shipped default model on all clips, no folds)")
    args = parse_cv_args(ap)
    stem = "temperature" if args.model == "cnn" else f"temperature-{args.model}"
    if args.quick:
        args.listeners = 3
    env = environment()
    clips = scan_genre_tree(args.data)
    genres = sorted({c.genre for c in clips})
    rng = np.random.default_rng(0)
    stats: dict[tuple[int, float], dict[str, list]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        recipe = {**V2_RECIPE.get(args.model, {}), **({"epochs": args.epochs} if args.quick or
                                                     args.model not in V2_RECIPE else {})}
        if args.model == "v3":
            args.folds = 1
            runs = [({c.key: "test" for c in clips}, "v3")]
        else:
            runs = fold_models(args.data, args.runs, args.folds, args.model, **recipe)
        for fi, (fold, ckpt) in enumerate(runs):
            lib = Path(tmp) / f"fold{fi}"
            held = [c for c in clips if fold[c.key] == "test"]
            for c in held:
                (lib / c.genre).mkdir(parents=True, exist_ok=True)
                os.symlink(c.path.resolve(), lib / c.genre / c.path.name)
            index_library(lib, Path(tmp) / f"db{fi}", load_model(ckpt), show_progress=False, follow_external_links=True)
            by_genre = {g: [lib / c.genre / c.path.name for c in held if c.genre == g] for g in genres}
            with Recommender.open(Path(tmp) / f"db{fi}") as rec:
                for k in (1, 2, 3):
                    for li in range(args.listeners):
                        gs = rng.choice(genres, k, replace=False)
                        hist = [p for g in gs for p in rng.choice(by_genre[g], 2, replace=False)]
                        hmix = np.array([np.mean([p.parent.name == g for p in hist]) for g in genres])
                        pool = sum(len(by_genre[g]) for g in gs) - len(hist)
                        for T in TEMPS:
                            reach = set()
                            for extra in range(1, 5):  # reruns with other seeds: how much a listener reaches
                                reach |= {r.track_id for r in rec.recommend(hist, n=args.n, temperature=T,
                                                                              seed=1000 * extra + li,
                                                                              max_per_album=None)}
                            recs = rec.recommend(hist, n=args.n, temperature=T, seed=li, max_per_album=None)
                            reach |= {r.track_id for r in recs}
                            true = [r.path.parent.name for r in recs]
                            pmix = np.array([np.mean([t == g for t in true]) for g in genres])
                            V = rec.vectors[[rec.row_of[r.track_id] for r in recs]]
                            sim = V @ V.T
                            iu = np.triu_indices(len(recs), 1)
                            s = stats.setdefault((k, T), {"match": [], "tv": [], "diversity": [], "score": [],
                                                          "ceiling": [], "reach": []})
                            s["match"].append(np.mean([t in gs for t in true]))
                            s["ceiling"].append(min(args.n, pool) / args.n)
                            s["reach"].append(len(reach) / len(rec))
                            s["tv"].append(0.5 * np.abs(pmix - hmix).sum())
                            s["diversity"].append(1 - float(sim[iu].mean()))
                            s["score"].append(np.mean([r.score for r in recs]))
    rows = []
    for (k, T), s in sorted(stats.items()):
        rows.append({"history_genres": k, "temperature": T, "genre_match": round(float(np.mean(s["match"])), 3),
                     "match_ceiling": round(float(np.mean(s["ceiling"])), 3),
                     "tv_distance": round(float(np.mean(s["tv"])), 3),
                     "diversity": round(float(np.mean(s["diversity"])), 3),
                     "coverage": round(float(np.mean(s["reach"])), 3),
                     "similarity": round(float(np.mean(s["score"])), 3)})
    atomic_write_json(args.out / f"{stem}.json", {"environment": env, "model": args.model, "rows": rows, "n": args.n,
                                                 "listeners_per_fold": args.listeners, "folds": args.folds})
    plot(rows, args.out / f"{stem}.png")
    cmd = "python benchmarks/temperature.py" + ("" if args.model == "cnn" else f" --model {args.model}")
    setup = (f"All {len(clips)} GTZAN clips in one catalog, indexed with the shipped v3 model (its similarity "
             "uses no genre label: see the script's docstring). " if args.model == "v3" else
             f"{args.folds}-fold block CV on {len(clips)} GTZAN clips: each fold's held-out clips (about "
             f"{len(clips) // args.folds} tracks) are indexed with the {args.model} model that did not train on them. ")
    md = [f"# Temperature sweep ({args.model} embedding)", "", f"Generated by `{cmd}` — do not edit by hand.", "",
          setup +
          f"{args.listeners} simulated listeners per fold and history size; a history is 2 clips from each of "
          f"1, 2 or 3 random genres; playlists of {args.n}, seeded, with no cap per album (the default cap "
          "takes a folder without album tags for an album, and GTZAN's folders are its genres). Genres below "
          "are the clips' true folder genres, not the model's predictions.", "",
          "- genre match: share of picks from a genre in the history",
          "- TV distance: total variation between the playlist's genre mix and the history's (0 = same mix)",
          "- diversity: 1 - mean pairwise similarity inside a playlist",
          "- match ceiling: the best genre match possible, since a catalog holds only ~11 clips per genre "
          "(~5-6 in a fold) and the history's own clips are excluded",
          "- coverage: share of the catalogue one listener reaches over 5 playlists with different seeds",
          "- similarity: mean similarity of picks to their taste centroid", "",
          f"![temperature sweep]({stem}.png)", "",
          md_table(rows, [("history_genres", "history genres"), ("temperature", "T"), ("genre_match", "genre match"),
                          ("match_ceiling", "match ceiling"),
                          ("tv_distance", "TV distance"), ("diversity", "diversity"), ("coverage", "coverage"),
                          ("similarity", "similarity")]), "", env_md(env), ""]
    atomic_write_text(args.out / f"{stem}.md", "\n".join(md))
    print("\n".join(md))


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("genre_match", "genre match with history"), ("tv_distance", "genre-mix distance (TV)"),
            ("diversity", "intra-playlist diversity"), ("coverage", "catalogue reached in 5 playlists")]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.4))
    for ax, (key, title) in zip(axes, keys):
        for k in (1, 2, 3):
            r = [x for x in rows if x["history_genres"] == k]
            ax.plot([x["temperature"] for x in r], [x[key] for x in r], marker="o", label=f"{k} genre(s)")
        ax.set_title(title)
        ax.set_xlabel("temperature")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    with atomic_path(path, ".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


if __name__ == "__main__":
    main()
