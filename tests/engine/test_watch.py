"""`genrerec index --watch`: a new or removed file is indexed after a quiet moment."""

import queue
import threading

import pytest

from genrerec.engine.watch import Debouncer
from tests.conftest import write_audio

pytest.importorskip("watchdog")


def test_a_burst_of_events_is_handled_once_after_a_quiet_moment():
    now = [0.0]
    d = Debouncer(delay=2.0, max_wait=10.0, clock=lambda: now[0])
    assert d.wait_time() is None  # nothing pending
    for t in (0.0, 0.5, 1.0):
        now[0] = t
        d.event(f"/music/{t}.mp3")
    assert d.wait_time() == 2.0  # 2 s after the last event
    now[0] = 3.0
    assert d.wait_time() == 0.0 and len(d.take()) == 3 and d.wait_time() is None
    for t in range(0, 20):  # a long copy, an event every 0.5 s ...
        now[0] = 10.0 + t * 0.5
        d.event(f"/music/{t}.mp3")
    assert d.wait_time() == 0.5  # ... is handled max_wait after it began, not only when it ends
    now[0] = 20.0
    assert d.wait_time() == 0.0


def test_watch_indexes_changes_until_stopped(library, tiny_model):
    from genrerec.engine.watch import watch_library

    done: queue.Queue = queue.Queue()
    stop = threading.Event()
    t = threading.Thread(target=watch_library, args=(library,), daemon=True,
                         kwargs=dict(model=tiny_model, stop=stop, on_index=done.put, workers=0, show_progress=False,
                                     debouncer=Debouncer(delay=0.3, max_wait=5.0)))
    t.start()
    try:
        first = done.get(timeout=120)
        assert first.indexed == 12
        write_audio(library / "new" / "fresh.flac", "mid", seconds=5, seed=3)
        (library / "low" / "low0.wav").unlink()
        s = done.get(timeout=120)
        while (s.indexed, s.removed) != (1, 1):  # the two changes may land in two bursts
            nxt = done.get(timeout=120)
            s.indexed, s.removed = s.indexed + nxt.indexed, s.removed + nxt.removed
        assert done.empty()  # the catalog's own writes under .genrerec did not trigger more runs
    finally:
        stop.set()
        t.join(timeout=60)
    assert not t.is_alive()
