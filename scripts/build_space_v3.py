#!/usr/bin/env python
"""Write genrerec/assets/genrerec-space-v3.npz (genrerec.models.space.V3Space) from the v3 feature cache.

Inputs: the cache of benchmarks/v3_features.py (MusiCNN-MSD window features of the reference
packages, the shared GTZAN clips) and the choices already made by the benchmarks, read from
their outputs so nothing is re-tuned here: the embedding weight (docs/benchmarks/v3_space.json,
chosen on the reference packages), the temperature and similarity threshold (v3_genres.json,
fitted on held-out GTZAN groups), the genre weight (v3_space.json's chosen genre share) and the
taste rule, min size and threshold (v3_tastes.json's choice for the v3 space). With --mtt-head, the MTT tag head of benchmarks/v3_mtt_tags.py
(--save-head) goes in too. Stored: statistics and derived weights only, never audio,
with provenance (packages and track counts, GTZAN clip count, the MSD backbone's model id).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from v3_common import load_tracks, stats, stats_digest, unit  # noqa: E402
from v3_features import MAX_PER_REF  # noqa: E402
from v3_genres import C_REG, HEAD_SCALE, P_MIN, fit_head  # noqa: E402

from genrerec.models.checkpoint import load_checkpoint  # noqa: E402
from genrerec.models.inference import pretrained_model_path  # noqa: E402
from genrerec.models.space import DEAD_SD, SPACE_FILE, V3Space  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mtt-head", type=Path, help="the MTT tag head written by benchmarks/v3_mtt_tags.py --save-head "
                    "(without it the space scores MSD's tags alone)")
    args = ap.parse_args()
    docs = ROOT / "docs" / "benchmarks"
    sp, gn = json.loads((docs / "v3_space.json").read_text()), json.loads((docs / "v3_genres.json").read_text())
    emb_w = float(sp["chosen_without_genre"]["msd_emb"])
    tastes = json.loads((docs / "v3_tastes.json").read_text())
    assert tastes["emb_weight"] == emb_w, "v3_tastes.json is from another v3_space.json: run v3_tastes.py again"
    # the chosen genre share as library.vectors.combined_vectors weighs it (v3_space.py converts it)
    genre_w = float(sp["genre_weight_library"])
    if genre_w > 0 and sp["chosen"]["msd_emb"] != emb_w:
        print("note: the genre weight was chosen with another embedding weight than the shipped one")
    T = load_tracks()
    ref, gt = T.mask("ref"), T.mask("gtzan")
    refset = ref | gt
    pm, ps = stats(T.f["msd_pooled"][refset])
    em, es = stats(unit(T.f["msd_emb"])[refset])
    genres = sorted(set(T.groups[gt]))
    space = V3Space(pm, ps, em, es, emb_w, genres, np.zeros((len(genres), 1)), np.zeros(len(genres)),
                    float(gn["shipped_rule"]["T"]), P_MIN, float(gn["shipped_rule"]["sim_threshold"]),
                    np.zeros((0, 1)), genre_weight=genre_w, taste_similarity=float(tastes["chosen_for_v3"]),
                    taste_rule=str(tastes["chosen_rule_for_v3"]["rule"]),
                    taste_min_size=int(tastes["chosen_rule_for_v3"]["min_size"]))
    gi = np.flatnonzero(gt)
    X = [space.standardise(T.f["msd_pooled"][i:i + 1], T.f["msd_emb"][i:i + 1]) for i in gi]
    y = np.array([genres.index(g) for g in T.groups[gt]])
    head = fit_head(X, y, HEAD_SCALE)
    space.head_w, space.head_b = head.coef_.astype(np.float32), head.intercept_.astype(np.float32)
    space.anchors = space.project(T.f["msd_pooled"][gi], T.f["msd_emb"][gi])
    space.meta = {
        "reference_corpus": {"packages": {g: int((T.groups[ref] == g).sum()) for g in np.unique(T.groups[ref])},
                             "gtzan_clips": int(gt.sum()),
                             "note": f"Debian game-music packages (apt-get download), at most {MAX_PER_REF} tracks "
                                     "of >= 30 s each, none of the 7 benchmark albums; + the shared GTZAN clips"},
        "dead_pooled_features": int((ps <= DEAD_SD).sum()),
        "features": "MusiCNN-MSD window features (the shipped v2 ONNX graph on ONNX Runtime, its pooled output), "
                    "16 windows per track as the indexer (FeatureConfig.musicnn())",
        "backbone_model_id": load_checkpoint(pretrained_model_path("msd")).model_id(),
        "head": f"softmax regression C={C_REG} on standardised track features of the {int(gt.sum())} GTZAN clips",
        "benchmarks": "docs/benchmarks/v3_space.md, v3_genres.md, v3_tastes.md",
    }
    if args.mtt_head:
        with np.load(args.mtt_head) as h:
            assert str(h["stats_digest"]) == stats_digest(space), \
                f"{args.mtt_head} was fitted on another space: run benchmarks/v3_mtt_tags.py --save-head again"
            space.mtt_w, space.mtt_b = h["W"].astype(np.float32), h["b"].astype(np.float32)
            space.meta["mtt_head"] = {"fit": "ridge regression (alpha %g) to the MTT MusiCNN backbone's tag logits"
                                      % float(h["alpha"]), "train": json.loads(str(h["train"])),
                                      "benchmark": "docs/benchmarks/v3_mtt_tags.md (attempt 2)",
                                      "backbone_model_id": load_checkpoint(pretrained_model_path("mtt")).model_id()}
    out = ROOT / "genrerec" / "assets" / SPACE_FILE
    space.save(out)
    print(out, out.stat().st_size, "bytes; genre weight", genre_w, "taste similarity", space.taste_similarity,
          "emb weight", emb_w, "T", space.temperature, "sim threshold", space.sim_threshold)


if __name__ == "__main__":
    main()
