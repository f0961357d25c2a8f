"""The shipped model on ONNX Runtime: inference without torch.

scripts/export_onnx.py writes `<model>.onnx` beside a checkpoint with a JSON sidecar
(genres, tags, feature config, the checkpoint's model id and its sha256). A sidecar
whose checkpoint hash does not match the .pt beside it is stale and not used.

The session is made lazily in the process that first runs it (never inherited across a
fork) with `threads` intra-op threads: 1 by default, because indexing runs one model per
worker process and more threads per worker would oversubscribe the cores.
"""

from __future__ import annotations

import hashlib
import json
import os
import weakref
from pathlib import Path

import numpy as np

SIDECAR_FORMAT = "genrerec-onnx"
ORT_THREADS = 1  # per process: LocalEngine runs one model in each of cpu_count workers
ORT_BATCH = 4  # windows per run(): as fast as 16 on one thread (2 cores, 2026-12-02) with a smaller working set
RUNTIME_ENV = "GENREREC_RUNTIME"  # "onnx", "torch" or "auto" (the default: onnx where it can)
RUNTIMES = ("auto", "onnx", "torch")


_MADE_HERE: "weakref.WeakSet" = weakref.WeakSet()  # the live sessions this process made
_INHERITED: list = []  # a forked child's copies of its parent's sessions, never released there: a session's
# destructor waits on its thread-pool threads, which the fork did not copy, and would hang the child for ever


def _keep_inherited() -> None:
    _INHERITED.extend(_MADE_HERE)
    _MADE_HERE.clear()


os.register_at_fork(after_in_child=_keep_inherited)


class OnnxModelError(Exception):
    """An .onnx model or its sidecar is missing, stale or unreadable; the message says which."""


def have_onnxruntime() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def sidecar_path(onnx_path: str | os.PathLike) -> Path:
    return Path(onnx_path).with_suffix(".json")


def read_sidecar(onnx_path: str | os.PathLike) -> dict:
    p = sidecar_path(onnx_path)
    try:
        meta = json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise OnnxModelError(f"{p}: cannot read the ONNX model's sidecar ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != SIDECAR_FORMAT:
        raise OnnxModelError(f"{p}: not a genrerec ONNX sidecar")
    return meta


def matching_onnx(checkpoint: str | os.PathLike) -> Path | None:
    """The .onnx exported from exactly this checkpoint (sha256 in its sidecar), else None."""
    ckpt = Path(checkpoint)
    onnx_path = ckpt.with_suffix(".onnx")
    if not onnx_path.is_file() or not sidecar_path(onnx_path).is_file():
        return None
    try:
        want = read_sidecar(onnx_path)["provenance"]["checkpoint_sha256"]
        have = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    except (OnnxModelError, KeyError, TypeError, OSError):
        return None
    return onnx_path if want == have else None


class OnnxNet:
    """One ONNX Runtime session per process over a genrerec-exported graph."""

    name = "onnx"

    def __init__(self, path: str | os.PathLike, threads: int = ORT_THREADS):
        self.path = Path(path)
        self.meta = read_sidecar(self.path)
        self.threads = threads
        self._session = None
        self._pid = -1

    def __getstate__(self) -> dict:  # a session never crosses a process boundary
        return {**self.__dict__, "_session": None, "_pid": -1}

    def set_threads(self, threads: int) -> None:
        if threads != self.threads:
            self.threads, self._session = threads, None

    def session(self):
        if self._session is None or self._pid != os.getpid():  # one made before a fork is kept in _INHERITED
            import onnxruntime as ort

            so = ort.SessionOptions()
            so.intra_op_num_threads = self.threads
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL  # + this CPU's layouts
            so.log_severity_level = 3
            try:
                self._session = ort.InferenceSession(str(self.path), so, providers=["CPUExecutionProvider"])
            except Exception as e:
                raise OnnxModelError(f"{self.path}: ONNX Runtime cannot load it ({str(e).splitlines()[0][:200]})") \
                    from None
            self._pid = os.getpid()
            _MADE_HERE.add(self._session)
        return self._session

    @property
    def has_pooled(self) -> bool:
        """Whether the graph also outputs the pooled mid-level features (what the v3 space needs)."""
        return "pooled" in self.meta.get("outputs", [])

    def infer(self, specs: np.ndarray, batch_size: int = ORT_BATCH, pooled: bool = False) -> tuple[np.ndarray, ...]:
        """(genre softmax [k, G], embedding [k, D], tag sigmoids [k, n_tags]) for log-mels [k, M, T],
        + the pooled mid-level features [k, 1506] if `pooled` (graphs exported with that output)."""
        names = ["genres", "embedding", "tags"] + (["pooled"] if pooled else [])
        if pooled and not self.has_pooled:
            raise OnnxModelError(f"{self.path}: this graph has no pooled output; export it again "
                                 "(python scripts/export_onnx.py)")
        sess = self.session()
        x = np.ascontiguousarray(specs, dtype=np.float32)
        outs = [sess.run(names, {"logmel": x[i:i + batch_size]}) for i in range(0, len(x), batch_size)]
        return tuple(np.concatenate([o[j] for o in outs]) for j in range(len(names)))
