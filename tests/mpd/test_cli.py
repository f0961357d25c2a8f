"""`genrerec mpd queue / album` and the connection's errors, against a real MPD per test."""

from __future__ import annotations

import os
import shutil
import sys

import pytest
from typer.testing import CliRunner

from genrerec.cli.common import app
from genrerec.library.catalog import Catalog
from tests.mpd.conftest import ALBUMS, catalog_uris, free_port, make_library, need_mpd

runner = CliRunner()
FIRST = "Low Band/Deep Tones/01 Deep Tones 1.flac"
STRAY = "stray/not indexed.flac"


def mpd_cmd(m, *args, env=None, port=True):
    extra = ["--port", str(m.port)] if port else []
    return runner.invoke(app, ["mpd", *args, *extra], env=env)


def play(m, *uris):
    c = m.client()
    for u in uris:
        c.add(u)
    c.play(len(uris) - 1)
    return c


def one_error_line(r, alone: bool = True) -> str:
    """The one error line of a failed command (exit 2); `alone`: with no note before it either."""
    lines = [x for x in r.output.splitlines() if x.strip()]
    errors = [x for x in lines if x.startswith("error:")]
    assert r.exit_code == 2 and len(errors) == 1 and errors[0] == lines[-1], r.output
    assert "Traceback" not in r.output and (len(lines) == 1 or not alone), r.output
    return errors[0]


def test_queue_appends_n_distinct_catalog_tracks_not_queued(mpd_library, start_mpd):
    m = start_mpd(mpd_library)
    c = play(m, "Low Band/Deeper Still/02 Deeper Still 2.flac", FIRST)
    r = mpd_cmd(m, "queue", "-n", "5", "-t", "0", "--library", str(mpd_library))
    assert r.exit_code == 0, r.output
    files = [s["file"] for s in c.playlistinfo()]
    known = catalog_uris(mpd_library)
    assert len(files) == 7 and len(set(files)) == 7, files
    assert all(f in known for f in files[2:])
    assert "queued 5 songs" in r.output and "assuming it is the library root" in r.output
    r = mpd_cmd(m, "queue", "-n", "4", "-t", "0.5", "--seed", "1", "--library", str(mpd_library),
                "--exclude-genre", "high")
    assert r.exit_code == 0, r.output
    files = [s["file"] for s in c.playlistinfo()]
    assert len(files) == 11 and len(set(files)) == 11, files  # never what was queued
    assert not any(known[f] == "Bright Noise" for f in files[7:])  # the playlist controls apply


def test_queue_ignores_songs_not_in_the_catalog_with_one_note(mpd_library, start_mpd):
    m = start_mpd(mpd_library)
    c = play(m, STRAY, FIRST)
    r = mpd_cmd(m, "queue", "-n", "3", "-t", "0", "--library", str(mpd_library))
    assert r.exit_code == 0, r.output
    assert r.output.count("not in the library") == 1 and STRAY in r.output
    assert len(c.playlistinfo()) == 5
    c.clear()
    c.add(STRAY)
    c.play(0)
    r = mpd_cmd(m, "queue", "--library", str(mpd_library))
    line = one_error_line(r, alone=False)
    assert line.startswith("error: the current song stray/not indexed.flac is not in the library")


def test_queue_seeds_from_the_queue_when_nothing_plays(mpd_library, start_mpd):
    m = start_mpd(mpd_library)
    c = m.client()
    c.add(FIRST)
    r = mpd_cmd(m, "queue", "-n", "2", "-t", "0", "--library", str(mpd_library))
    assert r.exit_code == 0 and len(c.playlistinfo()) == 3, r.output


def test_album_queues_the_whole_most_similar_other_album(mpd_library, start_mpd):
    m = start_mpd(mpd_library)
    c = play(m, FIRST)
    r = mpd_cmd(m, "album", "--library", str(mpd_library))
    assert r.exit_code == 0, r.output
    files = [s["file"] for s in c.playlistinfo()][1:]
    n = dict((a, k) for _, a, _, k in ALBUMS)["Deeper Still"]
    assert files == [f"Low Band/Deeper Still/{i:02d} Deeper Still {i}.flac" for i in range(1, n + 1)]
    assert "album Deeper Still" in r.output
    r = mpd_cmd(m, "album", "--library", str(mpd_library))  # that one is queued now: the next most similar
    assert r.exit_code == 0, r.output
    later = {catalog_uris(mpd_library)[s["file"]] for s in c.playlistinfo()[1 + n:]}
    assert len(later) == 1 and later != {"Deeper Still"} and later != {"Deep Tones"}


def test_wrong_password_is_one_line_exit_2(mpd_library, start_mpd):
    m = start_mpd(mpd_library, password="right")
    r = mpd_cmd(m, "queue", "--password", "wrong", "--library", str(mpd_library))
    assert "refused the password" in one_error_line(r)
    r = mpd_cmd(m, "queue", "--library", str(mpd_library))
    assert "needs a password" in one_error_line(r)


def test_mpd_host_and_port_are_honoured(mpd_library, start_mpd):
    m = start_mpd(mpd_library, password="s3cret")
    c = play(m, FIRST)
    r = mpd_cmd(m, "queue", "-n", "2", "--library", str(mpd_library), port=False,
                env={"MPD_HOST": "s3cret@127.0.0.1", "MPD_PORT": str(m.port)})
    assert r.exit_code == 0, r.output
    assert len(c.playlistinfo()) == 3


def test_unreachable_mpd_is_one_line_exit_2(mpd_library):
    need_mpd()
    r = runner.invoke(app, ["mpd", "dj", "--host", "127.0.0.1", "--port", str(free_port()), "--library",
                            str(mpd_library)])
    line = one_error_line(r)
    assert line.startswith("error: cannot reach MPD at 127.0.0.1:") and "MPD_HOST" in line


def test_music_directory_from_the_unix_socket_or_music_dir(mpd_library, start_mpd):
    m = start_mpd(mpd_library.parent)  # MPD's root holds the library and a folder beside it
    c = play(m, "music/" + FIRST)
    c.add("outside/beside.flac")
    r = runner.invoke(app, ["mpd", "queue", "-n", "2", "-t", "0", "--host", m.sock, "--library", str(mpd_library)])
    assert r.exit_code == 0 and "assuming" not in r.output, r.output
    files = [s["file"] for s in c.playlistinfo()]
    assert len(files) == 4 and all(f.startswith("music/") for f in files[2:]), files
    assert "ignoring 1 queued song" in r.output and "outside/beside.flac" in r.output
    r = mpd_cmd(m, "queue", "-n", "2", "-t", "0", "--music-dir", str(mpd_library.parent),
                "--library", str(mpd_library))
    assert r.exit_code == 0 and len(c.playlistinfo()) == 6, r.output
    r = mpd_cmd(m, "queue", "--library", str(mpd_library))  # over TCP, assumed to be the library: nothing fits
    assert "is not in the library" in one_error_line(r, alone=False) and "--music-dir" in r.output


def test_without_python_mpd2_it_says_how_to_install(mpd_library, monkeypatch):
    monkeypatch.setitem(sys.modules, "mpd", None)  # import mpd now raises ImportError
    r = runner.invoke(app, ["mpd", "queue", "--library", str(mpd_library)])
    assert "pip install 'genrerec[mpd]'" in one_error_line(r)


@pytest.mark.parametrize("args, words", [
    (["queue", "-n", "0"], "--n must be at least 1"), (["dj", "--keep", "0"], "--keep must be at least 1"),
    (["queue", "-t", "-1"], "--temperature"), (["queue", "--min-duration", "-2"], "--min-duration"),
])
def test_bad_options_are_one_line_exit_2(mpd_library, args, words):
    r = runner.invoke(app, ["mpd", *args, "--library", str(mpd_library)])
    assert words in one_error_line(r)


def test_songs_mpd_has_not_scanned_are_noted_and_replaced(tmp_path, start_mpd):
    lib = make_library(tmp_path / "own")
    m = start_mpd(lib)
    c = play(m, FIRST)
    new = lib / "new" / "twin.flac"  # indexed after MPD's scan: the catalog has it, MPD does not
    new.parent.mkdir()
    shutil.copyfile(lib / FIRST, new)
    cat = Catalog(lib / ".genrerec" / "catalog.sqlite")
    ids, rels, genres, emb = cat.vectors("synthetic")
    row = rels.index(os.fsencode(FIRST))
    with cat.transaction():
        cat.upsert(b"new/twin.flac", new.stat().st_size, 1, "new/twin.flac", status="ok", duration=900.0,
                   model_id="synthetic", genres=genres[row], embedding=emb[row], tags={"artist": "Twin"})
    cat.close()
    r = mpd_cmd(m, "queue", "-n", "3", "-t", "0", "--library", str(lib))
    assert r.exit_code == 0, r.output
    assert "cannot add new/twin.flac" in r.output and "mpc update" in r.output
    files = [s["file"] for s in c.playlistinfo()]
    assert len(files) == 4 and "new/twin.flac" not in files
