"""The v3 space (genrerec.models.space): standardised vectors, calibrated genres and "uncertain"."""

from __future__ import annotations

import numpy as np
import pytest

from genrerec.models.space import (
    SPACE_FILE,
    UNCERTAIN,
    GenreCall,
    V3Space,
    describe,
    genre_text,
    readable_tag_scores,
    readable_tags,
    style_tags,
    tags_then_genre,
)

GENRES = ["a", "b", "c"]


def toy_space(p_min: float = 0.5, sim_threshold: float = 0.0) -> V3Space:
    rng = np.random.default_rng(0)
    d, e = 6, 4
    anchors = rng.standard_normal((5, d + e))
    return V3Space(np.zeros(d), np.ones(d), np.zeros(e), np.ones(e), 0.5, GENRES, rng.standard_normal((3, d + e)),
                   np.zeros(3), 1.0, p_min, sim_threshold, anchors / np.linalg.norm(anchors, axis=1, keepdims=True),
                   {"reference_corpus": {"gtzan_clips": 5}})


def test_project_gives_unit_vectors_that_spread():
    s = toy_space()
    s.pooled_mean = np.full(6, 3.0)  # the reference corpus's mean: removed before the cosine
    rng = np.random.default_rng(1)
    v = s.project(rng.standard_normal((50, 6)) + 3.0, rng.standard_normal((50, 4)))
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    cos = (v @ v.T)[np.triu_indices(50, 1)]
    assert cos.min() < 0 < cos.max()  # standardised: scores on both sides of 0, not crowded near 1


def test_save_load_round_trip(tmp_path):
    s = toy_space()
    s.save(tmp_path / "s.npz")
    t = V3Space.load(tmp_path / "s.npz")
    assert t.genres == GENRES and t.emb_weight == 0.5 and t.meta["reference_corpus"]["gtzan_clips"] == 5
    x = np.ones((2, 6)), np.ones((2, 4))
    assert np.allclose(s.project(*x), t.project(*x))


def test_load_refuses_other_files(tmp_path):
    np.savez(tmp_path / "x.npz", meta=np.array('{"format": "other"}'))
    with pytest.raises(ValueError, match="not a genrerec space"):
        V3Space.load(tmp_path / "x.npz")


def test_low_top_probability_or_far_track_is_uncertain():
    rng = np.random.default_rng(2)
    pw, ew = rng.standard_normal((4, 6)), rng.standard_normal((4, 4))
    assert toy_space(p_min=1.01).genres_of(pw, ew).uncertain  # no top probability reaches 1.01
    assert toy_space(p_min=0.0, sim_threshold=1.01).genres_of(pw, ew).uncertain  # nothing is that close
    call = toy_space(p_min=0.0, sim_threshold=-1.01).genres_of(pw, ew)
    assert not call.uncertain and call.label in GENRES
    assert abs(sum(call.probs.values()) - 1) < 1e-6 and list(call.probs.values()) == sorted(call.probs.values())[::-1]


def test_style_tags_first_and_readable():
    names = ["Hip-Hop", "00s", "female vocalist", "female vocalists", "Mellow"]
    assert style_tags(np.array([0.9, 0.95, 0.5, 0.4, 0.3]), names) == ["hip-hop", "female vocalists", "mellow"]
    call = GenreCall({"jazz": 0.3, "blues": 0.2}, True, 0.1)
    line = describe(call, np.array([0.9, 0.1, 0.1, 0.1, 0.2]), names, k=2)
    assert line.startswith("hip-hop, ") and "uncertain" in line and call.label == UNCERTAIN


def test_genre_text_shows_the_call_or_uncertain_with_the_nearest_genre():
    assert genre_text("rock", {"rock": 0.912, "metal": 0.05}) == "rock 91%"
    assert genre_text(UNCERTAIN, {"rock": 0.45, "jazz": 0.3}) == "uncertain (nearest: rock 45%)"
    assert genre_text(None, {"jazz": 0.6}) == "jazz 60%"  # no call stored: the top genre
    assert readable_tags(["90s", "Hip-Hop", "hip-hop", "rnb", "Mellow"], 2) == ["hip-hop", "r&b"]
    assert readable_tag_scores({"00s": 0.9, "female vocalist": 0.8, "female vocalists": 0.7, "rock": 0.5}) == {
        "female vocalists": 0.8, "rock": 0.5}
    assert tags_then_genre(["ambient", "chill"], "uncertain") == "ambient, chill · uncertain"
    assert tags_then_genre([], "rock 91%") == "rock 91%"


def _synthetic(kind: str, seconds: float = 12.0, sr: int = 16000) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    if kind == "tone":
        return 0.5 * np.sin(2 * np.pi * 220 * t)
    spec = np.fft.rfft(rng.standard_normal(len(t)))
    spec[1:] /= np.sqrt(np.fft.rfftfreq(len(t), 1 / sr)[1:])
    x = np.fft.irfft(spec, len(t))
    return 0.5 * x / np.abs(x).max()


@pytest.mark.parametrize("kind", ["tone", "pink-noise"])
def test_shipped_space_calls_tones_and_noise_uncertain(kind):
    """Through the real MSD backbone: a sine and pink noise are far from every GTZAN clip."""
    torch = pytest.importorskip("torch")
    from importlib import resources

    if not (resources.files("genrerec") / "assets" / SPACE_FILE).is_file():
        pytest.skip("no shipped v3 space")
    from genrerec.models.checkpoint import load_checkpoint
    from genrerec.models.inference import pretrained_model_path, windows_to_specs

    ck = load_checkpoint(pretrained_model_path("msd"))
    net, feats = ck.build(), ck.features
    n = feats.window_samples
    x = _synthetic(kind)
    wavs = x[: len(x) // n * n].reshape(-1, n).astype(np.float32)
    with torch.no_grad():
        p = net.pooled(torch.from_numpy(windows_to_specs("synthetic", wavs, feats).astype(np.float32)))
        e = net.backend(p)
    call = V3Space.load().genres_of(p.numpy(), e.numpy())
    assert call.uncertain, (kind, call)


def test_classify_puts_tags_first_and_calls_a_tone_uncertain(tmp_path):
    pytest.importorskip("torch")
    import json

    import soundfile as sf
    from typer.testing import CliRunner

    from genrerec.cli import app

    sf.write(tmp_path / "tone.wav", _synthetic("tone", 9.0).astype(np.float32), 16000)
    r = CliRunner().invoke(app, ["classify", "--json", str(tmp_path / "tone.wav")])  # v3: the default
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)[str(tmp_path / "tone.wav")]
    assert got["genre"] == UNCERTAIN and len(got["tags"]) == 5 and 0 <= got["nearest_similarity"] < 1
    assert all(t == t.lower() and t not in ("00s", "90s") for t in got["tags"])  # readable names
    old = CliRunner().invoke(app, ["classify", "--v3", str(tmp_path / "tone.wav")], env={"COLUMNS": "160"})
    assert old.exit_code == 0, old.output  # --v3: still accepted (a no-op) so old scripts keep working
    row = next(line for line in old.stdout.splitlines() if "tone.wav" in line)
    assert row.index(next(iter(got["tags"]))) < row.index("uncertain (nearest: ")  # tags first, then the call


def test_project_embedding_reprojects_stored_unit_embeddings():
    s = toy_space()
    s.emb_mean = np.full(4, 0.45)
    e = np.array([[1.0, 0.9, 1, 1], [1.0, 1, 0.9, 1]])
    v = s.project_embedding(e)
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    raw = (e[0] @ e[1]) / np.linalg.norm(e[0]) / np.linalg.norm(e[1])
    assert v[0] @ v[1] < raw - 0.1  # the shared mean direction is gone: scores spread


def test_dead_features_do_not_blow_up_last_bit_differences():
    """A feature constant over the reference corpus (a dead channel: sd ~ 0) standardises to 0, so the
    last-bit differences between runtimes cannot swamp the vector (1082 of MSD's 1506 are dead)."""
    s = toy_space()
    s.pooled_sd = np.array([1.0, 1.0, 1.0, 1e-12, 1.0, 1.0])
    s.pooled_mean = np.array([0.0, 0.0, 0.0, 0.047, 0.0, 0.0])
    rng = np.random.default_rng(4)
    p, e = rng.standard_normal(6), rng.standard_normal(4)
    p[3] = 0.047
    q = p.copy()
    q[3] += 1e-7  # another runtime's rounding
    assert float(s.project(p, e) @ s.project(q, e)) > 0.999999
    assert s.standardise(q, e)[3] == 0.0


def test_space_digest_changes_with_what_shapes_the_vectors():
    s, t = toy_space(), toy_space()
    assert s.digest() == t.digest()
    t.pooled_sd = t.pooled_sd * 2
    assert s.digest() != t.digest()


def test_vector_drops_only_the_always_zero_coordinates():
    s = toy_space()
    s.pooled_sd = np.array([1.0, 1e-12, 1.0, 1e-12, 1.0, 1.0])
    rng = np.random.default_rng(5)
    p, e = rng.standard_normal((3, 6)), rng.standard_normal((3, 4))
    full, v = s.project(p, e), s.vector(p, e)
    assert v.shape == (3, 8) and np.allclose(full @ full.T, v @ v.T, atol=1e-6)
