"""Engines: the map step of `index_library` (decode, features and model
inference for the tracks to (re)embed). Everything else (scan, diff, commit,
FAISS) is shared; an engine only turns jobs into per-track results.

`LocalEngine` (a process pool on this machine) is the default; another engine
(e.g. Ray) implements the same `Engine.run` and reuses `prepare_track` and
`encode_prepared`.
"""

from .base import Engine, Job, encode_prepared, prepare_track
from .local import LocalEngine

__all__ = ["Engine", "Job", "LocalEngine", "encode_prepared", "prepare_track"]
