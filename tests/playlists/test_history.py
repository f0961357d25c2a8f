"""Listening history as people give it: `genrerec recommend` usage examples."""

import json

import pytest
from typer.testing import CliRunner

from genrerec.cli.common import app
from genrerec.engine.index import index_library
from genrerec.library.names import track_key
from genrerec.recommend.listens import read_listens
from genrerec.recommend.recommender import Recommender
from tests.conftest import write_audio, write_tagged

runner = CliRunner()


@pytest.fixture
def tagged(tmp_path, tiny_model):
    """Six tagged tracks by three artists (one with accents and a feat. credit) and six plain ones."""
    root = tmp_path / "Müsik Ordner"
    write_tagged(root / "a" / "1.flac", "Björk", "Jóga (feat. Someone)", "low", seed=1)
    write_tagged(root / "a" / "2.flac", "Björk", "Hunter", "low", seed=2)
    write_tagged(root / "b" / "1.flac", "Daft Punk", "Da Funk", "high", seed=3)
    write_tagged(root / "b" / "2.flac", "Daft Punk", "Around the World", "high", seed=4)
    write_tagged(root / "c" / "1.flac", "Portishead", "Roads", "mid", seed=5)
    write_tagged(root / "c" / "2.flac", "Portishead", "Glory Box", "mid", seed=6)
    for kind in ("low", "high", "mid"):
        for i in range(2):
            write_audio(root / "plain" / f"{kind}{i}.wav", kind, seconds=6.0 + i, seed=10 + i)
    index_library(root, model=tiny_model, workers=0, show_progress=False)
    return root


def _recommend(*args):
    r = runner.invoke(app, ["recommend", *map(str, args), "--json", "-t", "0"])
    return r, (json.loads(r.stdout) if r.exit_code == 0 else None)


def test_positional_tracks_and_history_option_with_several_values(tagged):
    a, b = tagged / "a" / "1.flac", tagged / "b" / "1.flac"
    r1, picks1 = _recommend(a, b, "-n", 4)
    r2, picks2 = _recommend("-H", a, b, "-n", 4)
    r3, picks3 = _recommend("-H", a, "-H", b, "-n", 4)
    assert r1.exit_code == r2.exit_code == r3.exit_code == 0, r1.output + r2.output + r3.output
    assert picks1 == picks2 == picks3 and len(picks1) == 4


def test_a_folder_means_all_its_indexed_tracks(tagged):
    r, picks = _recommend(tagged / "plain", "-n", 6)
    assert r.exit_code == 0, r.output
    assert not any("/plain/" in p["path"] for p in picks)  # the folder's tracks are the history


def test_stale_playlist_entries_are_skipped_with_one_warning(tagged, tmp_path):
    m3u = tmp_path / "old playlist.m3u"
    m3u.write_text(f"#EXTM3U\n{tagged / 'a' / '1.flac'}\n{tagged / 'gone.mp3'}\n{tmp_path / 'elsewhere.ogg'}\n")
    r, picks = _recommend("-H", m3u, "--library", tagged, "-n", 3)
    assert r.exit_code == 0 and len(picks) == 3
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning")]
    assert len(warnings) == 1 and "skipped 2" in warnings[0]
    m3u.write_text(f"#EXTM3U\n{tagged / 'gone.mp3'}\n")
    r, _ = _recommend("-H", m3u, "--library", tagged)
    assert r.exit_code == 2 and "no usable track in the history" in r.stderr


def test_listenbrainz_export_matches_by_tags_and_counts_plays(tagged, tmp_path):
    listens = [{"listened_at": 1700000000 + i, "track_metadata": {"artist_name": a, "track_name": t}}
               for i, (a, t) in enumerate([("BJORK", "Joga"), ("björk", "jóga feat. Someone Else")] * 5
                                          + [("Daft Punk", "Da Funk"), ("Not In Library", "Nope")])]
    export = tmp_path / "listens.jsonl"
    export.write_text("\n".join(json.dumps(x) for x in listens) + "\n")
    r = runner.invoke(app, ["profile", "--listens", str(export), "--library", str(tagged), "--json"])
    assert r.exit_code == 0, r.output
    assert "listens: 11 of 12 matched 2 library tracks" in r.stderr
    with Recommender.open(tagged) as rec:
        bjork = rec.resolve(tagged / "a" / "1.flac")
        picks = rec.recommend({bjork: 10, rec.resolve(tagged / "b" / "1.flac"): 1}, n=4, temperature=0)
        assert sum(p.because == tagged / "a" / "1.flac" for p in picks) >= 3  # played 10x: most picks owe it


def test_lastfm_csv_export_with_and_without_header(tmp_path):
    plain = tmp_path / "scrobbles.csv"
    plain.write_text('Björk,Homogenic,Jóga,01 Jan 2024 10:00\n"Daft Punk","Homework","Da Funk","02 Jan 2024"\n')
    assert read_listens(plain) == [("Björk", "Jóga"), ("Daft Punk", "Da Funk")]
    headed = tmp_path / "export.csv"
    headed.write_text("uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid\n"
                      "1,x,Portishead,,Dummy,,Roads,\n")
    assert read_listens(headed) == [("Portishead", "Roads")]
    assert track_key("Björk feat. X", "Jóga (feat. Y)") == track_key("bjork", "JOGA")
    assert track_key("Björk", "Jóga (2011 Remaster)") == track_key("Björk", "Jóga")


def test_avoided_tracks_are_never_returned_and_push_picks_away(tagged):
    with Recommender.open(tagged) as rec:
        low = [rec.resolve(tagged / "plain" / "low0.wav")]
        others = [rec.resolve(p) for p in (tagged / "a" / "1.flac", tagged / "a" / "2.flac")]
        plain = rec.recommend(low, n=5, temperature=0)
        avoided = rec.recommend(low, n=5, temperature=0, avoid=others)
        assert not {p.track_id for p in avoided} & set(others)
        assert {p.track_id for p in plain} & set(others)  # without --avoid they were close enough to pick
    r, picks = _recommend(tagged / "plain" / "low0.wav", "--avoid", tagged / "a" / "1.flac", tagged / "a" / "2.flac",
                          "-n", 5)
    assert r.exit_code == 0 and not any(p["path"].startswith(str(tagged / "a")) for p in picks)


def test_n_larger_than_the_library_says_how_many_were_possible(tagged):
    r, picks = _recommend(tagged / "a" / "1.flac", "-n", 50)
    assert r.exit_code == 0 and len(picks) == 11
    assert "only 11 of 50 tracks possible: the library has 12 usable tracks, 1 in the history" in r.stderr
