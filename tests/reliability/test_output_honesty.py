"""What the playlist and stats commands print and write (issue 23, items 10 and 11, and the
user's list): counts that match the file, suffixes that match the format, names that cannot
drive the terminal."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from genrerec.cli.common import app
from genrerec.engine.index import index_library
from genrerec.playlists.m3u import read_m3u

runner = CliRunner()


@pytest.fixture
def odd_names(library, tiny_model):
    """The library plus copies of three tracks whose names no M3U line can hold, or that carry
    terminal escapes and a right-to-left override: same audio, so they are duplicates too."""
    odd = library / "odd"
    odd.mkdir()
    shutil.copy(library / "low" / "low1.wav", odd / "new\nline.wav")
    shutil.copy(library / "low" / "low2.wav", odd / "esc\x1b[31mred\x1b[0m.wav")
    shutil.copy(library / "low" / "low3.wav", odd / "rtl\u202evaw.exe.wav")
    index_library(library, model=tiny_model, workers=0, show_progress=False)
    return library


def test_recommend_reports_the_tracks_actually_written(odd_names, tmp_path, record):
    out = tmp_path / "mix.m3u8"
    r = runner.invoke(app, ["recommend", str(odd_names / "high" / "high0.wav"), "-n", "14", "--max-per-album", "0",
                            "--max-per-artist", "0", "--seed", "0", "-o", str(out)])
    assert r.exit_code == 0, r.output
    written = len(read_m3u(out))
    picked = int(r.output.split(" tracks, temperature")[0].split()[-1])  # the table's title
    left = picked - written  # the odd names picked (which copy of a duplicate is drawn: fixed by the seed)
    assert left >= 1 and f"({written} tracks, m3u8; {left} left out" in " ".join(r.output.split()), r.output
    record("`recommend -o mix.m3u8` where picks' names hold a newline, ESC or U+202E",
           "reports the tracks written (the count in the file), and how many were left out, with why")


@pytest.mark.parametrize("name", ["x.pls", "x.M3U9", "x.txt"])
def test_unknown_output_suffix_is_refused(odd_names, tmp_path, name, record):
    r = runner.invoke(app, ["recommend", str(odd_names / "high" / "high0.wav"), "-n", "3", "-o", str(tmp_path / name)])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1 and ".m3u8" in lines[0] and ".xspf" in lines[0], r.output
    assert not (tmp_path / name).exists()
    r = runner.invoke(app, ["recommend", str(odd_names / "high" / "high0.wav"), "-n", "3", "-o",
                            str(tmp_path / name), "--format", "m3u8"])
    assert r.exit_code == 0 and (tmp_path / name).exists()  # an explicit --format says what is meant
    record(f"`recommend -o {name}` (no --format)", "exit 2: " + lines[0].split(": ", 2)[-1][:100])


def test_duplicates_and_tables_print_no_escapes_newlines_or_overrides(odd_names, record):
    r = runner.invoke(app, ["stats", str(odd_names), "--duplicates"])
    assert r.exit_code == 0, r.output
    assert "same recording" in r.output
    for bad in ("\x1b", "\u202e", "new\nline"):
        assert bad not in r.output, (bad, r.output)
    dup_lines = [line for line in r.output.splitlines() if "same recording" in line]
    assert len(dup_lines) == 3 and all("=" in line for line in dup_lines), r.output
    for cmd in (["similar", str(odd_names / "low" / "low2.wav"), "-n", "14"],
                ["recommend", str(odd_names / "low" / "low1.wav"), "-n", "14", "--max-per-album", "0"]):
        r = runner.invoke(app, cmd)
        assert r.exit_code == 0 and "\x1b" not in r.output and "\u202e" not in r.output, r.output
    record("`stats --duplicates`, `similar`, `recommend` with names holding ESC sequences, a newline and U+202E",
           "one line per duplicate group; control characters and overrides shown as '?'")


def test_every_bidi_control_is_neutralised_in_names_and_playlist_lines(tmp_path):
    from genrerec.playlists.m3u import write_m3u
    from genrerec.safety import clean_tag, display, one_line

    controls = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    for c in controls:
        assert display(f"a{c}b") == "a?b" and clean_tag(f"A{c}B") == "A B" and not one_line(f"a{c}b.wav"), ascii(c)
    text = write_m3u(tmp_path / "p.m3u8", [tmp_path / "x.wav"], titles=["T" + controls + "U"]).read_text()
    assert not any(c in text for c in controls)
