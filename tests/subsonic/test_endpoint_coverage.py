"""docs/subsonic.md's endpoint table against the code and the tests: every endpoint the server
answers is in the table, and every one the table calls supported or partial is called by a test."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _table() -> dict[str, str]:
    """endpoint name -> status, from the table's rows."""
    doc = (ROOT / "docs" / "subsonic.md").read_text()
    sec = doc[doc.index("| endpoint | status | notes |"):]
    out = {}
    for line in sec[:sec.index("\n\n")].splitlines()[2:]:
        cells = line.split("|")
        for name in re.findall(r"`(\w+)`", cells[1]):
            out[name] = cells[2].strip()
    return out


def test_every_answered_endpoint_is_in_the_docs_table():
    from genrerec.subsonic import router  # noqa: F401 (registers the endpoints)
    from genrerec.subsonic.registry import ENDPOINTS

    documented = {n.lower() for n, status in _table().items() if status != "not supported"}
    assert set(ENDPOINTS) - documented == set()


def test_every_supported_endpoint_is_called_by_a_test():
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py") if p.name != Path(__file__).name)
    missing = []
    for name, status in _table().items():
        if status == "not supported":
            continue
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        raw = re.search(rf'(["/]){name}(["?])', tests)  # call(http, "getX"), "/rest/getX?..."
        client = re.search(rf"\.{snake}\(", tests)  # py-opensonic's conn.get_x(...)
        if not (raw or client):
            missing.append(name)
    assert missing == []
