#!/usr/bin/env python
"""Headline numbers against their targets, read from the committed benchmark
results (docs/benchmarks/*.json), and optionally compared with a rerun.

Writes docs/benchmarks/summary.md. It trains and measures nothing itself: run
the benchmark scripts first. `--rerun DIR` also writes docs/benchmarks/rerun.md:
the same headline numbers from another results folder (e.g. docs/benchmarks of
a fresh clone after a full rerun) beside the committed ones, and a per-file
table of how far every number moved, so "the committed results match a rerun"
is checked by a script, not by eye. Takes seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from common import DOCS, md_table

from genrerec.utils import atomic_write_text

FILES = ["accuracy", "retrieval", "ablations", "temperature", "temperature-resnet18", "speed", "scale", "web",
         "musicnn_cv", "albums", "peers_speed", "temperature-musicnn", "scale-ivfpq", "index_build", "local_engine", "distributed"]
# Wall-clock fields move with machine load; they are compared apart from the quality numbers.
TIMING_KEYS = {"train_minutes", "build_s", "p50_ms", "p99_ms", "wall_s", "tracks_per_s", "x_realtime",
               "decode_ms", "features_ms", "model_ms", "p50", "p95", "max", "server_start_s", "catalog_build_s",
               "seconds", "x_analysed", "peak_mb", "p50_ms_rerank", "train_s", "add_s", "median_s", "median_change",
               "commit_s_per_track", "ray_start_s", "ray_efficiency", "ray_efficiency_raw", "workers_h", "commit_h",
               "scan_h", "build_h", "wall_h", "core_h", "cost", "commit_bound_from_nodes", "read", "decode",
               "features", "model", "commit", "scan", "load", "cpu_med", "wall_med", "peak_pss_mb", "peak_rss_mb"}


def _load(folder: Path) -> dict[str, dict]:
    return {f: json.loads((folder / f"{f}.json").read_text()) for f in FILES if (folder / f"{f}.json").exists()}


def _row(rows: list[dict], **match) -> dict:
    for r in rows:
        if all(r.get(k) == v for k, v in match.items()):
            return r
    raise KeyError(f"no row with {match}")


def headline(res: dict[str, dict]) -> list[dict]:
    """[{metric, target, value, met}] from one results folder; metrics whose file is missing are skipped."""
    out = []

    def add(metric: str, target: str, value, met):
        out.append({"metric": metric, "target": target, "value": value,
                    "met": "-" if met is None else ("yes" if met else "**no**")})

    if "retrieval" in res:
        rows = res["retrieval"]["rows"]
        p5 = {r["method"]: r["precision@5"] for r in rows}
        rec = next((v for m, v in p5.items() if m.startswith("cnn combined (Recommender")), None)
        base = {m: v for m, v in p5.items() if not m.startswith(("cnn ", "resnet18 "))}
        if rec is not None:
            add("retrieval precision@5, Recommender similarity (compact CNN), 2-fold block CV", ">= 0.70", rec,
                rec >= 0.70)
        if rec is not None and base:
            best_base = max(base, key=base.get)
            add(f"... above every baseline (best: {best_base}, {base[best_base]})", "above", rec,
                rec > base[best_base])
        r18 = next((v for m, v in p5.items() if m.startswith("resnet18 combined (Recommender")), None)
        if r18 is not None:
            add("retrieval precision@5, ResNet18 combined", "-", r18, None)
        for m, acc in res["retrieval"]["clip_accuracy"].items():
            add(f"clip accuracy, {m}, 2-fold block CV (114 held-out clips)", "-", acc, None)
    if "accuracy" in res:
        rows = res["accuracy"]["rows"]
        acc = {r["model"]: r["clip_accuracy"] for r in rows if r["split"].startswith("gtzan_blocks")}
        for m in ("cnn", "resnet18", "seed-cnn", "mfcc+spectral svm"):
            if m in acc:
                add(f"clip accuracy, {m}, saved block split ({rows[0]['test_clips']} test clips)",
                    ">= 0.70 and above seed CNN / ResNet18" if m == "cnn" else "-", acc[m],
                    (acc[m] >= 0.70 and all(acc[m] > acc.get(o, 0) for o in ("resnet18", "seed-cnn")))
                    if m == "cnn" else None)
    if "ablations" in res:
        p5s = [r["p5_combined"] for r in res["ablations"]["rows"] if isinstance(r["p5_combined"], float)]
        add("ablations: best precision@5 of any variant tried", ">= 0.70", max(p5s), max(p5s) >= 0.70)
    for f in ("temperature", "temperature-resnet18", "temperature-musicnn"):
        if f in res:
            rows = res[f]["rows"]
            k = max(r["history_genres"] for r in rows)
            ts = sorted({r["temperature"] for r in rows})
            lo, hi = _row(rows, history_genres=k, temperature=ts[0]), _row(rows, history_genres=k, temperature=ts[-1])
            add(f"{f}: genre match, {k}-genre listeners, T={ts[0]:g} -> T={ts[-1]:g}", "falls as T rises",
                f"{lo['genre_match']} -> {hi['genre_match']}", hi["genre_match"] < lo["genre_match"])
            add(f"{f}: catalogue coverage, T={ts[0]:g} -> T={ts[-1]:g}", "rises as T rises",
                f"{lo['coverage']} -> {hi['coverage']}", hi["coverage"] > lo["coverage"])
    if "speed" in res:
        worst = min(res["speed"]["index"], key=lambda r: r["x_realtime"])
        add(f"indexing speed, slowest set ({worst['set']}), x real time", ">= 100x", worst["x_realtime"],
            worst["x_realtime"] >= 100)
        r = res["speed"]["recommend"]
        add(f"recommend() latency, {r['history']}-track history, p50 / p99 ms", "-", f"{r['p50_ms']} / {r['p99_ms']}",
            None)
    if "scale" in res:
        big = max(r["vectors"] for r in res["scale"]["rows"])
        ok = [r for r in res["scale"]["rows"] if r["vectors"] == big and r["recall@10"] >= 0.95]
        best = min(ok, key=lambda r: r["p50_ms"]) if ok else None
        add(f"FAISS at {big:,} vectors: fastest index with recall@10 >= 0.95, p50 ms",
            "<= 5 ms", f"{best['p50_ms']} ({best['index']}, recall {best['recall@10']})" if best else "none",
            bool(best) and best["p50_ms"] <= 5)
    if "musicnn_cv" in res:
        from genrerec.library.vectors import GENRE_WEIGHT

        mc = res["musicnn_cv"]
        v1_p5 = {r["method"]: r["precision@5"] for r in res.get("retrieval", {}).get("rows", [])}
        baselines = {m: v for m, v in v1_p5.items() if not m.startswith(("cnn ", "resnet18 "))}
        for row in mc["summary"]:
            acc = float(row["clip_acc"].split()[0])
            add(f"v2 MusiCNN ({row['mode']} fine-tuning), clip accuracy, 2-fold block CV, {row['seeds']} seeds",
                ">= 0.80", row["clip_acc"], acc >= 0.80)
            key = f"p5_w{GENRE_WEIGHT}"  # the shipped genre weight
            p5 = float(row[key].split()[0])
            add(f"v2 MusiCNN ({row['mode']}), Recommender precision@5 (genre weight {GENRE_WEIGHT}), 2-fold block CV",
                ">= 0.70 and above every baseline", row[key],
                p5 >= 0.70 and all(p5 > v for v in baselines.values()))
    if "albums" in res:
        p5 = {r["system"]: r["album_p@5"] for r in res["albums"]["rows"]}
        v1 = p5["v1 compact CNN, Recommender similarity (w=0.5)"]
        mfcc = p5["MFCC + spectral statistics (baseline)"]
        from genrerec.library.vectors import GENRE_WEIGHT

        v2 = p5[f"v2 MusiCNN, 16 windows, genre weight {GENRE_WEIGHT}"]  # the shipped setting
        add(f"album precision@5 on {res['albums']['tracks']} soundtrack tracks: v2 (16 windows, genre weight "
            f"{GENRE_WEIGHT}) vs v1 {v1} and MFCC {mfcc}", "above v1 and MFCC", v2, v2 > max(v1, mfcc))
    if "peers_speed" in res:
        from genrerec.models.inference import MAX_WINDOWS

        rows, name = res["peers_speed"]["rows"], res["peers_speed"].get("model", "v2")
        for st in sorted({r["set"] for r in rows}):
            by = {r["system"]: r for r in rows if r["set"] == st}
            bliss = next(v for k, v in by.items() if k.startswith("bliss"))
            v2 = by.get(f"genrerec {name}, ONNX Runtime fp32, {MAX_WINDOWS} patches")
            if v2 is None or "cpu_med" not in v2:
                continue
            factor = 1 if not st.startswith("GTZAN") else 3
            add(f"speed vs bliss, {st}: genrerec {name} (ONNX Runtime) vs bliss, CPU s per track (median)",
                "<= bliss" if factor == 1 else "<= 3x bliss", f"{v2['cpu_med']:.3f} vs {bliss['cpu_med']:.3f}",
                v2["cpu_med"] <= factor * bliss["cpu_med"])
    if "web" in res:
        rows = {r["metric"]: r for r in res["web"]["rows"]}
        page = rows["page interactive (ms since navigation start)"]
        add(f"web app: page interactive, {res['web']['tracks']:,} tracks, worst of {res['web']['loads']} loads, ms",
            "< 2000", page["max"], page["max"] < 2000)
        rt = rows["recommend round trip in the page, fetch (ms)"]
        add(f"web app: recommendation round trip, {res['web']['history']}-track history, p95 ms", "< 150",
            rt["p95"], rt["p95"] < 150)
    if "scale-ivfpq" in res:
        for r in res["scale-ivfpq"]["rows"]:
            if "(default)" in r["index"]:
                add(f"IVF-PQ index at {r['vectors']:,} synthetic {res['scale-ivfpq']['dim']}-d vectors: recall@10 "
                    "PQ codes / re-ranked by the Recommender, bytes a track, p50 ms", "-",
                    f"{r['recall@10']} / {r['recall@10_rerank']}, {r['bytes_per_track']} B, {r['p50_ms_rerank']} ms",
                    None)
    if "index_build" in res:
        ib = res["index_build"]
        for kind in sorted({r["kind"] for r in ib["rows"]}):
            a, b = (_row(ib["rows"], kind=kind, method=m) for m in ("at once", "streamed"))
            add(f"index build ({kind}) from a {ib['tracks']:,}-track catalog: peak memory streamed vs at once, MB",
                "below at once", f"{b['peak_mb']:.0f} vs {a['peak_mb']:.0f}", b["peak_mb"] < a["peak_mb"])
    if "local_engine" in res:
        le = res["local_engine"]
        same = le["same_tracks_and_status"] and le["max_vector_diff"] <= 1e-5
        add(f"local engine before ({le['baseline']}) vs after the engine seam ({le['seam']}): median wall time "
            "change; same catalog", "unchanged (within 10%, same vectors)",
            f"{le['median_change']:+.1%}; " + ("same tracks and vectors" if same else
                                               f"**differs** (max diff {le['max_vector_diff']:.2g})"),
            same and abs(le["median_change"]) <= 0.10)
    if "distributed" in res:
        runs = res["distributed"]["runs"]
        local = [r["tracks_per_s"] for r in runs if r["engine"].startswith("local")]
        ray2 = next(r for r in runs if r["engine"].startswith("Ray, 2"))
        add(f"Ray engine, 2 workers vs local engine (runs before and after) on 2 cores, {ray2['tracks']} clips, "
            "tracks/s", "-", f"{ray2['tracks_per_s']} vs {' / '.join(map(str, local))}", None)
    return out


def _leaves(x, path=""):
    """(path, number) for every numeric leaf of a JSON value."""
    if isinstance(x, dict):
        for k, v in x.items():
            if k != "environment":
                yield from _leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            label = v.get("method") or v.get("model") or v.get("variant") or v.get("set") or v.get("index") \
                if isinstance(v, dict) else None
            yield from _leaves(v, f"{path}[{i}{': ' + label if label else ''}]")
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        yield path, float(x)


def drift(old: dict, new: dict) -> dict:
    """Largest absolute change of the quality numbers and of the timing numbers between two results."""
    a, b = dict(_leaves(old)), dict(_leaves(new))
    common = [k for k in a if k in b and math.isfinite(a[k]) and math.isfinite(b[k])]
    out = {"only_one_side": len(set(a) ^ set(b))}
    for kind, keys in (("quality", [k for k in common if k.rsplit(".", 1)[-1] not in TIMING_KEYS]),
                       ("timing", [k for k in common if k.rsplit(".", 1)[-1] in TIMING_KEYS])):
        if keys:
            k = max(keys, key=lambda k: abs(a[k] - b[k]))
            rel = {k: abs(a[k] - b[k]) / abs(a[k]) for k in keys if a[k]}
            kr = max(rel, key=rel.get) if rel else k
            out[kind] = {"n": len(keys), "max_abs": round(abs(a[k] - b[k]), 4), "at": k, "old": a[k], "new": b[k],
                         "exactly_equal": sum(a[k] == b[k] for k in keys),
                         "max_rel": round(rel[kr], 3) if rel else 0.0, "at_rel": kr}
    return out


def render_summary(res: dict[str, dict]) -> str:
    """docs/benchmarks/summary.md: the headline table of one results folder (a test keeps it current)."""
    return "\n".join(["# Headline numbers against their targets", "",
                      "Generated by `python benchmarks/summary.py` from the JSON results in this folder — do not "
                      "edit by hand. What each benchmark measures, and how long it takes: [README](README.md). "
                      "How these committed results compare with a full rerun from a fresh clone: "
                      "[rerun.md](rerun.md).", "",
                      md_table(headline(res), [("metric", "metric"), ("target", "target"), ("value", "measured"),
                                               ("met", "met")]), ""])


def render_rerun(res: dict[str, dict], rerun_dir: Path, label: str) -> str:
    """Committed results next to a rerun: headline numbers side by side, then how far every number moved."""
    rerun = _load(rerun_dir)
    rows = headline(res)
    again = {r["metric"]: r["value"] for r in headline(rerun)}
    for r in rows:
        r["rerun"] = again.get(r["metric"], "(not rerun)")
    table = []
    written = {f: time.strftime("%Y-%m-%d %H:%M", time.gmtime((rerun_dir / f"{f}.json").stat().st_mtime))
               for f in rerun if (rerun_dir / f"{f}.json").exists()}
    for f in FILES:
        if f in res and f in rerun:
            d = drift(res[f], rerun[f])
            q, t = d.get("quality", {}), d.get("timing", {})
            moved = q and q["max_abs"] > 0
            table.append({"file": f"{f}.json", "n": q.get("n", 0), "eq": q.get("exactly_equal", "-"),
                          "max": q["max_abs"] if moved else "-",
                          "at": f"`{q['at']}` {q['old']} -> {q['new']}" if moved else "-",
                          "t": f"{t['max_rel']:.0%} at `{t['at_rel']}`" if t and t["max_rel"] > 0 else "-",
                          "one": d["only_one_side"], "when": written.get(f, "-")})
        elif f in res:
            table.append({"file": f"{f}.json", "n": "(not rerun)"})
    return "\n".join([
        "# Committed benchmark results vs a rerun", "",
        f"Generated by `python benchmarks/summary.py --rerun {label}` — do not edit by hand. The rerun is every "
        "benchmark script run again with no flags from a fresh clone (models retrained, soundtracks downloaded "
        "again); the left column is what is committed in this folder.", "",
        md_table(rows, [("metric", "metric"), ("target", "target"), ("value", "committed"), ("rerun", "rerun"),
                        ("met", "met (committed)")]), "",
        "Every numeric value of each JSON file, compared. *Quality* numbers are accuracies, precisions, recalls, "
        "counts and settings; *timing* numbers are wall-clock figures, which move with machine load. The last "
        "column shows when the rerun wrote each file (a file the rerun did not regenerate keeps its clone time).",
        "",
        md_table(table, [("file", "file"), ("n", "quality numbers"), ("eq", "identical"), ("max", "largest change"),
                         ("at", "where"), ("t", "largest relative timing change"),
                         ("one", "numbers in one file only"),
                         ("when", "rerun file written (UTC)")]), ""])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=DOCS, help="folder of benchmark JSON files")
    ap.add_argument("--rerun", type=Path, help="a second results folder (e.g. a fresh clone's) to compare with; "
                                               "writes rerun.md beside summary.md")
    ap.add_argument("--label", help="how rerun.md names the rerun folder (default: the path given)")
    args = ap.parse_args()
    res = _load(args.results)
    if not res:
        raise SystemExit(f"no benchmark results (*.json) in {args.results}: run the benchmark scripts first")
    text = render_summary(res)
    atomic_write_text(args.results / "summary.md", text)
    print(text)
    if args.rerun:
        if not _load(args.rerun):
            raise SystemExit(f"no benchmark results (*.json) in {args.rerun}")
        text = render_rerun(res, args.rerun, args.label or str(args.rerun))
        atomic_write_text(args.results / "rerun.md", text)
        print(text)


if __name__ == "__main__":
    main()
