"""The Ray engine on a local 2-CPU Ray instance: same catalog and index as the
local engine, track for track; a worker killed mid-batch is retried and
nothing is stored twice; missing Ray and unreadable files give clear errors."""

import os
import sys

import numpy as np
import pytest

from genrerec import load_model
from genrerec.engine.base import Job
from genrerec.engine.index import index_library
from genrerec.engine.ray import INSTALL_HINT, Embedder, RayEngine, import_ray
from genrerec.errors import LibraryError
from genrerec.library.catalog import Catalog
from tests.conftest import index_matches_catalog, write_audio


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    root = tmp_path_factory.mktemp("raylib") / "music"
    for i in range(10):
        write_audio(root / ("ab"[i % 2]) / f"t{i}.wav", ("low", "high", "mid")[i % 3], 5.0, seed=i)
    (root / "a" / "broken.wav").write_bytes(b"RIFF....WAVEfmt not really")
    return root


@pytest.fixture(scope="module")
def local_result(lib, tmp_path_factory, tiny_model_path):
    db = tmp_path_factory.mktemp("local")
    summary = index_library(lib, db, load_model(tiny_model_path), workers=0, batch_tracks=2, show_progress=False)
    return summary, rows(db)


def rows(db):
    cat = Catalog(db / "catalog.sqlite", create=False)
    out = {os.fsdecode(r[0]): r[1:] for r in cat.db.execute(
        "SELECT path, status, fingerprint, size, mtime_ns, duration, title, genres, embedding FROM tracks")}
    model_id = cat.get_meta("model_id")
    cat.close()
    assert index_matches_catalog(db, model_id), "index != catalog"
    return out


def assert_same_tracks(got, want):
    assert got.keys() == want.keys()
    for path, (status, fp, size, mtime, dur, title, genres, emb) in want.items():
        g = got[path]
        assert g[:6] == (status, fp, size, mtime, dur, title), path
        if status == "ok":
            np.testing.assert_allclose(np.frombuffer(g[6], np.float32), np.frombuffer(genres, np.float32), atol=1e-5)
            np.testing.assert_allclose(np.frombuffer(g[7], np.float32), np.frombuffer(emb, np.float32), atol=1e-5)


def test_ray_engine_catalog_and_index_equal_the_local_engine(ray_local, lib, local_result, tiny_model_path, tmp_path):
    local_summary, local_rows = local_result
    model = load_model(tiny_model_path)
    s = index_library(lib, tmp_path, model, batch_tracks=2, show_progress=False, engine=RayEngine(workers=2))
    assert (s.indexed, [p for p, _ in s.failed]) == (10, ["a/broken.wav"])
    assert s.failed == local_summary.failed  # the worker's reason, as the local engine words it
    assert_same_tracks(rows(tmp_path), local_rows)
    again = index_library(lib, tmp_path, model, batch_tracks=2, show_progress=False, engine=RayEngine(workers=2))
    assert (again.indexed, again.unchanged, len(again.failed)) == (0, 10, 1)  # incremental: nothing sent to Ray


def test_a_worker_killed_mid_batch_is_retried_and_nothing_is_stored_twice(ray_local, lib, local_result,
                                                                          tiny_model_path, tmp_path, monkeypatch):
    marker = tmp_path / "killed"
    monkeypatch.setenv("GENREREC_FAULT", "decode:3")  # the worker dies on its 3rd track, inside its 2nd batch
    monkeypatch.setenv("GENREREC_FAULT_ONCE", str(marker))
    db = tmp_path / "db"
    s = index_library(lib, db, load_model(tiny_model_path), batch_tracks=2, show_progress=False,
                      engine=RayEngine(workers=2))
    assert marker.exists(), "no worker was killed"
    assert s.indexed == 10 and len(s.failed) == 1
    got = rows(db)
    fps = [r[1] for r in got.values() if r[0] == "ok"]
    assert len(fps) == len(set(fps)) == 10
    assert_same_tracks(got, local_result[1])


def test_a_file_a_worker_cannot_read_is_a_failure_with_the_workers_reason(tiny_model_path, tmp_path):
    ok = write_audio(tmp_path / "ok.wav", "low", 4.0)
    jobs = [Job(b"ok.wav", str(ok), 4), Job(b"gone.wav", str(tmp_path / "gone.wav"), 4)]
    res = Embedder(load_model(tiny_model_path)).embed(jobs)
    assert "error" not in res[0] and res[0]["embedding"].embedding.shape == (load_model(tiny_model_path).embed_dim,)
    assert "cannot read the file on Ray worker" in res[1]["error"] and "shared storage" in res[1]["error"]


def test_without_ray_the_engine_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(LibraryError, match=r"pip install 'genrerec\[ray\]'"):
        import_ray()
    with pytest.raises(LibraryError, match="needs Ray"):
        RayEngine()
    assert "genrerec[ray]" in INSTALL_HINT


def test_cli_without_ray_is_one_line_and_exit_2(monkeypatch, library):
    from typer.testing import CliRunner

    from genrerec.cli.common import app

    monkeypatch.setitem(sys.modules, "ray", None)
    r = CliRunner().invoke(app, ["index", str(library), "--engine", "ray"])
    assert r.exit_code == 2 and "pip install 'genrerec[ray]'" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(app, ["index", str(library), "--address", "auto"])
    assert r.exit_code == 2 and "--address needs --engine ray" in r.output
