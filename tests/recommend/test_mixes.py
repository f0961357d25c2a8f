"""Tag mixes and artists (Recommender.mix / artist_tracks / similar_artists) on the synthetic
controls library: 4 genres x 4 albums x 6 tracks, 'calm' high on every third jazz track."""

from collections import Counter

import numpy as np
import pytest

from genrerec.recommend.recommender import Recommender
from genrerec.recommend.results import DEFAULT_TEMPERATURE, RecommendError
from tests.recommend.test_controls import ALBUMS, make_controls_library


@pytest.fixture
def rec(tmp_path):
    r = Recommender.open(make_controls_library(tmp_path))
    yield r
    r.close()


def calm(rec) -> set[int]:
    col = rec.tag_names.index("calm")
    return {int(rec.ids[r]) for r in np.flatnonzero(rec.tag_vectors[:, col] > 0.5)}


def test_mix_at_temperature_zero_takes_the_top_ranked_tracks(rec):
    got = rec.mix(["CALM"], n=8, temperature=0, max_per_album=None, max_per_artist=None)
    assert len(got) == 8 and {r.track_id for r in got} <= calm(rec)
    assert [r.score for r in got] == sorted((r.score for r in got), reverse=True)
    assert all(list(r.tags)[0] == "calm" for r in got)


def test_mix_temperature_reaches_further_down_and_is_seeded(rec):
    free = dict(max_per_album=None, max_per_artist=None)
    cold = rec.mix("party", n=10, temperature=0, **free)  # 'party' scores 0.10 + 0.01 x the track's number
    hot = rec.mix("party", n=10, temperature=2, seed=3, **free)
    assert hot == rec.mix("party", n=10, temperature=2, seed=3, **free)
    assert {r.score for r in cold} == {0.15}
    assert np.mean([r.score for r in hot]) < np.mean([r.score for r in cold])
    assert rec.mix.__defaults__[1] == DEFAULT_TEMPERATURE == 0.5


def test_several_tags_rank_by_the_geometric_mean(rec):
    s = rec.mix_scores(["calm", "piano"])
    tv = rec.tag_vectors
    expect = np.sqrt(tv[:, rec.tag_names.index("calm")] * tv[:, rec.tag_names.index("piano")])
    assert np.allclose(s, expect, atol=1e-6)
    assert rec.tag_columns(["calm", "Calm", "piano"]) == [0, 3]  # repeats count once


def test_mix_obeys_the_playlist_controls(rec):
    first = rec.mix("calm", n=6, temperature=0)
    got = rec.mix("calm", n=10, temperature=0.5, seed=1, min_duration=100, max_duration=700, max_per_album=1,
                  not_in=[r.track_id for r in first], avoid=[first[0].track_id])
    assert len(got) == 10
    assert all(100 <= rec.info[r.track_id].duration <= 700 for r in got)
    assert not {r.track_id for r in got} & {r.track_id for r in first}
    assert max(Counter(rec.album_of[r.track_id] for r in got).values()) == 1
    assert len({r.track_id for r in rec.mix("calm", n=500, temperature=0)}) == len(rec)  # all, once each


def test_unknown_tag_names_the_nearest_known_ones(rec):
    with pytest.raises(RecommendError, match=r"unknown tag 'clam': nearest known tags: calm"):
        rec.mix(["clam"])
    with pytest.raises(RecommendError, match="at least one tag"):
        rec.mix([])


def test_a_catalog_without_tags_says_to_reindex(rec):
    rec.tag_vectors = None
    with pytest.raises(RecommendError, match="no style/mood tag scores.*v2"):
        rec.mix(["calm"])


def test_artist_tracks_and_close_names(rec):
    tids = rec.artist_tracks("ARTIST JAZZ 1")
    assert len(tids) == ALBUMS and all(rec.info[t].artist == "Artist jazz 1" for t in tids)
    with pytest.raises(RecommendError, match="no artist 'Artist jaz 1' in the library: close names: Artist jazz 1"):
        rec.artist_tracks("Artist jaz 1")


def test_artist_radio_is_a_history_of_the_artists_tracks(rec):
    tids = rec.artist_tracks("artist metal 2")
    got = rec.recommend(tids, n=10, temperature=0)
    assert len(got) == 10 and not {r.track_id for r in got} & set(tids)
    assert Counter(next(iter(r.genres)) for r in got).most_common(1)[0][0] == "metal"


def test_similar_artists_rank_by_the_centroid_cosine(rec):
    got = rec.similar_artists("Artist rock 0", 5)
    assert len(got) == 5 and "Artist rock 0" not in [a.artist for a in got]
    assert [a.score for a in got] == sorted((a.score for a in got), reverse=True)
    assert all(a.tracks == ALBUMS for a in got)
    assert all(a.artist.startswith("Artist rock") for a in got)  # same genre cluster first
    v = rec.vectors[[rec.row_of[t] for t in rec.artist_tracks("Artist rock 0")]].mean(0)
    w = rec.vectors[[rec.row_of[t] for t in rec.artist_tracks(got[0].artist)]].mean(0)
    assert got[0].score == pytest.approx(v @ w / np.linalg.norm(v) / np.linalg.norm(w), abs=1e-4)
