"""The auto-DJ against a real MPD: the queue kept topped up across skips, skips avoided
(an injected clock, no 30 s waits), reconnecting after MPD restarts, Ctrl-C."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.mpd.conftest import WAIT, upcoming, wait_for

ROOT = Path(__file__).resolve().parents[2]
FIRST = "Low Band/Deep Tones/01 Deep Tones 1.flac"


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class RunningDJ:
    """A DJ in a thread of its own (its Recommender opened there: sqlite stays in one thread), reporting
    each change it handled; stopped, and the thread joined, on exit."""

    def __init__(self, library: Path, port: int, keep: int, clock: Clock):
        self.reports: queue.Queue = queue.Queue()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.dj = None
        self.thread = threading.Thread(target=self._main, args=(library, port, keep, clock), daemon=True)

    def _main(self, library, port, keep, clock):
        from genrerec.mpd.client import MpdConnection, MpdTarget, PathMap
        from genrerec.mpd.dj import DJ, Picker
        from genrerec.recommend.recommender import Recommender

        try:
            with Recommender.open(library) as rec:
                conn = MpdConnection(MpdTarget("127.0.0.1", port), reconnect_for=WAIT).connect()
                self.dj = DJ(conn, Picker(rec, PathMap(library, library, "test"), 0.0), keep, clock=clock,
                             on_event=self.reports.put)
                self.ready.set()
                self.dj.run()
                conn.close()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            self.error = e
            self.ready.set()

    def __enter__(self) -> "RunningDJ":
        self.thread.start()
        assert self.ready.wait(WAIT) and self.error is None, self.error
        return self

    def until(self, predicate, what: str) -> dict:
        """The first report (in order) for which predicate holds; bounded wait on the DJ's own reports."""
        while True:
            try:
                r = self.reports.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"the dj reported no {what} within {WAIT:g} s (error: {self.error})") from None
            if predicate(r):
                return r

    def settled(self, keep: int) -> dict:
        """Wait until the DJ handled a change without adding anything, the queue full: it is idle now."""
        return self.until(lambda r: not r["added"] and r["upcoming"] >= keep, "settled queue")

    def __exit__(self, *exc) -> None:
        self.dj.stop()
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "the dj did not stop"
        if exc[0] is None:
            assert self.error is None, self.error


def test_dj_keeps_the_queue_topped_up_across_skips_and_avoids_skipped(mpd_library, start_mpd):
    m = start_mpd(mpd_library)
    c = m.client()
    c.add(FIRST)
    c.play(0)
    clock, keep = Clock(), 3
    with RunningDJ(mpd_library, m.port, keep, clock) as dj:
        first = dj.until(lambda r: r["added"], "first top-up")
        assert len(first["added"]) == keep
        dj.settled(keep)
        wait_for(c, lambda q, s: upcoming(q, s) >= keep, "the first top-up")
        skipped = c.currentsong()["file"]
        clock.t += 5  # 5 s after it began: a skip
        c.next()
        r = dj.until(lambda r: r.get("verdict"), "verdict on the skipped song")
        assert r["verdict"] == "skipped" and len(r["avoided"]) == 1
        dj.settled(keep)
        q, s = c.playlistinfo(), c.status()
        assert upcoming(q, s) >= keep
        played = c.currentsong()["file"]
        clock.t += 120  # two minutes later: listened to
        c.next()
        r = dj.until(lambda r: r.get("verdict"), "verdict on the played song")
        assert r["verdict"] == "played" and len(r["avoided"]) == 1 and len(r["played"]) == 1
        for _ in range(3):  # quick skips in a row: still topped up
            dj.settled(keep)
            clock.t += 1
            c.next()
        dj.settled(keep)
        files = [x["file"] for x in c.playlistinfo()]
        assert upcoming(c.playlistinfo(), c.status()) >= keep
        assert len(files) == len(set(files)), files  # never a song queued twice
        assert skipped != played and files.count(skipped) == 1


def test_dj_run_returns_after_max_events(mpd_library, start_mpd):
    from genrerec.mpd.client import MpdConnection, MpdTarget, PathMap
    from genrerec.mpd.dj import DJ, Picker
    from genrerec.recommend.recommender import Recommender

    m = start_mpd(mpd_library)
    c = m.client()
    c.add(FIRST)
    c.play(0)
    reports = []
    with Recommender.open(mpd_library) as rec:
        conn = MpdConnection(MpdTarget("127.0.0.1", m.port)).connect()
        dj = DJ(conn, Picker(rec, PathMap(mpd_library, mpd_library, "test"), 0.0), 4, on_event=reports.append)
        assert dj.run(max_events=1) == 1  # the top-up at the start, then the queue change it caused
        conn.close()
    # (MPD may report the player starting up in the same event: play() is asynchronous)
    assert len(reports) == 2 and len(reports[0]["added"]) == 4
    assert "playlist" in reports[1]["changed"] and not reports[1]["added"]
    assert upcoming(c.playlistinfo(), c.status()) == 4


def test_dj_reconnects_after_mpd_restarts(mpd_library, start_mpd):
    m = start_mpd(mpd_library)
    c = m.client()
    c.add(FIRST)
    c.play(0)
    with RunningDJ(mpd_library, m.port, 2, Clock()) as dj:
        dj.settled(2)
        c.disconnect()
        m.stop()  # the dj's connection drops; MPD comes back on the same port, its queue empty (no state file)
        m.start()
        c = m.client()
        c.add("Highs/Bright Noise/01 Bright Noise 1.flac")
        c.play(0)
        wait_for(c, lambda q, s: upcoming(q, s) >= 2, "the queue topped up after the restart")
        assert dj.dj.conn.reconnects >= 1


def test_ctrl_c_stops_the_dj_cleanly(mpd_library, start_mpd):
    m = start_mpd(mpd_library)
    c = m.client()
    c.add(FIRST)
    c.play(0)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-m", "genrerec.cli", "mpd", "dj", "--keep", "2", "--port", str(m.port),
                          "--library", str(mpd_library)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    try:
        wait_for(c, lambda q, s: upcoming(q, s) >= 2, "the dj's first top-up")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=WAIT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert err.strip().splitlines()[-1] == "mpd: dj: stopped" and "Traceback" not in err, err


@pytest.mark.parametrize("keep", [0])
def test_dj_refuses_keep_below_one(keep):
    from genrerec.mpd.client import MpdError
    from genrerec.mpd.dj import DJ

    class Rec:
        root = "/"

    class P:
        rec = Rec()

    with pytest.raises(MpdError, match="--keep"):
        DJ(None, P(), keep)
