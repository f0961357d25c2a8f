"""`make demo` on a machine without ../shared: what a new user sees."""

import os
import shutil
import subprocess
import textwrap

import pytest

from genrerec.demo import main as demo
from genrerec.playlists.m3u import read_m3u
from tests.conftest import write_audio


@pytest.fixture
def clone(tmp_path, monkeypatch):
    """A fresh clone's folder, with nothing beside it (no ../shared)."""
    d = tmp_path / "clone"
    d.mkdir()
    monkeypatch.chdir(d)
    for k in ("LIBRARY", "HISTORY", "DEMO_DB", "DEMO_MUSIC"):
        monkeypatch.delenv(k, raising=False)
    return d


def test_without_apt_it_says_what_to_pass(clone, tmp_path, monkeypatch, capsys):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert demo.main() == 2
    msg = capsys.readouterr().err
    assert "no music to index" in msg and "make demo LIBRARY=~/Music" in msg


def test_own_library_with_spaces_and_non_ascii_names(clone, tmp_path, monkeypatch):
    music = tmp_path / "Meine Musik ♪"
    write_audio(music / "ジャズ" / "a b.wav", "low", seconds=8, seed=1)
    write_audio(music / "ジャズ" / "c.wav", "low", seconds=8, seed=2)
    write_audio(music / "rock" / "d é.wav", "high", seconds=8, seed=3)
    monkeypatch.setenv("LIBRARY", str(music))
    monkeypatch.setenv("HISTORY", f"'{music / 'ジャズ' / 'a b.wav'}'")
    assert demo.main() == 0
    picks = read_m3u(clone / "demo-playlist.m3u8")
    assert len(picks) == 2 and all(p.exists() for p in picks)


@pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="needs dpkg-deb to build a package")
def test_without_library_it_fetches_free_music_with_apt(clone, tmp_path, monkeypatch):
    """apt-get is replaced by a script that 'downloads' locally built packages;
    dpkg -x, the unpacking and the whole demo run for real."""
    repo = tmp_path / "repo"
    for pkg, kind in (("fake-music", "low"), ("fake-music2", "high")):
        root = tmp_path / "build" / pkg
        for i in range(3):
            write_audio(root / "usr" / "share" / "games" / pkg / f"track{i}.ogg", kind, seconds=8, seed=i,
                        fmt="OGG", subtype="VORBIS")
        (root / "DEBIAN").mkdir()
        (root / "DEBIAN" / "control").write_text(f"Package: {pkg}\nVersion: 1.0\nArchitecture: all\n"
                                                 "Maintainer: t <t@t>\nDescription: test music\n")
        repo.mkdir(exist_ok=True)
        subprocess.run(["dpkg-deb", "--build", "-Zgzip", str(root), str(repo / f"{pkg}_1.0_all.deb")], check=True,
                       capture_output=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text(textwrap.dedent(f"""\
        #!/bin/sh
        [ "$1" = download ] && cp "{repo}/$2_1.0_all.deb" . || exit 100
        """))
    (bin_dir / "apt-get").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(demo, "DEMO_PACKAGES", ["fake-music", "fake-music2"])
    assert demo.main() == 0
    assert len(list((clone / "runs" / "soundtracks" / "x").rglob("*.ogg"))) == 6
    assert len(read_m3u(clone / "demo-playlist.m3u8")) == 3  # 6 tracks, 3 of them the default history
    assert not list((clone / "runs").rglob("*.deb"))  # deleted once unpacked: only the music stays
    (bin_dir / "apt-get").unlink()
    assert demo.main() == 0  # unpacked once: no second download


def test_each_library_gets_its_own_catalog(clone, tmp_path, monkeypatch, capfd):
    """LIBRARY=B after LIBRARY=A reported A's tracks as '2 removed' (one shared .demo catalog)."""
    for name in ("a", "b"):
        for i in range(2):
            write_audio(tmp_path / name / f"{name}{i}.wav", "low", seconds=8, seed=i)
    monkeypatch.setenv("LIBRARY", str(tmp_path / "a"))
    assert demo.main() == 0
    monkeypatch.setenv("LIBRARY", str(tmp_path / "b"))
    capfd.readouterr()
    assert demo.main() == 0
    out = capfd.readouterr().out
    assert "2 indexed" in out and "0 removed" in out, out
    assert demo.demo_db(tmp_path / "a") != demo.demo_db(tmp_path / "b")
