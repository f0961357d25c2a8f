"""Crash-test hook: lets tests/reliability kill the indexer at exact points."""

from __future__ import annotations

import os

_FAULT_COUNTS: dict[str, int] = {}


def fault(stage: str) -> None:
    """With GENREREC_FAULT="stage:n" the process SIGKILLs itself the n-th time
    it reaches `stage` (scan, decode, infer, commit, save-index).

    With GENREREC_FAULT_ONCE=FILE as well, only the first process to get there
    dies (it creates FILE): a restarted worker then runs on, as after a one-off
    crash of a cluster node."""
    spec = os.environ.get("GENREREC_FAULT")
    if not spec:
        return
    want, _, n = spec.partition(":")
    if want == stage:
        _FAULT_COUNTS[stage] = _FAULT_COUNTS.get(stage, 0) + 1
        if _FAULT_COUNTS[stage] >= int(n or 1):
            once = os.environ.get("GENREREC_FAULT_ONCE")
            if once:
                try:
                    os.close(os.open(once, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                except FileExistsError:
                    return
            os.kill(os.getpid(), 9)
