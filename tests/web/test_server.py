"""`genrerec serve` as a user runs it: one command, a URL, Ctrl-C to stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.web.conftest import make_web_library

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "genrerec.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kw)


def test_serve_prints_its_url_serves_and_stops_on_ctrl_c(tmp_path):
    lib = make_web_library(tmp_path / "music", per_genre=2, audio=False)
    p = _cli("serve", str(lib), "--port", "0")
    try:
        line = p.stdout.readline()
        assert "6 tracks" in line and "http://127.0.0.1:" in line, line
        url = line.split("at ", 1)[1].split()[0]
        with urllib.request.urlopen(url + "api/stats", timeout=10) as r:
            assert json.load(r)["tracks"] == 6
    finally:
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_port_in_use_and_missing_library_are_one_line_errors(tmp_path):
    lib = make_web_library(tmp_path / "music", per_genre=2, audio=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        p = _cli("serve", str(lib), "--port", str(s.getsockname()[1]))
        out, err = p.communicate(timeout=60)
    assert p.returncode == 2 and "cannot listen" in err and "--port" in err and "Traceback" not in err
    p = _cli("serve", str(tmp_path / "nowhere"))
    out, err = p.communicate(timeout=60)
    assert p.returncode == 2 and "nowhere" in err and "Traceback" not in err


def test_token_on_the_command_line_is_refused(tmp_path):
    """`ps` shows every local user the command line: the token comes from a 0600 file or $GENREREC_TOKEN."""
    p = _cli("serve", str(tmp_path), "--host", "0.0.0.0", "--token", "a-long-enough-secret-token")
    out, err = p.communicate(timeout=60)
    assert p.returncode == 2 and "--token" in err and "GENREREC_TOKEN" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_token_file_must_be_private_and_long_enough(tmp_path):
    from genrerec.web.server import ServeError, read_token

    f = tmp_path / "token"
    f.write_text("s3cret-token-of-24-chars\n")
    os.chmod(f, 0o644)
    with pytest.raises(ServeError, match="chmod 600"):
        read_token(f, {})
    os.chmod(f, 0o600)
    assert read_token(f, {}) == ("s3cret-token-of-24-chars", f"the file {f}")
    assert read_token(None, {"GENREREC_TOKEN": "x" * 20}) == ("x" * 20, "$GENREREC_TOKEN")
    with pytest.raises(ServeError, match="at least 16"):
        read_token(None, {"GENREREC_TOKEN": "short"})
    assert read_token(None, {}) == (None, None)


def test_generated_token_is_written_private_and_never_printed(tmp_path, monkeypatch):
    from genrerec.web.server import ServeConfig, serve

    monkeypatch.setenv("GENREREC_CACHE", str(tmp_path / "cache"))
    lib = make_web_library(tmp_path / "music", per_genre=2, audio=False)
    said = []

    class Stop(Exception):
        pass

    def announce(line):
        said.append(line)
        if "access token" in line:
            raise Stop  # stop before serving: the announcement is what is checked

    with pytest.raises(Stop):
        serve(lib, ServeConfig(host="0.0.0.0", port=0, subsonic=False), announce=announce)
    f = tmp_path / "cache" / "serve-token"
    token = f.read_text().strip()
    assert len(token) >= 16 and os.stat(f).st_mode & 0o077 == 0
    text = "\n".join(said)
    assert str(f) in text and token not in text


@pytest.mark.parametrize("host", ["0.0.0.0"])
def test_non_loopback_host_requires_the_printed_token(tmp_path, host):
    from genrerec.web.server import ServeConfig, running

    lib = make_web_library(tmp_path / "music", per_genre=2, audio=False)
    with running(lib, ServeConfig(host=host, port=0, subsonic=False)) as (url, worker):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url + "api/stats", timeout=10)
        assert e.value.code == 401
        assert worker.users is None  # --no-subsonic: no /rest/ at all


def test_non_loopback_host_without_a_subsonic_user_refuses_to_start(tmp_path):
    """The issue's rule: a reachable address never serves a /rest/ nobody can log in to."""
    pytest.importorskip("cryptography")
    lib = make_web_library(tmp_path / "music", per_genre=2, audio=False)
    p = _cli("serve", str(lib), "--host", "0.0.0.0", "--port", "0")
    out, err = p.communicate(timeout=60)
    assert p.returncode == 2 and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and f"genrerec user add NAME --library {lib}" in err, err
    assert "--no-subsonic" in err and out == ""


def test_non_loopback_host_with_a_subsonic_user_serves_both(tmp_path):
    pytest.importorskip("cryptography")
    from genrerec.subsonic.users import UserStore
    from genrerec.web.server import ServeConfig, running

    lib = make_web_library(tmp_path / "music", per_genre=2, audio=False)
    store = UserStore(lib / ".genrerec")
    store.add("bob", "pw")
    store.close()
    with running(lib, ServeConfig(host="0.0.0.0", port=0)) as (url, worker):
        assert worker.users.names() == ["bob"]
        with urllib.request.urlopen(url + "rest/ping?u=bob&p=pw&f=json&v=1.16.1&c=t", timeout=10) as r:
            assert json.load(r)["subsonic-response"]["status"] == "ok"


def test_listening_socket_sends_small_answers_at_once():
    """TCP_NODELAY: without it every keep-alive answer waited for a delayed ACK (~40 ms)."""
    from genrerec.web.server import _bind

    s = _bind("127.0.0.1", 0)
    try:
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        s.close()


@pytest.mark.parametrize("sent", [b"", b"GET /api/st", b"GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n"])
def test_a_client_that_never_finishes_its_headers_is_dropped(tmp_path, monkeypatch, sent):
    """Slowloris: nothing, half a request line, or headers without their blank line are closed within a bound."""
    import time

    from genrerec.web.protocol import BoundedHeaderProtocol
    from genrerec.web.server import ServeConfig, running

    monkeypatch.setattr(BoundedHeaderProtocol, "header_timeout", 1.0)
    lib = make_web_library(tmp_path / "music", per_genre=2, audio=False)
    with running(lib, ServeConfig(port=0)) as (url, worker):
        port = int(url.rsplit(":", 1)[1].strip("/"))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            t0 = time.monotonic()
            s.sendall(sent)
            try:
                got = s.recv(1024)
            except ConnectionResetError:
                got = b""
            assert got == b"" and time.monotonic() - t0 < 8  # closed by the server, not by our 10 s timeout
        with urllib.request.urlopen(url + "api/stats", timeout=10) as r:  # a client that finishes is served
            assert json.load(r)["tracks"] == 6
