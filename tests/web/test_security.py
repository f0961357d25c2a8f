"""Who may talk to the server: loopback Host names only, and a token off loopback."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from genrerec.web.app import create_app
from genrerec.web.security import COOKIE, LOOPBACK_HOSTS, is_loopback

TOKEN = "s3cret-token-0123456789"


@pytest.fixture
def guarded(worker):
    return TestClient(create_app(worker, token=TOKEN), follow_redirects=False)


def test_loopback_detection():
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.5", "::", "example.org"))


def test_without_the_token_everything_is_refused(guarded):
    for url in ("/", "/api/map", "/api/audio/1", "/static/map.js"):
        r = guarded.get(url)
        assert r.status_code == 401 and "token" in r.json()["error"]
    assert guarded.get("/api/map", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get("/api/map", params={"token": TOKEN[:-1]}).status_code == 401


def test_token_in_the_url_becomes_a_cookie(guarded):
    r = guarded.get("/", params={"token": TOKEN})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert f"{COOKIE}={TOKEN}" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]
    guarded.cookies.set(COOKIE, TOKEN)
    assert guarded.get("/api/map").status_code == 200
    assert guarded.get("/api/audio/1").status_code == 200


def test_bearer_token_works_for_scripts(guarded):
    assert guarded.get("/api/stats", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_loopback_server_refuses_foreign_host_names(worker):
    c = TestClient(create_app(worker, allowed_hosts=LOOPBACK_HOSTS), base_url="http://127.0.0.1:8750")
    assert c.get("/api/stats").status_code == 200
    assert c.get("/api/stats", headers={"host": "localhost:8750"}).status_code == 200
    r = c.get("/api/stats", headers={"host": "evil.example:8750"})  # a DNS-rebinding page
    assert r.status_code == 400 and "Host" in r.json()["error"]
