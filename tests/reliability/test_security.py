"""Hostile input: someone who can write into a shared music folder must gain
nothing (issue 12, items 1-4): no writes through planted links, no code from a
planted checkpoint, no lines injected into playlists, no reading outside the
library."""

import os
import stat

import pytest
from typer.testing import CliRunner

from genrerec.cli.common import app
from genrerec.engine.index import index_library
from genrerec.errors import LibraryError
from genrerec.library.catalog import Catalog
from genrerec.models.checkpoint import CheckpointError
from genrerec.playlists.m3u import read_m3u, write_m3u
from genrerec.recommend.recommender import Recommender
from tests.conftest import write_audio

runner = CliRunner()


@pytest.mark.parametrize("planted", ["lock", "catalog.sqlite", "index.json", ".genrerec"])
def test_planted_links_in_the_catalog_folder_are_refused(library, tiny_model, tmp_path, planted, record):
    precious = tmp_path / "precious"
    precious.mkdir()
    target = precious / "file"
    target.write_bytes(b"keep me")
    if planted == ".genrerec":
        os.symlink(precious, library / ".genrerec")
    else:
        (library / ".genrerec").mkdir()
        os.symlink(target, library / ".genrerec" / planted)
    with pytest.raises(LibraryError, match="symbolic link") as ei:
        index_library(library, model=tiny_model, workers=0, show_progress=False)
    assert target.read_bytes() == b"keep me" and sorted(os.listdir(precious)) == ["file"]
    record(f"planted link: LIB/.genrerec{'' if planted == '.genrerec' else '/' + planted} -> a file elsewhere",
           f"refused, target untouched: {str(ei.value).split(': ', 1)[1]}")


def test_planted_link_is_refused_by_readers_too(library, tiny_model, tmp_path, record):
    index_library(library, model=tiny_model, workers=0, show_progress=False)
    meta = library / ".genrerec" / "index.json"
    (tmp_path / "elsewhere.json").write_bytes(meta.read_bytes())
    meta.unlink()
    os.symlink(tmp_path / "elsewhere.json", meta)
    with pytest.raises(LibraryError, match="symbolic link"):
        Recommender.open(library)
    record("planted link in an indexed catalog, then `recommend`", "refused: is a symbolic link")


def test_catalog_folder_and_files_are_private(library, tiny_model, record):
    index_library(library, model=tiny_model, workers=0, show_progress=False)
    db = library / ".genrerec"
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o700
    modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in db.iterdir()}
    assert {"catalog.sqlite", "index.faiss", "index.json", "lock"} <= modes.keys()
    assert all(m & 0o077 == 0 for m in modes.values()), modes
    record("catalog folder and files of a fresh index", "folder 0700, files 0600")


class _Payload:
    def __reduce__(self):
        return (open, (os.environ["GENREREC_PWNED"], "w"))


def test_planted_last_pt_runs_no_code(tmp_path, monkeypatch, record):
    from genrerec.training.config import TrainConfig
    from genrerec.training.train import train

    data = tmp_path / "data"
    for g in ("low", "high"):
        for i in range(3):
            write_audio(data / g / f"{g}.{i:05d}.wav", g, seconds=4, seed=i)
    out = tmp_path / "run"
    out.mkdir()
    marker = tmp_path / "pwned"
    monkeypatch.setenv("GENREREC_PWNED", str(marker))
    monkeypatch.setenv("GENREREC_CACHE", str(tmp_path / "cache"))
    import torch

    torch.save({"model": _Payload()}, out / "last.pt")  # what an attacker plants
    with pytest.raises(CheckpointError) as ei:
        train(data, out, TrainConfig(model="cnn", epochs=1, batch_size=4), cache_dir=tmp_path / "c",
              show_progress=False)
    assert not marker.exists()
    assert "weights_only" not in str(ei.value) and "\n" not in str(ei.value)
    (tmp_path / "run2").mkdir()
    (tmp_path / "run2" / "last.pt").write_bytes(b"\x80garbage")
    r = runner.invoke(app, ["train", "--data", str(data), "--out", str(tmp_path / "run2"), "--epochs", "1"])
    assert r.exit_code == 2 and "Traceback" not in r.output and "not a genrerec training state" in r.output
    record("`train --out RUN` with a planted code-running last.pt", f"nothing runs; error: {str(ei.value)[-95:]}")


def test_tags_and_names_cannot_inject_playlist_lines(tmp_path, caplog, record):
    good = write_audio(tmp_path / "music" / "good.wav", seconds=1)
    odd = write_audio(tmp_path / "music" / "two\nlines.wav", seconds=1)
    evil = "Evil\n/etc/passwd\n#EXTINF:1,owned\nhttp://evil.example/x.mp3"
    out = write_m3u(tmp_path / "p.m3u8", [good, odd], titles=[evil, "x"], durations=[5.0, 5.0])
    lines = out.read_text().splitlines()
    assert lines == ["#EXTM3U", "#EXTINF:5,Evil /etc/passwd #EXTINF:1,owned http://evil.example/x.mp3",
                     "music/good.wav"]
    assert "left out of the playlist" in caplog.text
    assert read_m3u(out) == [tmp_path / "music" / "good.wav"]
    record("title tag with newlines and #EXTINF/URL lines", "one #EXTINF line, control characters out")
    record("file name with a newline, written to a playlist", "left out with a warning")


def test_history_playlist_ignores_urls(library, tiny_model, tmp_path, record):
    index_library(library, model=tiny_model, workers=0, show_progress=False)
    m3u = tmp_path / "h.m3u"
    m3u.write_text(f"#EXTM3U\nhttp://evil.example/x.mp3\nsmb://host/share/a.mp3\n{library / 'low' / 'low0.wav'}\n")
    assert read_m3u(m3u) == [library / "low" / "low0.wav"]
    r = runner.invoke(app, ["recommend", "-H", str(m3u), "-n", "2", "--library", str(library)])
    assert r.exit_code == 0, r.output
    record("history M3U with http:// and smb:// lines", "URLs ignored, the local track used")


def _rows(library) -> set[str]:
    cat = Catalog(library / ".genrerec" / "catalog.sqlite", create=False)
    try:
        return {os.fsdecode(r) for r in cat.rows()}
    finally:
        cat.close()


@pytest.fixture
def linked_library(library, tmp_path):
    outside = tmp_path / "outside"
    write_audio(outside / "secret.wav", "high", seconds=4)
    os.symlink(outside, library / "to_outside")  # a folder link leaving the library
    os.symlink(outside / "secret.wav", library / "low" / "secret_link.wav")  # a file link to the same file
    os.symlink("/proc", library / "proc")
    os.symlink(library / "low", library / "inside_link")  # a link that stays inside: followed
    return library


def test_links_out_of_the_library_are_not_followed(linked_library, tiny_model, record):
    s = index_library(linked_library, model=tiny_model, workers=0, show_progress=False)
    rows = _rows(linked_library)
    assert not any("secret" in r or r.startswith(("to_outside", "proc")) for r in rows), rows
    assert any(r.startswith("inside_link/") for r in rows)
    assert s.total_ok == 12 and "links leading outside the library skipped" in s.note
    record("links to a folder and a file outside the library, and to /proc", f"not followed: {s.note}")


def test_follow_external_links_opt_in(linked_library, tiny_model, record):
    index_library(linked_library, model=tiny_model, workers=0, show_progress=False, follow_external_links=True)
    rows = _rows(linked_library)
    secret = [r for r in rows if "secret" in r]
    assert len(secret) == 1, secret  # two links to one file: indexed once
    assert not any(r.startswith("proc/") for r in rows)
    record("--follow-external-links with the same links", "followed, the shared file once, /proc never")
