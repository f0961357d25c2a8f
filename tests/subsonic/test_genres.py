"""A song's genre for Subsonic clients: the file's genre tag, else the model's call when it is
confident, else its strongest style tag, so an untagged library browses by genre and never by a
confident-looking wrong one. The OpenSubsonic `genres` list puts the style tags first."""

from __future__ import annotations

import numpy as np
import pytest

from genrerec.library.catalog import Catalog
from genrerec.models.space import UNCERTAIN
from genrerec.subsonic.library import song_genres
from tests.subsonic.conftest import PASSWORD, USER, call, make_subsonic_library

TAGS = ["00s", "chillout", "Hip-Hop"]  # raw MSD-style names; "00s" (a decade) is never a genre


def test_the_genre_falls_back_from_the_tag_to_a_confident_call_to_the_style_tag():
    assert song_genres("Jazz", "rock", ["chillout"]) == ("Jazz", ("chillout", "rock", "Jazz"))
    assert song_genres("", "rock", ["chillout", "hip-hop"]) == ("rock", ("chillout", "hip-hop", "rock"))
    assert song_genres("", UNCERTAIN, ["chillout", "hip-hop"]) == ("chillout", ("chillout", "hip-hop"))
    assert song_genres("", UNCERTAIN, []) == ("", ())  # nothing known: no genre rather than a wrong one
    assert song_genres("Rock", "rock", []) == ("Rock", ("rock",))  # one entry per genre, any case


@pytest.fixture(scope="module")
def http(tmp_path_factory):
    """The sub library with tag scores, its untagged "Loose Files" called uncertain, the rest their genre."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from genrerec.subsonic.auth import Backoff
    from genrerec.subsonic.router import make_router
    from genrerec.subsonic.users import UserStore
    from genrerec.web.library import LibraryWorker

    root = make_subsonic_library(tmp_path_factory.mktemp("genres") / "music")
    cat = Catalog(root / ".genrerec" / "catalog.sqlite", create=False)
    with cat.transaction():
        cat.set_meta("tags", TAGS)
        for tid, path in cat.db.execute("SELECT id, path FROM tracks WHERE status='ok'").fetchall():
            loose = b"Loose Files" in path
            cat.db.execute("UPDATE tracks SET label=?, tags=? WHERE id=?",
                           (UNCERTAIN if loose else "low", np.array([0.9, 0.8, 0.3], np.float32).tobytes(), tid))
    cat.close()
    store = UserStore(root / ".genrerec")
    store.add(USER, PASSWORD)
    worker = LibraryWorker(root)
    app = FastAPI()
    app.include_router(make_router(worker, store, Backoff()))
    with TestClient(app) as c:
        yield c
    store.close()
    worker.close()


def test_an_uncertain_untagged_song_takes_its_style_tag(http):
    loose = call(http, "search3", query="Loose", songCount=10)["searchResult3"]["song"]
    assert len(loose) == 2 and {s["genre"] for s in loose} == {"chillout"}  # not "uncertain", not "00s"
    assert all([g["name"] for g in s["genres"]] == ["chillout", "hip-hop"] for s in loose)


def test_a_tagged_song_keeps_its_tag_and_lists_the_style_tags_first(http):
    lows = call(http, "search3", query="Deep", songCount=10)["searchResult3"]["song"]
    assert lows and {s["genre"] for s in lows} == {"Low"}
    assert all([g["name"] for g in s["genres"]] == ["chillout", "hip-hop", "low"] for s in lows)


def test_genres_and_songs_by_genre_follow_the_genre(http):
    genres = {g["value"]: g["songCount"] for g in call(http, "getGenres")["genres"]["genre"]}
    assert genres["chillout"] == 2 and UNCERTAIN not in genres
    songs = call(http, "getSongsByGenre", genre="chillout", count=50)["songsByGenre"]["song"]
    assert sorted(s["album"] for s in songs) == ["Loose Files"] * 2
