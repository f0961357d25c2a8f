"""Shared bits of the v3 benchmarks: the per-track feature cache written by v3_features.py,
track-level pooling, per-dimension standardisation, album p@5 per query and bootstrap spreads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from albums import listener_share

from genrerec.models.space import _z

CACHE = Path("/work/cache/v3/feat-ort")  # v3_features.py: the shipped v2 ONNX graph on ONNX Runtime
CACHE_MTT = Path("/work/cache/v3/feat_mtt")  # an optional second pass with the torch MTT backbone


@dataclass
class Tracks:
    """Track-level features of every cached track (rows aligned with `meta`)."""

    meta: list[dict]  # {set, group, key, path, file}
    sets: np.ndarray  # "gtzan" | "bench" | "ref"
    groups: np.ndarray  # genre (gtzan) or package (albums)
    keys: np.ndarray
    f: dict[str, np.ndarray]  # name -> [N, D]
    windows: dict[str, list[np.ndarray]]  # name -> per track [k, D] (window level)
    seconds: dict[str, np.ndarray]  # decode_s, msd_s, mtt_s, duration per track
    has_mtt: np.ndarray  # tracks with MTT features (others hold zeros there)

    def mask(self, *sets: str) -> np.ndarray:
        return np.isin(self.sets, sets)


def load_tracks(cache: Path = CACHE, keep_windows: tuple[str, ...] = ("msd_emb", "msd_pooled"),
                extra: Path = CACHE_MTT) -> Tracks:
    """Read every cached track: window means of each feature (and the windows of `keep_windows`);
    MTT features from `extra` where the main cache lacks them."""
    meta = [t for t in json.loads((cache / "tracks.json").read_text()) if t.get("file") and (cache / t["file"]).exists()]
    f: dict[str, list] = {}
    win: dict[str, list] = {k: [] for k in keep_windows}
    secs: dict[str, list] = {k: [] for k in ("decode_s", "msd_s", "mtt_s", "duration")}
    has_mtt = []
    for t in meta:
        z = dict(np.load(cache / t["file"]))
        if "mtt_s" not in z and (extra / t["file"]).exists():
            z.update({k: v for k, v in np.load(extra / t["file"]).items() if k.startswith("mtt_")})
        has_mtt.append("mtt_s" in z)
        if "mtt_s" not in z:
            z.update({"mtt_pooled": np.zeros((1, 1506), np.float32), "mtt_emb": np.zeros((1, 200), np.float32),
                      "mtt_tags": np.zeros((1, 50), np.float32), "mtt_s": np.array(np.nan)})
        for k in z:
            if z[k].ndim == 2:
                f.setdefault(k, []).append(z[k].mean(0))
                if k in win:
                    win[k].append(z[k])
        for k in secs:
            secs[k].append(float(z[k]))
        t["n_windows"] = int(z["msd_emb"].shape[0])
    return Tracks(meta, np.array([t["set"] for t in meta]), np.array([t["group"] for t in meta]),
                  np.array([t["key"] for t in meta]), {k: np.stack(v) for k, v in f.items()}, win,
                  {k: np.array(v) for k, v in secs.items()}, np.array(has_mtt))


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and standard deviation, unfloored (as the space file stores them): `standardise`
    applies the library's rule (genrerec.models.space._z: a dead feature, sd <= DEAD_SD, becomes 0)."""
    return x.mean(0), x.std(0)


def standardise(x: np.ndarray, st: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(x - mean) / sd with dead features (sd <= DEAD_SD) at 0, exactly as V3Space.standardise, divided by
    sqrt(dim) so each block has squared norm about 1 (the dead dimensions count in dim there too)."""
    return _z(x, st[0], st[1]) / np.sqrt(x.shape[-1])


def blend(blocks: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """Unit vectors of sqrt(w_b) * block_b concatenated (blocks already scaled to norm about 1)."""
    return unit(np.concatenate([np.sqrt(w) * b for b, w in blocks if w > 0], axis=1)).astype(np.float32)


def p5_per_query(vecs: np.ndarray, albums: np.ndarray, k: int = 5) -> np.ndarray:
    """Each track's share of its k nearest other tracks (cosine) from its own album."""
    s = vecs @ vecs.T
    np.fill_diagonal(s, -np.inf)
    nn = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return (albums[nn] == albums[:, None]).mean(1)


def boot_ci(x: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean of x (resampling its entries)."""
    rng = np.random.default_rng(seed)
    m = x[rng.integers(0, len(x), (n, len(x)))].mean(1)
    return float(np.quantile(m, 0.025)), float(np.quantile(m, 0.975))


def boot_album_ci(x: np.ndarray, albums: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% interval of the mean of per-album means, resampling albums."""
    per = np.array([x[albums == a].mean() for a in np.unique(albums)])
    return boot_ci(per, n, seed)


def score_spread(vecs: np.ndarray) -> dict:
    """Distribution of the cosine scores between distinct tracks: 5/50/95th percentile and sd."""
    s = vecs @ vecs.T
    v = s[np.triu_indices(len(s), 1)]
    q5, q50, q95 = np.quantile(v, [0.05, 0.5, 0.95])
    return {"cos_p5": round(float(q5), 3), "cos_p50": round(float(q50), 3), "cos_p95": round(float(q95), 3),
            "cos_sd": round(float(v.std()), 3)}


def listener10(vecs: np.ndarray, groups: np.ndarray, listeners: int = 20, seed: int = 0) -> float:
    """albums.py's listener test: 20 seeded listeners per group play 2 of its tracks; share of the 10
    tracks nearest the mean of their vectors (history excluded) from that group. On GTZAN genres this
    is a proxy for temperature.py's T=0 in-genre share (1-genre histories, no Recommender)."""
    return listener_share(vecs @ vecs.T, groups, listeners, seed)


def stats_digest(space) -> str:
    """sha256 of a V3Space's reference statistics as stored (float32): what a head fitted on its standardised
    features depends on (v3_mtt_tags.py records it, scripts/build_space_v3.py checks it)."""
    import hashlib

    h = hashlib.sha256()
    for k in ("pooled_mean", "pooled_sd", "emb_mean", "emb_sd"):
        h.update(np.ascontiguousarray(getattr(space, k), np.float32).tobytes())
    return h.hexdigest()
