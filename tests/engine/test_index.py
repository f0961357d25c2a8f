"""Indexing a library: incremental, resumable, locked, never stopped by a bad file."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from genrerec.engine.index import index_library
from genrerec.errors import LibraryLocked
from genrerec.library.catalog import Catalog
from genrerec.library.location import find_db_dir
from genrerec.library.lock import LibraryLock
from genrerec.library.vectors import VectorIndex, combined_vectors, load_or_rebuild_index
from tests.conftest import index_matches_catalog, write_audio


def _state(db):
    cat = Catalog(db / "catalog.sqlite", create=False)
    ids, rels, g, e = cat.vectors()
    out = {os.fsdecode(r): (int(i), e_) for i, r, e_ in zip(ids, rels, e)}
    cat.close()
    return out


def test_index_then_incremental_changes(library, tiny_model):
    db = library / ".genrerec"
    s = index_library(library, model=tiny_model, workers=0, show_progress=False)
    assert (s.indexed, s.failed, s.total_ok) == (12, [], 12)
    first = _state(db)
    assert index_matches_catalog(db, tiny_model.model_id)

    s = index_library(library, model=tiny_model, workers=0, show_progress=False)
    assert (s.indexed, s.unchanged) == (0, 12)

    write_audio(library / "new" / "n.flac", "high", seconds=5, seed=9)  # add
    write_audio(library / "low" / "low0.wav", "high", seconds=6, seed=7)  # change content
    os.utime(library / "low" / "low0.wav", ns=(1, 1))
    (library / "mid" / "mid3.wav").unlink()  # delete
    os.rename(library / "high" / "high1.wav", library / "high" / "renamed.wav")  # rename
    s = index_library(library, model=tiny_model, workers=0, show_progress=False)
    assert (s.indexed, s.removed, s.moved, s.unchanged) == (2, 1, 1, 9)
    after = _state(db)
    assert "mid/mid3.wav" not in after and "new/n.flac" in after
    assert after["high/renamed.wav"][0] == first["high/high1.wav"][0]  # same id, not re-embedded
    np.testing.assert_array_equal(after["high/renamed.wav"][1], first["high/high1.wav"][1])
    assert not np.allclose(after["low/low0.wav"][1], first["low/low0.wav"][1])
    assert index_matches_catalog(db, tiny_model.model_id)


def test_workers_give_same_result_as_in_process(library, tiny_model, tmp_path):
    index_library(library, tmp_path / "a", model=tiny_model, workers=0, show_progress=False)
    index_library(library, tmp_path / "b", model=tiny_model, workers=2, show_progress=False)
    a, b = _state(tmp_path / "a"), _state(tmp_path / "b")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k][1], b[k][1], atol=1e-5)


def test_bad_files_are_recorded_and_skipped(library, tiny_model):
    (library / "junk.mp3").write_text("not audio at all")
    (library / "empty.flac").write_bytes(b"")
    write_audio(library / "short.wav", "low", seconds=0.5)
    (library / "cover.jpg").write_bytes(b"\xff\xd8\xff")  # not audio: ignored, not a failure
    s = index_library(library, model=tiny_model, workers=0, show_progress=False)
    reasons = dict(s.failed)
    assert s.indexed == 12 and set(reasons) == {"junk.mp3", "empty.flac", "short.wav"}
    assert "empty file" in reasons["empty.flac"] and "too short" in reasons["short.wav"]
    s2 = index_library(library, model=tiny_model, workers=0, show_progress=False)
    assert s2.indexed == 0 and len(s2.failed) == 3  # not retried unless changed


def test_model_change_reembeds_everything(library, tiny_model, tiny_model_path, tmp_path):

    from genrerec import load_model
    from genrerec.models.checkpoint import load_checkpoint, save_checkpoint

    index_library(library, model=tiny_model, workers=0, show_progress=False)
    ck = load_checkpoint(tiny_model_path)
    ck.state_dict = {k: v + 0.01 if v.is_floating_point() else v for k, v in ck.state_dict.items()}
    save_checkpoint(ck, tmp_path / "other.pt")
    s = index_library(library, model=load_model(tmp_path / "other.pt"), workers=0, show_progress=False)
    assert s.indexed == 12


def test_lock_refuses_a_second_run(library, tiny_model):
    db = library / ".genrerec"
    db.mkdir()
    with LibraryLock(db):
        with pytest.raises(LibraryLocked, match="another `genrerec index`"):
            index_library(library, model=tiny_model, workers=0, show_progress=False)


def test_a_second_index_on_a_locked_library_exits_2_like_other_user_errors(library, tiny_model_path):
    from typer.testing import CliRunner

    from genrerec.cli.common import app

    db = library / ".genrerec"
    db.mkdir()
    with LibraryLock(db):
        r = CliRunner().invoke(app, ["index", str(library), "--model", str(tiny_model_path), "--workers", "0"])
    assert r.exit_code == 2 and "another `genrerec index`" in r.output and len(r.output.strip().splitlines()) == 1


def test_symlink_loop_and_git_style_discovery(library, tiny_model):
    os.symlink(library, library / "low" / "loop")
    s = index_library(library, model=tiny_model, workers=0, show_progress=False)
    assert s.total_ok == 12
    assert find_db_dir(library / "low" / "low1.wav") == library / ".genrerec"


def test_stale_or_garbage_index_is_rebuilt_from_catalog(library, tiny_model):
    db = library / ".genrerec"
    index_library(library, model=tiny_model, workers=0, show_progress=False)
    (db / "index.faiss").write_bytes(b"garbage")
    cat = Catalog(db / "catalog.sqlite", create=False)
    vi = load_or_rebuild_index(db, cat, tiny_model.model_id)
    assert len(vi) == 12
    cat.close()


def test_killed_run_resumes_with_nothing_lost(library, tiny_model_path, tmp_path):
    for i in range(8):
        write_audio(library / "more" / f"m{i}.wav", "mid", seconds=6, seed=20 + i)
    code = textwrap.dedent(f"""
        import sys, time
        from genrerec import load_model
        from genrerec.engine.index import index_library
        def tick(n):
            print(n, flush=True)
            time.sleep(0.3)
        index_library({str(library)!r}, model=load_model({str(tiny_model_path)!r}), workers=0, batch_tracks=2,
                      show_progress=False, on_batch=tick)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    seen = []
    for line in proc.stdout:
        seen.append(int(line))
        if len(seen) == 3:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    db = library / ".genrerec"
    partial = _state(db)
    assert len(partial) >= 6  # three committed batches of two survived the kill

    from genrerec import load_model

    model = load_model(tiny_model_path)
    s = index_library(library, model=model, workers=0, show_progress=False)
    assert s.indexed == 20 - len(partial) and s.total_ok == 20
    final = _state(db)
    for k in partial:  # finished work kept, not redone
        assert final[k][0] == partial[k][0]
    assert index_matches_catalog(db, model.model_id)
    index_library(library, tmp_path / "ref", model=model, workers=0, show_progress=False)
    ref = _state(tmp_path / "ref")
    assert ref.keys() == final.keys()
    for k in ref:
        np.testing.assert_allclose(ref[k][1], final[k][1], atol=1e-5)


def test_read_only_library_uses_cache_dir(library, tiny_model, tmp_path, monkeypatch):
    import genrerec.library.location as gl

    monkeypatch.setenv("GENREREC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(gl, "_writable", lambda d: False)
    s = index_library(library, model=tiny_model, workers=0, show_progress=False)
    assert "read-only" in s.note and str(tmp_path / "cache") in s.db_dir
    assert not (library / ".genrerec").exists()
    assert find_db_dir(library / "low") == gl._cache_db_dir(library)


def test_vector_index_api(tmp_path):
    rng = np.random.default_rng(0)
    g, e = rng.dirichlet(np.ones(4), 50), rng.standard_normal((50, 8))
    v = combined_vectors(g, e)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    for kind in ("flat", "hnsw"):
        vi = VectorIndex(v.shape[1], kind)
        vi.add(np.arange(100, 150), v)
        scores, ids = vi.query(v[3], 5)
        assert ids[0, 0] == 103 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
        vi.save(tmp_path / f"{kind}.faiss")
        assert len(VectorIndex.load(tmp_path / f"{kind}.faiss")) == 50
    vi = VectorIndex(v.shape[1], "flat")
    vi.add(np.arange(50), v)
    vi.remove(np.array([3]))
    assert 3 not in vi.query(v[3], 5)[1][0]


def test_a_no_op_reindex_writes_nothing_and_reuses_the_saved_index(library, tiny_model):
    """Nothing changed: the catalog generation stays, the search index is not rebuilt or rewritten;
    a change afterwards is still picked up and the index rebuilt for it."""
    s = index_library(library, model=tiny_model, workers=0, show_progress=False)
    db = find_db_dir(library)
    cat = Catalog(db / "catalog.sqlite", create=False)
    gen = cat.generation
    cat.close()
    stamp = [(db / f).stat().st_mtime_ns for f in ("index.faiss", "index.json")]
    again = index_library(library, model=tiny_model, workers=0, show_progress=False)
    assert (again.indexed, again.unchanged, again.total_ok) == (0, s.indexed, s.total_ok)
    cat = Catalog(db / "catalog.sqlite", create=False)
    assert cat.generation == gen
    cat.close()
    assert [(db / f).stat().st_mtime_ns for f in ("index.faiss", "index.json")] == stamp
    (db / "index.faiss").write_bytes(b"garbage")  # a damaged index is built again, even on a no-op
    index_library(library, model=tiny_model, workers=0, show_progress=False)
    assert index_matches_catalog(db, tiny_model.model_id)
    (library / "low" / "low0.wav").unlink()
    third = index_library(library, model=tiny_model, workers=0, show_progress=False)
    assert third.removed == 1 and third.total_ok == s.total_ok - 1
    assert index_matches_catalog(db, tiny_model.model_id)


def test_a_v2_catalog_is_re_embedded_with_v3_on_the_next_index(library):
    """The default model (v3) on a catalog indexed with v2: every track is embedded again, readers keep
    v2's complete vectors until then, and the catalog records how v3 vectors are compared."""
    from genrerec import Recommender, load_model
    from genrerec.models.space import UNCERTAIN, V3Space

    v2, v3 = load_model("v2"), load_model()
    index_library(library, model=v2, workers=0, show_progress=False)
    with Recommender.open(library) as rec:
        assert rec.model_id == v2.model_id and rec.genre_weight == 0.25 and rec.vectors.shape[1] == 210
    s = index_library(library, model=v3, workers=0, show_progress=False)
    assert s.indexed == 12
    space = V3Space.load()
    with Recommender.open(library) as rec:
        assert rec.model_id == v3.model_id and rec.vectors.shape[1] == int(space.live.sum()) + 10
        assert rec.genre_weight == space.genre_weight and rec.taste_similarity == space.taste_similarity
        assert (rec.taste_rule, rec.taste_min_size) == (space.taste_rule, space.taste_min_size) == ("ward", 3)
        assert set(rec.labels) <= set(rec.genres) | {UNCERTAIN}
        picks = rec.recommend([rec.path_of(int(rec.ids[0]))], n=3, temperature=0)
        assert len(picks) == 3 and all(p.label in set(rec.genres) | {UNCERTAIN} for p in picks)
        feats = rec.catalog.db.execute("SELECT features FROM tracks WHERE status='ok'").fetchall()
    assert len(feats) == 12 and all(len(f[0]) == 2 * 1706 for f in feats)  # float16: vectors rebuild without audio
    assert index_matches_catalog(library / ".genrerec", v3.model_id)


def test_catalogs_from_before_v3_gain_its_columns(tmp_path):
    import re
    import sqlite3

    from genrerec.library import catalog as catalog_mod

    old = re.sub(r",\s*--[^\n]*\n\s*--[^\n]*\n\s*features BLOB.*?label TEXT[^\n]*\n", "\n", catalog_mod._SCHEMA, flags=re.S)
    assert "features" not in old and "label" not in old
    db = sqlite3.connect(tmp_path / "catalog.sqlite")
    db.executescript(old + "INSERT INTO meta VALUES('schema_version', '1'), ('generation', '0');")
    db.close()
    cat = Catalog(tmp_path / "catalog.sqlite")
    cols = {r[1] for r in cat.db.execute("PRAGMA table_info(tracks)")}
    assert {"label", "features"} <= cols
    cat.upsert(b"a.wav", 1, 1, "f", status="ok", model_id="m", genres=np.ones(3), embedding=np.ones(4),
               features=np.ones(5), label="uncertain")
    assert cat.labels() == {1: "uncertain"}
    cat.close()
