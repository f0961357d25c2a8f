"""The playlist-control options on recommend, similar and path, end to end."""

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from genrerec.cli.common import app
from genrerec.recommend.recommender import Recommender
from tests.recommend.test_controls import make_controls_library

runner = CliRunner()


@pytest.fixture
def lib(tmp_path):
    return make_controls_library(tmp_path)


def run_json(*args):
    r = runner.invoke(app, [*map(str, args), "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def info(lib):
    with Recommender.open(lib) as rec:
        return {str(rec.path_of(i)): (t.duration, rec.album_of.get(i), rec.genre_tags.get(i, ""))
                for i, t in rec.info.items()}


def test_duration_tag_and_album_options_on_all_three_commands(lib):
    meta = info(lib)
    a, b = lib / "jazz/album0/jazz01.mp3", lib / "jazz/album3/jazz35.mp3"
    opts = ["--min-duration", 100, "--max-duration", 700, "--exclude-tag", "christmas", "--max-per-album", 1]
    for cmd in (["recommend", a, "-n", 12, "-t", 0], ["similar", a, "-n", 12], ["path", a, b, "-n", 8]):
        free = run_json(*cmd, "--db", lib / ".genrerec")
        got = run_json(*cmd, *opts, "--db", lib / ".genrerec")
        if cmd[0] == "path":
            free, got = free[1:-1], got[1:-1]
        assert any("Christmas" in meta[r["path"]][2] or not 100 <= meta[r["path"]][0] <= 700 for r in free), cmd
        assert got and all(100 <= meta[r["path"]][0] <= 700 and "Christmas" not in meta[r["path"]][2]
                           for r in got), cmd
        assert max(Counter(meta[r["path"]][1] for r in got).values()) == 1, cmd


def test_exclude_genre(lib):
    got = run_json("recommend", lib / "jazz/album0/jazz01.mp3", "-n", 10, "--exclude-genre", "JAZZ",
                   "--db", lib / ".genrerec")
    assert len(got) == 10 and all(next(iter(r["genres"])) != "jazz" for r in got)


@pytest.mark.parametrize("suffix", [".m3u8", ".xspf", ".json"])
def test_not_in_reads_every_playlist_format_the_cli_writes(lib, tmp_path, suffix):
    seed = lib / "jazz/album0/jazz01.mp3"
    first = tmp_path / f"first{suffix}"
    r = runner.invoke(app, ["recommend", str(seed), "-n", "10", "--seed", "1", "-o", str(first),
                            "--db", str(lib / ".genrerec")])
    assert r.exit_code == 0, r.output
    a = {x["path"] for x in run_json("recommend", seed, "-n", 10, "--seed", 1, "--db", lib / ".genrerec")}
    b = {x["path"] for x in run_json("recommend", seed, "-n", 10, "--seed", 1, "--not-in", first,
                                     "--db", lib / ".genrerec")}
    assert len(a) == len(b) == 10 and not a & b


def test_filters_that_leave_nothing_say_so(lib):
    r = runner.invoke(app, ["similar", str(lib / "jazz/album0/jazz01.mp3"), "--max-duration", "1",
                            "--db", str(lib / ".genrerec")])
    assert r.exit_code == 2 and "filters" in r.output and "Traceback" not in r.output


def test_unknown_tag_is_a_warning_naming_it(lib):
    r = runner.invoke(app, ["similar", str(lib / "jazz/album0/jazz01.mp3"), "--exclude-tag", "kazoo",
                            "--db", str(lib / ".genrerec")])
    assert r.exit_code == 0 and "kazoo: no track has this tag" in r.stderr


@pytest.mark.parametrize("args, word", [(["--min-duration", "-5"], "--min-duration"),
                                        (["--min-duration", "9", "--max-duration", "3"], "above"),
                                        (["--max-per-album", "-1"], "--max-per-album"),
                                        (["--not-in", "missing.xspf"], "missing.xspf")])
def test_bad_control_values_are_one_line(lib, args, word):
    r = runner.invoke(app, ["similar", str(lib / "jazz/album0/jazz01.mp3"), *args, "--db", str(lib / ".genrerec")])
    assert r.exit_code == 2 and word in r.output and "Traceback" not in r.output
