"""What the commands show for a track: its style tags first, then the calibrated genre call,
which may be "uncertain" (v3) — in classify, the playlist tables, profile and stats."""

import dataclasses
import json
import os

import numpy as np
import pytest
from typer.testing import CliRunner

from genrerec.cli.common import app
from genrerec.library.catalog import Catalog
from genrerec.models.space import UNCERTAIN
from tests.conftest import write_audio

runner = CliRunner()
GENRES = ["rock", "ambient"]
TAGS = ["guitar", "00s", "chillout", "Hip-Hop"]  # raw MSD-style names: "00s" is a decade, never shown


def make_called_library(root):
    """rock/rockN.mp3: called "rock", tagged guitar; calm/calmN.mp3: called "uncertain" (nearest: ambient),
    tagged 00s (a decade: not shown), then chillout and Hip-Hop."""
    cat = Catalog(root / ".genrerec" / "catalog.sqlite")
    rng = np.random.default_rng(0)
    with cat.transaction():
        cat.set_meta("library", str(root))
        cat.set_meta("model_id", "synthetic")
        cat.set_meta("genres", GENRES)
        cat.set_meta("tags", TAGS)
        for kind, label, genres, tags in (("rock", "rock", [0.91, 0.09], [0.9, 0.1, 0.2, 0.1]),
                                          ("calm", UNCERTAIN, [0.45, 0.55], [0.1, 0.9, 0.8, 0.7])):
            centre = rng.standard_normal(16) * 3
            for i in range(5):
                rel = f"{kind}/{kind}{i}.mp3"
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_bytes(b"x")
                e = centre + 0.3 * rng.standard_normal(16)
                cat.upsert(os.fsencode(rel), 1, 1, rel, status="ok", duration=60.0, model_id="synthetic",
                           tags={"artist": f"{kind.title()} Band", "title": f"{kind} {i}"},
                           genres=np.array(genres, np.float32),
                           embedding=e / np.linalg.norm(e), tag_scores=np.array(tags, np.float32), label=label)
    cat.close()
    return root


@pytest.fixture
def called(tmp_path):
    return make_called_library(tmp_path / "music")


def test_recommend_shows_tags_first_then_the_call_and_uncertain(called):
    r = runner.invoke(app, ["recommend", str(called / "calm" / "calm0.mp3"), "-n", "4",
                            "-t", "0", "--max-per-artist", "0"], env={"COLUMNS": "160"})
    assert r.exit_code == 0, r.output
    rows = [line.split("│") for line in r.stdout.splitlines() if line.startswith("│")]
    calm = [row[4].strip() for row in rows if "Calm Band" in row[2]]
    assert calm and set(calm) == {"chillout, hip-hop · uncertain"}, r.stdout  # no decade tag, no percentage
    assert "tags · genre" in r.stdout
    got = json.loads(runner.invoke(app, ["recommend", str(called / "rock" / "rock0.mp3"), "-n", "3", "-t", "0",
                                         "--max-per-artist", "0", "--max-per-album", "0", "--json"]).stdout)
    assert [p["genre"] for p in got] == ["rock"] * 3 and all("genres" in p and "tags" in p for p in got)


def test_a_confident_call_shows_its_probability_after_the_tags(called):
    r = runner.invoke(app, ["similar", str(called / "rock" / "rock0.mp3"), "-n", "3"], env={"COLUMNS": "160"})
    assert r.exit_code == 0, r.output
    assert "guitar, chillout · rock 91%" in r.stdout


def test_a_narrow_terminal_drops_tags_before_the_call(called):
    r = runner.invoke(app, ["similar", str(called / "calm" / "calm0.mp3"), "-n", "3"], env={"COLUMNS": "50"})
    assert r.exit_code == 0, r.output
    assert "uncertain" in r.stdout  # the genre call is always shown


def test_stats_counts_uncertain_as_its_own_row(called):
    got = json.loads(runner.invoke(app, ["stats", str(called), "--json"]).stdout)
    assert got["genres"] == {"rock": 5, "ambient": 0, UNCERTAIN: 5}
    r = runner.invoke(app, ["stats", str(called)])
    assert r.exit_code == 0 and any(line.split()[:1] == [UNCERTAIN] and line.split()[-1] == "5"
                                    for line in r.stdout.splitlines()), r.stdout


def test_profile_names_tastes_by_tags_first(called):
    for track, name in (("calm/calm0.mp3", "chillout, hip-hop · ambient/rock"),
                        ("rock/rock1.mp3", "guitar, chillout · rock/ambient")):
        r = runner.invoke(app, ["profile", str(called / track)])
        assert r.exit_code == 0 and f"1 taste(s): 100% {name}" in r.stdout, r.output


def test_classify_shows_tags_then_uncertain_with_the_nearest_genre(tmp_path, tiny_model, monkeypatch):
    import genrerec.models.inference as inference

    def doubtful(paths, **kw):
        return [dataclasses.replace(te, label=UNCERTAIN, nearest_similarity=0.12)
                for te in type(tiny_model).encode(tiny_model, paths, **kw)]

    monkeypatch.setattr(tiny_model, "encode", doubtful)
    monkeypatch.setattr(inference, "load_model", lambda *a, **k: tiny_model)
    f = write_audio(tmp_path / "a.wav", "low", seconds=4)
    got = json.loads(runner.invoke(app, ["classify", str(f), "--json"]).stdout)[str(f)]
    top = next(iter(got["genres"]))
    assert got["genre"] == UNCERTAIN and got["nearest_similarity"] == 0.12 and list(got["genres"])[:1] == [top]
    r = runner.invoke(app, ["classify", str(f), "--v3"], env={"COLUMNS": "120"})  # --v3: accepted, a no-op
    assert r.exit_code == 0, r.output
    assert f"uncertain (nearest: {top} " in r.stdout
