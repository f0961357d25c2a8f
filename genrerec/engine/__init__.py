"""engine: indexing a library: the driver (index.py: scan, diff, commit, FAISS; watch.py) and
the engines of its map step (decode, features, inference). May import: audio, models, library.

An engine only turns jobs into per-track results; everything else is the driver's.

`LocalEngine` (a process pool on this machine) is the default; another engine
(e.g. Ray) implements the same `Engine.run` and reuses `prepare_track` and
`encode_prepared`.
"""

from .base import Engine, Job, encode_prepared, prepare_track
from .local import LocalEngine

__all__ = ["Engine", "Job", "LocalEngine", "encode_prepared", "prepare_track"]
