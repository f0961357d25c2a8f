"""Honest messages (issue 12, items 8-12): file names are shown as they are
(never read as markup), odd paths give one line, and faults (read-only, disk
full, a locked catalog) say what happened and what was kept."""

import os

import pytest
from typer.testing import CliRunner

from genrerec.cli import app
from genrerec.index import index_library
from tests.conftest import write_audio

runner = CliRunner()


def _ok(r, code=0):
    assert r.exit_code == code and "Traceback" not in r.output and r.exception is None or isinstance(
        r.exception, SystemExit), (r.exit_code, r.output, r.exception)
    return r.output


@pytest.fixture
def marked_library(library, tiny_model):
    for seed, name in enumerate(("a[/b].wav", "[live] song.wav", "x [remaster] [explicit].wav"), 7):
        write_audio(library / "tags" / name, "mid", seconds=6, seed=seed)  # three recordings, not one thrice
    (library / "tags" / "c[").mkdir()
    (library / "tags" / "c[" / "d].mp3").write_bytes(b"not audio at all")  # a failing file: path has `[/d]`
    index_library(library, model=tiny_model, workers=0, show_progress=False)
    return library


def test_markup_in_file_names_is_shown_not_parsed(marked_library, tiny_model, record):
    lib = marked_library
    out = _ok(runner.invoke(app, ["index", str(lib), "--workers", "0"]))
    out = _ok(runner.invoke(app, ["stats", str(lib)]))
    assert "c[/d].mp3" in out
    out = _ok(runner.invoke(app, ["similar", str(lib / "tags" / "a[/b].wav"), "-n", "12"]), 0)
    for name in ("[live] song.wav", "x [remaster] [explicit].wav"):
        assert name in out.replace("\n", "").replace("│", "") or name[:12] in out, out
    out = _ok(runner.invoke(app, ["recommend", "-H", str(lib / "tags" / "a[/b].wav"), "-n", "12", "-t", "0"]))
    assert "[live]" in out and "[remaster]" in out
    record("failing file `c[/d].mp3`, tracks `a[/b].wav`, `[live] song.wav`, then index/stats/similar/recommend",
           "names shown as they are; no MarkupError")


def test_long_and_odd_paths_give_one_line(library, tiny_model, tmp_path, record):
    index_library(library, model=tiny_model, workers=0, show_progress=False)
    long = str(library / ("x" * 300 + ".wav"))
    r = runner.invoke(app, ["recommend", "-H", long, "--library", str(library)])
    assert r.exit_code == 2 and "no such file" in r.output and "Traceback" not in r.output, r.output
    r = runner.invoke(app, ["similar", long, "--library", str(library)])
    assert r.exit_code == 2 and "no such file" in r.output, r.output
    r = runner.invoke(app, ["recommend", "-H", long])  # no --library: found upward from the track
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    m3u = tmp_path / "big.m3u"
    m3u.write_text("#EXTM3U\n" + "y" * 100_000 + "\n" + "z" * 5000 + "\n" + str(library / "low" / "low0.wav") + "\n")
    _ok(runner.invoke(app, ["recommend", "-H", str(m3u), "--library", str(library), "-n", "2"]))
    good = str(library / "low" / "low0.wav")
    r = runner.invoke(app, ["recommend", "-H", good, "-n", "2", "-o", "/proc/x.m3u8"])
    assert r.exit_code == 2 and "cannot write the playlist" in r.output, r.output
    r = runner.invoke(app, ["recommend", "-H", good, "-n", "2", "-o", str(tmp_path)])
    assert r.exit_code == 2 and "is a folder" in r.output, r.output
    for case in ("-H with a 300-character name (recommend and similar)", "M3U history with a 100 KB line",
                 "-o /proc/x.m3u8", "-o naming an existing folder"):
        record(case, "one line, exit 2 (the long M3U line is ignored with a warning)" if "M3U" in case
               else "one line, exit 2")


def test_path_longer_than_path_max_is_shown_as_text(tmp_path, tiny_model, record):
    lib = tmp_path / "lib"
    write_audio(lib / "ok.wav", seconds=4)
    fd = os.open(lib, os.O_RDONLY)
    for _ in range(20):  # a folder chain longer than PATH_MAX, built one open folder at a time
        os.mkdir("d" * 250, dir_fd=fd)
        nxt = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nxt
    os.close(fd)
    s = index_library(lib, model=tiny_model, workers=0, show_progress=False)
    assert s.total_ok == 1
    shown = " ".join(p for p, _ in s.failed)
    assert "b'" not in shown
    record("folders nested past PATH_MAX", f"shown as text, never b'...': {len(s.failed)} reported")
