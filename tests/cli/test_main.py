"""The CLI end to end on a synthetic library, and its error handling."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from genrerec.cli.common import app
from genrerec.engine.index import index_library
from genrerec.playlists.m3u import read_m3u
from tests.conftest import write_audio

runner = CliRunner()


@pytest.fixture
def indexed(library, tiny_model):
    index_library(library, model=tiny_model, workers=0, show_progress=False)
    return library


def test_index_command(library, tiny_model_path):
    r = runner.invoke(app, ["index", str(library), "--model", str(tiny_model_path), "--workers", "0", "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["indexed"] == 12 and s["total_ok"] == 12


def test_recommend_writes_playlist_found_from_tracks(indexed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hist = [str(indexed / "low" / "low0.wav"), str(indexed / "high" / "high0.wav")]
    r = runner.invoke(app, ["recommend", "-H", hist[0], "-H", hist[1], "-n", "5", "-t", "0", "-o", "out.m3u8"])
    assert r.exit_code == 0, r.output
    tracks = read_m3u(tmp_path / "out.m3u8")
    assert len(tracks) == 5 and all(t.exists() for t in tracks)
    assert not {str(t.resolve()) for t in tracks} & set(hist)
    # the same history from an m3u file
    (tmp_path / "h.m3u").write_text("\n".join(hist))
    r = runner.invoke(app, ["recommend", "-H", "h.m3u", "-n", "3", "--json"])
    assert r.exit_code == 0 and len(json.loads(r.stdout)) == 3


def test_similar_profile_stats(indexed, tmp_path, monkeypatch):
    t = str(indexed / "mid" / "mid1.wav")
    r = runner.invoke(app, ["similar", t, "-n", "3", "--json"])
    assert r.exit_code == 0 and len(json.loads(r.stdout)) == 3
    r = runner.invoke(app, ["profile", "-H", t, "--json"])
    assert r.exit_code == 0 and abs(sum(json.loads(r.stdout)["genres"].values()) - 1) < 1e-3
    monkeypatch.chdir(indexed / "mid")  # found upward, like git
    r = runner.invoke(app, ["stats", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["tracks"] == 12


def test_classify_reports_bad_files_without_stopping(tmp_path, tiny_model_path):
    good = write_audio(tmp_path / "good.wav", "low", seconds=4)
    bad = tmp_path / "bad.mp3"
    bad.write_text("nope")
    r = runner.invoke(app, ["classify", str(good), str(bad), "--model", str(tiny_model_path), "--json"])
    out = json.loads(r.stdout)
    assert r.exit_code == 1 and set(out[str(good)]["genres"]) == {"high", "low", "mid"} and "error" in out[str(bad)]


def test_console_script_runs():
    r = subprocess.run([sys.executable, "-m", "genrerec.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "recommend" in r.stdout


def test_classify_a_folder_classifies_the_audio_inside(tmp_path, tiny_model_path):
    write_audio(tmp_path / "album" / "cd 1" / "a.wav", "low", seconds=4)
    write_audio(tmp_path / "album" / "b.flac", "high", seconds=4)
    (tmp_path / "album" / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    r = runner.invoke(app, ["classify", str(tmp_path / "album"), "--model", str(tiny_model_path), "--json"])
    assert r.exit_code == 0, r.output
    assert sorted(json.loads(r.stdout)) == [str(tmp_path / "album" / "b.flac"), str(tmp_path / "album" / "cd 1" / "a.wav")]


def test_stats_takes_the_library_as_argument_or_option(indexed):
    a = runner.invoke(app, ["stats", str(indexed), "--json"])
    b = runner.invoke(app, ["stats", "--library", str(indexed), "--json"])
    c = runner.invoke(app, ["stats", "--db", str(indexed / ".genrerec"), "--json"])
    assert a.exit_code == b.exit_code == c.exit_code == 0 and a.stdout == b.stdout == c.stdout


def test_names_are_fitted_keeping_what_tells_tracks_apart():
    from genrerec.cli.playlists import fit

    path = "warzone2100-music/usr/share/games/warzone2100/music/albums/aftermath_soundtrack/track10.opus"
    from rich.cells import cell_len

    assert fit(path, 60) == "…/warzone2100/music/albums/aftermath_soundtrack/track10.opus"
    assert fit(path, 40) == "…/aftermath_soundtrack/track10.opus"  # shortened from the left: the album stays
    assert fit(path, 20) == "…dtrack/track10.opus"
    assert fit("Bradenfield - Beast of Insanity", 20) == "Braden…t of Insanity"
    assert all(len(fit(path, w)) <= w for w in range(5, 100))
    wide = "音楽/坂本龍一/戦場のメリークリスマス.flac"  # two terminal cells a character
    assert fit(wide, 30) == "…/戦場のメリークリスマス.flac"
    assert all(cell_len(fit(wide, w)) <= w for w in range(1, 60))


def test_every_option_and_argument_has_help():
    import typer.main

    from genrerec.cli.docgen import argument_help

    missing = [f"{name} {p.name}" for name, cmd in typer.main.get_command(app).commands.items() for p in cmd.params
               if p.name != "help" and not (getattr(p, "help", None) or argument_help(app).get((name, p.name)))]
    assert missing == []


def test_classify_and_index_of_a_folder_without_audio_say_so(tmp_path, tiny_model_path):
    (tmp_path / "empty" / "notes").mkdir(parents=True)
    (tmp_path / "empty" / "notes" / "readme.txt").write_text("no music here")
    for args in (["classify", str(tmp_path / "empty")], ["index", str(tmp_path / "empty"), "--workers", "0"]):
        r = runner.invoke(app, [*args, "--model", str(tiny_model_path)])
        assert r.exit_code == 2 and "no audio found" in r.output and "Traceback" not in r.output, r.output


def test_classify_writes_nothing_to_a_piped_stderr_and_labels_by_tags(tmp_path, tiny_model_path):
    from tests.conftest import write_tagged

    deep = tmp_path / "runs" / "soundtracks" / "warzone2100-music" / "usr" / "share" / "albums" / "aftermath"
    files = [str(write_audio(deep / f"track1{i}.wav", "low", seconds=4, seed=i)) for i in range(2)]
    tagged = write_tagged(tmp_path / "t.flac", "Some Artist", "Some Title")
    r = runner.invoke(app, ["classify", *files, str(tagged), "--model", str(tiny_model_path)],
                      env={"COLUMNS": "80"})
    assert r.exit_code == 0 and r.stderr == "", repr(r.stderr)  # no blank line per file
    assert "…/usr/share/albums/aftermath/track10.wav" in r.stdout and "Some Artist - Some Title" in r.stdout


def test_failed_files_are_counted_once(tmp_path, tiny_model):
    lib = tmp_path / "music"
    write_audio(lib / "good.wav", "low", seconds=5)
    (lib / "bad.wav").write_bytes(b"RIFF....WAVEfmt not really")
    index_library(lib, model=tiny_model, workers=0, show_progress=False)
    s = index_library(lib, model=tiny_model, workers=0, show_progress=False)
    assert (s.unchanged, len(s.failed)) == (1, 1)  # the failed file is not "unchanged" as well


def test_index_help_is_readable_at_80_columns():
    """The option descriptions had 17 columns at 80 (issue 23, user's list)."""
    r = runner.invoke(app, ["index", "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    lines = r.output.splitlines()
    db = next(line for line in lines if "--db" in line)
    start = db.index("Catalog folder")
    assert max(len(line) for line in lines) <= 80 and db.rindex("│") - 1 - start >= 30, r.output  # help column
    for name in ("--db", "--workers", "--engine", "--follow-external-links", "--rebuild", "--watch"):
        assert any(name in line for line in lines), name
