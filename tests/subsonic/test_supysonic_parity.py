"""Side by side with supysonic: for each browsing endpoint the same client calls both servers on
the same library, and genrerec's objects carry every field the OpenSubsonic spec marks required
that supysonic's carry (field names, not values). How it runs: tests/subsonic/supysonic.py.
Skipped when no supysonic venv is found (.ci/run installs one)."""

from __future__ import annotations

import pytest

from tests.subsonic.supysonic import DOC, END, ENV_VAR, START, TREES, both_servers, compare, supysonic_venv, table

pytest.importorskip("httpx")


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    venv = supysonic_venv()
    if venv is None:
        pytest.skip(f"no supysonic venv ({ENV_VAR}, or ~/.cache/genrerec/venv-supysonic-*; .ci/run installs it)")
    with both_servers(tmp_path_factory.mktemp("parity"), venv) as (ours, theirs):
        yield compare(ours, theirs)


@pytest.mark.parametrize("endpoint", list(TREES))
def test_genrerec_carries_every_required_field_supysonic_carries(rows, endpoint):
    mine = [r for r in rows if r["endpoint"] == endpoint]
    assert mine, f"supysonic answered {endpoint} with nothing to compare"
    for r in mine:
        assert r["genrerec_n"] > 0, f"{endpoint}: supysonic sent {r['type']} objects, genrerec none"
        assert not r["missing"], f"{endpoint} {r['type']}: genrerec lacks {r['missing']}"


def test_the_comparison_sees_real_objects(rows):
    """Not vacuous: supysonic's answers hold songs, albums and artists with required fields."""
    by_type = {r["type"] for r in rows if r["required"]}
    assert {"Child", "AlbumID3", "ArtistID3", "Artist", "Genre", "Playlist", "MusicFolder"} <= by_type


def test_docs_table_is_the_generated_one(rows):
    text = DOC.read_text()
    assert START in text and END in text
    got = START + text.split(START, 1)[1].split(END, 1)[0] + END
    assert got == table(rows), "docs/subsonic.md is out of date: run `python -m tests.subsonic.supysonic`"
