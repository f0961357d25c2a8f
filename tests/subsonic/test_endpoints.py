"""Every endpoint in docs/subsonic.md's table, as a client calls it (in-process HTTP)."""

from __future__ import annotations

import os
import time

import pytest

from tests.subsonic.conftest import USER, call, error_code, token_auth


def songs(http, q: str = "", n: int = 100) -> list[dict]:
    return call(http, "search3", query=q, songCount=n, albumCount=0, artistCount=0)["searchResult3"].get("song", [])


def album(http, name: str) -> dict:
    return call(http, "search3", query=name, albumCount=1)["searchResult3"]["album"][0]


def test_system_endpoints(http):
    assert call(http, "getLicense")["license"]["valid"] is True
    folders = call(http, "getMusicFolders")["musicFolders"]["musicFolder"]
    assert folders == [{"id": 1, "name": "music"}]
    assert call(http, "getUser", username=USER)["user"]["streamRole"] is True
    assert error_code(call(http, "getUser", username="somebody-else")) == 50
    assert call(http, "getScanStatus")["scanStatus"]["count"] == 13


def test_folders_walk_down_to_every_song(http):
    idx = call(http, "getIndexes")["indexes"]
    top = {a["name"]: a["id"] for i in idx["index"] for a in i["artist"]}
    assert set(top) == {"The Lows", "Highs", "Mids", "misc"}
    seen, todo = [], list(top.values())
    while todo:
        d = call(http, "getMusicDirectory", id=todo.pop())["directory"]
        for c in d["child"]:
            (todo.append(c["id"]) if c["isDir"] else seen.append(c["path"]))
            assert c["parent"] == d["id"]
    assert sorted(seen) == sorted(s["path"] for s in songs(http))


def test_album_lists(http):
    def names(kind, **kw):
        return [a["name"] for a in call(http, "getAlbumList2", type=kind, size=10, **kw)["albumList2"]["album"]]

    assert names("alphabeticalByName") == ["Bright Noise", "Deep Tones", "Loose Files", "Square Waves"]
    # by artist, "The" ignored: Highs, (The) Lows, Mids, misc
    assert names("alphabeticalByArtist") == ["Bright Noise", "Deep Tones", "Square Waves", "Loose Files"]
    assert sorted(names("random")) == sorted(names("newest")) == sorted(names("alphabeticalByName"))
    assert names("byGenre", genre="low") == ["Deep Tones"]
    assert names("alphabeticalByName", offset=3) == ["Square Waves"]
    assert call(http, "getAlbumList", type="newest", size=2)["albumList"]["album"][0]["isDir"] is True


def test_plays_drive_frequent_recent_and_top_songs(http):
    lows = songs(http, "Low song")
    t0 = int(time.time() * 1000)
    for i, s in enumerate([lows[2], lows[2], lows[2], lows[0]]):
        assert call(http, "scrobble", id=s["id"], time=str(t0 - 1000 * (10 - i)))["status"] == "ok"
    highs = songs(http, "High song")
    call(http, "scrobble", id=highs[0]["id"])
    assert [a["name"] for a in call(http, "getAlbumList2", type="frequent")["albumList2"]["album"]] == \
        ["Deep Tones", "Bright Noise"]
    assert [a["name"] for a in call(http, "getAlbumList2", type="recent")["albumList2"]["album"]] == \
        ["Bright Noise", "Deep Tones"]
    top = call(http, "getTopSongs", artist="The Lows", count=3)["topSongs"]["song"]
    assert [s["id"] for s in top[:2]] == [lows[2]["id"], lows[0]["id"]] and top[0]["playCount"] == 3
    assert error_code(call(http, "scrobble", id=lows[0]["id"], time="soon")) == 0
    assert error_code(call(http, "scrobble")) == 10


def test_now_playing(http):
    s = songs(http, "Mid song 2")[0]
    call(http, "scrobble", id=s["id"], submission="false")
    entries = call(http, "getNowPlaying")["nowPlaying"]["entry"]
    assert [(e["id"], e["username"]) for e in entries] == [(s["id"], USER)]


def test_star_unstar_starred2_and_ratings(http):
    s = songs(http, "High song 2")[0]
    al = album(http, "Square Waves")
    ar = call(http, "getArtists")["artists"]["index"][0]["artist"][0]
    call(http, "star", id=s["id"], albumId=al["id"], artistId=ar["id"])
    st = call(http, "getStarred2")["starred2"]
    assert [x["id"] for x in st["song"]] == [s["id"]] and [x["id"] for x in st["album"]] == [al["id"]]
    assert [x["id"] for x in st["artist"]] == [ar["id"]] and "starred" in st["song"][0]
    assert [a["id"] for a in call(http, "getAlbumList2", type="starred")["albumList2"]["album"]] == [al["id"]]
    call(http, "unstar", id=s["id"])
    assert not call(http, "getStarred2")["starred2"].get("song")
    call(http, "setRating", id=s["id"], rating="4")
    assert call(http, "getSong", id=s["id"])["song"]["userRating"] == 4
    call(http, "setRating", id=s["id"], rating="0")
    assert "userRating" not in call(http, "getSong", id=s["id"])["song"]
    assert error_code(call(http, "setRating", id=s["id"], rating="9")) == 0
    assert error_code(call(http, "star", id="tr-31337")) == 70


def test_genres_songs_by_genre_and_random_songs(http):
    g = {x["value"]: x for x in call(http, "getGenres")["genres"]["genre"]}
    assert g["Low"]["songCount"] == 4 and g["Low"]["albumCount"] == 1
    by = call(http, "getSongsByGenre", genre="High", count=3, offset=1)["songsByGenre"]["song"]
    assert len(by) == 3 and {s["genre"] for s in by} == {"High"}
    rnd = call(http, "getRandomSongs", size=5, genre="Mid")["randomSongs"]["song"]
    # 3 tagged Mid, 2 untagged whose model genre is mid (genres match in any case)
    assert len(rnd) == 5 and {s["genre"].lower() for s in rnd} == {"mid"}


def test_search3_words_match_title_artist_album(http):
    r = call(http, "search3", query="lows deep")["searchResult3"]
    assert [a["name"] for a in r["artist"]] == [] and [a["name"] for a in r["album"]] == ["Deep Tones"]
    assert len(r["song"]) == 4
    assert [a["name"] for a in call(http, "search3", query="highs")["searchResult3"]["artist"]] == ["Highs"]
    assert call(http, "search2", query="square")["searchResult2"]["album"][0]["name"] == "Square Waves"


def test_stream_transcodes_on_request_and_download_is_the_file(http, sub_library):
    s = songs(http, "High song 1")[0]
    r = http.get("/rest/stream", params={**token_auth(), "id": s["id"], "format": "mp3", "maxBitRate": "96"})
    assert r.headers["content-type"] == "audio/mpeg" and r.content[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")
    raw = http.get("/rest/stream", params={**token_auth(), "id": s["id"], "format": "raw"})
    assert raw.content == (sub_library / s["path"]).read_bytes()
    d = http.get("/rest/download", params={**token_auth(), "id": s["id"]})
    assert d.content == raw.content and "attachment" in d.headers["content-disposition"]


def test_stream_format_opus_is_ogg_opus_not_mp3(http, sub_library):
    import io

    import av

    s = songs(http, "High song 2")[0]
    r = http.get("/rest/stream", params={**token_auth(), "id": s["id"], "format": "opus"})
    assert r.status_code == 200 and r.headers["content-type"] == "audio/ogg", r.text[:200]
    assert r.content[:4] == b"OggS"
    with av.open(io.BytesIO(r.content)) as c:
        st = c.streams.audio[0]
        assert st.codec_context.name == "opus"
        seconds = sum(f.samples for f in c.decode(st)) / st.codec_context.sample_rate
    assert abs(seconds - s["duration"]) < 0.1  # the whole song (2 s), not a fragment
    part = http.get("/rest/stream", params={**token_auth(), "id": s["id"], "format": "opus"},
                    headers={"Range": "bytes=0-3"})
    assert part.status_code == 206 and part.content == b"OggS"  # cached, and ranges work on it too
    assert any(p.suffix == ".opus" for p in (sub_library / ".genrerec" / "transcodes").iterdir())


def test_similar_songs_for_an_artist_is_artist_radio(http):
    ar = next(a for i in call(http, "getArtists")["artists"]["index"] for a in i["artist"] if a["name"] == "Highs")
    mix = call(http, "getSimilarSongs", id=ar["id"], count=5)["similarSongs"]["song"]
    assert len(mix) == 5 and not {s["artist"] for s in mix} & {"Highs"}  # the artist's songs are the history
    assert error_code(call(http, "getSimilarSongs2", id="ar-nobody")) == 70


def test_sonic_similarity_maps_scores_monotonically_into_0_1():
    from genrerec.subsonic.sonic import similarity

    scores = [-1.5, -1, -0.3, 0, 0.42, 0.99, 1, 1.2]
    mapped = [similarity(s) for s in scores]
    assert mapped == sorted(mapped) and mapped[0] == 0 and mapped[-1] == 1 and similarity(0) == 0.5


def test_playlist_of_another_user_is_not_theirs_to_change(http, app_parts):
    store = app_parts[2]
    store.add("carol", "pw-carol")
    s = songs(http)[:2]
    pid = call(http, "createPlaylist", token_auth("pw-carol", "carol"), name="carol's",
               songId=s[0]["id"])["playlist"]["id"]
    assert error_code(call(http, "getPlaylist", id=pid)) == 70  # private: alice cannot see it
    assert error_code(call(http, "deletePlaylist", id=pid)) == 70
    call(http, "updatePlaylist", token_auth("pw-carol", "carol"), playlistId=pid, public="true")
    assert call(http, "getPlaylist", id=pid)["playlist"]["readonly"] is True
    assert error_code(call(http, "updatePlaylist", playlistId=pid, name="mine now")) == 50
    assert error_code(call(http, "createPlaylist", playlistId=pid, songId=s[1]["id"])) == 50


def test_links_out_of_the_library_are_never_served(http, sub_library, tmp_path):
    """A planted link in place of a track or a cover: not followed (error 70, no bytes of the target)."""
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"\xff\xd8 top secret")
    s = songs(http, "Square")[0]  # a Mids song; its album has no cover of its own
    track = sub_library / s["path"]
    keep = track.read_bytes()
    os.symlink(secret, track.parent / "cover.jpg")
    r = call(http, "getCoverArt", id=s["albumId"])
    assert error_code(r) == 70
    track.unlink()
    os.symlink(secret, track)
    try:
        assert error_code(call(http, "stream", id=s["id"])) == 70
        assert error_code(call(http, "download", id=s["id"])) == 70
    finally:
        track.unlink()
        track.write_bytes(keep)
        (track.parent / "cover.jpg").unlink()


@pytest.mark.parametrize("name, key", [("getArtistInfo2", "artistInfo2"), ("getArtistInfo", "artistInfo"),
                                       ("getAlbumInfo2", "albumInfo"), ("getAlbumInfo", "albumInfo")])
def test_info_endpoints_answer_empty_rather_than_fail(http, name, key):
    al = album(http, "Deep Tones")
    r = call(http, name, id=al["id"] if "Album" in name else al["artistId"])
    assert r["status"] == "ok" and r[key] == {}
    assert error_code(call(http, name, id="ar-nobody")) == 70


def test_starred_v1_is_starred2s_content(http):
    s = songs(http, "Low song 3")[0]
    call(http, "star", id=s["id"])
    try:
        assert [x["id"] for x in call(http, "getStarred")["starred"]["song"]] == [s["id"]]
    finally:
        call(http, "unstar", id=s["id"])


def test_every_endpoint_is_in_the_docs_table():
    from pathlib import Path

    from genrerec.subsonic import router  # noqa: F401 (registers the endpoints)
    from genrerec.subsonic.registry import ENDPOINTS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "subsonic.md").read_text()
    missing = [e.name for e in ENDPOINTS.values() if f"`{e.name}`" not in doc]
    assert not missing, f"add to docs/subsonic.md: {missing}"
