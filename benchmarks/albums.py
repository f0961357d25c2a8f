#!/usr/bin/env python
"""Album retrieval on full-length free music outside GTZAN.

Debian's game soundtrack packages (one package = one album, fetched with
`apt-get download` into --music, never into the repository). For every track,
its nearest neighbours among all other tracks: album precision@5. And a
listener test: 20 seeded listeners per album play 2 of its tracks; the 10
tracks nearest the mean of those two (history excluded) are scored by how many
come from the same album. Systems: v1 (shipped compact CNN), v2 (MusiCNN,
several genre weights and windows per track), the raw pretrained MusiCNN
embeddings (MSD, MTT), MFCC/spectral statistics, track length alone, random.
Writes docs/benchmarks/albums.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from common import DOCS, ROOT, env_md, environment, md_table
from retrieval import cosine

from genrerec import load_model
from genrerec.demo.freemusic import fetch_soundtracks
from genrerec.library.vectors import combined_vectors
from genrerec.utils import atomic_write_json, atomic_write_text

ALBUMS = ["wesnoth-1.16-music", "warzone2100-music", "nexuiz-music", "drascula-music", "hyperrogue-music",
          "singularity-music", "ufoai-music"]
MIN_TRACK_S = 30.0  # shorter files are jingles and effects, not album tracks
MAX_PER_ALBUM = 40  # the first 40 by name, so no album dominates the score


def package_tracks(x_dir: Path, package: str) -> list[Path]:
    """A package's audio files under x_dir/<package>, sorted by path (as fetch_soundtracks lists them)."""
    from genrerec.audio.decode import AUDIO_EXTENSIONS

    return sorted(p for p in (x_dir / package).rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())


def select_tracks(files: list[Path], cap: int = MAX_PER_ALBUM, on_skip=None) -> list[tuple[Path, float]]:
    """The benchmark's selection from one package's files, in order: each real file once (packages
    link one file under several names), readable by the indexer's own rule, at least MIN_TRACK_S
    long, the first `cap` of them; [(path, duration)]. `on_skip(error)` hears unreadable files."""
    from genrerec.audio.decode import AudioError, read_windows

    seen, kept = set(), []
    for f in files:
        real = os.path.realpath(f)
        if real in seen or len(kept) >= cap:
            continue
        seen.add(real)
        try:
            _, dur = read_windows(f, 3.0, 3.0, 1, 16000)
        except AudioError as e:
            if on_skip is not None:
                on_skip(e)
            continue
        if dur >= MIN_TRACK_S:
            kept.append((f, dur))
    return kept


def album_metrics(sim: np.ndarray, albums: np.ndarray, listeners: int = 20, seed: int = 0) -> dict:
    """album precision@5 (every track queries all others) and the 2-track listener test."""
    n = len(albums)
    p5 = []
    for i in range(n):
        s = sim[i].copy()
        s[i] = -np.inf
        p5.append((albums[np.argsort(-s, kind="stable")[:5]] == albums[i]).mean())
    return {"album_p@5": round(float(np.mean(p5)), 3),
            "listener_10": round(listener_share(sim, albums, listeners, seed), 3)}


def listener_share(sim: np.ndarray, albums: np.ndarray, listeners: int = 20, seed: int = 0) -> float:
    """The 2-track listener test: `listeners` seeded listeners per album play 2 of its tracks; the
    share of the 10 tracks nearest their mean similarity (history excluded) from that album."""
    rng = np.random.default_rng(seed)
    hits = []
    for a in np.unique(albums):
        members = np.flatnonzero(albums == a)
        for _ in range(listeners):
            h = rng.choice(members, 2, replace=False)
            s = sim[h].mean(0)
            s[h] = -np.inf
            hits.append((albums[np.argsort(-s, kind="stable")[:10]] == a).mean())
    return float(np.mean(hits))


def cached(path: Path, files: list[Path], fn, tag: str) -> tuple[np.ndarray, float]:
    """fn(files) -> [N, D], cached per system in an .npz (key: tag + file list); returns (X, seconds)."""
    key = tag + "|" + "|".join(str(f) for f in files)
    if path.exists():
        z = np.load(path, allow_pickle=False)
        if str(z["key"]) == key:
            return z["x"], float(z["seconds"])
    t = time.perf_counter()
    x = fn(files)
    dt = time.perf_counter() - t
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, key=np.array(key), seconds=np.array(dt))
    return x, dt


def pretrained_as_model(name: str):
    """A shipped pretrained backbone wrapped as a GenreModel with a placeholder 1-genre head,
    so its embedding goes through the same encode() path as v1 and v2."""
    from genrerec.models.checkpoint import load_checkpoint
    from genrerec.models.inference import GenreModel, pretrained_model_path
    from genrerec.models.registry import ModelDims, build_model

    ck = load_checkpoint(pretrained_model_path(name))
    ck.genres, ck.dims = ["-"], ModelDims(**{**ck.dims.to_dict(), "n_classes": 1})
    m = build_model(ck.dims)
    m.load_state_dict({**m.state_dict(), **{k: v for k, v in ck.state_dict.items() if not k.startswith("head.")}})
    ck.state_dict = m.state_dict()
    return GenreModel(ck, name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--music", type=Path, default=ROOT / ".cache" / "soundtracks", help="where packages unpack")
    ap.add_argument("--cache", type=Path, default=ROOT / "runs" / "albums")
    ap.add_argument("--v2", type=Path, default=None, help="v2 checkpoint (default: the shipped MusiCNN model)")
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args()
    env = environment()
    print(env_md(env))
    found = fetch_soundtracks(args.music, ALBUMS)
    files, albums, lengths = [], [], []
    for a in ALBUMS:
        for f, dur in select_tracks(found[a], on_skip=lambda e: print(f"skipping {e}")):
            files.append(f)
            albums.append(a)
            lengths.append(dur)
    albums = np.array(albums)
    print(f"{len(files)} tracks in {len(ALBUMS)} albums")

    from baseline import handcrafted_features

    from genrerec.models.inference import default_model_path

    v1 = load_model("v1")
    v2 = load_model(args.v2 or default_model_path())
    rows, timing = [], {}

    def encode(model, k):
        def fn(fs):
            te = model.encode(fs, max_windows=k)
            return np.stack([np.concatenate([t.genres, t.embedding]) for t in te])
        return fn

    def add(name: str, sim: np.ndarray, note: str = "") -> None:
        rows.append({"system": name, **album_metrics(sim, albums), "note": note})

    X1, timing["v1, 16 windows"] = cached(args.cache / "v1-16.npz", files, encode(v1, 16), v1.model_id)
    G1, E1 = X1[:, : len(v1.genres)], X1[:, len(v1.genres):]
    add("v1 compact CNN, Recommender similarity (w=0.5)", cosine(combined_vectors(G1, E1, 0.5)))
    add("v1 compact CNN, embedding only", cosine(E1))
    for k in (4, 16):
        X2, timing[f"v2, {k} windows"] = cached(args.cache / f"v2-{k}.npz", files, encode(v2, k), v2.model_id)
        G2, E2 = X2[:, : len(v2.genres)], X2[:, len(v2.genres):]
        for w in (0.0, 0.25, 0.5):
            add(f"v2 MusiCNN, {k} windows, genre weight {w}", cosine(combined_vectors(G2, E2, w)))
    # v2 trains only its genre head: its embedding *is* the pretrained MSD one (genre weight 0 above)
    for name in ("mtt",):  # the other raw pretrained embedding
        pm = pretrained_as_model(name)
        Xp, timing[f"pretrained {name}, 16 windows"] = cached(args.cache / f"{name}-16.npz", files, encode(pm, 16),
                                                               pm.model_id)
        add(f"pretrained MusiCNN-{name.upper()} embedding, 16 windows", cosine(Xp[:, 1:]))
    H, timing["MFCC statistics"] = cached(args.cache / "mfcc.npz", files,
                                          lambda fs: np.stack([handcrafted_features(f) for f in fs]), "mfcc-v1")
    Hs = (H - H.mean(0)) / (H.std(0) + 1e-9)  # standardised over the whole set (no labels used)
    add("MFCC + spectral statistics (baseline)", cosine(Hs))
    L = np.log(np.array(lengths))
    add("track length alone", -np.abs(L[:, None] - L[None, :]))
    r = np.random.default_rng(0).standard_normal((len(files), len(files)))
    add("random", r + r.T)
    rows.sort(key=lambda x: -x["album_p@5"])
    audio_h = sum(lengths) / 3600
    result = {"environment": env, "albums": {a: int((albums == a).sum()) for a in ALBUMS}, "tracks": len(files),
              "audio_hours": round(audio_h, 2), "rows": rows,
              "encode_seconds": {k: round(v, 1) for k, v in timing.items()}}
    atomic_write_json(args.out / "albums.json", result)
    chance = float(np.mean([((albums == a).sum() - 1) / (len(files) - 1) for a in albums]))
    md = ["# Album retrieval on full-length soundtracks (outside GTZAN)", "",
          "Generated by `python benchmarks/albums.py` — do not edit by hand.", "",
          f"Data: {len(files)} full-length tracks ({audio_h:.1f} h) from {len(ALBUMS)} Debian game soundtrack "
          "packages, one package = one album: " + ", ".join(f"{a} ({n})" for a, n in result["albums"].items())
          + ". None of this music, and no soundtrack music at all, was used to train or choose v1/v2 (trained on "
          "the 114 shared GTZAN clips).", "",
          "album p@5: each track's 5 nearest other tracks, share from its own album (chance about "
          f"{chance:.2f}). listener@10: 20 seeded listeners per album play 2 of its tracks; share of the 10 "
          "tracks nearest their mean that come from that album.", "",
          md_table(rows, [("system", "similarity"), ("album_p@5", "album p@5"), ("listener_10", "listener@10")]),
          "", "Time to encode all tracks (decode + features + model, one process, 2-core CPU shared with other "
          "work, so only roughly comparable): " + ", ".join(f"{k} {v:.0f} s" for k, v in
                                                             result["encode_seconds"].items()) + ".", "",
          "The genre weight is the share of the genre vector in the Recommender's combined similarity (the "
          "embedding gets the rest).", "", env_md(env), ""]
    atomic_write_text(args.out / "albums.md", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
