#!/usr/bin/env python
"""Tastes re-derived: how often recommend.tastes.cluster_tastes finds the right number of tastes.

Histories are drawn (seeded) from styles: the 7 benchmark soundtrack albums and the 10 GTZAN
genres (feature cache of v3_features.py). Single-style histories (m tracks of one style) should
stay one taste; mixed histories (k styles x m tracks) should split into k. The styles are split
in two halves (every other album and genre by name): the rule's settings are chosen on
histories from half A and reported on histories from half B, and the other way round; short
histories (the issue's) and longer album histories are reported apart. Spaces:
v2's shipped vectors (genre weight 0.25) and the v3 standardised space of v3_space.py.
Writes docs/benchmarks/v3_tastes.{json,md}.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from common import DOCS, env_md, environment, md_table
from v3_common import CACHE, blend, load_tracks, standardise, stats, unit
from v3_space import v2_genres

from genrerec.library.vectors import combined_vectors
from genrerec.models.space import TASTE_SIMILARITY, V3_TASTE_MIN_SIZE, V3_TASTE_RULE, V3_TASTE_SIMILARITY
from genrerec.recommend.tastes import MAX_TASTES, _ward_split, cluster_tastes
from genrerec.utils import atomic_write_json, atomic_write_text

CONFIGS = [(1, 6), (1, 10), (2, 3), (2, 5), (3, 3), (3, 5)]  # (styles k, tracks per style m): the histories
LONG_CONFIGS = [(1, 20), (2, 10), (2, 15), (3, 8)]  # longer histories, from the albums (GTZAN genres are too small)
HISTORIES = 80  # per config and half
LONG_HISTORIES = 40
GRID = np.round(np.arange(-0.2, 0.96, 0.025), 3)
MIN_SIZES = (1, 2, 3)  # Ward rule: the fewest tracks a taste may have
PREVIOUS_V3 = 0.15  # v3's average-linkage threshold before the Ward rule (this page's previous run)


def histories(styles: dict[str, np.ndarray], seed: int, configs=CONFIGS, n: int = HISTORIES
              ) -> list[tuple[int, np.ndarray]]:
    """[(k, rows)] for every config with enough styles: n draws of k distinct styles x m distinct tracks."""
    rng = np.random.default_rng(seed)
    names = sorted(styles)
    out = []
    for k, m in configs:
        ok = [s for s in names if len(styles[s]) >= m]
        if len(ok) < k:
            continue
        for _ in range(n):
            pick = rng.choice(ok, k, replace=False)
            out.append((k, np.concatenate([rng.choice(styles[s], m, replace=False) for s in pick])))
    return out


def counts(vecs: np.ndarray, hs: list[tuple[int, np.ndarray]], rule: str, min_size: int, thresholds) -> np.ndarray:
    """[histories, thresholds] number of tastes under one rule: the tree is built once per history and cut
    at every threshold with recommend.tastes's own code (the reported rows call cluster_tastes itself)."""
    from scipy.cluster.hierarchy import fcluster, linkage

    out = np.zeros((len(hs), len(thresholds)), int)
    for i, (_, rows) in enumerate(hs):
        v = unit(vecs[rows])
        if rule == "ward":
            Z = linkage(v, method="ward")
            out[i] = [_ward_split(v, Z, t, MAX_TASTES, min_size).max() + 1 for t in thresholds]
        else:
            d = np.clip(1.0 - v @ v.T, 0, 2)[np.triu_indices(len(rows), 1)]
            Z = linkage(d, method="average")
            out[i] = [min(fcluster(Z, t=1.0 - t, criterion="distance").max(), MAX_TASTES) for t in thresholds]
    return out


def summarise(ks: np.ndarray, found: np.ndarray) -> dict:
    right = found == ks
    single, mixed = float(right[ks == 1].mean()), float(right[ks > 1].mean())
    return {"single_kept_whole": round(single, 3), "mixed_split_right": round(mixed, 3),
            "mixed_2": round(float(right[ks == 2].mean()), 3), "mixed_3": round(float(right[ks == 3].mean()), 3),
            "balanced": round((single + mixed) / 2, 3)}


def score(vecs: np.ndarray, hs: list[tuple[int, np.ndarray]], rule: str, min_size: int, thr: float) -> dict:
    found = np.array([int(cluster_tastes(vecs[rows], thr, rule=rule, min_size=min_size).max() + 1) for _, rows in hs])
    return summarise(np.array([k for k, _ in hs]), found)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", default=CACHE)
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args()
    env = environment()
    T = load_tracks(args.cache)
    gt, bench, ref = T.mask("gtzan"), T.mask("bench"), T.mask("ref")
    G = v2_genres(T.windows["msd_emb"])
    E = unit(T.f["msd_emb"])
    st_p, st_e = stats(T.f["msd_pooled"][ref | gt]), stats(E[ref | gt])
    Zp, Ze = standardise(T.f["msd_pooled"], st_p), standardise(E, st_e)
    sp = args.out / "v3_space.json"  # the embedding weight v3_space.py chose on the reference packages
    w = float(json.loads(sp.read_text())["chosen_without_genre"]["msd_emb"]) if sp.exists() else 0.5
    v3_name = f"v3 standardised pooled + embedding {w}"  # = V3Space.project with these statistics and weight
    spaces = {"v2 shipped (genre weight 0.25)": combined_vectors(G, E, 0.25), v3_name: blend([(Zp, 1.0), (Ze, w)]),
              "v3 standardised MSD embedding (re-projection)": blend([(Ze, 1.0)])}
    default = {name: TASTE_SIMILARITY if name.startswith("v2") else V3_TASTE_SIMILARITY for name in spaces}
    styles = {**{f"album:{a}": np.flatnonzero(bench & (T.groups == a)) for a in np.unique(T.groups[bench])},
              **{f"genre:{g}": np.flatnonzero(gt & (T.groups == g)) for g in np.unique(T.groups[gt])}}
    albums = sorted(s for s in styles if s.startswith("album:"))
    gen = sorted(s for s in styles if s.startswith("genre:"))
    half = [set(albums[0::2] + gen[0::2]), set(albums[1::2] + gen[1::2])]
    H = [histories({s: styles[s] for s in h}, seed=i) for i, h in enumerate(half)]
    HL = [histories({s: styles[s] for s in h if s.startswith("album:")}, 10 + i, LONG_CONFIGS, LONG_HISTORIES)
          for i, h in enumerate(half)]
    rules = [("average", 1)] + [("ward", m) for m in MIN_SIZES]
    rows, choice = [], {}
    for name, V in spaces.items():
        for a, b in ((0, 1), (1, 0)):
            tune = H[a] + HL[a]  # chosen on half a's short and long histories together
            ks = np.array([k for k, _ in tune])
            best = {}
            for rule, ms in rules:
                C = counts(V, tune, rule, ms, GRID)
                tuned = [(summarise(ks, C[:, j])["balanced"], t) for j, t in enumerate(GRID)]
                fam = "ward" if rule == "ward" else rule
                cand = max(tuned, key=lambda x: (x[0], -abs(x[1] - default[name])))
                if fam not in best or cand[0] > best[fam][0]:
                    best[fam] = (cand[0], ms, float(cand[1]))
            for fam, (bal, ms, thr) in best.items():
                for hs, length in ((H[b], "short"), (HL[b], "long")):
                    rows.append({"space": name, "rule": fam if fam == "average" else f"ward, min {ms}",
                                 "chosen_on": f"half {a}", "reported_on": f"half {b}, {length}", "threshold": thr,
                                 "tuning_balanced": round(bal, 3), **score(V, hs, fam, ms, thr)})
                    print(rows[-1], flush=True)
            choice[(name, a)] = best
        fixed = [("space.py default", default[name], "average" if name.startswith("v2") else V3_TASTE_RULE,
                  1 if name.startswith("v2") else V3_TASTE_MIN_SIZE)]
        if not name.startswith("v2"):
            fixed.append(("previous v3 default", PREVIOUS_V3, "average", 1))
        for label, thr, rule, ms in fixed:
            for b in (0, 1):
                for hs, length in ((H[b], "short"), (HL[b], "long")):
                    rows.append({"space": name, "rule": rule if rule == "average" else f"ward, min {ms}",
                                 "chosen_on": label, "reported_on": f"half {b}, {length}", "threshold": thr,
                                 **score(V, hs, rule, ms, thr)})
                    print(rows[-1], flush=True)
    # the shipped v3 rule: the family that scored higher on its tuning half for both halves, its min size if both
    # halves agree (else the smaller), the mean of the two thresholds on the grid's 0.025 steps
    fams = [max(choice[(v3_name, a)].items(), key=lambda kv: kv[1][0])[0] for a in (0, 1)]
    fam = fams[0] if fams[0] == fams[1] else "average"
    picks = [choice[(v3_name, a)][fam] for a in (0, 1)]
    v3_rule = {"rule": fam, "min_size": int(min(p[1] for p in picks)),
               "threshold": round(float(np.round(np.mean([p[2] for p in picks]) / 0.025) * 0.025), 3)}
    result = {"environment": env, "configs": CONFIGS, "long_configs": LONG_CONFIGS,
              "histories_per_config_and_half": HISTORIES, "long_histories_per_config_and_half": LONG_HISTORIES,
              "halves": [sorted(h) for h in half], "rows": rows, "v3_space": v3_name, "emb_weight": w,
              "chosen_for_v3": v3_rule["threshold"], "chosen_rule_for_v3": v3_rule, "defaults": default}
    atomic_write_json(args.out / "v3_tastes.json", result)
    cols = [("space", "space"), ("rule", "rule"), ("chosen_on", "chosen on"), ("reported_on", "reported on"),
            ("threshold", "threshold"), ("single_kept_whole", "single-style kept whole"),
            ("mixed_split_right", "mixed split right"), ("mixed_2", "2 styles"), ("mixed_3", "3 styles")]
    md = ["# v3 tastes: the number of tastes in drawn histories", "",
          "Generated by `python benchmarks/v3_tastes.py` — do not edit by hand.", "",
          f"Styles: {len(albums)} soundtrack albums (benchmark of v3_space.md) and {len(gen)} GTZAN genres, split "
          "into two halves: " + " | ".join(", ".join(sorted(h)) for h in half) + ". Short histories (the issue's): "
          f"per half and config {HISTORIES} seeded histories, configs (styles x tracks each) {CONFIGS}. Long "
          f"histories: albums only (GTZAN genres have about 11 clips), {LONG_HISTORIES} per config {LONG_CONFIGS}. "
          "'single-style kept whole' = share of 1-style histories found as 1 taste; 'mixed split right' = share "
          "of 2- and 3-style histories found as exactly 2 or 3.", "",
          "Rules (recommend/tastes.py): 'average' = average-linkage clusters cut at a cosine threshold (v2's rule, "
          "and v3's before this run); 'ward, min m' = Ward's tree split top-down while both halves have >= m tracks "
          "and their mean cosine is below the threshold. For each rule the threshold (and for Ward the min size, "
          f"of {list(MIN_SIZES)}) maximises the mean of single-kept and mixed-split on one half's short and long "
          "histories together, and is reported on the other half's (styles never shared).", "",
          md_table(rows, cols), "",
          f"Shipped v3 rule (scripts/build_space_v3.py writes it into the space file): {v3_rule['rule']}, min size "
          f"{v3_rule['min_size']}, threshold {v3_rule['threshold']}: the rule family that tuned higher on both "
          "halves, the smaller of the halves' min sizes, the mean of their thresholds rounded to the grid's 0.025 "
          "steps. 'space.py default' rows: the values the library ships (so partly fitted on either half); "
          f"'previous v3 default': average linkage at {PREVIOUS_V3}.", "", env_md(env), ""]
    atomic_write_text(args.out / "v3_tastes.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
