"""Hostile input, round 3 (issue 23): attacks that worked on the web app and the
indexer, each replayed here a bounded number of times."""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import threading

import pytest

from genrerec.audio.decode import AudioError, read_windows
from tests.conftest import write_audio

AT_FDCWD, RENAME_EXCHANGE = -100, 2
RACE_REQUESTS = 200
DECODES = 100  # decodes that must get through while the swap runs
MAX_TRIES = 5000


def _exchange(a: str, b: str) -> None:
    """renameat2(RENAME_EXCHANGE): swap two names atomically (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), RENAME_EXCHANGE) != 0:
        raise OSError(ctypes.get_errno(), "renameat2")


def _can_exchange(tmp_path) -> bool:
    a, b = tmp_path / "xa", tmp_path / "xb"
    a.mkdir()
    b.symlink_to(a)
    try:
        _exchange(str(a), str(b))
        return True
    except (OSError, AttributeError):
        return False
    finally:
        for p in (a, b):
            p.unlink() if p.is_symlink() else p.rmdir()


def _client(root):
    from fastapi.testclient import TestClient

    from genrerec.web.app import create_app
    from genrerec.web.library import LibraryWorker

    w = LibraryWorker(root)
    return w, TestClient(create_app(w))


def _ids(root, *rels: bytes) -> list[int]:
    from genrerec.library.catalog import Catalog

    cat = Catalog(root / ".genrerec/catalog.sqlite", create=False)
    try:
        return [cat.db.execute("SELECT id FROM tracks WHERE path=?", (r,)).fetchone()[0] for r in rels]
    finally:
        cat.close()


def test_audio_symlink_swap_race_never_serves_outside_files(tmp_path, record):
    pytest.importorskip("fastapi")
    if not _can_exchange(tmp_path):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    from tests.web.conftest import make_web_library

    root = make_web_library(tmp_path / "music", per_genre=2, audio=False)  # each file holds b"x"
    private = tmp_path / "private.key"
    private.write_bytes(b"PRIVATE KEY")
    evil = tmp_path / "evil"  # a folder of links to the private file, named like the album's files
    evil.mkdir()
    for name in os.listdir(root / "low"):
        (evil / name).symlink_to(private)
    (root / "swap").symlink_to(evil)
    tid, = _ids(root, b"low/low00.wav")
    stop = threading.Event()
    swaps = 0

    def swapper():
        nonlocal swaps
        while not stop.is_set():
            _exchange(str(root / "low"), str(root / "swap"))
            swaps += 1

    w, c = _client(root)
    t = threading.Thread(target=swapper, daemon=True)
    t.start()
    statuses: dict[int, int] = {}
    leaked = 0
    try:
        for _ in range(RACE_REQUESTS):
            r = c.get(f"/api/audio/{tid}")
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            leaked += b"PRIVATE" in r.content
    finally:
        stop.set()
        t.join(10)
        w.close()
    assert swaps > RACE_REQUESTS // 2, swaps  # the swap really raced the requests
    assert leaked == 0 and set(statuses) <= {200, 404}, (leaked, statuses)
    record(f"`/api/audio` while the album folder and a link to a folder of links to a private file swap "
           f"places (renameat2 RENAME_EXCHANGE, {swaps} swaps, {RACE_REQUESTS} requests)",
           f"opened once from the library root without following links: {statuses.get(200, 0)} served the "
           f"track, {statuses.get(404, 0)} refused (404), 0 served the private file, no 500")


def test_fifo_swapped_in_after_the_scan_fails_fast_when_decoded(tmp_path, record):
    if not _can_exchange(tmp_path):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    p = write_audio(tmp_path / "song.wav", "low", seconds=4)
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)  # nobody ever writes it: a blocking open for reading waits forever
    stop = threading.Event()

    def swapper():
        while not stop.is_set():
            _exchange(str(p), str(fifo))

    outcomes: dict[str, int] = {}

    def decode_many():  # until DECODES decodes got through, or MAX_TRIES
        for _ in range(MAX_TRIES):
            if outcomes.get("decoded", 0) >= DECODES:
                return
            try:
                read_windows(p, 3.0)
                outcomes["decoded"] = outcomes.get("decoded", 0) + 1
            except AudioError as e:
                outcomes[e.reason] = outcomes.get(e.reason, 0) + 1

    s = threading.Thread(target=swapper, daemon=True)
    t = threading.Thread(target=decode_many, daemon=True)
    s.start()
    t.start()
    t.join(30)
    hung = t.is_alive()
    stop.set()
    s.join(10)
    if hung:  # unblock the reader stuck in open() so the test process can end
        for q in (p, fifo):
            if q.is_fifo():
                os.close(os.open(q, os.O_WRONLY | os.O_NONBLOCK))
    assert not hung, f"decoding hung on a FIFO after {outcomes}"
    assert set(outcomes) <= {"decoded", "not a regular file"}, outcomes
    record(f"a track and a FIFO swapping places while it is decoded ({sum(outcomes.values())} tries, renameat2)",
           f"never hangs: {outcomes.get('decoded', 0)} decoded, {outcomes.get('not a regular file', 0)} failed "
           "at once with 'not a regular file' (opened once, non-blocking, the handle checked with fstat)")


def test_fifo_swapped_in_for_a_transcoded_track_is_refused(tmp_path, record):
    pytest.importorskip("fastapi")
    from tests.web.conftest import make_web_library

    root = make_web_library(tmp_path / "music", per_genre=2)
    rel = b"low/low01.aiff"  # browsers cannot play AIFF: the server would transcode it
    tid, = _ids(root, rel)
    (root / os.fsdecode(rel)).unlink()
    os.mkfifo(root / os.fsdecode(rel))
    w, c = _client(root)
    result: list = []
    t = threading.Thread(target=lambda: result.append(c.get(f"/api/audio/{tid}")), daemon=True)
    try:
        t.start()
        t.join(20)
        assert not t.is_alive(), "the transcode of a FIFO hung"
    finally:
        if t.is_alive():  # unblock the hung open so the worker can close
            with open(root / os.fsdecode(rel), "wb"):
                pass
        w.close()
    r = result[0]
    assert r.status_code == 404 and "not a regular file" in r.json()["error"]
    record("a transcoded track swapped for a FIFO, then played in the web app",
           f"{r.status_code} at once: {r.json()['error']}")


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    pytest.importorskip("fastapi")
    from tests.web.conftest import make_web_library

    root = make_web_library(tmp_path_factory.mktemp("attacks") / "music", per_genre=2, audio=False)
    w, c = _client(root)
    yield root, c
    w.close()


M3U = {"content-type": "text/plain"}


def test_cross_site_posts_are_refused(web, record):
    root, c = web
    body = f"{root}/low/low00.wav\n".encode()
    evil = [{"Origin": "http://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site", "Origin": "http://other.testserver"}]
    for h in evil:
        r = c.post("/api/history/m3u", content=body, headers={**M3U, **h})
        assert r.status_code == 403 and "cross-origin" in r.json()["error"], h
    r = c.post("/api/recommend", json={"history": [0]}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    ok = [{}, {"Origin": "http://testserver"}, {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"}]
    for h in ok:  # the app's own pages, and clients that send no Origin (curl, scripts)
        r = c.post("/api/history/m3u", content=body, headers={**M3U, **h})
        assert r.status_code == 200 and len(r.json()["tracks"]) == 1, h
    assert c.get("/api/stats", headers={"Origin": "http://evil.example"}).status_code == 200  # reads: CORS-bound
    record("a POST from another site's page (text/plain, no preflight) to `/api/history/m3u` and `/api/recommend`",
           "403 'cross-origin request refused' (Sec-Fetch-Site, else Origin against Host); same-origin pages and "
           "clients without Origin still work")


def test_m3u_matching_is_linear_in_the_upload(web, record):
    root, c = web
    # 1.2 MB in one line (quadratic matching took 12-15 s for 160 KB, so hours for this), and
    # 300 lines of 1,000 parts: 1.8 MB in all, under the 2 MB body limit
    deep = "/".join(["a"] * 600_000) + "/low/low01.wav"
    many = "\n".join(["x/" * 1000 + "low/low00.wav"] * 300)
    result: list = []
    t = threading.Thread(target=lambda: result.append(c.post("/api/history/m3u", content=(deep + "\n" + many).encode(),
                                                             headers=M3U)), daemon=True)
    t.start()
    t.join(60)  # a hang guard, not a speed target: quadratic matching of this upload takes far longer
    assert not t.is_alive(), "matching the uploaded playlist did not finish"
    r = result[0].json()
    assert [x["path"] for x in r["tracks"]] == ["low/low00.wav"] and r["unknown_count"] == 1
    record("`/api/history/m3u` with a 600,000-part line (1.2 MB) and 300 lines of 1,000 parts",
           "answered; matching tries only the last parts a catalog path can have (linear), a line longer "
           "than PATH_MAX is unknown")


def test_request_bodies_are_bounded_before_they_are_read(web, record):
    from genrerec.web.security import MAX_BODY_BYTES

    root, c = web
    big = b"[" + b"1," * (MAX_BODY_BYTES // 2) + b"1]"
    for url in ("/api/recommend", "/api/history/m3u", "/api/playlist.m3u8"):
        r = c.post(url, content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413 and "larger than" in r.json()["error"], url
    # no Content-Length: a chunked body that never ends; the 413 must come while it is still being sent
    from genrerec.web.server import running

    with running(root) as (url, _):
        host, port = url.split("//")[1].strip("/").split(":")
        with socket.create_connection((host, int(port)), timeout=20) as sock:
            sock.sendall(b"POST /api/history/m3u HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            chunk, sent = b"x" * 65536, 0
            with contextlib.suppress(OSError):  # the server may close its end once it has answered
                while sent < 2 * MAX_BODY_BYTES:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
            head = sock.recv(200)  # no final chunk was sent: a server reading the body whole never answers
    assert head.startswith(b"HTTP/1.1 413"), head
    record("a body past 2 MB to every POST endpoint (JSON ones too), with Content-Length and chunked without it",
           "413 from the Content-Length alone, or while a never-ending chunked body is still being sent: "
           "bodies are never read whole")


def _opus_mka(path, seconds: int) -> None:
    """Opus in Matroska written to a pipe-like stream: no duration in the header (PyAV reports none)."""
    import io

    import av
    import numpy as np

    class Pipe(io.RawIOBase):
        def __init__(self):
            self.data = bytearray()

        def writable(self):
            return True

        def write(self, b):
            self.data += b
            return len(b)

    out = Pipe()
    rng = np.random.default_rng(0)
    with av.open(out, "w", format="matroska") as c:
        st = c.add_stream("libopus", rate=48000, layout="mono")
        for i in range(seconds):
            f = av.AudioFrame.from_ndarray((rng.standard_normal((1, 48000)) * 0.1).astype(np.float32),
                                           format="flt", layout="mono")
            f.sample_rate, f.pts = 48000, i * 48000
            for pkt in st.encode(f):
                c.mux(pkt)
        for pkt in st.encode(None):
            c.mux(pkt)
    path.write_bytes(bytes(out.data))


def test_matroska_without_a_duration_cannot_bypass_the_transcode_limit(tmp_path, monkeypatch, record):
    pytest.importorskip("fastapi")
    import av

    from genrerec.library.catalog import Catalog
    from genrerec.media import transcode
    from tests.web.conftest import make_web_library

    root = make_web_library(tmp_path / "music", per_genre=2, audio=False)
    rel = "low/low01.aiff"  # a format browsers cannot play: transcoded
    _opus_mka(root / rel, seconds=12)
    with av.open(str(root / rel)) as c:
        assert c.duration is None and c.streams.audio[0].duration is None
    monkeypatch.setattr(transcode, "MAX_TRANSCODE_S", 8)  # 12 s of audio is "too long" here
    tid, = _ids(root, rel.encode())
    w, c = _client(root)
    try:
        lied = c.get(f"/api/audio/{tid}")  # the catalog says 3.0 s (as a lying header would): decoded time counts
        cat = Catalog(root / ".genrerec/catalog.sqlite", create=False)
        with cat.transaction():
            cat.db.execute("UPDATE tracks SET duration=12.0 WHERE id=?", (tid,))
        cat.close()
        c.app.state.worker.lib.by_id[tid].duration = 12.0
        told = c.get(f"/api/audio/{tid}")  # the catalog's duration: refused before decoding
    finally:
        w.close()
    for r in (lied, told):
        assert r.status_code == 415 and "too long" in r.json()["error"], r.content[:200]
    assert not list((root / ".genrerec/transcodes").glob("*.mp3"))
    record("a Matroska (Opus) file whose header has no duration, longer than the transcode limit",
           "refused (415 'too long to transcode'): by the catalog's duration before decoding, and by the decoded "
           "time when the catalog's duration is wrong too")


def test_transcodes_are_shared_stopped_when_nobody_waits_and_cached_under_a_cap(tmp_path, record):
    from genrerec.media.transcode import TranscodeCancelled, Transcoder

    long = write_audio(tmp_path / "long.aiff", "low", seconds=600, sr=8000, fmt="AIFF")  # ~10 s to transcode
    short = [write_audio(tmp_path / f"s{i}.aiff", "high", seconds=20, seed=i, fmt="AIFF") for i in range(3)]
    cache = tmp_path / "cache"
    tc = Transcoder(cache, cache_bytes=600_000)  # room for about two 20 s MP3s (~480 KB each at 192 kbit/s)
    a = tc.start(os.open(long, os.O_RDONLY))
    b = tc.start(os.open(long, os.O_RDONLY))
    assert a is b and a.waiters == 2 and len(tc.jobs()) == 1  # one transcode for both requests
    tc.release(a)
    assert not a.cancel.is_set()  # one request still waits
    tc.release(b)
    assert isinstance(a.future.exception(timeout=60), TranscodeCancelled)  # the last one left: stopped
    for p in short:
        job = tc.start(os.open(p, os.O_RDONLY))
        job.future.result(timeout=60)
        tc.release(job)
    again = tc.start(os.open(short[-1], os.O_RDONLY))
    assert again.future.done()  # served from the cache, no transcode
    kept = sorted(cache.glob("*.mp3"))
    assert 1 <= len(kept) < len(short) and sum(p.stat().st_size for p in kept) <= 600_000
    assert os.stat(cache).st_mode & 0o077 == 0 and all(p.stat().st_mode & 0o077 == 0 for p in kept)
    record("two requests for one long transcode, both clients gone; three transcodes into a cache with "
           "room for two", "one transcode shared, stopped when the last request left; least recently used "
           f"evicted ({len(kept)} of {len(short)} kept under the cap), cache folder 0700, files 0600")


def test_audio_responses_refuse_cross_origin_embedding(web, record):
    root, c = web
    tid, = _ids(root, b"low/low00.wav")
    for url in (f"/api/audio/{tid}", "/api/stats", "/api/nothing"):
        r = c.get(url)
        assert r.headers["cross-origin-resource-policy"] == "same-origin", url
        assert r.headers["x-content-type-options"] == "nosniff", url
    record("another site embeds `<audio src=http://127.0.0.1:PORT/api/audio/N>`",
           "responses carry Cross-Origin-Resource-Policy: same-origin and X-Content-Type-Options: nosniff")


def test_transcode_stops_when_the_client_disconnects(tmp_path, record):
    pytest.importorskip("fastapi")
    from genrerec.media.transcode import TranscodeCancelled
    from genrerec.web.server import running
    from tests.web.conftest import make_web_library

    root = make_web_library(tmp_path / "music", per_genre=2, audio=False)
    rel = "low/low01.aiff"
    write_audio(root / rel, "low", seconds=600, sr=8000, fmt="AIFF")  # seconds of work to transcode
    tid, = _ids(root, rel.encode())
    with running(root) as (url, worker):
        host, port = url.split("//")[1].strip("/").split(":")
        tc = worker.transcoder
        with socket.create_connection((host, int(port)), timeout=20) as sock:
            sock.sendall(f"GET /api/audio/{tid} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            started = threading.Event()
            for _ in range(400):  # bounded: until the server has started the transcode
                if tc.jobs():
                    break
                started.wait(0.025)
            jobs = tc.jobs()
        assert jobs, "the transcode never started"
        assert isinstance(jobs[0].future.exception(timeout=30), TranscodeCancelled)
    assert not list((root / ".genrerec/transcodes").glob("*.mp3"))
    record("a client asks for a ten-minute transcode and disconnects at once",
           "the transcode stops (nobody waits for it any more); nothing is cached")


def test_right_to_left_overrides_never_reach_the_terminal_or_a_playlist(tmp_path, record):
    from genrerec.playlists.m3u import write_m3u
    from genrerec.safety import clean_tag, display

    name = "song\u202egpj.wav"  # shows as "songvaw.jpg"
    assert display(name) == "song?gpj.wav" and clean_tag("Title\u2066x\u2069") == "Title x"
    track = write_audio(tmp_path / name, "low", seconds=4)
    text = write_m3u(tmp_path / "p.m3u8", [track], titles=["A\u202eB"]).read_text()
    assert "\u202e" not in text
    record("file names and tags with right-to-left overrides (U+202E) and isolates",
           "printed as '?', left out of playlists like other unprintable names, spaces in #EXTINF titles")


@pytest.mark.parametrize("tid", ["\u00b2", "\u0661", "\uff11", "1\u00b2"])
def test_non_ascii_digits_are_not_track_ids(web, tid, record):
    root, c = web
    r = c.get(f"/api/audio/{tid}")
    assert r.status_code == 404 and r.json()["error"] == "no such track"
    record(f"`/api/audio/{tid}` ({ascii(tid)})", "404 no such track (ids are ASCII digits only)")


def test_huge_play_counts_are_an_error_not_a_short_playlist(web, record):
    root, c = web
    a, b = _ids(root, b"low/low00.wav", b"high/high00.wav")
    r = c.post("/api/recommend", json={"history": [a, b], "weights": [1e308, 1e308], "n": 15})
    assert r.status_code == 422 and "weights" in r.json()["error"]
    from genrerec.recommend.recommender import Recommender
    from genrerec.recommend.results import RecommendError

    rec = Recommender.open(root)
    try:
        with pytest.raises(RecommendError, match="play counts must be at most"):
            rec.recommend({a: 1e308, b: 1e308}, n=15)
    finally:
        rec.close()
    record("play counts of 1e308 (API and Python)", "refused: play counts must be at most 1e9")


def test_version_flag(record):
    from typer.testing import CliRunner

    from genrerec.cli.common import app
    from genrerec.version import __version__

    r = CliRunner().invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"genrerec {__version__}"
    record("`genrerec --version`", f"prints 'genrerec {__version__}'")
