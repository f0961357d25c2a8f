"""The protocol as the spec writes it: the envelope, JSON and XML, GET and POST forms,
error codes, the three ways to log in, and the back-off for wrong passwords."""

from __future__ import annotations

import logging
import os
import xml.etree.ElementTree as ET

import pytest

from tests.subsonic.conftest import PASSWORD, USER, call, error_code, make_subsonic_library, token_auth

NS = "{http://subsonic.org/restapi}"


def test_envelope_names_the_server_and_the_api_version(http):
    r = call(http, "ping")
    assert r == {"status": "ok", "version": "1.16.1", "type": "genrerec", "serverVersion": r["serverVersion"],
                 "openSubsonic": True}


def test_name_and_name_view_get_and_post_form_answer_alike(http):
    a = http.get("/rest/ping", params={**token_auth(), "f": "json"}).json()
    b = http.get("/rest/ping.view", params={**token_auth(), "f": "json"}).json()
    c = http.post("/rest/ping.view", data={**token_auth(), "f": "json"}).json()
    assert a == b == c and a["subsonic-response"]["status"] == "ok"


def test_xml_is_the_default_and_carries_the_same_data_as_json(http):
    r = http.get("/rest/getAlbum", params={**token_auth(), "id": _album_id(http, "Deep Tones")})
    assert r.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(r.content)
    assert root.tag == NS + "subsonic-response" and root.get("status") == "ok" and root.get("openSubsonic") == "true"
    album = root.find(NS + "album")
    js = call(http, "getAlbum", id=album.get("id"))["album"]
    assert album.get("name") == js["name"] and int(album.get("songCount")) == js["songCount"] == 4
    songs = album.findall(NS + "song")
    assert [s.get("id") for s in songs] == [s["id"] for s in js["song"]]
    assert [s.get("path") for s in songs] == [s["path"] for s in js["song"]]
    assert songs[0].get("isDir") == "false"


def test_xml_errors_and_genres_follow_the_schema(http):
    root = ET.fromstring(http.get("/rest/getSong", params={**token_auth(), "id": "tr-999999"}).content)
    assert root.get("status") == "failed" and root.find(NS + "error").get("code") == "70"
    genres = ET.fromstring(http.get("/rest/getGenres", params=token_auth()).content).find(NS + "genres")
    names = {g.text: int(g.get("songCount")) for g in genres.findall(NS + "genre")}
    assert names["Low"] == 4 and names["High"] == 4


@pytest.mark.parametrize("name, params, code", [
    ("getSong", {}, 10),  # missing parameter
    ("getSong", {"id": "tr-424242"}, 70),  # not found
    ("getAlbum", {"id": "../../etc/passwd"}, 70),
    ("getCoverArt", {"id": "/etc/passwd"}, 70),
    ("stream", {"id": "/etc/passwd"}, 70),
    ("noSuchMethod", {}, 0),
    ("getAlbumList2", {"type": "sideways"}, 0),
    ("getAlbumList2", {"type": "byGenre"}, 10),
    ("search3", {"query": "", "songCount": "lots"}, 0),
])
def test_bad_requests_are_subsonic_errors_never_tracebacks(http, name, params, code):
    r = call(http, name, **params)
    assert error_code(r) == code, r
    assert "Traceback" not in r["error"]["message"]


def test_wrong_credentials_are_40_and_do_not_say_which_part_was_wrong(http):
    assert error_code(call(http, "ping", token_auth("nope"))) == 40
    a = call(http, "ping", token_auth("nope", user="mallory-x"))
    b = call(http, "ping", token_auth("nope", user="mallory-y"))
    assert error_code(a) == 40 and a["error"]["message"] == b["error"]["message"]
    assert error_code(call(http, "ping", {"u": USER})) == 10  # no password at all


def test_legacy_password_plain_and_hex(http):
    assert call(http, "ping", {"u": USER, "p": PASSWORD})["status"] == "ok"
    assert call(http, "ping", {"u": USER, "p": "enc:" + PASSWORD.encode().hex()})["status"] == "ok"
    latin1 = "".join(f"{ord(c):02X}" for c in PASSWORD)  # what py-sonic sends for "ä"
    assert call(http, "ping", {"u": USER, "p": "enc:" + latin1})["status"] == "ok"
    assert error_code(call(http, "ping", {"u": USER, "p": "enc:zz"})) == 40


def test_api_keys(http, app_parts):
    store = app_parts[2]
    key = store.new_api_key(USER)
    assert call(http, "ping", {"apiKey": key})["status"] == "ok"
    assert error_code(call(http, "ping", {"apiKey": key + "x"})) == 44
    assert error_code(call(http, "ping", {"apiKey": key, "u": USER})) == 43
    assert store.user_of_key(key) == USER
    raw = (store.db_dir / "users.sqlite").read_bytes()
    assert key.encode() not in raw  # only its digest is stored


def test_repeated_wrong_passwords_are_refused_for_a_while(http, app_parts):
    clock = app_parts[3]
    user = "bob"
    app_parts[2].add(user, "right")
    for _ in range(3):
        assert error_code(call(http, "ping", token_auth("wrong", user))) == 40
    r = call(http, "ping", token_auth("right", user))  # even the right password waits out the back-off
    assert error_code(r) == 40 and "try again in" in r["error"]["message"]
    clock.t += 1.5
    assert call(http, "ping", token_auth("right", user))["status"] == "ok"
    assert call(http, "ping", token_auth(PASSWORD))["status"] == "ok"  # other users are not slowed down


def test_extensions_answer_without_credentials(http):
    r = call(http, "getOpenSubsonicExtensions", {})
    assert {e["name"] for e in r["openSubsonicExtensions"]} == {"sonicSimilarity", "formPost", "apiKeyAuthentication"}


def test_a_library_without_users_refuses_every_call_and_says_how_to_add_one(tmp_path):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from genrerec.subsonic.router import make_router
    from genrerec.subsonic.users import UserStore
    from genrerec.web.library import LibraryWorker

    lib = make_subsonic_library(tmp_path / "music")
    worker, store = LibraryWorker(lib), UserStore(lib / ".genrerec")
    try:
        app = FastAPI()
        app.include_router(make_router(worker, store))
        with TestClient(app) as c:
            for name in ("ping", "getArtists", "stream"):
                r = call(c, name, token_auth(), id="tr-1")
                assert error_code(r) == 40 and "genrerec user add" in r["error"]["message"]
    finally:
        store.close()
        worker.close()


def test_oversized_form_body_is_refused(http):
    r = http.post("/rest/ping?f=json", data={**token_auth(), "junk": "x" * 300_000})
    assert error_code(r.json()["subsonic-response"]) == 0


def test_credentials_are_redacted_in_logs(http, caplog, monkeypatch):
    from genrerec.subsonic import registry
    from genrerec.subsonic.auth import redact

    assert redact("http://h/rest/ping?u=a&p=hunter2&t=abc&s=salt1&apiKey=kk&f=json") == \
        "http://h/rest/ping?u=a&p=***&t=***&s=***&apiKey=***&f=json"

    def boom(ctx):
        raise RuntimeError("kaboom")

    monkeypatch.setitem(registry.ENDPOINTS, "ping", registry.Endpoint("ping", boom))
    auth = token_auth(salt="saltysalt")
    with caplog.at_level(logging.ERROR):
        r = call(http, "ping", auth)
    assert error_code(r) == 0 and "kaboom" not in r["error"]["message"]
    assert "kaboom" in caplog.text and auth["t"] not in caplog.text and "saltysalt" not in caplog.text


def test_passwords_are_encrypted_with_a_private_key_file(sub_library):
    db = sub_library / ".genrerec"
    assert os.stat(db / "users.key").st_mode & 0o777 == 0o600
    assert PASSWORD.encode() not in (db / "users.sqlite").read_bytes()


def test_a_planted_key_link_is_refused(tmp_path):
    from genrerec.safety import UnsafePathError
    from genrerec.subsonic.users import UserStore

    db = tmp_path / ".genrerec"
    db.mkdir()
    (tmp_path / "attacker.key").write_text("x")
    os.symlink(tmp_path / "attacker.key", db / "users.key")
    with pytest.raises(UnsafePathError):
        UserStore(db)


def _album_id(http, name: str) -> str:
    return call(http, "search3", query=name, albumCount=1)["searchResult3"]["album"][0]["id"]
