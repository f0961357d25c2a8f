#!/usr/bin/env python
"""Per-track MusiCNN features cached once for the v3 benchmarks (v3_space.py, v3_genres.py, v3_tastes.py).

For every track of three sets -- the shared GTZAN clips, the 7 soundtrack albums of
albums.py (the benchmark) and a reference corpus of other Debian game-music packages
(never the benchmark albums) -- the indexer's own windows (16 patches spread over the
track) go through the MSD- and the MTT-pretrained MusiCNN once; per window it keeps the
pooled mid-level features [1506], the 200-d embedding and the 50 tag probabilities, plus
the inference seconds of each backbone. One .npz per track under --cache (outside the
repository: derived numbers only, never audio). Re-running skips tracks already cached.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from albums import ALBUMS, package_tracks, select_tracks
from common import DEFAULT_DATA

from genrerec.audio.decode import AudioError
from genrerec.models.checkpoint import load_checkpoint
from genrerec.models.inference import MAX_WINDOWS, pretrained_model_path, track_windows
from genrerec.training.data import scan_genre_tree

BENCH_ALBUMS = ALBUMS
REF_PACKAGES = ["asc-music", "planetblupi-music-ogg", "lincity-ng-data", "frozen-bubble-data", "extremetuxracer-data",
                "neverball-data", "pingus-data", "scorched3d-data", "openarena-data", "xblast-tnt-musics"]
MAX_PER_ALBUM = 40  # benchmark albums: albums.py's rule
MAX_PER_REF = 20  # reference packages: enough for statistics, cheap on 2 shared cores


def album_tracks(root: Path, pkg: str, cap: int) -> list[Path]:
    """albums.py's selection: unique real files of at least MIN_TRACK_S, the first `cap` by name."""
    return [f for f, _ in select_tracks(package_tracks(root, pkg), cap)]


def track_list(data: Path, music: Path, ref: Path, max_ref: int = MAX_PER_REF, synth: Path | None = None,
               sets: tuple[str, ...] = ("gtzan", "bench", "ref", "synth")) -> list[dict]:
    """[{set, group, key, path}] for GTZAN (group = genre), benchmark and reference albums (group = package)."""
    out = [] if "gtzan" not in sets else [{"set": "gtzan", "group": c.genre, "key": c.key, "path": str(c.path)} for c in scan_genre_tree(data)]
    for pkg in BENCH_ALBUMS if "bench" in sets else []:
        out += [{"set": "bench", "group": pkg, "key": f"{pkg}/{f.name}", "path": str(f)}
                for f in album_tracks(music / "x", pkg, MAX_PER_ALBUM)]
    for pkg in REF_PACKAGES if "ref" in sets else []:
        if (ref / "x" / pkg).is_dir():
            out += [{"set": "ref", "group": pkg, "key": f"{pkg}/{f.name}", "path": str(f)}
                    for f in album_tracks(ref / "x", pkg, max_ref)]
    if synth is not None and synth.is_dir():
        out += [{"set": "synth", "group": f.stem, "key": f"synth/{f.name}", "path": str(f)}
                for f in sorted(synth.glob("*.wav"))]
    return out


@torch.no_grad()
def run_backbone(net, specs: np.ndarray) -> tuple[dict[str, np.ndarray], float]:
    t = time.perf_counter()
    x = torch.from_numpy(specs.astype(np.float32))
    p = net.pooled(x)
    e = net.backend(p)
    tags = torch.sigmoid(net.tags(e))
    return {"pooled": p.numpy(), "emb": e.numpy(), "tags": tags.numpy()}, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--music", type=Path, default=Path("/work/cache/soundtracks"))
    ap.add_argument("--ref", type=Path, default=Path("/work/cache/v3/ref"))
    ap.add_argument("--cache", type=Path, default=Path("/work/cache/v3/feat"))
    ap.add_argument("--synth", type=Path, default=Path("/work/cache/v3/synth"))
    ap.add_argument("--sets", default="gtzan,bench,ref")
    ap.add_argument("--backbones", default="msd,mtt", help="backbones to run (missing ones are added to old files)")
    ap.add_argument("--max-ref", type=int, default=MAX_PER_REF)
    args = ap.parse_args()
    torch.set_num_threads(2)
    nets = {}
    for name in args.backbones.split(","):
        ck = load_checkpoint(pretrained_model_path(name))
        nets[name] = (ck.build(), ck.features)
    assert len({f for _, f in nets.values()}) == 1, "MSD and MTT backbones share one feature config"
    feats = next(iter(nets.values()))[1]
    tracks = [t for t in track_list(args.data, args.music, args.ref, args.max_ref, args.synth,
                                        tuple(args.sets.split(","))) if t["set"] in args.sets.split(",")]
    args.cache.mkdir(parents=True, exist_ok=True)
    old = {t["key"]: t for t in json.loads((args.cache / "tracks.json").read_text())} \
        if (args.cache / "tracks.json").exists() else {}
    for t in tracks:
        t["file"] = hashlib.sha1(t["key"].encode()).hexdigest()[:16] + ".npz"
    merged = {**old, **{t["key"]: t for t in tracks}}  # written first: readers skip files not there yet
    (args.cache / "tracks.json").write_text(json.dumps(list(merged.values()), indent=0))
    for i, t in enumerate(tracks):
        out = args.cache / t["file"]
        z = dict(np.load(out)) if out.exists() else {}
        todo = [n for n in nets if f"{n}_s" not in z]
        if not todo:
            continue
        t0 = time.perf_counter()
        try:
            specs, dur = track_windows(t["path"], feats, MAX_WINDOWS)
        except AudioError as e:
            print("skip", e)
            continue
        dec = time.perf_counter() - t0
        z.update({"duration": np.array(dur), "decode_s": np.array(dec)})
        for name in todo:
            net = nets[name][0]
            r, dt = run_backbone(net, specs)
            z.update({f"{name}_{k}": v.astype(np.float32) for k, v in r.items()})
            z[f"{name}_s"] = np.array(dt)
        tmp = out.with_suffix(".tmp.npz")
        np.savez(tmp, **z)
        os.replace(tmp, out)
        print(f"{i + 1}/{len(tracks)} {t['key']} {len(specs)} win decode {dec:.1f}s "
              + " ".join(f"{n} {float(z[n + '_s']):.1f}s" for n in todo), flush=True)


if __name__ == "__main__":
    main()
