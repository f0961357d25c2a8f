"""`genrerec user ...`, `genrerec serve` with Subsonic clients, and scrobbles as a CLI history."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genrerec.cli.common import app
from tests.subsonic.conftest import PASSWORD, USER, make_subsonic_library

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def lib(tmp_path) -> Path:
    return make_subsonic_library(tmp_path / "music")


def test_user_add_list_key_remove(lib):
    r = runner.invoke(app, ["user", "add", "dave", "--password-stdin", "--library", str(lib)], input="pw dave\n")
    assert r.exit_code == 0 and "added user dave" in r.stdout, r.output
    r = runner.invoke(app, ["user", "add", "erin", "--password-stdin", "--db", str(lib / ".genrerec")], input="x\n")
    assert r.exit_code == 0, r.output
    assert runner.invoke(app, ["user", "list", "--library", str(lib)]).stdout.split() == ["dave", "erin"]
    key = runner.invoke(app, ["user", "key", "dave", "--library", str(lib)]).stdout.strip()
    from genrerec.subsonic.users import UserStore

    store = UserStore(lib / ".genrerec")
    assert store.user_of_key(key) == "dave" and store.password("dave") == "pw dave"
    store.close()
    r = runner.invoke(app, ["user", "remove", "erin", "--library", str(lib)])
    assert r.exit_code == 0 and runner.invoke(app, ["user", "list", "--library", str(lib)]).stdout.split() == ["dave"]


@pytest.mark.parametrize("args, words", [
    (["user", "add", "no spaces", "--password-stdin"], ["user name"]),
    (["user", "add", "frank", "--password-stdin"], ["--password-stdin", "no password"]),
    (["user", "key", "nobody"], ["no user 'nobody'"]),
    (["user", "remove", "nobody"], ["no user 'nobody'"]),
])
def test_user_mistakes_are_one_line_errors(lib, args, words):
    r = runner.invoke(app, [*args, "--library", str(lib)], input="pw\n" if "frank" not in args else "\n")
    assert r.exit_code == 2, r.output
    assert all(w in r.output for w in words) and "Traceback" not in r.output


def test_user_commands_need_an_indexed_library(tmp_path):
    r = runner.invoke(app, ["user", "list", "--library", str(tmp_path)])
    assert r.exit_code == 2 and "genrerec index" in r.output


def _serve(lib: Path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "genrerec.cli", "serve", str(lib), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _stop(p) -> tuple[str, str]:
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0 and "Traceback" not in err, err
    return out, err


def test_serve_without_users_prints_the_command_that_adds_one(lib):
    p = _serve(lib)
    try:
        first, second = p.stdout.readline(), p.stdout.readline()
    finally:
        _stop(p)
    assert "13 tracks" in first
    assert "Subsonic API: http://127.0.0.1:" in second and "genrerec user add NAME --library" in second


def test_real_serve_with_two_real_clients(lib):
    """py-opensonic (token auth, GET, names without .view) and py-sonic (legacy enc: password, POST forms)
    against `genrerec serve` (py-sonic 1.2.0's own GET mode is broken: it names Python 2's urllib2)."""
    libopensonic = pytest.importorskip("libopensonic")
    libsonic = pytest.importorskip("libsonic")
    r = runner.invoke(app, ["user", "add", USER, "--password-stdin", "--library", str(lib)], input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    p = _serve(lib)
    try:
        p.stdout.readline()
        line = p.stdout.readline()
        assert f"(users: {USER})" in line, line
        url = line.split("Subsonic API: ", 1)[1].split()[0].rstrip("/")
        host, port = url.rsplit(":", 1)
        conn = libopensonic.Connection(host, USER, PASSWORD, port=int(port), use_get=True, use_views=False)
        try:
            assert conn.ping()
            songs = conn.search3("", song_count=100).song
            assert len(songs) == 13
        finally:
            conn.cleanup()
        old = libsonic.Connection(host, USER, PASSWORD, port=int(port), legacyAuth=True)
        assert old.ping()
        artists = old.getArtists()["artists"]["index"]
        assert {a["name"] for i in artists for a in i["artist"]} >= {"The Lows", "Highs", "Mids"}
        got = old.getSong(songs[0].id)["song"]
        assert got["id"] == songs[0].id and got["path"] == songs[0].path
        old.scrobble(songs[0].id)
        assert old.getAlbumList2("frequent")["albumList2"]["album"][0]["id"] == songs[0].album_id
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        assert PASSWORD not in ps  # the password never was an argument
    finally:
        _, err = _stop(p)
    assert PASSWORD not in err


def test_recommend_from_a_subsonic_users_scrobbles(lib, tmp_path):
    from genrerec.subsonic.users import UserStore

    store = UserStore(lib / ".genrerec")
    store.add(USER, PASSWORD)
    played = sorted(str(p.relative_to(lib)) for p in (lib / "The Lows" / "Deep Tones").glob("*.flac"))[:2]
    for rel in played:
        store.scrobble(USER, rel)
    store.close()
    r = runner.invoke(app, ["recommend", "--listens", f"subsonic:{USER}", "--library", str(lib), "-n", "3",
                            "--seed", "0", "--json"])
    assert r.exit_code == 0, r.output
    picks = json.loads(r.stdout)
    got = {os.path.relpath(x["path"], lib) for x in (picks["tracks"] if isinstance(picks, dict) else picks)}
    assert len(got) == 3 and not got & set(played)
    r = runner.invoke(app, ["recommend", "--listens", "subsonic:nobody", "--library", str(lib)])
    assert r.exit_code == 2 and "no user 'nobody'" in r.output
