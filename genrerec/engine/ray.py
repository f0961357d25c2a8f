"""The Ray engine: decode, features and model inference on a Ray cluster.

The driver (`index_library`) scans, diffs, commits and builds FAISS exactly as
with the local engine; only the map step runs here. Each worker is a Ray actor
that loads the model once and embeds batches of `batch_tracks` tracks (one
forward pass per batch). Batches come back in job order, so the driver commits
the same transactions as the local engine. A worker that dies mid-batch is
restarted by Ray and its batch retried; only the driver commits, so nothing is
stored twice.

Workers read the audio themselves: the library must be at the same path on
every node (shared storage). Ray is imported only when this engine runs, and
torch never with a model on ONNX Runtime (the light install's indexing path).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import stat
import threading
from collections import deque
from typing import Iterator, Sequence

from ..errors import LibraryError
from .base import Job, encode_prepared, prepare_track

INSTALL_HINT = "the Ray engine needs Ray, an optional extra: pip install 'genrerec[ray]'"
_FORWARDED_ENV = ("GENREREC_FAULT", "GENREREC_FAULT_ONCE")  # the crash-test hook reaches the workers too
MAX_RETRIES = 3  # restarts of a dead worker, and retries of the batch it held


def import_ray():
    """The `ray` module, or a LibraryError that says how to install it."""
    try:
        import ray
    except ImportError:
        raise LibraryError(INSTALL_HINT) from None
    return ray


class Embedder:
    """One Ray worker: holds the model, turns a batch of jobs into results.

    The model comes with each call as a reference in a list (`model_box`) and
    is fetched once: an actor whose constructor took the 3 MB model (an
    object-store argument) could not be restarted after the node holding it
    was lost (ray-project/ray#53727), while a method's arguments are resolved
    again when Ray retries the call on the restarted actor."""

    def __init__(self, model=None):
        self.model = None
        if model is not None:
            self._take(model)
        self.host = socket.gethostname()

    def _take(self, model) -> None:
        """Hold the model with one inference thread (one CPU per actor, as the local engine's
        workers), through the model's own runtime: ONNX Runtime never imports torch here."""
        model.set_threads(1)
        self.model = model

    def embed(self, jobs: list[Job], model_box: list | None = None) -> list[dict]:
        if self.model is None:  # first call, or first after a restart
            self._take(import_ray().get(model_box[0]))
        prepared = []
        for job in jobs:
            if not os.access(job.path, os.R_OK):  # e.g. the library is not mounted on this node
                why = "no such file" if not os.path.exists(job.path) else "permission denied"
                prepared.append({"rel": job.rel, "path": job.path,
                                 "error": f"cannot read the file on Ray worker {self.host} ({why}); every node "
                                          "must see the library at the same path (shared storage)"})
            else:
                prepared.append(prepare_track(job, self.model.features))
        return encode_prepared(self.model, prepared)


LOCAL_ADDRESS = "127.0.0.1"  # a cluster genrerec starts serves this machine only


@contextlib.contextmanager
def _loopback_only(ray):
    """Let a new local instance keep 127.0.0.1 as its node address (Ray turns a loopback address into the
    machine's reachable one, then every Ray process listens on all interfaces), with files it creates
    (its auth token among them) private to this user."""
    services = getattr(getattr(ray, "_private", None), "services", None)
    resolve = getattr(services, "resolve_ip_for_localhost", None)
    if resolve is not None:
        services.resolve_ip_for_localhost = lambda host: host
    umask = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(umask)
        if resolve is not None:
            services.resolve_ip_for_localhost = resolve
        _private_token()


def token_paths() -> list[str]:
    """Where Ray keeps its cluster auth token."""
    return [p for p in (os.environ.get("RAY_AUTH_TOKEN_PATH"), os.path.expanduser("~/.ray/auth_token")) if p]


def _private_token() -> None:
    """The auth token readable by this user only (Ray writes it 0644; it opens the cluster to whoever reads it)."""
    for p in token_paths():
        with contextlib.suppress(OSError):
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077 and st.st_uid == os.getuid():
                os.chmod(p, 0o600)


def _quiet_auth_enabled(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Token authentication is enabled")


class RayEngine:
    """Runs the map step on Ray.

    Args:
        address: a running cluster ("auto", "ray://host:10001", "host:6379");
            None uses the Ray instance this process already joined, or starts a
            local one with `workers` CPUs.
        workers: Ray actors, one CPU each (default: every CPU of the cluster).
        in_flight: batches queued per actor, so a worker never waits for the driver.
    """

    def __init__(self, address: str | None = None, workers: int | None = None, in_flight: int = 2):
        if workers is not None and workers < 1:
            raise LibraryError("--workers must be at least 1 with the Ray engine")
        self.address, self.workers, self.in_flight = address, workers, in_flight
        import_ray()  # fail before the scan, not after it

    def _connect(self, ray) -> bool:
        """Join (or start) Ray; True if this call started it and must shut it down."""
        if ray.is_initialized():
            return False
        # Ray announces its secure default (token auth on) on every local start; its warning
        # when auth is *off* is kept
        logging.getLogger("ray._private.authentication.authentication_token_setup").addFilter(_quiet_auth_enabled)
        opts: dict = {"include_dashboard": False, "log_to_driver": False, "logging_level": "WARNING"}
        local = self.address is None and not os.environ.get("RAY_ADDRESS")
        if local:  # a new local instance: this machine only, on loopback
            opts["num_cpus"] = self.workers or os.cpu_count() or 1
            opts["_node_ip_address"] = LOCAL_ADDRESS
        try:
            with _loopback_only(ray) if local else contextlib.nullcontext():
                ray.init(address=self.address, **opts)
        except ConnectionError as e:
            raise LibraryError(f"cannot join the Ray cluster at {self.address} ({str(e).splitlines()[0][:160]}); "
                               "check --address, or start one with `ray start --head`") from None
        return True

    def run(self, jobs: Sequence[Job], model, batch_tracks: int,
            stop: threading.Event | None = None) -> Iterator[dict]:
        if not jobs:
            return
        ray = import_ray()
        started = self._connect(ray)
        actors: list = []
        try:
            n = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            n = min(n, -(-len(jobs) // batch_tracks))
            env = {k: os.environ[k] for k in _FORWARDED_ENV if k in os.environ}
            remote = ray.remote(num_cpus=1, max_restarts=MAX_RETRIES, max_task_retries=MAX_RETRIES)(Embedder)
            model_box = [ray.put(model)]  # in a list: the actor gets the reference, not a copy per call
            actors = [remote.options(runtime_env={"env_vars": env} if env else None).remote() for _ in range(n)]
            batches = [list(jobs[i:i + batch_tracks]) for i in range(0, len(jobs), batch_tracks)]
            pending: deque = deque()
            sent = 0
            while pending or (sent < len(batches) and not (stop and stop.is_set())):
                # on stop (Ctrl-C, SIGTERM) send nothing more, but hand back the batches in flight to be committed
                while sent < len(batches) and len(pending) < n * self.in_flight and not (stop and stop.is_set()):
                    pending.append(actors[sent % n].embed.remote(batches[sent], model_box))  # round robin
                    sent += 1
                yield from ray.get(pending.popleft())  # in job order: the local engine's commit batches
        finally:
            for a in actors:
                ray.kill(a)
            if started:
                ray.shutdown()
