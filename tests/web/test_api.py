"""The JSON API on a synthetic library, through the framework's test client."""

from __future__ import annotations

import numpy as np
import pytest

from tests.web.conftest import GENRES, PER_GENRE, make_web_library, track_ids


def test_map_has_every_track_once_with_a_colour(client):
    m = client.get("/api/map").json()
    n = len(GENRES) * PER_GENRE
    assert m["count"] == n and len(set(m["ids"])) == n
    assert len(m["x"]) == len(m["y"]) == len(m["genre"]) == len(m["names"]) == n
    assert m["method"] == "PCA" and m["genres"] == GENRES and m["tags"] == []
    assert max(map(abs, m["x"] + m["y"])) <= 1.0
    # genres form separate clouds on the map: each track is nearer its own genre's centre than any other's
    xy, g = np.c_[m["x"], m["y"]], np.array(m["genre"])
    centres = np.stack([xy[g == k].mean(0) for k in range(len(GENRES))])
    assert (np.argmin(((xy[:, None] - centres[None]) ** 2).sum(-1), axis=1) == g).mean() > 0.9


def test_search_matches_names_paths_and_genres(client):
    assert set(track_ids(client, "high")) == {f"high/high{i:02d}.{'aiff' if i == PER_GENRE - 1 else 'wav'}"
                                               for i in range(PER_GENRE)}
    r = client.get("/api/tracks", params={"q": "artist low song"}).json()
    assert [t["name"] for t in r["tracks"]] == ["Artist Low - Song <0>"]
    page = client.get("/api/tracks", params={"limit": 5, "offset": 20}).json()
    assert page["total"] == len(GENRES) * PER_GENRE and len(page["tracks"]) == 4


def test_recommend_is_reproducible_and_explains_each_pick(client):
    ids = track_ids(client, "low")
    history = [ids["low/low00.wav"], ids["low/low01.wav"]]
    body = {"history": history, "n": 5, "temperature": 0.5, "seed": 7, "max_per_album": 0}  # genre folders
    a, b = client.post("/api/recommend", json=body).json(), client.post("/api/recommend", json=body).json()
    assert a["picks"] == b["picks"] and a["seed"] == 7 and len(a["picks"]) == 5
    for p in a["picks"]:
        assert p["id"] not in history and p["because"]["id"] in history
        assert list(p["genres"])[0] == "low" and 0 < p["score"] <= 1.0001
    unseeded = client.post("/api/recommend", json={"history": history}).json()
    assert isinstance(unseeded["seed"], int)  # the page re-rolls by sending a new seed


def test_removed_picks_stay_out_and_n_is_kept(client):
    ids = track_ids(client, "mid")
    body = {"history": [ids["mid/mid00.wav"]], "n": 4, "temperature": 0, "seed": 0}
    first = [p["id"] for p in client.post("/api/recommend", json=body).json()["picks"]]
    again = client.post("/api/recommend", json={**body, "exclude": first[:2]}).json()["picks"]
    assert len(again) == 4 and not set(first[:2]) & {p["id"] for p in again}
    assert [p["id"] for p in again][:2] == first[2:]


def test_similar_profile_and_stats(client):
    ids = track_ids(client)
    sim = client.get(f"/api/similar/{ids['high/high03.wav']}", params={"n": 3, "max_per_album": 0}).json()
    assert len(sim["similar"]) == 3 and all(s["path"].startswith("high/") for s in sim["similar"])
    prof = client.post("/api/profile", json={"history": [ids["high/high00.wav"], ids["low/low00.wav"]],
                                             "weights": [3, 1]}).json()
    assert list(prof["genres"])[0] == "high" and len(prof["tastes"]) == 2
    assert prof["tastes"][0]["share"] == 0.75
    st = client.get("/api/stats").json()
    assert st["tracks"] == len(GENRES) * PER_GENRE and st["genres"] == {g: PER_GENRE for g in GENRES}
    assert st["failed"] == 2 and {f["error"] for f in st["failures"]} == {"empty file (0 bytes)", "no audio stream"}
    assert st["transcoded"] == len(GENRES)  # one .aiff per genre


def test_track_detail(client):
    tid = track_ids(client)["low/low00.wav"]
    d = client.get(f"/api/tracks/{tid}").json()
    assert d["artist"] == "Artist Low" and d["title"] == "Song <0>" and list(d["genres"])[0] == "low"
    assert "tags" not in d


def test_audio_supports_ranges(client, web_library):
    tid = track_ids(client)["low/low01.wav"]
    whole = (web_library / "low/low01.wav").read_bytes()
    full = client.get(f"/api/audio/{tid}")
    assert full.status_code == 200 and full.content == whole and full.headers["content-type"] == "audio/wav"
    part = client.get(f"/api/audio/{tid}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"
    assert client.get(f"/api/audio/{tid}", headers={"Range": f"bytes={len(whole) + 5}-"}).status_code == 416


def test_formats_browsers_cannot_play_are_transcoded_to_mp3(client):
    import io

    import av

    tid = track_ids(client)["mid/mid07.aiff"]
    r = client.get(f"/api/audio/{tid}")
    assert r.status_code == 200 and r.headers["content-type"] == "audio/mpeg"
    with av.open(io.BytesIO(r.content)) as c:
        assert c.format.name == "mp3" and c.streams.audio[0].codec_context.name.startswith("mp3")
        assert abs(float(c.duration) / 1e6 - 3.0) < 0.2
    tail = client.get(f"/api/audio/{tid}", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == r.content[-10:]


@pytest.mark.parametrize("url", [
    "/api/audio/..%2F..%2F..%2Fetc%2Fpasswd", "/api/audio/../../etc/passwd", "/api/audio/%2Fetc%2Fpasswd",
    "/api/audio/-1", "/api/audio/1e3", "/api/audio/99999", "/static/..%2F..%2Fweb%2Fapi.py", "/api/nothing",
])
def test_anything_but_a_catalog_id_is_404_json(client, url):
    r = client.get(url)
    assert r.status_code == 404 and "error" in r.json()


@pytest.mark.parametrize("body", [
    {"history": []}, {"history": [1], "n": 0}, {"history": [1], "n": 10_000}, {"history": [1], "temperature": -1},
    {"history": [1], "temperature": "hot"}, {"history": "1"}, {"history": [1], "seed": -3}, {"n": 3},
    {"history": [1, 2], "weights": [1]}, {"history": [1], "weights": [-1]}, {"history": [999_999]},
])
def test_bad_recommend_input_is_a_4xx_json_error(client, body):
    r = client.post("/api/recommend", json=body)
    assert 400 <= r.status_code < 500 and r.json()["error"]


def test_malformed_requests_are_4xx_json(client):
    assert client.post("/api/recommend", content=b"{not json", headers={"content-type": "application/json"}
                       ).status_code == 422
    assert client.post("/api/recommend", content=b'{"history": [1], "temperature": Infinity}',
                       headers={"content-type": "application/json"}).status_code == 422
    for r in (client.get("/api/tracks/abc"), client.get("/api/tracks", params={"limit": 0}),
              client.get("/api/map/tags/mood"), client.post("/api/playlist.m3u8", json={"ids": []}),
              client.get("/api/similar/1", params={"n": "x"})):
        assert 400 <= r.status_code < 500 and r.json()["error"], r.text


def test_saved_playlist_is_m3u8_with_absolute_paths(client, web_library):
    ids = track_ids(client)
    chosen = ["low/low00.wav", "high/high02.wav"]
    r = client.post("/api/playlist.m3u8", json={"ids": [ids[c] for c in chosen]})
    assert r.status_code == 200 and r.headers["content-type"].startswith("audio/x-mpegurl")
    assert "attachment" in r.headers["content-disposition"]
    lines = r.text.splitlines()
    assert lines[0] == "#EXTM3U" and lines[1] == "#EXTINF:3,Artist Low - Song <0>"
    assert lines[2::2] == [str(web_library / c) for c in chosen]


def test_uploaded_m3u_is_matched_by_path_text(client, web_library):
    ids = track_ids(client)
    text = "\n".join(["#EXTM3U", str(web_library / "low/low02.wav"), "../elsewhere/high/high01.wav",
                      "file://" + str(web_library / "mid/mid03.wav"), "not/in/library.mp3", "/etc/passwd"])
    r = client.post("/api/history/m3u", content=text.encode(), headers={"content-type": "text/plain"}).json()
    assert [t["id"] for t in r["tracks"]] == [ids["low/low02.wav"], ids["high/high01.wav"], ids["mid/mid03.wav"]]
    assert r["unknown"] == ["not/in/library.mp3", "/etc/passwd"]


def test_openapi_documents_the_api(client):
    spec = client.get("/openapi.json").json()
    for path in ("/api/tracks", "/api/map", "/api/recommend", "/api/similar/{track_id}", "/api/profile",
                 "/api/stats", "/api/audio/{track_id}", "/api/playlist.m3u8"):
        assert path in spec["paths"], path
    assert client.get("/docs").status_code == 404  # Swagger UI would load a CDN script into this origin


def test_pages_and_static_files_are_served(client):
    for url, kind in (("/", "text/html"), ("/library", "text/html"), ("/static/map.js", "javascript"),
                      ("/static/style.css", "text/css")):
        r = client.get(url)
        assert r.status_code == 200 and kind in r.headers["content-type"], url


def test_symlink_out_of_the_library_is_not_served(tmp_path):
    from fastapi.testclient import TestClient

    from genrerec.library.catalog import Catalog
    from genrerec.web.app import create_app
    from genrerec.web.library import LibraryWorker

    root = make_web_library(tmp_path / "music", per_genre=2, audio=False)
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF private")
    (root / "low/low00.wav").unlink()
    (root / "low/low00.wav").symlink_to(secret)
    cat = Catalog(root / ".genrerec/catalog.sqlite", create=False)
    tid, gone_id = (cat.db.execute("SELECT id FROM tracks WHERE path=?", (p,)).fetchone()[0]
                    for p in (b"low/low00.wav", b"high/high00.wav"))
    cat.close()
    w = LibraryWorker(root)
    try:
        c = TestClient(create_app(w))
        r = c.get(f"/api/audio/{tid}")
        assert r.status_code == 404 and b"private" not in r.content
        (root / "high/high00.wav").unlink()
        gone = c.get(f"/api/audio/{gone_id}")
        assert gone.status_code == 404 and "gone" in gone.json()["error"]
    finally:
        w.close()


def test_catalog_changes_are_picked_up_without_a_restart(tmp_path, monkeypatch):
    import os

    from fastapi.testclient import TestClient

    from genrerec.library.catalog import Catalog
    from genrerec.web import library
    from genrerec.web.app import create_app
    from genrerec.web.library import LibraryWorker

    monkeypatch.setattr(library, "FRESHNESS_CHECK_S", 0.0)
    root = make_web_library(tmp_path / "music", per_genre=2, audio=False)
    w = LibraryWorker(root)
    try:
        c = TestClient(create_app(w))
        assert c.get("/api/map").json()["count"] == 6
        cat = Catalog(root / ".genrerec/catalog.sqlite", create=False)
        with cat.transaction():
            (root / "low/new.wav").write_bytes(b"x")
            cat.upsert(b"low/new.wav", 1, 1, "new", status="ok", duration=1.0, model_id="synthetic",
                       genres=np.array([1, 0, 0], np.float32), embedding=np.ones(16, np.float32) / 4)
        cat.close()
        m = c.get("/api/map").json()
        assert m["count"] == 7 and m["generation"] == 2 and "low/new" in m["names"]
        assert os.path.exists(root / ".genrerec/map.npz")
    finally:
        w.close()


def test_catalog_with_tag_scores_offers_colour_by_tag(tmp_path):
    from fastapi.testclient import TestClient

    from genrerec.web.app import create_app
    from genrerec.web.library import LibraryWorker

    root = make_web_library(tmp_path / "music", per_genre=2, audio=False, tags=["bassy", "happy", "sad"])
    w = LibraryWorker(root)
    try:
        c = TestClient(create_app(w))
        m = c.get("/api/map").json()
        assert m["tags"] == ["bassy", "happy", "sad"]
        v = c.get("/api/map/tags/bassy").json()["values"]
        assert v == [1.0 if g == 0 else 0.0 for g in m["genre"]]  # aligned with the map's points
        tid = m["ids"][m["genre"].index(0)]
        assert list(c.get(f"/api/tracks/{tid}").json()["tags"])[0] == "bassy"
        assert c.get("/api/map/tags/angry").status_code == 404
        assert c.get("/api/stats").json()["tags"] == ["bassy", "happy", "sad"]
        bassy = {t["path"] for t in c.get("/api/tracks", params={"q": "bassy"}).json()["tracks"]}
        assert bassy == {"low/low00.wav", "low/low01.aiff"}  # searchable by their strongest tags
    finally:
        w.close()


def test_map_cache_is_never_read_or_written_through_a_planted_link(tmp_path):
    from genrerec.web.library import LibraryWorker

    root = make_web_library(tmp_path / "music", per_genre=2, audio=False)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (root / ".genrerec" / "map.npz").symlink_to(victim)
    w = LibraryWorker(root)
    try:
        assert w.run(w.lib.map)["count"] == 6
    finally:
        w.close()
    assert victim.read_text() == "keep me" and not (root / ".genrerec" / "map.npz").is_symlink()


def test_library_stats_list_duplicate_recordings(tmp_path):
    from fastapi.testclient import TestClient

    from genrerec.library.catalog import Catalog
    from genrerec.web.app import create_app
    from genrerec.web.library import LibraryWorker

    root = make_web_library(tmp_path / "music", per_genre=2, audio=False)
    cat = Catalog(root / ".genrerec/catalog.sqlite", create=False)
    with cat.transaction():  # the same recording again, as another file with the same tags and length
        (root / "low/copy.ogg").write_bytes(b"x")
        cat.upsert(b"low/copy.ogg", 1, 1, "copy", status="ok", duration=3.0, model_id="synthetic",
                   genres=np.array([1, 0, 0], np.float32), embedding=np.ones(16, np.float32) / 4,
                   tags={"artist": "Artist Low", "title": "Song <0>"})
    cat.close()
    w = LibraryWorker(root)
    try:
        groups = TestClient(create_app(w)).get("/api/stats").json()["duplicates"]
        assert [sorted(g) for g in groups] == [["low/copy.ogg", "low/low00.wav"]]
    finally:
        w.close()
