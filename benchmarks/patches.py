#!/usr/bin/env python
"""Patches per track: the quality/speed curve that sets genrerec's default (MAX_WINDOWS).

The shipped v2 model on ONNX Runtime encodes every track with k patches (windows of
2.98 s spread evenly over the track; a 30 s clip has only 10, so k >= 10 is all of it),
for k in --windows, through the indexing path itself (`GenreModel.encode`, 2 worker
processes, one thread each). Quality: on the full-length soundtrack benchmark
(benchmarks/albums.py's tracks and metric: album p@5 and the 2-track listener test,
with the Recommender's similarity: genre weight GENRE_WEIGHT, 0.25) and on the 114 GTZAN
clips (genre p@5 of the same similarity, leave one out; and genre accuracy of the head,
which was *trained on these clips*, so only its change with k means anything). Cost:
CPU s per track of decode + features + inference (the sum over the workers).
Writes docs/benchmarks/patches.{json,md}.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
from pathlib import Path

import numpy as np
from albums import ALBUMS, MAX_PER_ALBUM, album_metrics, package_tracks, select_tracks
from common import DEFAULT_DATA, DOCS, env_md, environment, md_table
from retrieval import cosine

from genrerec.utils import atomic_write_json, atomic_write_text

SOUNDTRACKS = Path("/work/cache/soundtracks")
_M: dict = {}


def _init() -> None:
    from genrerec import load_model

    _M["m"] = load_model(runtime="onnx", threads=1)


def _encode(job: tuple[str, int]) -> tuple[np.ndarray, np.ndarray]:
    te = _M["m"].encode([job[0]], max_windows=job[1])[0]
    return te.genres, te.embedding


def encode_all(files: list[Path], k: int, workers: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(genres [N, G], embeddings [N, D], CPU s per track of the workers)."""
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with mp.get_context("fork").Pool(workers, initializer=_init) as pool:
        out = pool.map(_encode, [(str(f), k) for f in files], chunksize=1)
        pool.close()
        pool.join()
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime) / len(files)
    return np.stack([g for g, _ in out]), np.stack([e for _, e in out]), cpu


def album_tracks(x_dir: Path, per_album: int = MAX_PER_ALBUM) -> tuple[list[Path], np.ndarray]:
    """benchmarks/albums.py's selection: the first `per_album` tracks of >= MIN_TRACK_S per package."""
    files, albums = [], []
    for a in ALBUMS:
        for f, _ in select_tracks(package_tracks(x_dir, a), per_album):
            files.append(f)
            albums.append(a)
    return files, np.array(albums)


def genre_p5(sim: np.ndarray, labels: np.ndarray) -> float:
    p = []
    for i in range(len(labels)):
        s = sim[i].copy()
        s[i] = -np.inf
        p.append((labels[np.argsort(-s, kind="stable")[:5]] == labels[i]).mean())
    return round(float(np.mean(p)), 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--soundtracks", type=Path, default=SOUNDTRACKS, help="unpacked Debian packages under x/")
    ap.add_argument("--windows", default="4,8,16,32")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--per-album", type=int, default=MAX_PER_ALBUM, help="tracks per album (albums.py: 40)")
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args()
    env = environment()
    from genrerec.library.vectors import GENRE_WEIGHT, combined_vectors
    from genrerec.models.inference import MAX_WINDOWS

    ks = [int(k) for k in args.windows.split(",")]
    files, albums = album_tracks(args.soundtracks / "x", args.per_album)
    clips = sorted(args.data.glob("*/*.mp3"))
    labels = np.array([c.parent.name for c in clips])
    genre_names = None
    rows = []
    for k in ks:
        load = os.getloadavg()[0]
        G, E, cpu = encode_all(files, k, args.workers)
        sim = cosine(combined_vectors(G, E, GENRE_WEIGHT))
        row = {"k": k, **album_metrics(sim, albums), "album_p@5_emb": album_metrics(cosine(E), albums)["album_p@5"],
               "cpu_full": round(cpu, 3)}
        if k <= 16:  # a clip has 10 patches: every k >= 10 reads all of them, the same numbers
            Gc, Ec, cpu_c = encode_all(clips, k, args.workers)
            if genre_names is None:
                from genrerec import load_model

                genre_names = load_model(runtime="onnx").genres
            pred = np.array([genre_names[i] for i in Gc.argmax(1)])
            row.update(gtzan_p5=genre_p5(cosine(combined_vectors(Gc, Ec, GENRE_WEIGHT)), labels),
                       gtzan_p5_emb=genre_p5(cosine(Ec), labels), gtzan_acc=round(float((pred == labels).mean()), 3),
                       cpu_clip=round(cpu_c, 3))
        row.update(default="yes" if k == MAX_WINDOWS else "", load=f"{load:.1f}-{os.getloadavg()[0]:.1f}")
        rows.append(row)
        print(row, flush=True)
    res = {"environment": env, "tracks": len(files), "clips": len(clips), "genre_weight": GENRE_WEIGHT,
           "albums": {a: int((albums == a).sum()) for a in ALBUMS}, "rows": rows}
    atomic_write_json(args.out / "patches.json", res)
    md = ["# Patches per track: quality against cost", "", "Generated by `python benchmarks/patches.py` — do not edit "
          "by hand.", "", " ".join(__doc__.split("\n\n")[:2]).replace("\n", " ").split("Writes docs")[0].strip(), "",
          f"Data: {len(files)} full-length tracks of {len(ALBUMS)} soundtrack albums ("
          + ", ".join(f"{a} {n}" for a, n in res["albums"].items()) + f"); {len(clips)} GTZAN clips. Album chance "
          "p@5 about 0.15, GTZAN genre chance 0.10.", "",
          md_table(rows, [("k", "patches/track"), ("default", "default"), ("album_p@5", "album p@5"),
                          ("album_p@5_emb", "album p@5 (embedding only)"), ("listener_10", "listener@10"),
                          ("cpu_full", "CPU s/track (full)"), ("gtzan_p5", "GTZAN genre p@5"),
                          ("gtzan_p5_emb", "GTZAN p@5 (embedding only)"), ("gtzan_acc", "GTZAN accuracy (train clips)"),
                          ("cpu_clip", "CPU s/clip"), ("load", "load avg")]), "",
          "CPU s is decode + features + inference in the workers (no catalog, no start-up); the machine's 2 cores "
          "were shared with other work (load column).", "", env_md(env), ""]
    atomic_write_text(args.out / "patches.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
