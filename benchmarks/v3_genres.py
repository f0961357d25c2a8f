#!/usr/bin/env python
"""Genres that admit doubt, chosen honestly: artist-safe folds, calibration, "uncertain".

Reads the feature cache of v3_features.py (GTZAN, benchmark soundtracks, synthetic clips).

Folds. The shared clips carry no artist names. Two facts bound the artists: clips in
different parts of the fault-filtered split (Kereliuk et al. 2015; train/valid/test are
artist-disjoint) never share an artist, and GTZAN's runs of neighbouring numbers are often
one artist. So a group is (genre, fault-filtered part, contiguous run of clip numbers); a
group is never split across folds. Scored: leave-one-group-out (every group held out once,
trained on all others) and grouped 3-fold CV with 3 seeds (groups dealt to folds at
random), next to the old 2-fold contiguous-block CV (which shares artists across folds).

Heads (softmax regression on track-level features: the mean of the window features, as
the indexer pools): "v2-like" on the 200-d MSD embedding (a stand-in for v2's
AdamW/mixup head, same input), and "v3" on the standardised pooled + embedding features
of v3_space.py (reference statistics without the benchmark albums).

Calibration: one temperature on the window logits, fitted on out-of-fold predictions of
one half of the groups and scored (NLL, ECE, accuracy) on the other half, both ways.
Uncertain: calibrated top probability below P_MIN, or the clip lies far from the training
clips (cosine similarity to its nearest training clip below a threshold = the 5th
percentile of held-out GTZAN clips' similarity to clips of other groups, chosen on one half
of the groups, scored on the other). Writes docs/benchmarks/v3_genres.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
from common import DEFAULT_DATA, DOCS, env_md, environment, md_table
from v3_common import CACHE, blend, load_tracks, standardise, stats, unit

from genrerec.models.checkpoint import load_checkpoint
from genrerec.models.inference import default_model_path
from genrerec.utils import atomic_write_json, atomic_write_text

P_MIN = 0.5  # fixed before looking at any result: below an even chance the top genre is not shown as a label
C_REG = 1.0  # softmax regression's inverse L2 strength, fixed (sklearn's default), not tuned
HEAD_SCALE = 40.0  # ~sqrt(1706): the standardised blocks are scaled to unit norm; the head sees unit-variance dims


def clip_groups(keys: np.ndarray, data) -> np.ndarray:
    """Artist-safe group per clip key 'genre/genre.NNNNN.mp3': (genre, fault-filtered part, contiguous run)."""
    ff = json.loads((data / "splits" / "fault_filtered.json").read_text())
    rows = []
    for k in keys:
        g, name = k.split("/")
        num = int(re.search(r"\.(\d+)\.", name).group(1))
        rows.append((g, ff.get(f"{g}.{num:05d}", "unknown"), num))
    out, last = [], {}
    gid = -1
    for g, part, num in sorted(rows, key=lambda r: (r[0], r[2])):
        prev = last.get(g)
        if prev is None or prev[0] != part or num - prev[1] > 1:
            gid += 1
        last[g] = (part, num, gid)
        out.append(((g, num), gid))
    lookup = dict(out)
    return np.array([lookup[(g, n)] for g, _, n in rows])


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(-1, keepdims=True)


def fit_head(X: list[np.ndarray], y: np.ndarray, scale: float = 1.0):
    """Softmax regression on the training clips' track-level features (mean of the window features)."""
    from sklearn.linear_model import LogisticRegression

    head = LogisticRegression(C=C_REG, max_iter=500).fit(np.stack([x.mean(0) for x in X]) * scale, y)
    head.coef_ *= scale  # so that clip_logits takes unscaled features
    return head


def clip_logits(head, X: list[np.ndarray], n_classes: int = 10) -> list[np.ndarray]:
    """[1, G] logits per clip (from its mean window features); -1e9 for a genre absent from training."""
    out = []
    for x in X:
        z = np.full((1, n_classes), -1e9)
        z[:, head.classes_] = head.decision_function(x.mean(0, keepdims=True))
        out.append(z)
    return out


def clip_probs(logits: list[np.ndarray], T: float = 1.0) -> np.ndarray:
    return np.stack([softmax(z / T).mean(0) for z in logits])


def fit_temperature(logits: list[np.ndarray], y: np.ndarray) -> float:
    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 200))
    nll = [-np.log(clip_probs(logits, t)[np.arange(len(y)), y] + 1e-12).mean() for t in grid]
    return float(grid[int(np.argmin(nll))])


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    conf, pred = p.max(1), p.argmax(1)
    e = 0.0
    for lo in np.linspace(0, 1, bins, endpoint=False):
        m = (conf > lo) & (conf <= lo + 1 / bins)
        if m.any():
            e += m.mean() * abs((pred[m] == y[m]).mean() - conf[m].mean())
    return float(e)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", default=CACHE)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args()
    env = environment()
    T = load_tracks(args.cache)
    gt, bench, ref, syn = T.mask("gtzan"), T.mask("bench"), T.mask("ref"), T.mask("synth")
    genres = sorted(set(T.groups[gt]))
    y = np.array([genres.index(g) for g in T.groups[gt]])
    groups = clip_groups(T.keys[gt], args.data)
    gi = np.flatnonzero(gt)
    refset = ref | gt
    st_p, st_e = stats(T.f["msd_pooled"][refset]), stats(unit(T.f["msd_emb"])[refset])

    def v3_track(i: int) -> np.ndarray:  # [1, 1706]: standardised track pooled mean + unit track embedding
        p, e = T.f["msd_pooled"][i:i + 1], unit(T.f["msd_emb"][i:i + 1])
        return np.concatenate([standardise(p, st_p), standardise(e, st_e)], axis=1)

    spaces = {"v2-like (MSD embedding)": (lambda i: T.windows["msd_emb"][i], 1.0),
              "v3 (standardised pooled + embedding)": (v3_track, HEAD_SCALE)}
    Xall = {name: [fn(i) for i in range(len(T.keys))] for name, (fn, _) in spaces.items()}
    scale = {name: sc for name, (_, sc) in spaces.items()}
    sp = args.out / "v3_space.json"  # the embedding weight v3_space.py chose on the reference packages
    emb_w = float(json.loads(sp.read_text())["chosen_without_genre"]["msd_emb"]) if sp.exists() else 1.0
    track_vec = blend([(standardise(T.f["msd_pooled"], st_p), 1.0), (standardise(unit(T.f["msd_emb"]), st_e), emb_w)])

    def folds_logo():
        return [[g] for g in np.unique(groups)]

    def folds_grouped(k: int, seed: int):
        rng = np.random.default_rng(seed)
        ug = rng.permutation(np.unique(groups))
        sizes = np.zeros(k)
        assign = {}
        for g in sorted(ug, key=lambda g: -(groups == g).sum()):  # biggest first, each to the lightest fold
            f = int(np.argmin(sizes + rng.random(k) * 1e-3))
            assign[g] = f
            sizes[f] += (groups == g).sum()
        return [[g for g in ug if assign[g] == f] for f in range(k)]

    def folds_blocks():  # the old 2-fold contiguous blocks per genre (musicnn_cv.md)
        fold = np.zeros(len(y), int)
        for c in range(len(genres)):
            idx = np.flatnonzero(y == c)
            fold[idx[len(idx) // 2:]] = 1
        return fold

    # a genre whose clips form one group cannot be scored on unseen artists: held out, it has no training clip
    one_group = [g for g in range(len(genres)) if len(np.unique(groups[y == g])) == 1]
    scorable = ~np.isin(y, one_group)
    rows, oof = [], {}
    for name, X in Xall.items():
        Xg = [X[i] for i in gi]
        schemes = [("leave one group out", None, [np.isin(groups, f) for f in folds_logo()])]
        schemes += [(f"grouped 3-fold, seed {s}", s, [np.isin(groups, f) for f in folds_grouped(3, s)]) for s in (0, 1, 2)]
        fb = folds_blocks()
        schemes.append(("2-fold contiguous blocks (old, leaks artists)", None, [fb == 0, fb == 1]))
        for scheme, seed, tests in schemes:
            logits: list = [None] * len(y)
            for test in tests:
                head = fit_head([Xg[j] for j in np.flatnonzero(~test)], y[~test], scale[name])
                for j, z in zip(np.flatnonzero(test), clip_logits(head, [Xg[j] for j in np.flatnonzero(test)])):
                    logits[j] = z
            right = clip_probs(logits).argmax(1) == y
            rows.append({"head": name, "folds": scheme, "clip_acc": round(float(right.mean()), 3),
                         "acc_scorable": round(float(right[scorable].mean()), 3)})
            if scheme == "leave one group out":
                oof[name] = logits
            print(rows[-1], flush=True)
    summary = []
    for name in Xall:
        g3 = [r["clip_acc"] for r in rows if r["head"] == name and r["folds"].startswith("grouped")]
        summary.append({"head": name, **{r["folds"]: r["clip_acc"] for r in rows if r["head"] == name
                                         and not r["folds"].startswith("grouped")},
                        "grouped 3-fold (3 seeds)": f"{np.mean(g3):.3f} ± {np.std(g3):.3f}"})

    # calibration and the "uncertain" rule, on the v3 head's leave-one-group-out predictions, half of the groups each way
    name = "v3 (standardised pooled + embedding)"
    ug = np.unique(groups)
    halves = [np.isin(groups, ug[::2]) & scorable, np.isin(groups, ug[1::2]) & scorable]  # one-group genres left out
    sims_in = np.array([np.max(track_vec[gi[groups != groups[j]]] @ track_vec[gi[j]]) for j in range(len(y))])
    cal = []
    for h, (fit_on, score_on) in enumerate([(halves[0], halves[1]), (halves[1], halves[0])]):
        L = oof[name]
        Tfit = fit_temperature([L[j] for j in np.flatnonzero(fit_on)], y[fit_on])
        sim_thr = float(np.quantile(sims_in[fit_on], 0.05))
        Ls, ys = [L[j] for j in np.flatnonzero(score_on)], y[score_on]
        p1, pT = clip_probs(Ls), clip_probs(Ls, Tfit)
        unc = (pT.max(1) < P_MIN) | (sims_in[score_on] < sim_thr)
        conf_acc = float((pT.argmax(1)[~unc] == ys[~unc]).mean()) if (~unc).any() else float("nan")
        cal.append({"fit_half": h, "T": round(Tfit, 3), "sim_threshold": round(sim_thr, 3),
                    "nll_T1": round(float(-np.log(p1[np.arange(len(ys)), ys] + 1e-12).mean()), 3),
                    "nll_T": round(float(-np.log(pT[np.arange(len(ys)), ys] + 1e-12).mean()), 3),
                    "ece_T1": round(ece(p1, ys), 3), "ece_T": round(ece(pT, ys), 3),
                    "uncertain_share": round(float(unc.mean()), 3), "acc_when_shown": round(conf_acc, 3),
                    "acc_all": round(float((pT.argmax(1) == ys).mean()), 3)})
        print(cal[-1], flush=True)
    # the shipped rule: head on all clips, T and threshold = the mean of the two halves' (no result on GTZAN from it)
    T_ship = float(np.mean([c["T"] for c in cal]))
    thr_ship = float(np.mean([c["sim_threshold"] for c in cal]))
    head_all = fit_head([Xall[name][i] for i in gi], y, HEAD_SCALE)
    v2sd = load_checkpoint(default_model_path()).state_dict
    W2, b2 = v2sd["head.weight"].numpy(), v2sd["head.bias"].numpy()
    ood = []
    for i in np.flatnonzero(bench | syn):
        pv3 = clip_probs(clip_logits(head_all, [Xall[name][i]]), T_ship)[0]
        sim = float(np.max(track_vec[gi] @ track_vec[i]))
        pv2 = softmax(T.windows["msd_emb"][i] @ W2.T + b2).mean(0)
        ood.append({"set": T.sets[i], "track": T.keys[i], "v2_top": f"{genres[int(pv2.argmax())]} {pv2.max():.2f}",
                    "v3_top": f"{genres[int(pv3.argmax())]} {pv3.max():.2f}", "nearest_gtzan_sim": round(sim, 3),
                    "uncertain": bool(pv3.max() < P_MIN or sim < thr_ship)})
    synth_rows = [r for r in ood if r["set"] == "synth"]
    b_unc = [r["uncertain"] for r in ood if r["set"] == "bench"]
    result = {"environment": env, "emb_weight": emb_w, "one_group_genres": [genres[g] for g in one_group], "groups": {int(g): [str(k) for k in T.keys[gi][groups == g]] for g in ug},
              "accuracy": rows, "summary": summary, "calibration": cal, "P_MIN": P_MIN,
              "shipped_rule": {"T": T_ship, "sim_threshold": thr_ship}, "synthetic": synth_rows,
              "bench_uncertain_share": round(float(np.mean(b_unc)), 3) if b_unc else None, "ood": ood}
    atomic_write_json(args.out / "v3_genres.json", result)
    scols = [("head", "head")] + [(k, k) for k in summary[0] if k != "head"]
    md = ["# v3 genres: artist-safe folds, calibration, \"uncertain\"", "",
          "Generated by `python benchmarks/v3_genres.py` — do not edit by hand.", "",
          f"Data: the {len(y)} shared GTZAN clips in {len(ug)} artist-safe groups (genre x fault-filtered part x "
          "contiguous run of clip numbers; no group is split across folds; the list is in v3_genres.json). "
          "Artists are not known for most clips: a run of neighbouring numbers is *assumed* to be one artist, "
          "so two groups may still share an artist (the fault-filtered parts never do). Heads: softmax "
          f"regression (C={C_REG}, fixed) on track-level features (mean of the 16 windows' features).", "",
          md_table(summary, scols), "", "Every run:", "", md_table(rows, [("head", "head"), ("folds", "folds"),
                                                                          ("clip_acc", "clip accuracy"),
                                                                          ("acc_scorable", "without one-group genres")]),
          "", f"Genres whose clips form a single group ({', '.join(genres[g] for g in one_group) or 'none'}) have no "
          "training clip when that group is held out, so leave-one-group-out and grouped folds always miss them; "
          "'without one-group genres' scores the other clips only.", "",
          "## Calibration and \"uncertain\" (v3 head, leave-one-group-out predictions)", "",
          f"Temperature and similarity threshold fitted on one half of the groups, scored on the other (both ways); "
          "clips of one-group genres are left out here (no model saw their genre). "
          f"Uncertain = calibrated top probability < {P_MIN} (fixed in advance) or cosine similarity to the nearest "
          "clip of another group below the threshold (5th percentile on the fitting half).", "",
          md_table(cal, [(k, k) for k in cal[0]]), "",
          f"Shipped rule (head on all 114 clips): T = {T_ship:.3f}, similarity threshold {thr_ship:.3f}.", "",
          "## Out of domain", "",
          f"Benchmark soundtracks ({len(b_unc)} tracks, no genre labels, so top-genre accuracy cannot be measured "
          f"there): {np.mean(b_unc) if b_unc else float('nan'):.2f} come out uncertain.", "",
          "Synthetic clips (v3_synth.py: sines, noise, espeak-ng speech), v2's shipped head against v3's:", "",
          md_table(synth_rows, [("track", "clip"), ("v2_top", "v2 top genre"), ("v3_top", "v3 top (calibrated)"),
                                ("nearest_gtzan_sim", "similarity to nearest GTZAN clip"),
                                ("uncertain", "v3 uncertain")]), "", env_md(env), ""]
    atomic_write_text(args.out / "v3_genres.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
