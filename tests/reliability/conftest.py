"""`record(case, outcome)` notes what each bad input produced; with
GENREREC_RELIABILITY_REPORT=FILE set, benchmarks/reliability_report.py turns
the notes into docs/reliability.md."""

import json
import os

import pytest


@pytest.fixture
def record(request):
    def rec(case: str, outcome: str) -> None:
        path = os.environ.get("GENREREC_RELIABILITY_REPORT")
        if path:
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"group": request.module.__name__.rsplit(".", 1)[-1], "case": case,
                                    "outcome": outcome, "test": request.node.name}) + "\n")
    return rec
