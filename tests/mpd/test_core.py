"""The auto-DJ's decisions without MPD: what the queue lacks, skips, MPD_HOST, the path mapping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from genrerec.mpd.client import MpdError, MpdTarget, PathMap
from genrerec.mpd.dj import SKIP_SECONDS, Listening, QueueState, missing, was_skipped


class Clock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize("uris, pos, keep, want", [
    (["a", "b", "c"], 0, 5, 3), (["a", "b", "c"], 2, 2, 2), (["a"] * 9, 1, 5, 0), ([], None, 3, 3),
    (["a", "b"], None, 3, 1),
])
def test_missing_counts_songs_after_the_current_one(uris, pos, keep, want):
    assert missing(QueueState(uris, pos), keep) == want


@pytest.mark.parametrize("played, duration, skipped", [
    (5.0, 200.0, True), (SKIP_SECONDS + 1, 200.0, False), (5.0, None, True),
    (19.0, 20.0, False),  # a 20 s song played to its end was listened to
    (10.0, 20.0, True),
])
def test_was_skipped(played, duration, skipped):
    assert was_skipped(played, duration) is skipped


def test_listening_tells_skips_from_plays_by_the_clock():
    clock = Clock()
    ls = Listening(clock)
    assert ls.observe("1", 10, "play", 0.0, 200.0) is None
    clock.t += 5
    assert ls.observe("2", 11, "play", 0.0, 200.0) == "skipped"  # left after 5 s
    clock.t += 100
    assert ls.observe("3", 12, "play", 0.0, 200.0) == "played"
    assert list(ls.avoided) == [10] and list(ls.played) == [11]
    assert ls.seeds() == [12, 11]


def test_listening_leaves_pauses_out():
    clock = Clock()
    ls = Listening(clock)
    ls.observe("1", 10, "play", 0.0, 200.0)
    clock.t += 10
    ls.observe("1", 10, "pause", 10.0, 200.0)
    clock.t += 3600  # an hour paused
    ls.observe("1", 10, "play", 10.0, 200.0)
    clock.t += 5
    assert ls.observe("2", 11, "play", 0.0, 200.0) == "skipped"  # 15 s heard


def test_listening_ignores_songs_outside_the_library():
    clock = Clock()
    ls = Listening(clock)
    ls.observe("1", None, "play", 0.0, 200.0)
    clock.t += 1
    assert ls.observe("2", 5, "play", 0.0, 200.0) == "skipped"
    assert not ls.avoided and ls.seeds() == [5]


@pytest.mark.parametrize("host, port, env, want", [
    (None, None, {}, MpdTarget("localhost", 6600, None)),
    (None, None, {"MPD_HOST": "secret@box", "MPD_PORT": "6700"}, MpdTarget("box", 6700, "secret")),
    ("other", 1234, {"MPD_HOST": "secret@box", "MPD_PORT": "6700"}, MpdTarget("other", 1234, None)),
    (None, None, {"MPD_HOST": "/run/mpd/socket"}, MpdTarget("/run/mpd/socket", 6600, None)),
    (None, None, {"MPD_HOST": "@mpd"}, MpdTarget("@mpd", 6600, None)),
    (None, None, {"MPD_HOST": "pw@@mpd"}, MpdTarget("@mpd", 6600, "pw")),
])
def test_target_follows_options_then_mpd_host_and_port(host, port, env, want):
    assert MpdTarget.resolve(host, port, None, env) == want


def test_password_option_wins_and_bad_port_is_one_line():
    assert MpdTarget.resolve(None, None, "mine", {"MPD_HOST": "theirs@box"}).password == "mine"
    with pytest.raises(MpdError, match="MPD_PORT='x'"):
        MpdTarget.resolve(None, None, None, {"MPD_PORT": "x"})


def test_path_map_same_parent_and_child(tmp_path):
    lib = tmp_path / "music"
    (lib / "jazz").mkdir(parents=True)
    same = PathMap(lib, lib, "test")
    assert same.rel("a/b.flac") == b"a/b.flac" and same.uri(b"a/b.flac") == "a/b.flac"
    parent = PathMap(lib, tmp_path, "test")  # MPD's root holds the library
    assert parent.rel("music/a.flac") == b"a.flac" and parent.rel("other/a.flac") is None
    assert parent.uri(b"a.flac") == "music/a.flac"
    child = PathMap(lib, lib / "jazz", "test")  # MPD sees one folder of the library
    assert child.rel("a.flac") == b"jazz/a.flac" and child.uri(b"rock/a.flac") is None
    assert same.rel("http://radio.example/stream") is None
    with pytest.raises(MpdError, match="--music-dir"):
        PathMap(lib, Path(os.sep) / "elsewhere", "test")
