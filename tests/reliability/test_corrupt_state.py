"""Damaged or foreign state files give a clear message; a damaged FAISS index
is rebuilt from an intact catalog automatically."""

import json
import sqlite3

import pytest
import torch
from typer.testing import CliRunner

from genrerec.cli.common import app
from genrerec.engine.index import index_library
from genrerec.library.catalog import Catalog, CatalogError
from genrerec.models.checkpoint import CheckpointError, load_checkpoint
from genrerec.recommend.recommender import Recommender

runner = CliRunner()


@pytest.fixture
def indexed(library, tiny_model):
    index_library(library, model=tiny_model, workers=0, show_progress=False)
    return library


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "deleted", "stale-meta"])
def test_faiss_index_damage_is_rebuilt(indexed, damage, record):
    f = indexed / ".genrerec" / "index.faiss"
    if damage == "garbage":
        f.write_bytes(b"\x00garbage" * 100)
    elif damage == "truncated":
        f.write_bytes(f.read_bytes()[:200])
    elif damage == "empty":
        f.write_bytes(b"")
    elif damage == "deleted":
        f.unlink()
    else:
        m = indexed / ".genrerec" / "index.json"
        m.write_text(json.dumps({**json.loads(m.read_text()), "generation": -5}))
    with Recommender.open(indexed) as rec:
        assert len(rec.index) == 12
        assert len(rec.recommend([indexed / "low" / "low0.wav"], n=5)) == 5
    assert f.stat().st_size > 1000  # rebuilt and saved
    record(f"FAISS index {damage}", "rebuilt from the catalog on open; recommendations work")


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_damaged_catalog_is_a_clear_error(indexed, damage, tiny_model_path, record):
    f = indexed / ".genrerec" / "catalog.sqlite"
    for side in ("-wal", "-shm"):
        (f.parent / (f.name + side)).unlink(missing_ok=True)
    f.write_bytes(b"this is not sqlite" * 200 if damage == "garbage" else f.read_bytes()[:1500])
    with pytest.raises(CatalogError, match="damaged|not a genrerec catalog"):
        Recommender.open(indexed)
    r = runner.invoke(app, ["stats", str(indexed)])
    assert r.exit_code == 2 and "catalog" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["index", str(indexed), "--model", str(tiny_model_path), "--workers", "0"])
    assert r.exit_code == 2 and "genrerec index --rebuild" in r.output and "delete" not in r.output
    record(f"catalog {damage}", r.output.strip().replace("\n", " "))


def test_newer_catalog_schema(indexed, record):
    f = indexed / ".genrerec" / "catalog.sqlite"
    db = sqlite3.connect(f)
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(CatalogError, match="newer than this genrerec"):
        Catalog(f, create=False)
    r = runner.invoke(app, ["stats", str(indexed)])
    assert r.exit_code == 2 and "upgrade genrerec" in r.output
    record("catalog from a newer schema version", r.output.strip().replace("\n", " "))


@pytest.mark.parametrize("kind", ["garbage", "plain-state-dict", "other-model-weights", "truncated"])
def test_bad_checkpoints(tmp_path, tiny_model_path, library, kind, record):
    p = tmp_path / "bad.pt"
    if kind == "garbage":
        p.write_bytes(b"GIF89a" + bytes(500))
    elif kind == "plain-state-dict":
        torch.save({"conv.weight": torch.zeros(3)}, p)
    elif kind == "truncated":
        p.write_bytes(tiny_model_path.read_bytes()[:3000])
    else:
        raw = torch.load(tiny_model_path, weights_only=True)
        raw["dims"]["kind"] = "resnet18"
        torch.save(raw, p)
    with pytest.raises(CheckpointError):
        load_checkpoint(p).build()
    r = runner.invoke(app, ["index", str(library), "--model", str(p), "--workers", "0"])
    assert r.exit_code == 2 and str(p) in r.output.replace("\n", "") or "do not fit" in r.output
    assert "Traceback" not in r.output
    record(f"checkpoint: {kind}", r.output.strip().replace("\n", " "))
