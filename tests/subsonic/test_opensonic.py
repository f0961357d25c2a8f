"""py-opensonic, a real OpenSubsonic client, against a real server on a synthetic library:
what a phone or desktop client does, call for call."""

from __future__ import annotations

import hashlib
import urllib.request

import pytest

from tests.subsonic.conftest import PASSWORD, USER

libopensonic = pytest.importorskip("libopensonic")


def test_ping_and_extensions(opensonic):
    assert opensonic.ping()
    ext = {e.name: e.versions for e in opensonic.get_open_subsonic_extensions()}
    assert ext == {"sonicSimilarity": [1], "formPost": [1], "apiKeyAuthentication": [1]}


def test_full_search3_sync_in_pages_sees_every_song_once(opensonic, server):
    _, worker = server
    seen = []
    offset = 0
    while True:
        page = opensonic.search3("", artist_count=0, album_count=0, song_count=4, song_offset=offset).song or []
        seen += [s.id for s in page]
        if len(page) < 4:
            break
        offset += 4
    assert len(seen) == len(set(seen)) == len(worker.lib.tracks) == 13


def test_browse_artist_album_song(opensonic, sub_library):
    index = opensonic.get_artists().index
    artists = {a.name: a for i in index for a in i.artist}
    assert {"The Lows", "Highs", "Mids", "misc"} <= set(artists)  # "misc": the untagged album's folder above
    lows = opensonic.get_artist(artists["The Lows"].id)
    assert [a.name for a in lows.album] == ["Deep Tones"]
    album = opensonic.get_album(lows.album[0].id)
    assert album.song_count == len(album.song) == 4 and album.artist == "The Lows"
    s = opensonic.get_song(album.song[0].id)
    assert s.title == "Low song 1" and s.genre == "Low" and s.album == "Deep Tones"
    assert s.path == "The Lows/Deep Tones/01 low 0.flac" and (sub_library / s.path).is_file()
    assert not s.id.startswith("/") and "Deep" not in s.id  # ids are opaque, never paths


def test_untagged_files_fall_back_to_folders_and_model_genre(opensonic):
    songs = opensonic.search3("Loose", song_count=10).song
    assert len(songs) == 2
    assert {s.album for s in songs} == {"Loose Files"} and {s.artist for s in songs} == {"misc"}
    assert {s.genre for s in songs} <= {"low", "high", "mid"}  # no genre tag: the model's top genre


def test_stream_is_the_file_and_ranges_work(opensonic, server, sub_library):
    url, _ = server
    song = opensonic.search3("Bright", song_count=1).song[0]
    want = (sub_library / song.path).read_bytes()
    res = opensonic.stream(song.id)
    got = _read(opensonic, res)
    assert got == want
    req = urllib.request.Request(opensonic_url(url, "stream", id=song.id), headers={"Range": "bytes=10-99"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 206 and r.read() == want[10:100]


def test_cover_art_embedded_and_from_the_folder(opensonic):
    lows = opensonic.search3("Deep Tones", album_count=1).album[0]
    highs = opensonic.search3("Bright Noise", album_count=1).album[0]
    emb = _read(opensonic, opensonic.get_cover_art(lows.cover_art))
    assert emb[:4] == b"\x89PNG"
    folder = _read(opensonic, opensonic.get_cover_art(highs.cover_art, size=100))
    from io import BytesIO

    from PIL import Image

    assert max(Image.open(BytesIO(folder)).size) == 100  # 300 px cover.jpg resized
    mids = opensonic.search3("Square Waves", album_count=1).album[0]
    with pytest.raises(libopensonic.errors.DataNotFoundError):
        opensonic.get_cover_art(mids.cover_art)


def test_sonic_similar_tracks_are_the_recommenders(opensonic, server):
    _, worker = server
    song = opensonic.search3("Low song 1", song_count=1).song[0]
    got = opensonic.get_sonic_similar_tracks(song.id, count=5)
    tid = int(song.id.removeprefix("tr-"))
    want = worker.run(lambda: worker.lib.rec.similar(tid, 5))
    assert [m.entry.id for m in got] == [f"tr-{r.track_id}" for r in want]
    sims = [m.similarity for m in got]
    assert all(0 <= s <= 1 for s in sims) and sims == sorted(sims, reverse=True)


def test_find_sonic_path_starts_and_ends_where_asked(opensonic):
    a = opensonic.search3("Low song 1", song_count=1).song[0]
    b = opensonic.search3("High song 4", song_count=1).song[0]
    path = opensonic.find_sonic_path(a.id, b.id, count=6)
    assert path[0].entry.id == a.id and path[-1].entry.id == b.id and len(path) == 6
    assert len({m.entry.id for m in path}) == 6


def test_similar_songs2_is_an_instant_mix_of_other_songs(opensonic):
    seed = opensonic.search3("Mid song 1", song_count=1).song[0]
    mix = opensonic.get_similar_songs2(seed.id, count=5)
    assert len(mix) == 5 and seed.id not in {s.id for s in mix}
    mids = sum(s.genre == "Mid" or s.album == "Loose Files" for s in mix)
    assert mids >= 3  # the mix stays near the seed's genre cluster (4 other mid songs exist)


def test_playlists_create_update_delete(opensonic):
    songs = opensonic.search3("", song_count=4).song
    opensonic.create_playlist(name="road trip", song_ids=[s.id for s in songs[:3]])
    pl = next(p for p in opensonic.get_playlists() if p.name == "road trip")
    assert pl.song_count == 3 and pl.owner == USER
    opensonic.update_playlist(pl.id, name="road trip 2", song_ids_to_add=[songs[3].id], song_indices_to_remove=[0])
    got = opensonic.get_playlist(pl.id)
    assert got.name == "road trip 2" and [e.id for e in got.entry] == [s.id for s in songs[1:4]]
    opensonic.delete_playlist(pl.id)
    assert pl.id not in {p.id for p in opensonic.get_playlists()}


def test_scrobbles_make_and_change_mix_for_you(opensonic):
    lows = opensonic.search3("Low song", song_count=10).song
    highs = opensonic.search3("High song", song_count=10).song
    assert "mix" not in {p.id for p in opensonic.get_playlists()}  # no listening yet: no mix
    for s in lows[:2]:
        opensonic.scrobble(s.id)
    mix = opensonic.get_playlist("mix")
    assert mix.name == "Mix for you" and mix.readonly and mix.song_count > 0
    assert not {e.id for e in mix.entry} & {s.id for s in lows[:2]}  # new songs, not the ones played
    tastes_before = [p for p in opensonic.get_playlists() if p.name.startswith("Taste: ")]
    for s in highs[:3]:
        for _ in range(3):
            opensonic.scrobble(s.id)
    after = opensonic.get_playlist("mix")
    assert [e.id for e in after.entry] != [e.id for e in mix.entry]
    assert not {e.id for e in after.entry} & {s.id for s in highs[:3]}
    tastes = [p for p in opensonic.get_playlists() if p.name.startswith("Taste: ")]
    assert len(tastes_before) == 1 and len(tastes) == 2  # a low taste, then a high one as well
    assert all(p.readonly for p in tastes)
    with pytest.raises(libopensonic.errors.SonicError):
        opensonic.delete_playlist("mix")


def test_wrong_password_is_error_40(server):
    url, _ = server
    host, port = url.rsplit(":", 1)
    conn = libopensonic.Connection(host, USER, "wrong", port=int(port))
    try:
        with pytest.raises(libopensonic.errors.CredentialError):
            conn.ping()
    finally:
        conn.cleanup()


def test_api_key_auth(server, sub_library):
    from genrerec.subsonic.users import UserStore

    store = UserStore(sub_library / ".genrerec")
    key = store.new_api_key(USER)
    store.close()
    url, _ = server
    host, port = url.rsplit(":", 1)
    conn = libopensonic.Connection(host, api_key=key, port=int(port))
    try:
        assert conn.ping()
        assert conn.search3("", song_count=1).song
    finally:
        conn.cleanup()


def opensonic_url(base: str, method: str, **params) -> str:
    from urllib.parse import urlencode

    salt = "0123abcd"
    token = hashlib.md5((PASSWORD + salt).encode()).hexdigest()
    return f"{base}/rest/{method}?" + urlencode({"u": USER, "t": token, "s": salt, "c": "test", "v": "1.16.1",
                                                  **params})


def _read(conn, res) -> bytes:
    """The body of an aiohttp response handed back by the sync Connection (read on its loop)."""
    import asyncio

    return asyncio.run_coroutine_threadsafe(res.read(), conn._loop).result(10)
