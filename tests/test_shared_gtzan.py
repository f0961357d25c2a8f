"""Smoke tests on the real clips in ../shared/gtzan (skipped without them).

The shipped model was trained on these clips, so these are checks that real
MP3s flow through decoding, the model and the index, not evaluations; the
honest held-out numbers are in docs/benchmarks/.
"""

import os

import numpy as np
import pytest

from genrerec import Recommender, index_library, load_model
from tests.conftest import need_shared


@pytest.fixture(scope="module")
def shared():
    return need_shared()


def test_shipped_model_classifies_real_mp3s(shared):
    model = load_model()
    assert len(model.genres) == 10 and model.features.sample_rate == 16000
    clips = [sorted((shared / g).glob("*.mp3"))[0] for g in model.genres]
    hits = [next(iter(model.classify(c))) == c.parent.name for c in clips]
    assert np.mean(hits) >= 0.8, hits


def test_index_and_recommend_on_real_clips(shared, tmp_path):
    lib = tmp_path / "lib"
    for g in ("classical", "metal", "jazz", "hiphop"):
        (lib / g).mkdir(parents=True)
        for c in sorted((shared / g).glob("*.mp3"))[:4]:
            os.symlink(c, lib / g / c.name)  # link, never copy, the shared audio (hence follow_external_links)
    s = index_library(lib, tmp_path / "db", show_progress=False, follow_external_links=True)
    assert s.total_ok == 16 and not s.failed
    with Recommender.open(tmp_path / "db") as rec:
        recs = rec.recommend([lib / "metal" / sorted(os.listdir(lib / "metal"))[0]], n=3, temperature=0,
                            max_per_album=None)  # a genre folder is no album: no album spacing here
        assert [r.path.parent.name for r in recs] == ["metal"] * 3
