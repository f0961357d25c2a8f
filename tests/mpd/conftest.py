"""A real MPD per test, over a synthetic library.

The library (built once per module) is tagged FLAC files under Artist/Album folders that
MPD can play (long, quiet and tiny: nothing ends by itself during a test), and a catalog
written directly with clustered vectors per genre and album (as tests/subsonic does), so no
model runs. `stray/` holds a song MPD knows and the catalog does not; `../outside/` one
beside the library, for an MPD whose music_directory is the library's parent.

Each test starts its own `mpd --no-daemon CONF` (config in a tmp folder: null audio output,
no state file, loopback and a unix socket, a free port, a password when asked), waits for
it by connecting in a bounded loop, scans the library, and stops it afterwards. Tests skip
when the mpd binary or python-mpd2 is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from genrerec.library.catalog import Catalog

MPD_BIN = shutil.which("mpd")


def need_mpd():
    """python-mpd2's module; skips the test without it or without the mpd binary."""
    mpd = pytest.importorskip("mpd", reason="python-mpd2 is not installed (pip install 'genrerec[mpd]')")
    if MPD_BIN is None:
        pytest.skip("the mpd binary is not installed (apt-get install mpd)")
    return mpd

GENRES = ["low", "high", "mid"]
# (artist, album, genre, tracks); the two "low" albums are each other's nearest
ALBUMS = [("Low Band", "Deep Tones", "low", 4), ("Low Band", "Deeper Still", "low", 4),
          ("Highs", "Bright Noise", "high", 4), ("Mids", "Square Waves", "mid", 4)]
SECONDS, SR = 900, 8000  # long enough never to end during a test; silence compresses to a few KB
WAIT = 30.0  # bound on every wait for MPD or the dj


def write_song(path: Path, artist: str, album: str, title: str, track: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sf.SoundFile(str(path), "w", SR, 1, format="FLAC") as f:
        f.artist, f.album, f.title, f.tracknumber = artist, album, title, str(track)
        f.write(np.zeros(SECONDS * SR, np.int16))


def make_library(base: Path, dim: int = 16, seed: int = 0) -> Path:
    """base/music (the library, with its catalog), base/music/stray and base/outside (not in it)."""
    rng = np.random.default_rng(seed)
    root = base / "music"
    centers = rng.standard_normal((len(GENRES), dim)) * 3
    cat = Catalog(root / ".genrerec" / "catalog.sqlite")
    with cat.transaction():
        cat.set_meta("library", str(root))
        cat.set_meta("model_id", "synthetic")
        cat.set_meta("genres", GENRES)
        for artist, album, kind, n in ALBUMS:
            gi = GENRES.index(kind)
            album_center = centers[gi] + 0.5 * rng.standard_normal(dim)
            for i in range(n):
                path = root / artist / album / f"{i + 1:02d} {album} {i + 1}.flac"
                write_song(path, artist, album, f"{album} {i + 1}", i + 1)
                e = album_center + 0.3 * rng.standard_normal(dim)
                logits = np.eye(len(GENRES))[gi] * 3 + 0.3 * rng.standard_normal(len(GENRES))
                rel = os.fsencode(str(path.relative_to(root)))
                cat.upsert(rel, path.stat().st_size, 1, rel.decode(), status="ok", duration=float(SECONDS),
                           model_id="synthetic", genres=np.exp(logits) / np.exp(logits).sum(),
                           embedding=e / np.linalg.norm(e),
                           tags={"artist": artist, "title": f"{album} {i + 1}", "album": album, "genre": kind})
    cat.close()
    write_song(root / "stray" / "not indexed.flac", "Nobody", "Stray", "not indexed", 1)
    write_song(base / "outside" / "beside.flac", "Nobody", "Outside", "beside", 1)
    return root


@pytest.fixture(scope="module")
def mpd_library(tmp_path_factory) -> Path:
    return make_library(tmp_path_factory.mktemp("mpdlib"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mpd:
    """One running `mpd --no-daemon` of a test: its port, unix socket and clients."""

    def __init__(self, folder: Path, music: Path, password: str | None = None):
        self.folder, self.music, self.password = folder, music, password
        self.sock = os.path.join(tempfile.mkdtemp(prefix="mpd"), "s")  # short: unix socket paths are limited
        self.port = free_port()
        self.conf = folder / "mpd.conf"
        lines = [f'music_directory "{music}"', f'db_file "{folder / "db"}"', f'log_file "{folder / "log"}"',
                 'bind_to_address "127.0.0.1"', f'bind_to_address "{self.sock}"', f'port "{self.port}"',
                 'auto_update "no"', 'zeroconf_enabled "no"',
                 'audio_output {\n  type "null"\n  name "null"\n  mixer_type "none"\n}']
        if password:
            lines.append(f'password "{password}@read,add,control,admin"')
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Mpd":
        self.proc = subprocess.Popen([MPD_BIN, "--no-daemon", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + WAIT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mpd exited ({self.proc.returncode}): {self.proc.stderr.read().decode()[-2000:]}"
                                   f" {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(64).startswith(b"OK MPD"):
                        return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"mpd did not answer within {WAIT:g} s: {self.log()}")
                try:
                    self.proc.wait(timeout=0.05)  # the bounded pause between connection attempts
                except subprocess.TimeoutExpired:
                    pass

    def log(self) -> str:
        p = self.folder / "log"
        return p.read_text()[-2000:] if p.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def client(self, timeout: float = WAIT):
        c = need_mpd().MPDClient()
        c.timeout = timeout
        c.idletimeout = timeout  # every wait in a test is bounded
        c.connect("127.0.0.1", self.port)
        if self.password:
            c.password(self.password)
        return c

    def scan(self) -> None:
        """Update MPD's database and wait for the scan to end (on MPD's `update` idle event)."""
        c = self.client()
        try:
            c.update()
            while "updating_db" in c.status():
                c.idle("update")
            assert int(c.stats()["songs"]) >= sum(n for *_, n in ALBUMS), c.stats()
        finally:
            c.disconnect()


@pytest.fixture(autouse=True)
def no_mpd_env(monkeypatch):
    """The machine's own MPD_HOST / MPD_PORT never point a test at another MPD."""
    monkeypatch.delenv("MPD_HOST", raising=False)
    monkeypatch.delenv("MPD_PORT", raising=False)


@pytest.fixture
def start_mpd(tmp_path):
    """start_mpd(music_dir, password=None) -> a started, scanned Mpd; all are stopped after the test."""
    need_mpd()
    started: list[Mpd] = []

    def start(music: Path, password: str | None = None) -> Mpd:
        folder = tmp_path / f"mpd{len(started)}"
        folder.mkdir()
        m = Mpd(folder, music, password)
        started.append(m)
        m.start()
        m.scan()
        return m

    yield start
    for m in started:
        m.stop()
        shutil.rmtree(os.path.dirname(m.sock), ignore_errors=True)


def wait_for(client, predicate, what: str, timeout: float = WAIT):
    """Wait on MPD's own events (queue and player changes) until predicate(queue, status) holds."""
    deadline = time.monotonic() + timeout
    while True:
        queue, status = client.playlistinfo(), client.status()
        got = predicate(queue, status)
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: queue {[s['file'] for s in queue]}, status {status}")
        client.idle("playlist", "player")


def upcoming(queue, status) -> int:
    return len(queue) - int(status["song"]) - 1 if "song" in status else len(queue)


def catalog_uris(library: Path) -> dict[str, str]:
    """{MPD URI: album} of the catalog's songs (MPD's root = the library)."""
    return {str(p.relative_to(library)): p.parent.name for p in sorted(library.glob("*/*/*.flac"))}
