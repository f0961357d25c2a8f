"""docs/subsonic.md's steps, as a user runs them: `genrerec user add`, `genrerec serve`, then
examples/subsonic_client.py (py-opensonic): ping, search3, getAlbum, stream, getSimilarSongs2,
getSonicSimilarTracks. On the synthetic library here; `make demo`'s catalog works the same way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.subsonic.conftest import make_subsonic_library

pytest.importorskip("libopensonic")
ROOT = Path(__file__).resolve().parents[2]


def test_the_docs_client_tour_browses_plays_and_mixes(tmp_path):
    lib = make_subsonic_library(tmp_path / "music")
    db = lib / ".genrerec"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "genrerec.cli"]
    add = subprocess.run([*cli, "user", "add", "me", "--password-stdin", "--db", str(db)], input="PASSWORD\n",
                         capture_output=True, text=True, env=env, timeout=120)
    assert add.returncode == 0, add.stderr
    server = subprocess.Popen([*cli, "serve", "--db", str(db), "--port", "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    try:
        server.stdout.readline()
        second = server.stdout.readline()
        assert "Subsonic API: " in second and "(users: me)" in second, second
        url = second.split("Subsonic API: ", 1)[1].split()[0]
        tour = subprocess.run([sys.executable, str(ROOT / "examples" / "subsonic_client.py"), "--url", url,
                               "--user", "me", "--query", "Low song 1"], capture_output=True, text=True,
                              env={**env, "SUBSONIC_PASSWORD": "PASSWORD"}, timeout=120)
        wrong = subprocess.run([sys.executable, str(ROOT / "examples" / "subsonic_client.py"), "--url", url,
                                "--user", "me"], capture_output=True, text=True,
                               env={**env, "SUBSONIC_PASSWORD": "nope"}, timeout=120)
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
    assert tour.returncode == 0, tour.stderr
    lines = tour.stdout.splitlines()
    assert lines[0].startswith("ping: ok")
    assert lines[1].startswith("search3: The Lows - Low song 1 (tr-")
    assert lines[2] == "getAlbum: Deep Tones, 4 songs"
    size = (lib / "The Lows" / "Deep Tones" / "01 low 0.flac").stat().st_size
    assert lines[3] == f"stream: {size} bytes of audio/flac"
    assert lines[4].startswith("getSimilarSongs2: 10 songs")
    assert len([x for x in lines if x.startswith("getSonicSimilarTracks: ")]) == 5
    assert wrong.returncode == 1 and len(wrong.stderr.strip().splitlines()) == 1 and "Traceback" not in wrong.stderr
    assert "nope" not in wrong.stderr
