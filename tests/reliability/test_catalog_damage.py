"""Damage inside the catalog, not only in its header (issue 23, item 9): damaged pages,
text that is not UTF-8 in a row, meta values that are not JSON. Every command says in
one line that the catalog is damaged and to run `genrerec index --rebuild`, which moves
the damaged file aside (never deletes it) and indexes the audio again."""

from __future__ import annotations

import os
import sqlite3

import pytest
from typer.testing import CliRunner

from genrerec.cli.common import app
from genrerec.engine.index import index_library

runner = CliRunner()
PAGE = 4096


@pytest.fixture
def indexed(library, tiny_model):
    index_library(library, model=tiny_model, workers=0, show_progress=False)
    return library


def _damage(catalog, how: str) -> None:
    if how == "damaged pages":
        data = bytearray(catalog.read_bytes())
        pages = len(data) // PAGE
        assert pages >= 4, pages
        for page in range(1, pages - 1):  # every page between the header page and the last: b-tree headers gone
            data[page * PAGE:page * PAGE + 12] = b"\xff" * 12
        catalog.write_bytes(bytes(data))
        return
    db = sqlite3.connect(catalog)
    if how == "text that is not UTF-8 in a row":
        db.execute("UPDATE tracks SET title=CAST(x'c328ff' AS TEXT) WHERE id=(SELECT min(id) FROM tracks)")
    else:  # bad JSON in meta
        db.execute("UPDATE meta SET value='{\"oops' WHERE key='model_id'")
    db.commit()
    db.close()


def _one_line(r) -> str:
    text = r.output.strip()
    assert "Traceback" not in text and len(text.splitlines()) == 1, text
    return text


@pytest.mark.parametrize("how", ["damaged pages", "text that is not UTF-8 in a row", "bad JSON in meta"])
def test_damage_inside_the_catalog_is_one_line_and_rebuild_recovers(indexed, tiny_model_path, how, record):
    catalog = indexed / ".genrerec" / "catalog.sqlite"
    _damage(catalog, how)
    track = str(indexed / "low" / "low0.wav")
    model = ["--model", str(tiny_model_path), "--workers", "0"]
    commands = {"stats": ["stats", str(indexed)], "stats --duplicates": ["stats", str(indexed), "--duplicates"],
                "similar": ["similar", track], "recommend": ["recommend", track, "-n", "3"],
                "index": ["index", str(indexed), *model]}
    seen = {}
    for name, args in commands.items():
        r = runner.invoke(app, args)
        if name == "index" and how == "text that is not UTF-8 in a row":
            assert r.exit_code == 0, r.output  # index never reads the titles: nothing for it to stumble on
            continue
        line = _one_line(r)
        assert r.exit_code == 2 and "catalog.sqlite" in line and "damaged" in line, (name, line)
        assert "genrerec index --rebuild" in line and "delete" not in line, line
        seen[name] = line
    damaged = catalog.read_bytes()
    r = runner.invoke(app, ["index", str(indexed), *model, "--rebuild"])
    assert r.exit_code == 0, r.output
    aside = [f for f in os.listdir(indexed / ".genrerec") if f.startswith("catalog.sqlite.damaged-")
             and not f.endswith(("-wal", "-shm"))]
    assert len(aside) == 1 and (indexed / ".genrerec" / aside[0]).read_bytes() == damaged  # kept, untouched
    assert "moved aside" in r.output
    r = runner.invoke(app, ["stats", str(indexed), "--json"])
    assert r.exit_code == 0 and '"tracks": 12' in r.output, r.output
    r = runner.invoke(app, ["similar", track, "-n", "3"])
    assert r.exit_code == 0, r.output
    why = seen["stats"].split("catalog is damaged (", 1)[1].split("); run", 1)[0]
    record(f"catalog with {how}: " + ", ".join(seen),
           f"exit 2, one line: catalog.sqlite: catalog is damaged ({why}); run `genrerec index --rebuild`...; "
           "`index --rebuild` moved it aside (catalog.sqlite.damaged-TIME, byte for byte) and rebuilt 12/12 tracks")


def test_rebuild_refuses_watch(indexed, tiny_model_path):
    r = runner.invoke(app, ["index", str(indexed), "--model", str(tiny_model_path), "--rebuild", "--watch"])
    assert r.exit_code == 2 and "--rebuild" in _one_line(r)
