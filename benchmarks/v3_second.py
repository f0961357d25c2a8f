#!/usr/bin/env python
"""A second album benchmark, never used to choose anything: does v3 hold on music it was not tuned on?

Every v3 choice (statistics, weights, genre head, taste rule, MTT head, library-statistics
shrinkage) was made on the reference packages, GTZAN and the 7 soundtrack albums of
v3_space.md. This benchmark takes other Debian game-music packages, fetched for it
(`--music`: fetched and unpacked there by genrerec.demo.freemusic.fetch_soundtracks when
missing; packages that fail to fetch or hold no audio are left out), each package an album
(albums.py's selection: unique files of >= 30 s, the first 40 by name; packages with fewer than
5 such tracks are left out), runs the shipped v2 graph on ONNX Runtime over the indexer's 16
windows per track (cached under --cache: derived numbers only) and reports, with the shipped
settings as they are:

- album p@5 for v2's shipped vectors, v3 with the reference statistics, and v3 with statistics
  adapted to this set (library.adapt's rule, n0 = ADAPT_N0), paired differences with 95%
  bootstrap intervals over query tracks;
- tastes: seeded short histories (v3_tastes.py's configs) from these albums, found right by
  v3's shipped rule (Ward, its min size and threshold) against the previous rule (average
  linkage at 0.15);
- the space file's MTT tag head against the real MTT network (torch) on the same windows;
- how many tracks v3 calls "uncertain" (game music is outside GTZAN's genres).

Writes docs/benchmarks/v3_second.{json,md}.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from pathlib import Path

import numpy as np
from albums import package_tracks, select_tracks
from common import DOCS, env_md, environment, md_table
from v3_common import boot_album_ci, boot_ci, p5_per_query, unit
from v3_space import v2_genres
from v3_tastes import CONFIGS, histories, summarise

from genrerec.demo.freemusic import FetchError, fetch_soundtracks
from genrerec.library.vectors import combined_vectors
from genrerec.models.checkpoint import load_checkpoint
from genrerec.models.inference import MAX_WINDOWS, load_model, pretrained_model_path, track_windows
from genrerec.models.space import ADAPT_N0, UNCERTAIN, LibraryStats, V3Space
from genrerec.recommend.tastes import cluster_tastes
from genrerec.utils import atomic_write_json, atomic_write_text

PACKAGES = ["btanks-data", "warmux-data", "freedroidrpg-data", "widelands-data", "megaglest-data", "alienblaster-data",
            "holotz-castle-data", "solarwolf", "enigma-data", "freedink-data", "trigger-rally-data"]
MIN_TRACKS = 5
PREVIOUS = ("average", 1, 0.15)  # v3's taste rule before the Ward split (v3_tastes.md)


def features(music: Path, cache: Path, model, mtt=None) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Per-track window means of MSD's pooled features, embedding and tags, plus the v2 window
    embeddings (for v2's genre vector) and, with the torch MTT backbone `mtt`, MTT's tags;
    one cached .npz per track."""
    cache.mkdir(parents=True, exist_ok=True)
    meta, f = [], {"pooled": [], "emb": [], "tags": [], "win_emb": [], "mtt": []}
    for pkg in PACKAGES:
        if not (music / "x" / pkg / ".unpacked").exists():
            try:
                fetch_soundtracks(music, [pkg])
            except FetchError as e:
                print(f"{pkg}: {e}; left out", flush=True)
                continue
        picked = [p for p, _ in select_tracks(package_tracks(music / "x", pkg))]
        if len(picked) < MIN_TRACKS:
            print(f"{pkg}: {len(picked)} tracks of >= 30 s, left out", flush=True)
            continue
        for path in picked:
            key = f"{pkg}/{path.relative_to(music / 'x' / pkg)}"
            out = cache / (hashlib.sha1(key.encode()).hexdigest()[:16] + ".npz")
            if not out.exists():
                t0 = time.perf_counter()
                specs, _ = track_windows(str(path), model.features, MAX_WINDOWS)
                _, e, tags, p = model.runtime.infer(specs, pooled=True)
                tmp = out.with_suffix(".tmp.npz")
                np.savez(tmp, pooled=p.astype(np.float32), emb=e.astype(np.float32), tags=tags.astype(np.float32))
                os.replace(tmp, out)
                print(f"{key} {len(specs)} windows {time.perf_counter() - t0:.1f}s", flush=True)
            z = np.load(out)
            if mtt is not None and "mtt_tags" not in z:  # the real MTT network on the same windows (torch)
                import torch

                specs, _ = track_windows(str(path), model.features, MAX_WINDOWS)
                with torch.no_grad():
                    t = torch.sigmoid(mtt.tags(mtt.backend(mtt.pooled(torch.from_numpy(specs.astype(np.float32))))))
                z = {**dict(z), "mtt_tags": t.numpy()}
                tmp = out.with_suffix(".tmp.npz")
                np.savez(tmp, **z)
                os.replace(tmp, out)
            f["mtt"].append(z["mtt_tags"].mean(0) if "mtt_tags" in z else np.full(50, np.nan, np.float32))
            f["pooled"].append(z["pooled"].mean(0))
            f["emb"].append(z["emb"].mean(0))
            f["tags"].append(z["tags"].mean(0))
            f["win_emb"].append(z["emb"])
            meta.append({"album": pkg, "key": key})
    return meta, {k: (np.stack(v) if k != "win_emb" else v) for k, v in f.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--music", type=Path, default=Path("/work/cache/soundtracks2"))
    ap.add_argument("--cache", type=Path, default=Path("/work/cache/v3/feat-second"))
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args()
    env = environment()
    model = load_model("v2", runtime="onnx", threads=2)
    import torch

    torch.set_num_threads(2)
    mtt = load_checkpoint(pretrained_model_path("mtt")).build().eval()
    meta, F = features(args.music, args.cache, model, mtt)
    albums = np.array([m["album"] for m in meta])
    space = V3Space.load()
    P, E = F["pooled"], F["emb"]
    G = v2_genres(F["win_emb"])
    n = len(P)
    raw = np.concatenate([P, unit(E)], 1).astype(np.float64)
    lib = LibraryStats.from_moments(space, n, raw.sum(0), (raw ** 2).sum(0), ADAPT_N0)
    systems = {"v2 shipped (embedding + genre vector 0.25)": combined_vectors(G, unit(E), 0.25),
               "v3, reference statistics": space.vector(P, E),
               f"v3, statistics adapted to this set (n0 {ADAPT_N0}, as index --stats library does)": space.adapted(lib).vector(P, E)}
    base = None
    rows = []
    for name, V in systems.items():
        q = p5_per_query(unit(V), albums)
        base = q if base is None else base
        lo, hi = boot_ci(q)
        alo, ahi = boot_album_ci(q, albums)
        d = q - base
        dlo, dhi = boot_ci(d)
        per = [float(q[albums == a].mean()) for a in np.unique(albums)]
        rows.append({"system": name, "p5": round(float(q.mean()), 3), "ci": f"{lo:.3f}-{hi:.3f}",
                     "ci_albums": f"{alo:.3f}-{ahi:.3f}", "diff": f"{d.mean():+.3f} ({dlo:+.3f} to {dhi:+.3f})",
                     "range": f"{min(per):.2f}-{max(per):.2f}"})
        print(rows[-1], flush=True)
    # tastes on histories drawn from these albums, with the vectors index stores by default (reference statistics)
    V = space.vector(P, E)
    styles = {a: np.flatnonzero(albums == a) for a in np.unique(albums)}
    hs = histories(styles, seed=0)
    ks = np.array([k for k, _ in hs])
    taste_rows = []
    for label, (rule, ms, thr) in (("v3 shipped: " + f"{space.taste_rule}, min {space.taste_min_size}, "
                                    f"threshold {space.taste_similarity}",
                                    (space.taste_rule, space.taste_min_size, space.taste_similarity)),
                                   ("previous: average linkage at 0.15", PREVIOUS)):
        found = np.array([int(cluster_tastes(V[r], thr, rule=rule, min_size=ms).max() + 1) for _, r in hs])
        taste_rows.append({"rule": label, **summarise(ks, found)})
        print(taste_rows[-1], flush=True)
    # the MTT tag head (space file) against the real MTT network on these tracks
    from v3_mtt_tags import tag_metrics

    mtt_rows = []
    if np.isfinite(F["mtt"]).all() and space.has_mtt:
        m = tag_metrics(space.mtt_tags(P, E), F["mtt"])
        mtt_rows.append({"set": f"{n} tracks of this benchmark", **{k: m[k] for k in
                        ("median_r", "mean_r", "min_r", "mae", "top5_overlap")},
                         "ci": f"{m['top5_overlap_ci'][0]}-{m['top5_overlap_ci'][1]}"})
        print(mtt_rows[-1], flush=True)
    calls = [space.call(P[i], E[i]).label for i in range(n)]
    uncertain = float(np.mean([c == UNCERTAIN for c in calls]))
    result = {"environment": env, "albums": {a: int((albums == a).sum()) for a in np.unique(albums)},
              "tracks": n, "rows": rows, "tastes": taste_rows, "uncertain_share": round(uncertain, 3),
              "histories": len(hs), "configs": CONFIGS, "mtt_head": mtt_rows}
    atomic_write_json(args.out / "v3_second.json", result)
    cols = [("system", "vectors"), ("p5", "album p@5"), ("ci", "95% CI (tracks)"), ("ci_albums", "95% CI (albums)"),
            ("diff", "minus v2 (95% CI, paired)"), ("range", "per-album range")]
    tcols = [("rule", "taste rule"), ("single_kept_whole", "single-style kept whole"),
             ("mixed_split_right", "mixed split right"), ("mixed_2", "2 styles"), ("mixed_3", "3 styles")]
    md = ["# v3 on a second album benchmark (never used to choose anything)", "",
          "Generated by `python benchmarks/v3_second.py` — do not edit by hand.", "",
          f"{n} tracks of {len(result['albums'])} Debian game-music packages that no v3 choice saw, each package an "
          "album (albums.py's selection): " + ", ".join(f"{a} {c}" for a, c in result["albums"].items()) + ". "
          "The shipped v2 graph on ONNX Runtime, 16 windows per track; every setting as shipped.", "",
          md_table(rows, cols), "",
          f"Tastes: {len(hs)} seeded histories from these albums (configs {CONFIGS}: styles x tracks), on the vectors "
          "index stores by default (reference statistics):", "", md_table(taste_rows, tcols), "",
          "MTT tags: the space file's MTT head (from MSD's features) against the real MTT network run on the same "
          "windows (v3_mtt_tags.md's measures; bar there: median r >= 0.7, top-5 overlap >= 3):", "",
          md_table(mtt_rows, [("set", "set"), ("median_r", "median r"), ("mean_r", "mean r"), ("min_r", "min r"),
                              ("mae", "mean abs diff"), ("top5_overlap", "top-5 overlap"), ("ci", "95% CI")]), "",
          f"Genre calls: {uncertain:.0%} of these tracks are called \"uncertain\" (game music, outside GTZAN's genres).",
          "", env_md(env), ""]
    atomic_write_text(args.out / "v3_second.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
