#!/usr/bin/env python
"""A similarity space that spreads: per-dimension standardised MusiCNN features against v2's vectors.

Reads the feature cache of v3_features.py. Reference statistics (per-dimension mean and sd
of the track-level features) come from the reference corpus: other Debian game-music
packages plus the 114 shared GTZAN clips -- never the 7 benchmark albums (a variant with
statistics from the benchmark albums themselves is shown, labelled, for comparison). Block
weights are chosen on the reference packages' own album p@5 (each package an album), never
on the benchmark. Reported on the benchmark (albums.py's 7 albums, 184 tracks): album p@5
with 95% bootstrap intervals over query tracks and over albums, the paired difference to v2
with its interval, and the spread of the cosine scores between distinct tracks.
Writes docs/benchmarks/v3_space.{json,md}.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
from common import DOCS, env_md, environment, md_table
from v3_common import (
    CACHE,
    blend,
    boot_album_ci,
    boot_ci,
    listener10,
    load_tracks,
    p5_per_query,
    score_spread,
    standardise,
    stats,
    unit,
)
from v3_features import MAX_PER_REF

from genrerec.library.vectors import combined_vectors
from genrerec.models.checkpoint import load_checkpoint
from genrerec.models.inference import default_model_path
from genrerec.models.space import DEAD_SD
from genrerec.utils import atomic_write_json, atomic_write_text


def v2_genres(windows_emb: list[np.ndarray]) -> np.ndarray:
    """The shipped v2 genre vector (mean of window softmaxes of its head) from cached window embeddings."""
    sd = load_checkpoint(default_model_path()).state_dict
    w, b = sd["head.weight"].numpy(), sd["head.bias"].numpy()
    out = []
    for e in windows_emb:
        z = e @ w.T + b
        p = np.exp(z - z.max(1, keepdims=True))
        out.append((p / p.sum(1, keepdims=True)).mean(0))
    return np.stack(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", default=CACHE)
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args()
    env = environment()
    T = load_tracks(args.cache)
    G = v2_genres(T.windows["msd_emb"])
    bench, ref, gt = T.mask("bench"), T.mask("ref"), T.mask("gtzan")
    refset = ref | gt
    ref_pk = ref & np.isin(T.groups, [g for g in np.unique(T.groups[ref]) if (T.groups[ref] == g).sum() >= 5])
    print(f"{bench.sum()} benchmark tracks, {ref.sum()} reference tracks in {len(np.unique(T.groups[ref]))} packages, "
          f"{gt.sum()} GTZAN clips; weights chosen on {ref_pk.sum()} tracks of "
          f"{len(np.unique(T.groups[ref_pk]))} reference packages with >= 5 tracks")
    feats = {"msd_pooled": T.f["msd_pooled"], "msd_emb": unit(T.f["msd_emb"]), "msd_tags": T.f["msd_tags"]}
    mtt_ref = gt & T.has_mtt  # the MTT pass (optional) covers GTZAN and the benchmark only: its statistics are GTZAN's
    if mtt_ref.any():
        feats.update({"mtt_pooled": T.f["mtt_pooled"], "mtt_emb": unit(T.f["mtt_emb"]), "mtt_tags": T.f["mtt_tags"]})
    st = {k: stats(v[mtt_ref if k.startswith("mtt") else refset]) for k, v in feats.items()}
    Z = {k: standardise(v, st[k]) for k, v in feats.items()}
    Gb = unit(G)

    def space(w: dict[str, float], Zs=Z) -> np.ndarray:
        return blend([(Gb if k == "genre" else Zs[k], x) for k, x in w.items()])

    def ref_p5(w):
        return float(p5_per_query(space(w)[ref_pk], T.groups[ref_pk]).mean())

    # weights chosen on the reference packages: the embedding's and the genre vector's share next to the pooled features
    grid = [{"msd_pooled": 1.0, "msd_emb": e, "genre": g} for e, g in itertools.product((0, .25, .5, 1, 2), (0, .1, .25))]
    tuned = [(ref_p5(w), w) for w in grid]
    # a tie (same number of hits: floating-point sums differ in the last bit) goes to the smaller genre, then embedding weight
    def rank(t):
        return round(t[0], 9), -t[1]["genre"], -t[1]["msd_emb"]

    best = max(tuned, key=rank)[1]
    best_nog = max([t for t in tuned if t[1]["genre"] == 0], key=rank)[1]
    print("reference-package p@5 per weight:", [(round(s, 3), w["msd_emb"], w["genre"]) for s, w in tuned])
    systems: list[tuple[str, np.ndarray, str]] = [
        ("v2 shipped: MSD embedding + v2 genre vector, genre weight 0.25", combined_vectors(G, feats["msd_emb"], 0.25),
         "as indexed today"),
        ("v2 embedding only (genre weight 0)", feats["msd_emb"], "raw cosine"),
        ("standardised MSD embedding (re-projection of stored v2 vectors)", space({"msd_emb": 1}), "no decode needed"),
        ("standardised MSD embedding + v2 genre vector 0.25", space({"msd_emb": .75, "genre": .25}), ""),
        ("standardised pooled MSD", space({"msd_pooled": 1}), "same inference as v2"),
        (f"standardised pooled MSD + embedding (weight {best_nog['msd_emb']}, chosen on reference)", space(best_nog),
         "same inference as v2"),
        (f"standardised pooled MSD + embedding {best['msd_emb']} + genre {best['genre']} (chosen on reference)",
         space(best), "same inference as v2"),
        ("standardised pooled MSD + MSD tags", space({"msd_pooled": 1, "msd_tags": .25}), "fixed weight, not tuned"),
        ("raw pooled MSD (not standardised)", unit(feats["msd_pooled"]), "ablation"),
    ]
    if T.has_mtt[bench].all() and mtt_ref.sum() >= 50:
        systems += [
            ("standardised pooled MTT (statistics from GTZAN only)", space({"mtt_pooled": 1}),
             "MTT backbone instead of MSD: same cost"),
            ("standardised pooled MTT + MTT embedding (statistics from GTZAN only)",
             space({"mtt_pooled": 1, "mtt_emb": best_nog["msd_emb"]}), "MSD's embedding weight reused"),
            ("raw MTT embedding (albums.md's row)", feats["mtt_emb"], "raw cosine"),
        ]
    st_b = {k: stats(v[bench]) for k, v in feats.items()}
    st_g = {k: stats(v[mtt_ref if k.startswith("mtt") else gt]) for k, v in feats.items()}
    for label, s_ in (("statistics from the benchmark albums themselves", st_b), ("statistics from GTZAN only", st_g)):
        Zx = {k: standardise(v, s_[k]) for k, v in feats.items()}
        systems.append((f"standardised pooled MSD, {label}", space({"msd_pooled": 1}, Zx), "variant"))
    alb = T.groups[bench]
    base = p5_per_query(systems[0][1][bench], alb)
    rows = []
    for name, vecs, note in systems:
        q = p5_per_query(vecs[bench], alb)
        d = q - base
        lo, hi = boot_ci(q)
        alo, ahi = boot_album_ci(q, alb)
        dlo, dhi = boot_ci(d)
        per_album = [float(q[alb == a].mean()) for a in np.unique(alb)]
        rows.append({"system": name, "album_p@5": round(float(q.mean()), 3), "ci_tracks": f"{lo:.3f}-{hi:.3f}",
                     "ci_albums": f"{alo:.3f}-{ahi:.3f}", "diff_v2": f"{d.mean():+.3f} ({dlo:+.3f} to {dhi:+.3f})",
                     "album_range": f"{min(per_album):.2f}-{max(per_album):.2f}",
                     "ref_p@5": round(float(p5_per_query(vecs[ref_pk], T.groups[ref_pk]).mean()), 3),
                     "gtzan_p@5": round(float(p5_per_query(vecs[gt], T.groups[gt]).mean()), 3),
                     "listener10": round(listener10(vecs[bench], alb), 3),
                     "gtzan_listener10": round(listener10(vecs[gt], T.groups[gt]), 3),
                     **score_spread(vecs[bench]), "note": note})
        print(rows[-1], flush=True)
    secs = {k: round(float(T.seconds[k][bench].sum()), 1) for k in ("decode_s", "msd_s", "mtt_s")}
    dead = int((st["msd_pooled"][1] <= DEAD_SD).sum())
    # the chosen genre share as the library applies it (library.vectors.combined_vectors: sqrt(1 - w) * unit v3 vector,
    # sqrt(w) * unit genre vector): w = g / (g + mean squared norm of the pooled + embedding blend over the reference)
    sq = float(np.mean(np.sum(np.concatenate([Z["msd_pooled"], np.sqrt(best["msd_emb"]) * Z["msd_emb"]], 1)[refset] ** 2,
                              1)))
    genre_w = round(best["genre"] / (best["genre"] + sq), 4) if best["genre"] > 0 else 0.0
    result = {"environment": env, "benchmark_tracks": int(bench.sum()),
              "albums": {a: int((alb == a).sum()) for a in np.unique(alb)},
              "reference": {"packages": {g: int((T.groups[ref] == g).sum()) for g in np.unique(T.groups[ref])},
                            "gtzan_clips": int(gt.sum())},
              "weights_tuned_on_reference": [{"p5": round(s, 3), **w} for s, w in tuned], "chosen": best,
              "chosen_without_genre": best_nog, "rows": rows, "inference_seconds_benchmark": secs,
              "dead_pooled_features": dead, "max_per_ref_package": MAX_PER_REF, "genre_weight_library": genre_w}
    atomic_write_json(args.out / "v3_space.json", result)
    cols = [("system", "similarity"), ("album_p@5", "album p@5"), ("ci_tracks", "95% CI (tracks)"),
            ("ci_albums", "95% CI (albums)"), ("diff_v2", "minus v2 shipped (95% CI, paired)"),
            ("album_range", "per-album p@5 range"), ("ref_p@5", "reference p@5 (tuning set)"),
            ("listener10", "listener@10"), ("gtzan_p@5", "GTZAN genre p@5"),
            ("gtzan_listener10", "GTZAN 1-genre listener@10"), ("cos_p5", "cos 5%"), ("cos_p50", "cos median"),
            ("cos_p95", "cos 95%"), ("cos_sd", "cos sd"), ("note", "note")]
    md = ["# v3 similarity space: standardised MusiCNN features", "",
          "Generated by `python benchmarks/v3_features.py && python benchmarks/v3_space.py` — do not edit by hand.", "",
          f"Benchmark: {int(bench.sum())} full-length tracks of the 7 soundtrack albums of [albums.md](albums.md) "
          "(" + ", ".join(f"{a} {n}" for a, n in result["albums"].items()) + "), 16 windows per track, every track "
          "queries all others; album p@5 = share of its 5 nearest from its own album.", "",
          "Reference statistics (per-dimension mean and sd of each track-level feature, the window mean): "
          + ", ".join(f"{g} ({n})" for g, n in result["reference"]["packages"].items())
          + f" (other Debian game-music packages: their first tracks of >= 30 s by name, at most {MAX_PER_REF} a "
          f"package -- most files in these packages are shorter effects and jingles; some tracks are ambience rather "
          f"than music) + {int(gt.sum())} GTZAN clips. "
          "No benchmark album is in them (two labelled variants below use other statistics). Block weights were "
          f"chosen on the reference packages with >= 5 tracks ({int(ref_pk.sum())} tracks in "
          f"{len(np.unique(T.groups[ref_pk]))} packages, each package an album; 'reference p@5' column: a small "
          "tuning set, so the choice is coarse; ties go to the smaller genre, then embedding weight), never on the "
          "benchmark: chosen " + str(best) + f"; as the library "
          f"weighs it (share w of the genre vector next to the unit v3 vector, library.vectors.combined_vectors) "
          f"w = {genre_w} (the genre vector here is v2's head; a v3 catalog stores v3's calibrated genres).", "",
          "Spreads: 95% percentile bootstrap intervals (2000 resamples, seed 0) over the benchmark's query tracks, "
          "over its 7 albums (mean of per-album means), and of the per-track difference to v2 shipped (paired). "
          "'GTZAN genre p@5' is genre precision@5 among the 114 clips (they are in the reference statistics, which "
          "use no labels; the v2 genre vector saw all of them, so rows with it are optimistic there). "
          "cos columns: distribution of cosine scores between distinct benchmark tracks.", "",
          md_table(rows, cols), "",
          "Reference-package p@5 for each weight (embedding share, genre share; pooled MSD weight 1): "
          + "; ".join(f"{w['msd_emb']}/{w['genre']}: {s:.3f}" for s, w in tuned) + ".", "",
          "Inference on the benchmark (one process, 2 shared cores, seconds for all tracks): decode + log-mel "
          f"{secs['decode_s']} s, the v2 ONNX graph on ONNX Runtime (pooled, embedding and tags: MSD's backbone) "
          f"{secs['msd_s']} s" + (f", torch MTT backbone {secs['mtt_s']} s" if mtt_ref.any() else "")
          + ". Standardising the pooled features costs no inference: v2 already computes them (they feed its dense "
          "layer; the graph outputs them). Dead pooled channels (sd <= DEAD_SD over the reference statistics: "
          f"{dead} of {feats['msd_pooled'].shape[1]}) standardise to 0, as "
          "in the library (genrerec.models.space._z).", "",
          env_md(env), ""]
    atomic_write_text(args.out / "v3_space.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
