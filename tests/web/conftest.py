"""A synthetic library for the web app: real, playable audio files with a
catalog written directly (clustered vectors per genre), so no model runs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from genrerec.library.catalog import Catalog
from tests.conftest import write_audio

pytest.importorskip("fastapi")

GENRES = ["low", "high", "mid"]
PER_GENRE = 8


def make_web_library(root: Path, per_genre: int = PER_GENRE, dim: int = 16, seed: int = 0, audio: bool = True,
                     tags: list[str] | None = None) -> Path:
    """root/<genre>/<genre>NN.wav (one .aiff per genre, which browsers cannot play), plus two failures.
    Tracks cluster by genre; the first of each genre has artist/title tags."""
    rng = np.random.default_rng(seed)
    db = root / ".genrerec"
    cat = Catalog(db / "catalog.sqlite")
    centers = rng.standard_normal((len(GENRES), dim)) * 2
    with cat.transaction():
        cat.set_meta("library", str(root))
        cat.set_meta("model_id", "synthetic")
        cat.set_meta("genres", GENRES)
        if tags:
            cat.set_meta("tags", tags)
        for gi, g in enumerate(GENRES):
            for i in range(per_genre):
                ext = "aiff" if i == per_genre - 1 else "wav"
                rel = f"{g}/{g}{i:02d}.{ext}"
                if audio:
                    write_audio(root / rel, g, seconds=3.0, seed=i, fmt="AIFF" if ext == "aiff" else None)
                else:
                    (root / g).mkdir(parents=True, exist_ok=True)
                    (root / rel).write_bytes(b"x")
                e = centers[gi] + rng.uniform(0.2, 1.2) * rng.standard_normal(dim)
                logits = np.eye(len(GENRES))[gi] * 3 + 0.5 * rng.standard_normal(len(GENRES))
                p = np.exp(logits) / np.exp(logits).sum()
                meta = {"artist": f"Artist {g.title()}", "title": f"Song <{i}>"} if i == 0 else {}
                cat.upsert(os.fsencode(rel), 1, 1, rel, status="ok", duration=3.0, model_id="synthetic",
                           genres=p, embedding=e / np.linalg.norm(e), tags=meta)
        if tags:  # the layout of a catalog whose model has a tag head: float32 [n_tags] per track
            for tid, path in cat.db.execute("SELECT id, path FROM tracks").fetchall():
                # first tag: how 'low' the track is by folder; the others: seeded noise
                v = np.r_[float(path.startswith(b"low/")), rng.uniform(0, 1, len(tags) - 1)].astype(np.float32)
                cat.db.execute("UPDATE tracks SET tags=? WHERE id=?", (v.tobytes(), tid))
        cat.upsert(b"broken/empty.mp3", 0, 1, None, status="failed", error="empty file (0 bytes)")
        cat.upsert(b"broken/noise.ogg", 5, 1, None, status="failed", error="no audio stream")
    cat.close()
    return root


@pytest.fixture(scope="session")
def web_library(tmp_path_factory) -> Path:
    """Shared read-only by the API tests (tests that change it make their own)."""
    return make_web_library(tmp_path_factory.mktemp("web") / "music")


@pytest.fixture(scope="session")
def worker(web_library):
    from genrerec.web.library import LibraryWorker

    w = LibraryWorker(web_library)
    yield w
    w.close()


@pytest.fixture(scope="session")
def client(worker):
    from fastapi.testclient import TestClient

    from genrerec.web.app import create_app

    with TestClient(create_app(worker)) as c:
        yield c


def track_ids(client, q: str = "") -> dict[str, int]:
    """path -> id of every track matching q."""
    return {t["path"]: t["id"] for t in client.get("/api/tracks", params={"q": q, "limit": 1000}).json()["tracks"]}
