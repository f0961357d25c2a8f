"""LocalEngine with the model on ONNX Runtime: workers run tracks end to end, the main process only commits."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from genrerec.engine import local
from genrerec.engine.base import Job
from genrerec.engine.index import index_library
from genrerec.library.catalog import Catalog
from genrerec.models.inference import load_model

pytest.importorskip("onnxruntime")


def _embeddings(db) -> dict[str, np.ndarray]:
    cat = Catalog(db / "catalog.sqlite", create=False)
    try:
        rows = cat.db.execute("SELECT path, embedding FROM tracks WHERE status='ok'").fetchall()
    finally:
        cat.close()
    return {os.fsdecode(p): np.frombuffer(e, np.float32) for p, e in rows}


def test_workers_run_the_model_and_agree_with_in_process(library, tmp_path, monkeypatch):
    model = load_model()
    assert model.runtime_name == "onnx" and local.infers_in_workers(model)
    calls = {"main": 0}
    infer = model.runtime.infer

    def counted(*a, **kw):  # forked workers count in their own copy; this one is the main process's
        calls["main"] += 1
        return infer(*a, **kw)

    monkeypatch.setattr(model.runtime, "infer", counted)
    s = index_library(library, tmp_path / "w2", model, workers=2, batch_tracks=4, show_progress=False)
    assert s.indexed == 12 and not s.failed
    assert calls["main"] == 0, "the main process ran inference"
    s0 = index_library(library, tmp_path / "w0", model, workers=0, show_progress=False)
    assert s0.indexed == 12 and calls["main"] > 0
    a, b = _embeddings(tmp_path / "w2"), _embeddings(tmp_path / "w0")
    assert a.keys() == b.keys()
    for k in a:
        assert np.abs(a[k] - b[k]).max() < 1e-5


def test_torch_model_still_infers_in_the_main_process(tiny_model):
    assert tiny_model.runtime_name == "torch" and not local.infers_in_workers(tiny_model)


def test_a_stuck_track_times_out_without_holding_back_the_others(library, tmp_path, monkeypatch):
    """The stuck file is sent first; its results come last, after every other track's, so
    nothing waited behind it. Load-proof: the stuck worker holds its alarm off until the other
    worker has prepared every other track (a file each in `done`), then hangs with the alarm on."""
    model = load_model()
    real = local.prepare_track
    done = tmp_path / "done"
    done.mkdir()
    timeout_s = 10  # margin for the last track's inference and hand-back after its preparation

    def stuck_on_one(job, features):  # a decoder that never returns for one file
        if not job.path.endswith("low0.wav"):
            out = real(job, features)
            (done / os.path.basename(job.path)).touch()
            return out
        signal.alarm(0)
        deadline = time.monotonic() + 300
        while len(os.listdir(done)) < len(jobs) - 1 and time.monotonic() < deadline:
            time.sleep(0.05)  # polls a condition (the other worker's progress), bounded
        signal.alarm(timeout_s)
        time.sleep(600)

    monkeypatch.setattr(local, "prepare_track", stuck_on_one)  # forked workers inherit both patches
    monkeypatch.setattr(local, "TRACK_TIMEOUT_S", timeout_s)
    paths = sorted(str(p) for p in library.rglob("*.wav"))
    paths.remove(str(library / "low" / "low0.wav"))
    jobs = [Job(os.fsencode("low/low0.wav"), str(library / "low" / "low0.wav"), 16)]
    jobs += [Job(os.fsencode(os.path.relpath(p, library)), p, 16) for p in paths]
    out = list(local.LocalEngine(2).run(jobs, model, batch_tracks=4))
    assert len(out) == len(jobs)
    assert f"took longer than {timeout_s} s" in out[-1].get("error", "") and out[-1]["path"].endswith("low0.wav")
    assert all("error" not in r and r["embedding"] is not None for r in out[:-1])


def test_a_model_that_already_ran_here_still_runs_in_forked_workers(library, tmp_path):
    """The same model object indexes in-process (its ONNX Runtime session and thread pool made here), then
    with forked workers: a worker never tears the inherited session down (that waits for ever on threads the
    fork did not copy). In a subprocess, so a hang fails the test instead of stalling the suite."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        from pathlib import Path
        from genrerec import index_library, load_model
        m = load_model()
        a = index_library({str(library)!r}, Path({str(tmp_path / 'in')!r}), m, workers=0, show_progress=False)
        assert m.runtime._session is not None  # made in this process, with this process's threads
        b = index_library({str(library)!r}, Path({str(tmp_path / 'pool')!r}), m, workers=2, show_progress=False)
        del m  # and another model after it: the first one's session must not be released in a fork either
        c = index_library({str(library)!r}, Path({str(tmp_path / 'pool2')!r}), load_model(), workers=2,
                          show_progress=False)
        print(a.indexed, b.indexed, c.indexed)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert r.returncode == 0 and r.stdout.split() == ["12", "12", "12"], r.stderr[-2000:]
