#!/usr/bin/env python
"""Indexing speed side by side with bliss (bliss-audio on PyPI, the bliss-rs binding
users pick for speed), interleaved in one run on the same files with the same number
of processes: genrerec indexing with its default model (`genrerec.index_library`, `--workers` processes)
on each runtime and patch count, and bliss analysing every file
(`bliss_audio.Song(path)` in a pool of `--workers` processes).

Each system runs in a fresh interpreter, so its numbers are its own; the rounds repeat
`--repeats` times with the systems in a rotated order, so the load of other work on the
machine hits every system alike. Headline: CPU seconds per track (user + system of the
process and every worker it waited for, counted from after start-up): on shared cores it
moves far less with the load than wall time. Also: wall time, tracks/s, x real time,
peak memory of the whole process tree (RSS and PSS polled every 50 ms), the load
average before/after each row, start-up, and per-stage costs (decode, features,
inference, commit, search index) measured on the same files. Sets: 40 GTZAN 30 s clips
(the first 4 of each genre) and 22 full-length game soundtrack tracks (11 of
warzone2100-music, 11 of nexuiz-music: Debian packages, outside the repository).
Writes docs/benchmarks/peers_speed.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import numpy as np
from common import DEFAULT_DATA, DOCS, ROOT, environment
from speed_parts import noop_reindex, run_child, stages

from genrerec.utils import atomic_write_json, atomic_write_text

SOUNDTRACKS = Path("/work/cache/soundtracks")
FULL_PACKAGES = ("warzone2100-music", "nexuiz-music")


def full_tracks(x_dir: Path, per_package: int = 11) -> list[Path]:
    from genrerec.audio.decode import AUDIO_EXTENSIONS, audio_info

    out = []
    for pkg in FULL_PACKAGES:
        seen, kept = set(), []
        for f in sorted(p for p in (x_dir / pkg).rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS):
            real = os.path.realpath(f)
            if real in seen or len(kept) >= per_package:
                continue
            seen.add(real)
            if audio_info(f).duration > 60:
                kept.append(f)
        out += kept
    return out


def spread(xs: list[float], nd: int = 2) -> str:
    """median (min-max)."""
    return f"{statistics.median(xs):.{nd}f} ({min(xs):.{nd}f}-{max(xs):.{nd}f})"


def agreement(vec_a: dict, vec_b: dict) -> dict:
    """Per-track embedding cosine and genre-probability max difference of two runs' catalogs."""
    cos, dg = [], []
    for f, (e, g) in vec_a.items():
        e2, g2 = vec_b[f]
        cos.append(float(np.dot(e, e2) / (np.linalg.norm(e) * np.linalg.norm(e2))))
        dg.append(float(np.abs(np.array(g) - np.array(g2)).max()))
    return {"cos_min": round(min(cos), 6), "cos_mean": round(float(np.mean(cos)), 6), "genre_maxdiff": round(max(dg), 5)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--soundtracks", type=Path, default=SOUNDTRACKS, help="unpacked Debian packages under x/")
    ap.add_argument("--int8", type=Path, default=None, help="an int8 .onnx (benchmarks/onnx_int8.py) to time too")
    ap.add_argument("--windows", default="4,8,16,32", help="patch counts for the ONNX Runtime rows")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--torch-repeats", type=int, default=1, help="rounds with the torch row (the slowest)")
    ap.add_argument("--stage-files", type=int, default=10, help="files per set for the per-stage costs")
    ap.add_argument("--noop", type=int, default=1000, help="tracks in the no-op re-index test (0: skip)")
    ap.add_argument("--limit", type=int, default=0, help="files per set (0: all; a smoke test)")
    ap.add_argument("--noop-only", action="store_true", help="redo only the no-op re-index in OUT's peers_speed.json")
    ap.add_argument("--noop-work", type=Path, default=None, help="folder of the no-op library (reused if there)")
    ap.add_argument("--noop-before", type=Path, default=None,
                    help="another checkout (the code before): its no-op re-index runs interleaved with this one's")
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args()
    if args.noop_only:
        import json

        res = json.loads((args.out / "peers_speed.json").read_text())
        res["noop"] = noop_reindex(ROOT, args.noop_work or Path(tempfile.mkdtemp(prefix="genrerec-noop-")), args.noop,
                                   before=args.noop_before)
        atomic_write_json(args.out / "peers_speed.json", res)
        atomic_write_text(args.out / "peers_speed.md", render(res))
        print(render(res))
        return
    env = environment()
    from importlib.metadata import version

    import bliss_audio  # noqa: F401  (fail before the long run)

    from genrerec.audio.decode import audio_info
    from genrerec.models.inference import DEFAULT_NAME

    bliss_v = version("bliss-audio")
    clips = [f for g in sorted(p for p in args.data.iterdir() if p.is_dir()) for f in sorted(g.glob("*.mp3"))[:4]]
    full = full_tracks(args.soundtracks / "x")
    if args.limit:
        clips, full = clips[: args.limit], full[: args.limit]
    sets = {"GTZAN 30 s clips": clips, "full-length soundtrack tracks": full}
    dur = {k: sum(audio_info(f).duration for f in v) for k, v in sets.items()}
    ks = [int(k) for k in args.windows.split(",")]
    systems = [("bliss", 16, None), ("genrerec-torch", 16, None)] + [("genrerec-onnx", k, None) for k in ks]
    if args.int8:
        systems.append(("genrerec-int8", 16, args.int8))
    work = Path(tempfile.mkdtemp(prefix="genrerec-peers-"))
    raw: dict = {}
    for rep in range(args.repeats):
        for name, files in sets.items():
            order = systems[rep % len(systems):] + systems[: rep % len(systems)]
            for system, k, path in order:
                if name.startswith("GTZAN") and system != "bliss" and k > 16:
                    continue  # a 30 s clip has 10 patches: more than 16 changes nothing
                if system == "genrerec-torch" and rep >= args.torch_repeats:
                    continue
                key = (name, system, k)
                vec = work / f"{name[:4]}-{system}-{k}.json" if rep == 0 and system != "bliss" else None
                r = run_child(system, files, ROOT, args.workers, k, path, vec)
                r["vectors"] = str(vec) if vec else None
                raw.setdefault(key, []).append(r)
                print(rep, key, {x: (round(v, 2) if isinstance(v, float) else v) for x, v in r.items()
                                 if x not in ("failed",)}, flush=True)
    rows, quality = [], []
    import json

    for (name, system, k), rs in raw.items():
        n = len(sets[name])
        label = (f"bliss-audio {bliss_v}" if system == "bliss" else
                 f"genrerec {DEFAULT_NAME}, " + {"genrerec-torch": "torch fp32", "genrerec-onnx": "ONNX Runtime fp32",
                                                 "genrerec-int8": "ONNX Runtime int8"}[system] + f", {k} patches")
        cpu = [r["cpu"] / n for r in rs]
        wall = [r["seconds"] for r in rs]
        rows.append({"set": name, "system": label, "tracks": rs[0]["ok"], "runs": len(rs),
                     "cpu_per_track": spread(cpu, 3), "cpu_med": statistics.median(cpu),
                     "wall_s": spread(wall, 1), "wall_med": statistics.median(wall),
                     "tracks_per_s": round(n / statistics.median(wall), 2),
                     "x_realtime": round(dur[name] / statistics.median(wall)),
                     "peak_pss_mb": round(max(r["peak_pss_mb"] for r in rs)),
                     "peak_rss_mb": round(max(r["peak_rss_mb"] for r in rs)),
                     "startup_wall": spread([r["startup_wall"] for r in rs], 2),
                     "startup_cpu": spread([r["startup_cpu"] for r in rs], 2),
                     "commit_cpu": round(statistics.median([r.get("commit_cpu", 0) for r in rs]) / n, 4),
                     "faiss_cpu": round(statistics.median([r.get("faiss_cpu", 0) for r in rs]), 3),
                     "load": " / ".join(f"{r['load_before']:.1f}-{r['load_after']:.1f}" for r in rs)})
        ref = raw.get((name, "genrerec-torch", k), [{}])[0].get("vectors") if system != "genrerec-torch" else None
        if system != "bliss" and ref and rs[0]["vectors"]:
            a, b = json.loads(Path(rs[0]["vectors"]).read_text()), json.loads(Path(ref).read_text())
            quality.append({"set": name, "system": label, **agreement(a, b)})
    stage_rows = []
    for name, files in sets.items():
        load = os.getloadavg()[0]
        s = stages(files[:: max(1, len(files) // args.stage_files)][: args.stage_files], ROOT, 16, args.int8)
        stage_rows.append({"set": name, **{k: round(v, 4) for k, v in s.items()}, "load": round(load, 1)})
        print(stage_rows[-1], flush=True)
    noop = noop_reindex(ROOT, args.noop_work or work, args.noop, before=args.noop_before) if args.noop else None
    result = {"environment": env, "model": DEFAULT_NAME, "bliss": bliss_v, "workers": args.workers, "durations_s": dur,
              "files": {k: [str(f) for f in v] for k, v in sets.items()}, "rows": rows, "quality": quality,
              "stages": stage_rows, "noop": noop}
    atomic_write_json(args.out / "peers_speed.json", result)
    atomic_write_text(args.out / "peers_speed.md", render(result))
    print(render(result))


def render(res: dict) -> str:
    from speed_report import render_md

    return render_md(res, __doc__)


if __name__ == "__main__":
    main()
