from pathlib import Path

from genrerec.playlists.m3u import read_m3u, write_m3u


def test_relative_m3u_roundtrip(tmp_path):
    tracks = [tmp_path / "music" / "a b.mp3", tmp_path / "music" / "sub" / "ü 🎵.flac"]
    for t in tracks:
        t.parent.mkdir(parents=True, exist_ok=True)
        t.write_bytes(b"x")
    out = write_m3u(tmp_path / "lists" / "mix.m3u8", tracks, titles=["Artist - A", None], durations=[200.4, None])
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[:3] == ["#EXTM3U", "#EXTINF:200,Artist - A", "../music/a b.mp3"]
    assert [p.resolve() for p in read_m3u(out)] == [t.resolve() for t in tracks]


def test_absolute_and_file_urls(tmp_path):
    t = tmp_path / "x.mp3"
    t.write_bytes(b"x")
    out = write_m3u(tmp_path / "abs.m3u", [t], relative=False)
    assert str(t) in out.read_text()
    (tmp_path / "url.m3u").write_text(f"#EXTM3U\nfile://{t.as_posix().replace(' ', '%20')}\n")
    assert read_m3u(tmp_path / "url.m3u") == [Path(t)]


def test_written_files_get_normal_permissions(tmp_path):
    import os

    out = write_m3u(tmp_path / "p.m3u8", [])
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
