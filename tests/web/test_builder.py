"""The builder's API beyond a plain history: defaults, tag mix, similar and path with the
filters and the avoid list, and the map's clusters."""

from __future__ import annotations

import pytest

from genrerec.recommend.controls import DEFAULT_MAX_PER_ALBUM
from genrerec.recommend.results import DEFAULT_TEMPERATURE
from tests.web.conftest import GENRES, PER_GENRE, make_web_library, track_ids

TAGS = ["bassy", "happy", "sad"]


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    """A client over a library whose model scores tags ('bassy' = 1 on the low folder, else 0)."""
    from fastapi.testclient import TestClient

    from genrerec.web.app import create_app
    from genrerec.web.library import LibraryWorker

    w = LibraryWorker(make_web_library(tmp_path_factory.mktemp("tagged") / "music", audio=False, tags=TAGS))
    with TestClient(create_app(w)) as c:
        yield c
    w.close()


def test_config_gives_the_cli_defaults(client, tagged):
    cfg = client.get("/api/config").json()
    assert cfg["temperature"] == DEFAULT_TEMPERATURE == 0.5 and cfg["max_per_album"] == DEFAULT_MAX_PER_ALBUM
    assert cfg["tags"] == [] and cfg["genres"] == GENRES and cfg["path_n"] == 12
    assert tagged.get("/api/config").json()["tags"] == TAGS
    ids = track_ids(client, "low")
    r = client.post("/api/recommend", json={"history": [ids["low/low00.wav"]], "seed": 1}).json()
    assert r["temperature"] == DEFAULT_TEMPERATURE  # the API's default is the CLI's too


def test_mix_ranks_by_tag_and_takes_filters_and_avoid(tagged):
    ids = track_ids(tagged)
    low = {i for p, i in ids.items() if p.startswith("low/")}
    r = tagged.post("/api/mix", json={"tags": ["Bassy"], "n": 5, "temperature": 0, "max_per_album": 0}).json()
    assert len(r["picks"]) == 5 and {p["id"] for p in r["picks"]} <= low
    assert all(p["score"] == 1.0 and list(p["tags"])[0] == "bassy" for p in r["picks"])
    avoid = [p["id"] for p in r["picks"][:3]]
    again = tagged.post("/api/mix", json={"tags": ["bassy"], "n": 5, "temperature": 0, "max_per_album": 0,
                                          "avoid": avoid}).json()["picks"]
    assert not set(avoid) & {p["id"] for p in again} and {p["id"] for p in again[:PER_GENRE - 3]} <= low
    body = {"tags": ["bassy", "happy"], "n": 6, "temperature": 1.0, "seed": 4}
    first, second = (tagged.post("/api/mix", json=body).json() for _ in range(2))
    assert first["picks"] == second["picks"] and first["seed"] == 4 and len(first["picks"]) == 6
    long = tagged.post("/api/mix", json={"tags": ["sad"], "n": 5, "min_duration": 10}).json()
    assert long["picks"] == []  # every track lasts 3 s


def test_mix_unknown_tag_is_a_400_naming_close_tags(tagged, client):
    r = tagged.post("/api/mix", json={"tags": ["bassie"]})
    assert r.status_code == 400 and "nearest known tags: bassy" in r.json()["error"]
    r = client.post("/api/mix", json={"tags": ["bassy"]})
    assert r.status_code == 400 and "no style/mood tag scores" in r.json()["error"]
    assert tagged.post("/api/mix", json={"tags": []}).status_code == 422


def test_similar_and_path_take_filters_and_avoid(client):
    ids = track_ids(client)
    a, b = ids["low/low00.wav"], ids["high/high00.wav"]
    free = client.get(f"/api/similar/{a}", params={"n": 4, "max_per_album": 0}).json()["similar"]
    gone = [s["id"] for s in free[:2]]
    got = client.get(f"/api/similar/{a}", params=[("n", 4), ("max_per_album", 0)] + [("avoid", i) for i in gone]
                     + [("exclude_genres", "high")]).json()["similar"]
    assert len(got) == 4 and not set(gone) & {s["id"] for s in got}
    assert all(list(s["genres"])[0] != "high" for s in got)
    path = client.post("/api/path", json={"start": a, "end": b, "n": 6, "avoid": gone}).json()
    assert path["tracks"][0]["id"] == a and path["tracks"][-1]["id"] == b
    assert not set(gone) & {t["id"] for t in path["tracks"]}


def test_map_clusters_label_every_point(client):
    m = client.get("/api/map").json()
    c = client.get("/api/map/clusters").json()
    assert c["auto"] and c["k"] == len(GENRES) and len(c["labels"]) == m["count"]
    assert sum(c["sizes"]) == m["count"] and len(c["names"]) == c["k"]
    # the synthetic genres are the clusters: one label per genre folder
    by_genre = {}
    for g, lab in zip(m["genre"], c["labels"]):
        by_genre.setdefault(g, set()).add(lab)
    assert all(len(v) == 1 for v in by_genre.values()) and len({min(v) for v in by_genre.values()}) == len(GENRES)
    two = client.get("/api/map/clusters", params={"k": 2, "seed": 3}).json()
    assert two["k"] == 2 and not two["auto"] and set(two["labels"]) == {0, 1}
    for bad in ("0", "51", "x", "-1"):
        r = client.get("/api/map/clusters", params={"k": bad})
        assert r.status_code == 422 and "error" in r.json(), bad
