"""The default engine: a process pool on this machine decodes, the main
process runs the model on batches of tracks."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
from typing import Iterator, Sequence

from .base import Job, encode_prepared, prepare_track

_WORKER_FEATURES = None


def _worker_init(features, threads: int) -> None:
    global _WORKER_FEATURES
    import torch

    try:  # Linux: die with the parent, so a killed indexer leaves no orphans
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except Exception:
        pass

    torch.set_num_threads(threads)
    _WORKER_FEATURES = features


def _pool_init(features, threads: int) -> None:
    """Worker start-up: Ctrl-C reaches the whole process group, but only the
    parent decides what to do with it (no 'Process ForkPoolWorker' tracebacks);
    SIGTERM from pool.terminate() ends a worker quietly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _worker_init(features, threads)


def _prepare(job: Job) -> dict:
    """Decode + features for one track (runs in a worker process)."""
    return prepare_track(job, _WORKER_FEATURES)


class LocalEngine:
    """`workers` decoding processes (default: CPU count; 0 decodes in-process)."""

    def __init__(self, workers: int | None = None):
        self.workers = workers

    def run(self, jobs: Sequence[Job], model, batch_tracks: int,
            stop: threading.Event | None = None) -> Iterator[dict]:
        if not jobs:
            return
        n_workers = (os.cpu_count() or 1) if self.workers is None else self.workers
        pool = None
        if n_workers > 0:
            ctx = mp.get_context("spawn" if os.environ.get("GENREREC_SPAWN") else "fork")
            pool = ctx.Pool(n_workers, initializer=_pool_init, initargs=(model.features, 1))
            results = pool.imap(_prepare, jobs, chunksize=1)
        else:
            import torch

            _worker_init(model.features, torch.get_num_threads())
            results = map(_prepare, jobs)
        try:
            batch: list[dict] = []
            for res in results:
                batch.append(res)
                if stop is not None and stop.is_set():
                    break  # encode and hand back what is decoded, take nothing more
                if len(batch) >= batch_tracks:
                    yield from encode_prepared(model, batch)
                    batch = []
            if batch:
                yield from encode_prepared(model, batch)
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
