import json

import pytest

from genrerec.audio.features import FeatureConfig
from genrerec.training.data import (
    DataError,
    SpecCache,
    block_folds,
    load_split,
    make_split,
    save_split,
    scan_genre_tree,
)
from tests.conftest import write_audio


def _tree(tmp_path, n=10):
    for g in ("rock", "jazz"):
        for i in range(n):
            (tmp_path / g).mkdir(parents=True, exist_ok=True)
            (tmp_path / g / f"{g}.{i:05d}.mp3").write_bytes(b"x")
    return scan_genre_tree(tmp_path)


def test_scan_sorts_by_clip_number(tmp_path):
    clips = _tree(tmp_path, 12)
    assert [c.key for c in clips[:3]] == ["jazz/jazz.00000.mp3", "jazz/jazz.00001.mp3", "jazz/jazz.00002.mp3"]
    assert {c.genre for c in clips} == {"jazz", "rock"}


def test_block_split_keeps_neighbours_together(tmp_path):
    clips = _tree(tmp_path, 20)
    split = make_split(clips, "blocks", val=0.2, test=0.2, seed=3)
    for g in ("rock", "jazz"):
        seq = [split[f"{g}/{g}.{i:05d}.mp3"] for i in range(20)]
        changes = sum(a != b for a, b in zip(seq, seq[1:] + seq[:1]))  # cyclic runs
        assert changes == 3, seq  # one contiguous run per part
        assert seq.count("test") == 4 and seq.count("val") == 4


def test_split_is_seeded_and_saved(tmp_path):
    clips = _tree(tmp_path)
    a, b = make_split(clips, seed=1), make_split(clips, seed=1)
    assert a == b
    save_split(a, tmp_path / "s.json", method="blocks", seed=1)
    assert load_split(tmp_path / "s.json", clips) == a


def test_user_split_without_extensions(tmp_path):
    clips = _tree(tmp_path, 3)
    (tmp_path / "ff.json").write_text(json.dumps({"rock.00000": "test", "jazz.00001": "train"}))
    s = load_split(tmp_path / "ff.json", clips)
    assert s == {"rock/rock.00000.mp3": "test", "jazz/jazz.00001.mp3": "train"}


def test_folds_partition_every_clip_once(tmp_path):
    clips = _tree(tmp_path, 11)
    folds = block_folds(clips, 3)
    tested = [k for f in folds for k, v in f.items() if v == "test"]
    assert sorted(tested) == sorted(c.key for c in clips)


def test_bad_inputs(tmp_path):
    with pytest.raises(DataError, match="not found"):
        scan_genre_tree(tmp_path / "nope")
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "a.wav").write_bytes(b"x")
    with pytest.raises(DataError, match="only one genre"):
        scan_genre_tree(tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        load_split(tmp_path / "bad.json")
    (tmp_path / "bad2.json").write_text(json.dumps({"a": "holdout"}))
    with pytest.raises(DataError, match="unknown split names"):
        load_split(tmp_path / "bad2.json")


def test_spec_cache_hits_without_decoding(tmp_path, monkeypatch):
    p = write_audio(tmp_path / "a.wav", "low", seconds=4)
    cache = SpecCache(FeatureConfig(), tmp_path / "cache")
    first = cache.get(p)
    import genrerec.training.data as data

    monkeypatch.setattr(data, "load_audio", lambda *a, **k: (_ for _ in ()).throw(AssertionError("decoded")))
    again = cache.get(p)
    assert abs(first - again).max() < 0.01  # float16 storage
