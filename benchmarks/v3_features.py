#!/usr/bin/env python
"""Per-track MusiCNN features cached once for the v3 benchmarks (v3_space.py, v3_genres.py, v3_tastes.py).

For every track of the sets -- the shared GTZAN clips, the 7 soundtrack albums of
albums.py (the benchmark), a reference corpus of other Debian game-music packages (never
the benchmark albums) and the synthetic clips of v3_synth.py -- the indexer's own windows
(16 patches spread over the track) go once through the shipped v2 ONNX graph on ONNX
Runtime, as the indexer runs it (`load_model("v2")`, `runtime.infer(specs, pooled=True)`):
v2's back end is the MSD-pretrained MusiCNN unchanged, so per window it keeps MSD's pooled
mid-level features [1506], its 200-d embedding and its 50 tag probabilities (stored as
msd_*), plus the inference seconds. Before anything is cached, one track is checked against
the torch MSD backbone (`pretrained_model_path("msd")`): pooled, embedding and tags must
agree within 1e-3 relative. `--backbones msd,mtt` adds the torch MTT backbone (mtt_*; not
used by the shipped model). One .npz per track under --cache (outside the repository:
derived numbers only, never audio). Re-running skips tracks already cached.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
from albums import ALBUMS, package_tracks, select_tracks
from common import DEFAULT_DATA

from genrerec.audio.decode import AudioError
from genrerec.models.checkpoint import load_checkpoint
from genrerec.models.inference import MAX_WINDOWS, load_model, pretrained_model_path, track_windows
from genrerec.training.data import scan_genre_tree

BENCH_ALBUMS = ALBUMS
REF_PACKAGES = ["asc-music", "planetblupi-music-ogg", "lincity-ng-data", "frozen-bubble-data", "extremetuxracer-data",
                "neverball-data", "pingus-data", "scorched3d-data", "openarena-data", "xblast-tnt-musics",
                "hedgewars-data", "supertux-data", "powermanga-data", "xmoto-data", "7kaa-data", "ri-li-data"]
# (only files of >= MIN_TRACK_S count: neverball, pingus, 7kaa, ri-li and xblast have none, openarena one)
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


def run_torch(net, specs: np.ndarray) -> tuple[dict[str, np.ndarray], float]:
    """A pretrained torch backbone's pooled features, embedding and tag sigmoids per window."""
    import torch

    t = time.perf_counter()
    with torch.no_grad():
        x = torch.from_numpy(specs.astype(np.float32))
        p = net.pooled(x)
        e = net.backend(p)
        tags = torch.sigmoid(net.tags(e))
    return {"pooled": p.numpy(), "emb": e.numpy(), "tags": tags.numpy()}, time.perf_counter() - t


def run_ort(model, specs: np.ndarray) -> tuple[dict[str, np.ndarray], float]:
    """The shipped v2 graph on ONNX Runtime (what the indexer runs): MSD's pooled, embedding, tags."""
    t = time.perf_counter()
    _, e, tags, p = model.runtime.infer(specs, pooled=True)
    return {"pooled": p, "emb": e, "tags": tags}, time.perf_counter() - t


def check_ort_vs_torch(model, path: str, tol: float = 1e-3) -> dict[str, float]:
    """Max |ORT - torch| / max |torch| per output on one track; AssertionError above tol."""
    ck = load_checkpoint(pretrained_model_path("msd"))
    assert ck.features == model.features, "the v2 graph and the MSD backbone share one feature config"
    net = ck.build()
    specs, _ = track_windows(path, model.features, MAX_WINDOWS)
    a, b = run_ort(model, specs)[0], run_torch(net, specs)[0]
    err = {k: float(np.abs(a[k] - b[k]).max() / max(np.abs(b[k]).max(), 1e-12)) for k in b}
    assert all(v <= tol for v in err.values()), f"ORT v2 graph differs from the torch MSD backbone: {err}"
    return err


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--music", type=Path, default=Path("/work/cache/soundtracks"))
    ap.add_argument("--ref", type=Path, default=Path("/work/cache/soundtracks"))
    ap.add_argument("--cache", type=Path, default=Path("/work/cache/v3/feat-ort"))
    ap.add_argument("--synth", type=Path, default=Path("/work/cache/v3/synth"))
    ap.add_argument("--sets", default="gtzan,synth,bench,ref")
    ap.add_argument("--backbones", default="msd", help="msd: the v2 ONNX graph (ORT); add mtt for the torch MTT "
                    "backbone (missing ones are added to old files)")
    ap.add_argument("--max-ref", type=int, default=MAX_PER_REF)
    args = ap.parse_args()
    model = load_model("v2", runtime="onnx", threads=2)
    names = args.backbones.split(",")
    nets = {"msd": model} if "msd" in names else {}
    if "mtt" in names:
        import torch

        torch.set_num_threads(2)
        ck = load_checkpoint(pretrained_model_path("mtt"))
        assert ck.features == model.features, "MSD and MTT backbones share one feature config"
        nets["mtt"] = ck.build()
    feats = model.features
    tracks = [t for t in track_list(args.data, args.music, args.ref, args.max_ref, args.synth,
                                        tuple(args.sets.split(","))) if t["set"] in args.sets.split(",")]
    args.cache.mkdir(parents=True, exist_ok=True)
    old = {t["key"]: t for t in json.loads((args.cache / "tracks.json").read_text())} \
        if (args.cache / "tracks.json").exists() else {}
    if "msd" in nets and tracks:
        print("ORT v2 graph vs torch MSD backbone, max relative difference:",
              check_ort_vs_torch(model, tracks[0]["path"]), flush=True)
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
            r, dt = run_ort(nets[name], specs) if name == "msd" else run_torch(nets[name], specs)
            z.update({f"{name}_{k}": v.astype(np.float32) for k, v in r.items()})
            z[f"{name}_s"] = np.array(dt)
        tmp = out.with_suffix(".tmp.npz")
        np.savez(tmp, **z)
        os.replace(tmp, out)
        print(f"{i + 1}/{len(tracks)} {t['key']} {len(specs)} win decode {dec:.1f}s "
              + " ".join(f"{n} {float(z[n + '_s']):.1f}s" for n in todo), flush=True)


if __name__ == "__main__":
    main()
