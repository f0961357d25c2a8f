"""`genrerec recommend --artist` (artist radio) and `similar --artist` (similar artists), end to end."""

from collections import Counter

import pytest

from tests.cli.test_mixes import invoke, meta, run_json
from tests.recommend.test_controls import ALBUMS, make_controls_library


@pytest.fixture
def lib(tmp_path):
    return make_controls_library(tmp_path)


def test_artist_radio_leaves_out_the_artist_unless_included(lib):
    db = lib / ".genrerec"
    m = meta(lib)
    got = run_json("recommend", "--artist", "artist jazz 1", "-n", 10, "-t", 0, "--db", db)
    assert len(got) == 10 and all(m[r["path"]][0] != "Artist jazz 1" for r in got)
    assert Counter(next(iter(r["genres"])) for r in got).most_common(1)[0][0] == "jazz"
    own = run_json("recommend", "--artist", "Artist jazz 1", "--include-history", "-n", 30, "-t", 0,
                   "--max-per-album", 0, "--db", db)
    assert 1 <= sum(m[r["path"]][0] == "Artist jazz 1" for r in own) <= 3  # held to --max-per-artist
    r = invoke("recommend", "--artist", "Artist jaz 1", "--db", db)
    assert r.exit_code == 2 and "close names: Artist jazz 1" in r.output and "Traceback" not in r.output


def test_similar_artists(lib):
    db = lib / ".genrerec"
    got = run_json("similar", "--artist", "Artist pop 3", "-n", 4, "--db", db)
    assert [set(a) for a in got] == [{"artist", "score", "tracks"}] * 4
    assert all(a["artist"].startswith("Artist pop") and a["tracks"] == ALBUMS for a in got)
    r = invoke("similar", "--artist", "Artist pop 3", "-n", 4, "--db", db)
    assert r.exit_code == 0 and "artists similar to Artist pop 3" in r.output and got[0]["artist"] in r.output
    for args, says in ((["--artist", "Nobody"], "no artist 'Nobody'"), ([], "give one track"),
                       ([lib / "jazz/album0/jazz00.mp3", "--artist", "x"], "not both"),
                       (["--artist", "Artist pop 3", "--exclude-tag", "calm"], "leave them out")):
        r = invoke("similar", *args, "--db", db)
        assert r.exit_code == 2 and says in r.output and "Traceback" not in r.output, (args, r.output)
