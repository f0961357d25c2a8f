"""Crash-test hook: lets tests/reliability kill the indexer at exact points."""

from __future__ import annotations

import os

_FAULT_COUNTS: dict[str, int] = {}


def fault(stage: str) -> None:
    """With GENREREC_FAULT="stage:n" the process SIGKILLs itself the n-th time
    it reaches `stage` (scan, decode, infer, commit, save-index)."""
    spec = os.environ.get("GENREREC_FAULT")
    if not spec:
        return
    want, _, n = spec.partition(":")
    if want == stage:
        _FAULT_COUNTS[stage] = _FAULT_COUNTS.get(stage, 0) + 1
        if _FAULT_COUNTS[stage] >= int(n or 1):
            os.kill(os.getpid(), 9)
