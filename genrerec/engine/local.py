"""The default engine: a process pool on this machine.

With a model on ONNX Runtime every worker runs a track end to end (decode, features,
inference) on one thread, with its own session made once; the main process only
commits. Threads: `workers` processes x 1 ORT thread, so the default (one worker per
core) keeps every core busy without oversubscribing. A torch model still runs in the
main process on batches of decoded tracks: libgomp, which torch's CPU wheels use, can
hang in a child forked after the parent used it.

Results come back in completion order, so a slow track holds up only its own worker;
each track's decode + inference in a worker is bounded by TRACK_TIMEOUT_S.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
from typing import Iterator, Sequence

from .base import Job, encode_prepared, prepare_track

TRACK_TIMEOUT_S = 300  # one track's decode + inference in a worker; far beyond any healthy file (~1 s)
SPAWN_ENV = "GENREREC_SPAWN"  # set: start workers with spawn instead of fork

_WORKER: dict = {}


class TrackTimeout(BaseException):
    """Raised by SIGALRM in a worker; a BaseException so prepare_track's catch-all lets it through."""


def _on_alarm(signum, frame):
    raise TrackTimeout


def _worker_init(model, infer: bool, threads: int) -> None:
    """Worker start-up: never raises (a failing initializer makes multiprocessing respawn
    workers forever); a problem is reported with each track instead."""
    try:  # Linux: die with the parent, so a killed indexer leaves no orphans
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except Exception:
        pass
    _WORKER.update(model=model, infer=infer, error=None)
    try:
        if infer:
            model.set_threads(threads)  # the session itself is made at this worker's first track
    except Exception as e:
        _WORKER["error"] = f"worker could not set up the model ({type(e).__name__}: {e})"


def _pool_init(model, infer: bool, threads: int) -> None:
    """Ctrl-C reaches the whole process group, but only the parent decides what to do
    with it (no 'Process ForkPoolWorker' tracebacks); SIGTERM from pool.terminate()
    ends a worker quietly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGALRM, _on_alarm)
    _worker_init(model, infer, threads)


def _process(job: Job) -> dict:
    """One track in a worker: decode + features (+ inference where the worker has the model)."""
    if _WORKER.get("error"):
        return {"rel": job.rel, "path": job.path, "error": _WORKER["error"]}
    model = _WORKER["model"]
    in_pool = signal.getsignal(signal.SIGALRM) is _on_alarm
    if in_pool:
        signal.alarm(TRACK_TIMEOUT_S)
    try:
        res = prepare_track(job, model.features)
        return encode_prepared(model, [res])[0] if _WORKER["infer"] else res
    except TrackTimeout:
        return {"rel": job.rel, "path": job.path,
                "error": f"took longer than {TRACK_TIMEOUT_S} s to decode and analyse (stuck decoder?); skipped"}
    finally:
        if in_pool:
            signal.alarm(0)


def infers_in_workers(model) -> bool:
    """Whether worker processes run this model themselves (ONNX Runtime) or hand spectrograms back (torch)."""
    return getattr(model, "runtime_name", "torch") == "onnx"


class LocalEngine:
    """`workers` processes (default: CPU count; 0 runs everything in-process)."""

    def __init__(self, workers: int | None = None):
        self.workers = workers

    def run(self, jobs: Sequence[Job], model, batch_tracks: int,
            stop: threading.Event | None = None) -> Iterator[dict]:
        if not jobs:
            return
        n_workers = (os.cpu_count() or 1) if self.workers is None else self.workers
        infer = infers_in_workers(model)
        pool = None
        if n_workers > 0:
            ctx = mp.get_context("spawn" if os.environ.get(SPAWN_ENV) else "fork")
            pool = ctx.Pool(n_workers, initializer=_pool_init, initargs=(model, infer, 1))
            results = pool.imap_unordered(_process, jobs, chunksize=1)
        else:  # in-process: this process's inference may use every core
            _worker_init(model, infer, os.cpu_count() or 1)
            results = map(_process, jobs)
        try:
            batch: list[dict] = []
            for res in results:
                batch.append(res)
                if stop is not None and stop.is_set():
                    break  # hand back what is done, take nothing more
                if len(batch) >= batch_tracks:
                    yield from batch if infer else encode_prepared(model, batch)
                    batch = []
            if batch:
                yield from batch if infer else encode_prepared(model, batch)
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
