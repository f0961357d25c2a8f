"""`genrerec mix` and `clusters`, end to end."""

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from genrerec.cli.common import app
from genrerec.playlists.m3u import read_m3u
from genrerec.recommend.recommender import Recommender
from tests.recommend.test_controls import ALBUMS, GENRES, PER_ALBUM, TAGS, make_controls_library

runner = CliRunner()


@pytest.fixture
def lib(tmp_path):
    return make_controls_library(tmp_path)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def run_json(*args):
    r = invoke(*args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def meta(lib):
    with Recommender.open(lib) as rec:
        return {str(rec.path_of(i)): (t.artist, t.duration, rec.album_of.get(i)) for i, t in rec.info.items()}


def test_mix_ranks_by_the_tag_and_takes_the_controls(lib, tmp_path):
    db = lib / ".genrerec"
    top = run_json("mix", "--tag", "calm", "-n", 5, "-t", 0, "--db", db)
    assert len(top) == 5 and all(next(iter(r["tags"])) == "calm" for r in top)
    m = meta(lib)
    got = run_json("mix", "--tag", "calm", "--tag", "piano", "-n", 12, "-t", 0.5, "--seed", 2, "--min-duration",
                   100, "--max-duration", 700, "--max-per-album", 1, "--db", db)
    assert len(got) == 12 and all(100 <= m[r["path"]][1] <= 700 for r in got)
    assert max(Counter(m[r["path"]][2] for r in got).values()) == 1
    assert got == run_json("mix", "--tag", "calm,piano", "-n", 12, "-t", 0.5, "--seed", 2, "--min-duration", 100,
                           "--max-duration", 700, "--max-per-album", 1, "--db", db)
    out = tmp_path / "calm.m3u8"
    r = invoke("mix", "--tag", "calm", "-n", 5, "-t", 0, "-o", out, "--db", db)
    assert r.exit_code == 0, r.output
    assert [str(p) for p in read_m3u(out)] == [x["path"] for x in top]
    playlist = run_json("mix", "--tag", "calm", "-n", 5, "-t", 0, "--not-in", out, "--db", db)
    assert not {x["path"] for x in playlist} & {x["path"] for x in top}


def test_mix_unknown_tag_is_one_line_naming_close_tags(lib):
    r = invoke("mix", "--tag", "clam", "--db", lib / ".genrerec")
    assert r.exit_code == 2
    assert "unknown tag 'clam': nearest known tags: calm" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
    r = invoke("mix", "--db", lib / ".genrerec")
    assert r.exit_code == 2 and "no tag" in r.output
    r = invoke("mix", "--list-tags", "--db", lib / ".genrerec")
    assert r.exit_code == 0 and r.stdout.split() == TAGS


@pytest.mark.parametrize("args, says", [(["-n", "0"], "--n"), (["-t", "-1"], "--temperature"),
                                        (["--min-duration", "9", "--max-duration", "1"], "--min-duration"),
                                        (["--format", "wav"], "--format")])
def test_mix_bad_options_exit_2(lib, args, says):
    r = invoke("mix", "--tag", "calm", *args, "--db", lib / ".genrerec")
    assert r.exit_code == 2 and says in r.output and "Traceback" not in r.output


def test_clusters_write_one_playlist_each(lib, tmp_path):
    out = tmp_path / "groups"
    got = run_json("clusters", "-k", "auto", "-o", out, "--db", lib / ".genrerec", "--seed", 1)
    assert got["k"] == len(GENRES) and set(got["silhouette"]) >= {"2", "3", "4"}
    files = sorted(out.glob("*.m3u8"))
    assert [f.name for f in files] == sorted(c["file"].rsplit("/", 1)[1] for c in got["clusters"])
    assert all(f.name[:3] in {"01-", "02-", "03-", "04-"} for f in files)
    tracks = [p for f in files for p in read_m3u(f)]
    assert len(tracks) == len(set(tracks)) == len(GENRES) * ALBUMS * PER_ALBUM and all(p.is_file() for p in tracks)
    r = invoke("clusters", "-k", 2, "-o", out, "--db", lib / ".genrerec")
    assert r.exit_code == 0 and "2 playlists" in r.output
    assert "older cluster playlists" in r.output  # 03- and 04- from the first run are pointed out, not deleted
    assert set(files) <= set(out.glob("*.m3u8"))  # nothing deleted


@pytest.mark.parametrize("k, says", [("0", "-k must be"), ("lots", "-k must be"), ("1000", "only 96 tracks")])
def test_clusters_bad_k_exits_2(lib, tmp_path, k, says):
    r = invoke("clusters", "-k", k, "-o", tmp_path / "c", "--db", lib / ".genrerec")
    assert r.exit_code == 2 and says in r.output and "Traceback" not in r.output


def test_clusters_output_that_is_a_file_exits_2(lib, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = invoke("clusters", "-o", f, "--db", lib / ".genrerec")
    assert r.exit_code == 2 and "is a file" in r.output
