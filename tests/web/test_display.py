"""The web app shows a track's style tags first, then its calibrated genre call, which may be
"uncertain": the map colours and lists it, the detail and the picks put tags before it, search finds it."""

from __future__ import annotations

import numpy as np
import pytest

from genrerec.library.catalog import Catalog
from genrerec.models.space import UNCERTAIN
from tests.web.conftest import GENRES, make_web_library

TAGS = ["female vocalist", "00s", "Mellow"]  # raw MSD-style names


def make_called_web_library(root):
    """The web library, its "mid" tracks called "uncertain", the others their folder's genre; tags that
    read "female vocalists" then "mellow" (the decade tag "00s" scores highest but is never shown)."""
    make_web_library(root, per_genre=3, audio=False, tags=TAGS)
    cat = Catalog(root / ".genrerec/catalog.sqlite", create=False)
    with cat.transaction():
        for tid, path in cat.db.execute("SELECT id, path FROM tracks WHERE status='ok'").fetchall():
            label = UNCERTAIN if path.startswith(b"mid/") else path.split(b"/")[0].decode()
            cat.db.execute("UPDATE tracks SET label=?, tags=? WHERE id=?",
                           (label, np.array([0.6, 0.9, 0.5], np.float32).tobytes(), tid))
    cat.close()
    return root


@pytest.fixture(scope="module")
def called(tmp_path_factory):
    from fastapi.testclient import TestClient

    from genrerec.web.app import create_app
    from genrerec.web.library import LibraryWorker

    w = LibraryWorker(make_called_web_library(tmp_path_factory.mktemp("called") / "music"))
    yield TestClient(create_app(w))
    w.close()


def test_the_map_colours_by_the_call_with_uncertain_listed_last(called):
    m = called.get("/api/map").json()
    assert m["genres"] == [*GENRES, UNCERTAIN]  # the model's genres, then "uncertain" (grey on the page)
    shown = [m["genres"][g] for g in m["genre"]]
    assert shown.count(UNCERTAIN) == 3 and "mid" not in shown
    assert set(m["style"]) == {"female vocalists, mellow"}  # the tooltip's tags, shown before the genre


def test_track_objects_carry_the_call_and_the_detail_puts_tags_first(called):
    m = called.get("/api/map").json()
    tid = m["ids"][[m["genres"][g] for g in m["genre"]].index(UNCERTAIN)]
    d = called.get(f"/api/tracks/{tid}").json()
    assert d["genre"] == UNCERTAIN and d["genre_text"].startswith("uncertain (nearest: mid ")
    assert d["description"].startswith("female vocalists, mellow · uncertain (nearest: mid ")
    assert d["style"] == ["female vocalists", "mellow"] and list(d["genres"])[0] == "mid"  # genres kept


def test_search_finds_the_call(called):
    hits = called.get("/api/tracks", params={"q": "uncertain"}).json()
    assert hits["total"] == 3 and {t["genre"] for t in hits["tracks"]} == {UNCERTAIN}
    assert all(t["path"].startswith("mid/") for t in hits["tracks"])
    high = called.get("/api/tracks", params={"q": "high"}).json()["tracks"]  # ("low" is in "mellow")
    assert high and {t["genre"] for t in high} == {"high"}


def test_picks_show_tags_then_the_call(called):
    m = called.get("/api/map").json()
    mid = [i for i, g in zip(m["ids"], m["genre"]) if m["genres"][g] == UNCERTAIN]
    r = called.post("/api/recommend", json={"history": mid[:1], "n": 4, "temperature": 0, "seed": 1,
                                            "max_per_album": 0}).json()
    assert r["picks"] and all(p["style"] == ["female vocalists", "mellow"] and "genre" in p for p in r["picks"])
    assert UNCERTAIN in {p["genre"] for p in r["picks"]}
    sim = called.get(f"/api/similar/{mid[0]}", params={"n": 3}).json()["similar"]
    assert sim and all("genre" in p and "style" in p for p in sim)


def test_stats_count_uncertain_as_its_own_genre(called):
    assert called.get("/api/stats").json()["genres"] == {"low": 3, "high": 3, "mid": 0, UNCERTAIN: 3}
