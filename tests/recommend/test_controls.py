"""Playlist controls (durations, excluded tags and genres, album cap, no repeats)
on a synthetic catalog where each control has tracks to act on."""

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from genrerec.library.catalog import Catalog
from genrerec.recommend.controls import ALBUM_FOLDER_MAX, EXCLUDE_TAG_SCORE, Controls
from genrerec.recommend.recommender import Recommender
from genrerec.recommend.results import RecommendError

GENRES = ["jazz", "metal", "pop", "rock"]
TAGS = ["calm", "party", "guitar", "piano", "loud", "dark"]
ALBUMS, PER_ALBUM = 4, 6  # per genre


def make_controls_library(tmp_path: Path, seed: int = 0) -> Path:
    """Per genre 4 albums of 6 tracks in <genre>/album<k>/ (albums 0-1 tagged, 2-3 only
    by folder); durations 20 s to 20 min; every third jazz track scores high on
    'calm'; every fourth track's genre tag says Christmas."""
    rng = np.random.default_rng(seed)
    root = tmp_path / "lib"
    cat = Catalog(root / ".genrerec" / "catalog.sqlite")
    centers = rng.standard_normal((len(GENRES), 16)) * 2
    with cat.transaction():
        cat.set_meta("library", str(root))
        cat.set_meta("model_id", "synthetic")
        cat.set_meta("genres", GENRES)
        cat.set_meta("tags", TAGS)
        n = 0
        for gi, g in enumerate(GENRES):
            for a in range(ALBUMS):
                for i in range(PER_ALBUM):
                    rel = f"{g}/album{a}/{g}{a}{i}.mp3"
                    (root / rel).parent.mkdir(parents=True, exist_ok=True)
                    (root / rel).write_bytes(b"x")
                    e = centers[gi] + rng.uniform(0.3, 1.2) * rng.standard_normal(16)
                    p = np.exp(np.eye(4)[gi] * 3 + 0.5 * rng.standard_normal(4))
                    tags = np.array([0.01, 0.1 + 0.01 * i, 0.12, 0.11, 0.1, 0.13], np.float32)
                    if g == "jazz" and n % 3 == 0:
                        tags[0] = 0.6
                    file_tags = {"artist": f"Artist {g} {i}", "title": f"T{n}"}
                    if a < 2:
                        file_tags["album"] = f"{g.title()} Album {a}"
                    if n % 4 == 0:
                        file_tags["genre"] = "Christmas; Pop"
                    cat.upsert(os.fsencode(rel), 1, 1, rel, status="ok", duration=float(20 + 60 * (n % 20)),
                               tags=file_tags, model_id="synthetic", genres=p / p.sum(),
                               embedding=e / np.linalg.norm(e), tag_scores=tags)
                    n += 1
    cat.close()
    return root


@pytest.fixture
def rec(tmp_path):
    r = Recommender.open(make_controls_library(tmp_path))
    yield r
    r.close()


def jazz(rec, k=4):
    return [rec.root / "jazz" / "album0" / f"jazz0{i}.mp3" for i in range(k)]


def test_durations_bound_every_pick(rec):
    free = rec.recommend(jazz(rec), n=15, seed=1)
    assert any(not 100 <= rec.info[r.track_id].duration <= 500 for r in free)  # the control has work to do
    for recs in (rec.recommend(jazz(rec), n=15, seed=1, min_duration=100, max_duration=500),
                 rec.similar(jazz(rec)[0], 15, min_duration=100, max_duration=500),
                 rec.path(jazz(rec)[0], rec.root / "jazz/album3/jazz35.mp3", 8, min_duration=100, max_duration=500)):
        middle = recs[1:-1] if recs[0].because is None and recs[0].score == 1.0 else recs
        assert middle and all(100 <= rec.info[r.track_id].duration <= 500 for r in middle)


def test_exclude_tag_by_model_score(rec):
    calm = {int(rec.ids[r]) for r in np.flatnonzero(rec.tag_vectors[:, 0] >= EXCLUDE_TAG_SCORE)}
    free = rec.recommend(jazz(rec), n=18, temperature=0)
    assert calm & {r.track_id for r in free}
    got = rec.recommend(jazz(rec), n=18, temperature=0, exclude_tags=["Calm"])
    assert len(got) == 18 and not calm & {r.track_id for r in got}


def test_exclude_tag_by_the_files_genre_tag(rec):
    xmas = {tid for tid, g in rec.genre_tags.items() if "christmas" in g.casefold()}
    assert xmas & {r.track_id for r in rec.recommend(jazz(rec), n=18, temperature=0)}
    for recs in (rec.recommend(jazz(rec), n=18, temperature=0, exclude_tags=["christmas"]),
                 rec.similar(jazz(rec)[0], 18, exclude_tags=["christmas"])):
        assert recs and not xmas & {r.track_id for r in recs}


def test_exclude_genre_by_the_models_top_genre(rec):
    got = rec.recommend(jazz(rec), n=20, temperature=0, exclude_genres=["jazz"])
    assert len(got) == 20 and all(next(iter(r.genres)) != "jazz" for r in got)


def test_max_per_album_spreads_picks_and_defaults_to_two(rec):
    def spread(recs):
        return Counter(rec.album_of[r.track_id] for r in recs)

    assert max(spread(rec.similar(jazz(rec)[0], 8, max_per_album=None)).values()) > 2
    assert max(spread(rec.similar(jazz(rec)[0], 8)).values()) <= 2  # default 2
    got = rec.recommend(jazz(rec), n=10, temperature=0, max_per_album=1, max_per_artist=None)
    assert len(got) == 10 and max(spread(got).values()) == 1
    assert {"tag:jazz album 1", "dir:jazz/album2"} <= set(spread(rec.similar(jazz(rec)[0], 12)))


def test_max_per_album_is_soft_when_the_library_runs_out(rec):
    got = rec.recommend(jazz(rec), n=90, temperature=0, max_per_album=1)
    assert len(got) == 90  # 96 tracks - 4 in the history, more than one per album


def test_not_in_never_repeats_an_earlier_playlist(rec):
    first = rec.recommend(jazz(rec), n=10, seed=3)
    second = rec.recommend(jazz(rec), n=10, seed=3, not_in=[r.track_id for r in first])
    assert len(second) == 10 and not {r.track_id for r in first} & {r.track_id for r in second}
    assert rec.recommend(jazz(rec), n=10, seed=3) == first  # without it the same seed repeats itself


def test_path_keeps_its_ends_under_controls(rec):
    a, b = jazz(rec)[1], rec.root / "jazz/album3/jazz35.mp3"
    free = rec.path(a, b, 8)[1:-1]
    assert max(Counter(rec.album_of[r.track_id] for r in free).values()) > 1
    got = rec.path(a, b, 8, max_per_album=1, not_in=[rec.resolve(a), rec.resolve(b)])
    assert got[0].path == a and got[-1].path == b  # the ends stay, even when listed in not_in
    inner = got[1:-1]
    assert inner and max(Counter(rec.album_of[r.track_id] for r in inner).values()) == 1
    calm = {int(rec.ids[r]) for r in np.flatnonzero(rec.tag_vectors[:, 0] >= EXCLUDE_TAG_SCORE)}
    assert calm & {r.track_id for r in free}
    assert not calm & {r.track_id for r in rec.path(a, b, 8, exclude_tags=["calm"])[1:-1]}


def test_a_big_untagged_folder_is_not_an_album_nor_the_library_folder(tmp_path):
    from genrerec.recommend.controls import album_keys

    rels = [f"big/{i}.mp3".encode() for i in range(ALBUM_FOLDER_MAX + 1)] + [b"small/1.mp3", b"top.mp3"]
    keys = album_keys(range(len(rels)), rels, {0: "Tagged"})
    assert keys[0] == "tag:tagged" and 1 not in keys and keys[len(rels) - 2] == "dir:small" and len(rels) - 1 not in keys


@pytest.mark.parametrize("kw, word", [({"min_duration": -1}, "min_duration"), ({"max_duration": "long"}, "max_duration"),
                                      ({"min_duration": 300, "max_duration": 100}, "above"),
                                      ({"max_per_album": 0}, "max_per_album"), ({"exclude_tags": [""]}, "exclude_tags")])
def test_bad_controls_say_which(rec, kw, word):
    with pytest.raises(RecommendError, match=word):
        rec.recommend(jazz(rec), n=5, **kw)


def test_unmatched_names_are_reported(rec):
    assert Controls(exclude_tags=("calm", "christmas", "kazoo"), exclude_genres=("polka",)).unmatched(rec) == [
        "kazoo", "polka"]
