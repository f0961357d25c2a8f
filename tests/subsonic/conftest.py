"""A synthetic library for the Subsonic API: real audio files under Artist/Album folders,
tags for most (one album untagged, to exercise the folder fallback), a folder cover and
an embedded picture, and a catalog written directly (clustered vectors per genre), so no
model runs. Plus a running server and clients that log in to it."""

from __future__ import annotations

import hashlib
import io
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from genrerec.library.catalog import Catalog
from tests.conftest import synth

pytest.importorskip("fastapi")
pytest.importorskip("cryptography")

USER, PASSWORD = "alice", "s3cret pässword"
GENRES = ["low", "high", "mid"]
# (artist, album, genre kind, tracks, format); artist None: untagged (folder fallback)
ALBUMS = [("The Lows", "Deep Tones", "low", 4, "FLAC"), ("Highs", "Bright Noise", "high", 4, "WAV"),
          ("Mids", "Square Waves", "mid", 3, "WAV"), (None, "Loose Files", "mid", 2, "WAV")]


def png_bytes(color=(200, 30, 30), size=(64, 48)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def embed_flac_picture(path: Path, picture: bytes, mime: str = "image/png") -> None:
    """Insert a FLAC PICTURE metadata block (front cover), as taggers write one."""
    data = path.read_bytes()
    assert data[:4] == b"fLaC"
    pos, blocks = 4, []
    while True:
        head = data[pos]
        length = int.from_bytes(data[pos + 1:pos + 4], "big")
        blocks.append((head & 0x7F, data[pos + 4:pos + 4 + length]))
        pos += 4 + length
        if head & 0x80:
            break
    m = mime.encode()
    body = (struct.pack(">II", 3, len(m)) + m + struct.pack(">I", 0) + struct.pack(">IIII", 64, 48, 24, 0)
            + struct.pack(">I", len(picture)) + picture)
    blocks.insert(1, (6, body))
    out = bytearray(b"fLaC")
    for i, (kind, body) in enumerate(blocks):
        out.append(kind | (0x80 if i == len(blocks) - 1 else 0))
        out += len(body).to_bytes(3, "big") + body
    path.write_bytes(bytes(out) + data[pos:])


def make_subsonic_library(root: Path, dim: int = 16, seed: int = 0, tagged_files: bool = False) -> Path:
    """The library above. `tagged_files`: every file FLAC with its tags in the file too (Vorbis
    comments), so that a server reading tags itself (supysonic) sees the same artists and albums."""
    rng = np.random.default_rng(seed)
    cat = Catalog(root / ".genrerec" / "catalog.sqlite")
    centers = rng.standard_normal((len(GENRES), dim)) * 2
    with cat.transaction():
        cat.set_meta("library", str(root))
        cat.set_meta("model_id", "synthetic")
        cat.set_meta("genres", GENRES)
        for artist, album, kind, n, fmt in ALBUMS:
            folder = root / (artist or "misc") / album
            folder.mkdir(parents=True, exist_ok=True)
            gi = GENRES.index(kind)
            fmt = "FLAC" if tagged_files else fmt
            for i in range(n):
                ext = "flac" if fmt == "FLAC" else "wav"
                path = folder / f"{i + 1:02d} {kind} {i}.{ext}"
                tags = {"artist": artist, "title": f"{kind.title()} song {i + 1}", "album": album,
                        "genre": kind.title()} if artist else {}
                with sf.SoundFile(str(path), "w", 16000, 1, format=fmt) as f:
                    if tagged_files:
                        for k, v in {**tags, "tracknumber": str(i + 1) if tags else None}.items():
                            if v:
                                setattr(f, k, v)
                    f.write(synth(kind, 2.0, seed=i))
                e = centers[gi] + rng.uniform(0.2, 1.0) * rng.standard_normal(dim)
                logits = np.eye(len(GENRES))[gi] * 3 + 0.5 * rng.standard_normal(len(GENRES))
                rel = os.fsencode(str(path.relative_to(root)))
                cat.upsert(rel, path.stat().st_size, 1, rel.decode(), status="ok", duration=2.0,
                           model_id="synthetic", genres=np.exp(logits) / np.exp(logits).sum(),
                           embedding=e / np.linalg.norm(e), tags=tags)
        cat.upsert(b"broken/empty.mp3", 0, 1, None, status="failed", error="empty file (0 bytes)")
    cat.close()
    embed_flac_picture(next((root / "The Lows" / "Deep Tones").glob("01*.flac")), png_bytes())
    (root / "Highs" / "Bright Noise" / "cover.jpg").write_bytes(_jpeg())
    return root


def _jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (300, 300), (10, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def sub_library(tmp_path_factory) -> Path:
    """A library with one user (USER / PASSWORD); shared by a module's tests."""
    from genrerec.subsonic.users import UserStore

    root = make_subsonic_library(tmp_path_factory.mktemp("subsonic") / "music")
    store = UserStore(root / ".genrerec")
    store.add(USER, PASSWORD)
    store.close()
    return root


@pytest.fixture(scope="module")
def server(sub_library):
    """A real server (uvicorn on a free loopback port): yields (base URL, worker)."""
    from genrerec.web.server import running

    with running(sub_library) as (url, worker):
        yield url.rstrip("/"), worker


@pytest.fixture(scope="module")
def opensonic(server):
    """py-opensonic logged in with token auth (its default), sending POST forms."""
    libopensonic = pytest.importorskip("libopensonic")
    url, _ = server
    host, port = url.rsplit(":", 1)
    conn = libopensonic.Connection(host, USER, PASSWORD, port=int(port))
    yield conn
    conn.cleanup()


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def app_parts(sub_library):
    """The router alone in an app, with a fake clock for the back-off: (app, worker, store, clock)."""
    from fastapi import FastAPI

    from genrerec.subsonic.auth import Backoff
    from genrerec.subsonic.router import make_router
    from genrerec.subsonic.users import UserStore
    from genrerec.web.library import LibraryWorker

    worker = LibraryWorker(sub_library)
    store = UserStore(sub_library / ".genrerec")
    clock = Clock()
    app = FastAPI()
    app.include_router(make_router(worker, store, Backoff(clock=clock)))
    yield app, worker, store, clock
    store.close()
    worker.close()


@pytest.fixture(scope="module")
def http(app_parts):
    """An in-process HTTP client of that app."""
    from fastapi.testclient import TestClient

    with TestClient(app_parts[0]) as c:
        yield c


def token_auth(password: str = PASSWORD, user: str = USER, salt: str = "c0ffee") -> dict:
    return {"u": user, "t": hashlib.md5((password + salt).encode()).hexdigest(), "s": salt, "v": "1.16.1", "c": "t"}


def call(http, method: str, auth: dict | None = None, **params) -> dict:
    """The JSON body of one API call (token auth as USER unless `auth` is given)."""
    r = http.get(f"/rest/{method}", params={**(token_auth() if auth is None else auth), "f": "json", **params})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    return r.json()["subsonic-response"]


def error_code(resp: dict) -> int | None:
    return resp["error"]["code"] if resp["status"] == "failed" else None
