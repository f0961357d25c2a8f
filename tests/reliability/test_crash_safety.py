"""SIGKILL the indexer at exact points (scan, decode, inference, inside the
commit, between index and meta writes) and at seeded random points of runs in a row; after each
kill the catalog and FAISS index agree, finished tracks are kept, nothing is
indexed twice, and the finished result equals an uninterrupted run."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from genrerec import load_model
from genrerec.engine.index import index_library
from genrerec.library.catalog import Catalog
from tests.conftest import index_matches_catalog, write_audio

REPO = Path(__file__).resolve().parents[2]
RUNNER = textwrap.dedent("""
    import sys
    from genrerec import load_model
    from genrerec.engine.index import index_library
    engine = None
    if sys.argv[5:]:  # the address of a running Ray cluster: the Ray engine joins it
        from genrerec.engine.ray import RayEngine
        engine = RayEngine(sys.argv[5], workers=2)
    index_library(sys.argv[1], sys.argv[2], load_model(sys.argv[3]), workers=int(sys.argv[4]), batch_tracks=2,
                  show_progress=False, engine=engine)
""")
# (stage, n): die the n-th time the stage is reached; 10 tracks in batches of 2
STAGED = [("scan", 1), ("decode", 1), ("decode", 2), ("decode", 4), ("decode", 7), ("decode", 10),
          ("infer", 1), ("infer", 2), ("infer", 3), ("infer", 5), ("commit", 1), ("commit", 2), ("commit", 3),
          ("commit", 4), ("commit", 5), ("save-index", 1)]


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash") / "music"
    for i in range(10):
        write_audio(root / ("ab"[i % 2]) / f"t{i}.wav", ("low", "high", "mid")[i % 3], 5.0, seed=i)
    return root


@pytest.fixture(scope="module")
def reference(lib, tmp_path_factory, tiny_model_path):
    db = tmp_path_factory.mktemp("ref")
    index_library(lib, db, load_model(tiny_model_path), workers=0, show_progress=False)
    return snapshot(db)


def snapshot(db: Path) -> dict[str, bytes]:
    cat = Catalog(db / "catalog.sqlite", create=False)
    rows = cat.db.execute("SELECT path, embedding, fingerprint FROM tracks WHERE status='ok'").fetchall()
    fps = [r[2] for r in rows]
    assert len(fps) == len(set(fps)), "a track is indexed twice"
    model_id = cat.get_meta("model_id")
    cat.close()
    if model_id:
        assert index_matches_catalog(db, model_id), "index != catalog"
    return {os.fsdecode(r[0]): r[1] for r in rows}


def run_indexer(lib, db, model, workers=0, fault=None, kill_after=None, ray_address=None):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if fault:
        env["GENREREC_FAULT"] = fault
    args = [str(lib), str(db), str(model), str(workers)] + ([ray_address] if ray_address else [])
    p = subprocess.Popen([sys.executable, "-c", RUNNER, *args], env=env, cwd=REPO, stderr=subprocess.PIPE, text=True)
    if kill_after is not None:
        time.sleep(kill_after)
        p.send_signal(signal.SIGKILL)
    _, err = p.communicate(timeout=300)
    return p.returncode, err


def check_after_kill(db, before):
    if not (db / "catalog.sqlite").exists():
        return {}
    after = snapshot(db)
    for path, emb in before.items():  # finished work survives, unchanged
        assert after.get(path) == emb, f"lost or changed {path}"
    return after


@pytest.mark.parametrize("stage,n", STAGED, ids=[f"{s}-{n}" for s, n in STAGED])
def test_kill_at_stage_then_resume(lib, reference, tiny_model_path, tmp_path, stage, n, record):
    db = tmp_path / "db"
    rc, err = run_indexer(lib, db, tiny_model_path, fault=f"{stage}:{n}")
    assert rc == -signal.SIGKILL, err[-2000:]
    partial = check_after_kill(db, {})
    index_library(lib, db, load_model(tiny_model_path), workers=0, show_progress=False)
    final = check_after_kill(db, partial)
    assert final.keys() == reference.keys()
    for k in final:
        np.testing.assert_allclose(np.frombuffer(final[k], np.float32), np.frombuffer(reference[k], np.float32),
                                   atol=1e-5)
    record(f"SIGKILL at {stage} #{n}", f"{len(partial)}/10 tracks kept after the kill; rerun completed, "
                                      "catalog = index = uninterrupted run")


def test_random_kills_in_a_row_with_worker_processes(tiny_model_path, tmp_path, record):
    """Runs SIGKILLed in a row at seeded random points (the k-th inference or commit of that
    run, k drawn from 1-6; 60 tracks in batches of 2 = 30 of each per whole run), each resumed
    by the next. Points, not wall-clock moments: a timed kill missed the run entirely when the
    machine's load changed between the timing run and the kills."""
    lib = tmp_path / "big"
    for i in range(60):
        write_audio(lib / f"d{i % 4}" / f"t{i}.wav", ("low", "high", "mid")[i % 3], 6.0, seed=100 + i)
    ref_db = tmp_path / "ref"
    assert run_indexer(lib, ref_db, tiny_model_path, workers=2)[0] == 0
    reference = snapshot(ref_db)
    db = tmp_path / "db"
    rng = random.Random(1234)
    done, kills, sizes, points = {}, 0, [], []
    for attempt in range(10):
        point = f"{rng.choice(['infer', 'commit'])}:{rng.randint(1, 6)}"
        rc, err = run_indexer(lib, db, tiny_model_path, workers=2, fault=point)
        if rc == 0:
            break
        assert rc == -signal.SIGKILL, err[-2000:]
        kills += 1
        points.append(point)
        done = check_after_kill(db, done)
        sizes.append(len(done))
    rc, err = run_indexer(lib, db, tiny_model_path, workers=2)
    assert rc == 0, err[-2000:]
    final = check_after_kill(db, done)
    assert final.keys() == reference.keys()
    for k in final:
        np.testing.assert_allclose(np.frombuffer(final[k], np.float32), np.frombuffer(reference[k], np.float32),
                                   atol=1e-5)
    assert kills >= 4, "too few runs were killed mid-way to test anything"
    assert sizes == sorted(sizes) and 0 < sizes[-1] < len(reference), sizes  # each kill kept the work before it
    record(f"{kills} SIGKILLs in a row at seeded random points ({', '.join(points)}), 2 worker processes, "
           "60 tracks", f"tracks kept after each kill: {sizes}; final catalog = uninterrupted run")


@pytest.mark.parametrize("n", [2, 4])
def test_ray_driver_killed_mid_run_loses_only_uncommitted_batches(ray_local, lib, reference, tiny_model_path,
                                                                  tmp_path, record, n):
    """The driver (the process that commits) SIGKILLed inside its n-th commit, its
    Ray workers still busy; the rerun on the same cluster resumes."""
    from genrerec.engine.ray import RayEngine

    db = tmp_path / "db"
    address = ray_local.get_runtime_context().gcs_address
    rc, err = run_indexer(lib, db, tiny_model_path, fault=f"commit:{n}", ray_address=address)
    assert rc == -signal.SIGKILL, err[-2000:]
    partial = check_after_kill(db, {})
    assert len(partial) == 2 * (n - 1)  # the committed batches, not the one in flight
    s = index_library(lib, db, load_model(tiny_model_path), batch_tracks=2, show_progress=False,
                      engine=RayEngine(workers=2))
    assert s.indexed == 10 - len(partial)  # only what was lost is embedded again
    final = check_after_kill(db, partial)
    assert final.keys() == reference.keys()
    for k in final:
        np.testing.assert_allclose(np.frombuffer(final[k], np.float32), np.frombuffer(reference[k], np.float32),
                                   atol=1e-5)
    record(f"Ray engine: driver SIGKILLed at commit #{n}", f"{len(partial)}/10 tracks kept; rerun on the same "
           "cluster embedded only the rest; catalog = index = uninterrupted run")
