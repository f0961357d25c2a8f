#!/usr/bin/env python
"""int8 MusiCNN on ONNX Runtime: is it faster, and does it hold the quality bar?

The shipped v2 checkpoint's inference graph (scripts/export_onnx.py's InferenceGraph) is
exported raw (before ORT's offline optimisation, which fuses ops the quantizer does not
know) and quantized with onnxruntime.quantization into --work (never into the
repository; the shipped model files are not touched):

- dynamic: `quantize_dynamic` (weights int8, activations quantized at run time);
- static QDQ, per-channel weights, activations calibrated (MinMax) on real log-mel
  patches of GTZAN clips that are *not* among the evaluation clips; variants keep
  sensitive layers in float: the front-end convolutions (the first layers, fed the
  log-mels straight) and/or the dense + heads.

Each variant is timed per window (1 intra-op thread, ORT_BATCH windows a run, best of
--repeats) against the fp32 graph on the same patches, and compared with the torch fp32
path per track (mean-pooled embedding cosine, genre and tag probabilities max abs
difference) on evaluation tracks: GTZAN clips and full-length soundtrack tracks.
Quality bar (issue 24): cosine >= 0.995 and tags within 0.01. Writes
docs/benchmarks/onnx_int8.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import DEFAULT_DATA, DOCS, ROOT, env_md, environment, md_table

from genrerec.utils import atomic_write_json, atomic_write_text

SOUNDTRACKS = Path("/work/cache/soundtracks")
FRONT = "/front."  # node-name prefix of the front-end branches (convs on the log-mels)
BACK = ("/dense/", "/tag_head/", "/head/")  # the embedding layer and the heads


VARIANTS = ("dynamic int8 (weights; activations at run time)", "static int8, all layers",
            "static int8, front end in float", "static int8, dense + heads in float",
            "static int8, front end + dense + heads in float")


def name_to_file(name: str) -> str:
    return "dynamic.onnx" if name.startswith("dynamic") else name.replace(" ", "_").replace(",", "").replace("+", "") \
        + ".onnx"


def export_raw(ckpt: Path, out: Path) -> None:
    """The inference graph before ORT's optimisation (the quantizer's input)."""
    import torch

    sys.path.insert(0, str(ROOT / "scripts"))
    from export_onnx import OPSET, InferenceGraph

    from genrerec.models.checkpoint import load_checkpoint

    ck = load_checkpoint(ckpt)
    graph = InferenceGraph(ck.build()).eval()
    x = torch.randn(4, ck.features.n_mels, ck.features.window_frames).abs()
    with torch.no_grad():
        torch.onnx.export(graph, (x,), str(out), dynamo=False, opset_version=OPSET, do_constant_folding=True,
                          input_names=["logmel"], output_names=["genres", "embedding", "tags"],
                          dynamic_axes={k: {0: "batch"} for k in ("logmel", "genres", "embedding", "tags")})


def patches(files: list[Path], features, k: int) -> list[np.ndarray]:
    from genrerec.models.inference import track_windows

    return [track_windows(f, features, k)[0].astype(np.float32) for f in files]


def session(path: Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def run(sess, x: np.ndarray, batch: int = 4) -> list[np.ndarray]:
    outs = [sess.run(None, {"logmel": x[i:i + batch]}) for i in range(0, len(x), batch)]
    return [np.concatenate([o[j] for o in outs]) for j in range(3)]


def ms_per_window(sess, x: np.ndarray, repeats: int) -> tuple[float, float]:
    """(best, median) ms per window over `repeats` passes of x."""
    run(sess, x[:4])
    ts = []
    for _ in range(repeats):
        t = time.process_time()
        run(sess, x)
        ts.append((time.process_time() - t) / len(x) * 1000)
    return min(ts), float(np.median(ts))


def quantize(raw: Path, work: Path, calib: np.ndarray) -> dict[str, Path]:
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = work / "pre.onnx"
    quant_pre_process(str(raw), str(pre))
    nodes = [(n.name, n.op_type) for n in onnx.load(str(pre)).graph.node]
    front = [n for n, op in nodes if n.startswith(FRONT) and op in ("Conv", "MatMul", "Gemm")]
    back = [n for n, op in nodes if n.startswith(BACK) and op in ("Conv", "MatMul", "Gemm")]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"logmel": calib[i:i + 4]} for i in range(0, len(calib), 4)])

        def get_next(self):
            return next(self.it, None)

    out = {}
    p = work / name_to_file(VARIANTS[0])
    quantize_dynamic(str(pre), str(p), weight_type=QuantType.QInt8, per_channel=True)
    out[VARIANTS[0]] = p
    for name, exclude in zip(VARIANTS[1:], ([], front, back, front + back)):
        p = work / name_to_file(name)
        quantize_static(str(pre), str(p), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=exclude,
                        op_types_to_quantize=["Conv", "Gemm", "MatMul"])
        out[name] = p
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--soundtracks", type=Path, default=SOUNDTRACKS)
    ap.add_argument("--work", type=Path, default=None, help="where the quantized graphs go (default: a temp dir)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--variants", default="", help="comma-separated parts of the names of the variants to run "
                    "(default: all; fp32 always runs, as the reference)")
    ap.add_argument("--earlier", type=Path, default=None,
                    help="a json list of rows measured by an earlier run (its fp32 row first), shown after this run's fp32 "
                    "row and marked as such")
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    env = environment()
    import torch

    from genrerec import load_model
    from genrerec.models.inference import default_model_path

    torch.set_num_threads(1)
    work = args.work or Path(tempfile.mkdtemp(prefix="genrerec-int8-"))
    work.mkdir(parents=True, exist_ok=True)
    tm = load_model(runtime="torch")
    feats = tm.features
    clips = sorted(args.data.glob("*/*.mp3"))
    calib_files = [c for c in clips if int(c.stem.split(".")[1]) % 4 == 1][:20]  # calibration: these clips only
    eval_clips = [c for c in clips if int(c.stem.split(".")[1]) % 4 == 0][:30]
    x_dir = args.soundtracks / "x"
    eval_full = sorted((x_dir / "nexuiz-music").rglob("*.ogg"))[:6] + sorted(
        (x_dir / "warzone2100-music").rglob("track*.opus"))[:6]
    done = {p.name for p in work.glob("*.onnx")}
    calib = np.zeros((0,)) if {"raw.onnx", "pre.onnx", "dynamic.onnx"} <= done else np.concatenate(
        patches(calib_files, feats, 16))  # quantized graphs already in --work are reused
    eval_tracks = patches(eval_clips, feats, 16) + patches(eval_full, feats, 16)
    n_calib = len(calib) or 200
    print(f"calibration: {n_calib} patches of {len(calib_files)} clips; evaluation: {len(eval_clips)} clips + "
          f"{len(eval_full)} full tracks", flush=True)
    raw = work / "raw.onnx"
    if not len(calib):
        quantized = {name: work / name_to_file(name) for name in VARIANTS}
    else:
        export_raw(default_model_path(), raw)
        quantized = quantize(raw, work, calib)
    wanted = [w.strip() for w in args.variants.split(",") if w.strip()]
    variants = {"fp32 (shipped graph)": default_model_path().with_suffix(".onnx"),
                **{k: v for k, v in quantized.items() if not wanted or any(w in k for w in wanted)}}
    ref = [tm.runtime.infer(t) for t in eval_tracks]  # torch fp32, per window
    ref_e = np.stack([(lambda e: e / np.linalg.norm(e))(r[1].mean(0)) for r in ref])
    timing_x = np.concatenate(eval_tracks)[:96]
    earlier = [] if args.earlier is None else [{**r, "variant": r["variant"] + " (earlier run)"}
                                               for r in json.loads(args.earlier.read_text())]
    rows = []
    for name, path in variants.items():
        sess = session(path)
        got = [run(sess, t) for t in eval_tracks]
        e = np.stack([(lambda v: v / np.linalg.norm(v))(g[1].mean(0)) for g in got])
        cos = (e * ref_e).sum(1)
        dg = max(float(np.abs(g[0].mean(0) - r[0].mean(0)).max()) for g, r in zip(got, ref))
        dt = max(float(np.abs(g[2].mean(0) - r[2].mean(0)).max()) for g, r in zip(got, ref))
        best, med = ms_per_window(sess, timing_x, args.repeats)
        ok = bool(cos.min() >= 0.995 and dt <= 0.01)
        rows.append({"variant": name, "ms_window_best": round(best, 1), "ms_window_median": round(med, 1),
                     "cos_min": round(float(cos.min()), 5), "cos_mean": round(float(cos.mean()), 5),
                     "genre_maxdiff": round(dg, 4), "tag_maxdiff": round(dt, 4), "meets_bar": ok,
                     "size_mb": round(path.stat().st_size / 1e6, 1), "load": round(os.getloadavg()[0], 1)})
        print(rows[-1], flush=True)
        write(args.out, env, rows[:1] + earlier + rows[1:], n_calib, len(calib_files), len(eval_clips), len(eval_full),
              len(variants) + len(earlier))


def write(out: Path, env: dict, rows: list[dict], n_calib: int, n_calib_files: int, n_clips: int, n_full: int,
          n_variants: int) -> None:
    """The json and Markdown pages, rewritten after every variant (a stopped run keeps what it measured)."""
    fp32 = rows[0]["ms_window_median"]
    for r in rows:  # against the fp32 row of the same run (an earlier run's rows bring their own)
        r.setdefault("speedup", round(fp32 / r["ms_window_median"], 2))
    atomic_write_json(out / "onnx_int8.json", {"environment": env, "calibration_patches": n_calib, "eval_clips": n_clips,
                                               "eval_full": n_full, "rows": rows, "variants_planned": n_variants})
    partial = (f" This run measured {len(rows)} of the {n_variants} variants before it was stopped."
               if len(rows) < n_variants else "")
    md = ["# int8 MusiCNN on ONNX Runtime", "", "Generated by `python benchmarks/onnx_int8.py` — do not edit by hand.",
          "", re.sub(r"\s+", " ", __doc__.split("\n\n", 1)[1].split("Writes docs")[0]).strip(), "",
          f"Calibration: {n_calib} patches of {n_calib_files} GTZAN clips; evaluation: {n_clips} other GTZAN clips and "
          f"{n_full} full-length soundtrack tracks (nexuiz, warzone2100), 16 patches each. CPU ms/window is CPU time "
          "(process_time) per window, one thread, 4 windows a run, on the first 96 evaluation patches." + partial
          + (" Rows marked (earlier run) come from an earlier run of this script on the same machine, with the same "
             "calibration and evaluation files, stopped by a 20-minute limit after its first variants; their "
             "speed-up is against that run's own fp32 row." if any("(earlier run)" in r["variant"] for r in rows)
             else ""), "",
          md_table(rows, [("variant", "variant"), ("ms_window_median", "CPU ms/window (median)"),
                          ("ms_window_best", "best"), ("speedup", "speed-up vs fp32"),
                          ("cos_min", "embedding cosine vs torch (min)"), ("cos_mean", "mean"),
                          ("genre_maxdiff", "genre prob max diff"), ("tag_maxdiff", "tag prob max diff"),
                          ("meets_bar", "meets the bar"), ("size_mb", "MB"), ("load", "load avg")]),
          "", env_md(env) + f" onnxruntime {__import__('onnxruntime').__version__}.", ""]
    atomic_write_text(out / "onnx_int8.md", "\n".join(md))


if __name__ == "__main__":
    main()
