"""The engine interface and the per-track work every engine shares."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol, Sequence

from ..audio.decode import AudioError
from ..faults import fault
from ..library.scan import fingerprint, read_tags

log = logging.getLogger("genrerec")


@dataclass(frozen=True)
class Job:
    """One track to (re)embed: its catalog key, path on disk and window budget."""

    rel: bytes  # os.fsencode(path relative to the library root): the catalog key
    path: str
    max_windows: int


class Engine(Protocol):
    """Turns jobs into per-track result dicts, in any order.

    Each result has "rel" and "path"; a usable one has "size", "mtime_ns",
    "fingerprint", "duration", "tags" and "embedding" (a TrackEmbedding); a
    failed one has "error" (a one-line reason) and whatever was known. The
    caller commits results in batches of `batch_tracks`; closing the iterator
    (on error) must stop the workers. When `stop` is set (Ctrl-C, SIGTERM), an
    engine stops taking new results, still yields the tracks already decoded
    (encoded), then ends: finished work gets committed.
    """

    def run(self, jobs: Sequence[Job], model, batch_tracks: int,
            stop: threading.Event | None = None) -> Iterator[dict]: ...


def prepare_track(job: Job, features) -> dict:
    """Decode + features + fingerprint + tags for one track; never raises."""
    from ..library.duplicates import signature
    from ..models.inference import track_windows

    p = Path(job.path)
    out: dict = {"rel": job.rel, "path": job.path}
    try:
        st = os.stat(p)
        out.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
        out["fingerprint"] = fingerprint(p)
        specs, dur = track_windows(p, features, job.max_windows)
        fault("decode")
        out.update(specs=specs, duration=dur, tags=read_tags(p), signature=signature(specs))
    except AudioError as e:
        out["error"] = e.reason
    except FileNotFoundError:
        out["error"] = "file disappeared while indexing"
    except OSError as e:
        out["error"] = f"cannot read file ({e.strerror or e})"
    except Exception as e:  # never let one file kill the run
        out["error"] = f"unexpected {type(e).__name__}: {e}"
    return out


def encode_prepared(model, batch: list[dict]) -> list[dict]:
    """Model inference for a batch of prepared tracks (one call, or one by one
    if the batch fails): sets "embedding", or "error" for a track the model
    could not take. Returns the same dicts, spectrograms dropped."""
    good = [r for r in batch if "error" not in r]
    fault("infer")
    try:
        embs = model.encode_windows([(r["specs"], r["duration"]) for r in good])
    except Exception as e:  # a model failure on one batch: fall back to one by one
        embs = []
        for r in good:
            try:
                embs.append(model.encode_windows([(r["specs"], r["duration"])])[0])
            except Exception as e1:
                r["error"] = f"model failed ({type(e1).__name__}: {e1})"
                embs.append(None)
        log.debug("batch inference failed: %s", e)
    for r, te in zip(good, embs):
        r["embedding"] = te
    for r in batch:
        r.pop("specs", None)
    return batch
