"""The catalog folder swapped for a link while `genrerec index` runs (issue 23, item 2):
the run holds the folder open, writes only through that handle, and stops with one
line when the name no longer leads to it; nothing lands in the link's target. A
catalog folder owned by another user is refused, by root too."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

import genrerec.engine.index as index_mod
from genrerec.cli.common import app
from genrerec.engine.index import index_library
from genrerec.errors import LibraryError

runner = CliRunner()


def _swap(library) -> None:
    """What the attacker does: move the catalog folder away and put a link to their folder in its place."""
    db = library / ".genrerec"
    os.rename(db, library.parent / "moved")
    os.symlink(library.parent / "target", db)


@pytest.mark.parametrize("when", ["after the first batch", "before the catalog opens", "before the index is saved"])
def test_catalog_folder_swapped_for_a_link_mid_run_writes_nothing_there(library, tiny_model, tiny_model_path,
                                                                       monkeypatch, when, record):
    target = library.parent / "target"
    target.mkdir()
    on_batch = None
    if when == "after the first batch":
        def on_batch(done, _swapped=[]):
            if not _swapped:
                _swapped.append(_swap(library))
    elif when == "before the catalog opens":
        class SwappingLock(index_mod.LibraryLock):
            def __enter__(self):
                got = super().__enter__()
                _swap(library)
                return got
        monkeypatch.setattr(index_mod, "LibraryLock", SwappingLock)
    else:
        build = index_mod.build_vector_index

        def swap_then_build(*a, **kw):
            vi = build(*a, **kw)
            _swap(library)
            return vi
        monkeypatch.setattr(index_mod, "build_vector_index", swap_then_build)
    with pytest.raises(LibraryError) as ei:
        index_library(library, model=tiny_model, workers=0, show_progress=False, batch_tracks=4, on_batch=on_batch)
    msg = str(ei.value)
    assert "\n" not in msg and ("replaced" in msg or "swapped" in msg), msg
    assert os.listdir(target) == [], os.listdir(target)  # nothing written in the link's target
    kept = sorted(os.listdir(library.parent / "moved"))
    assert "catalog.sqlite" in kept and "lock" in kept and not any(".tmp" in f for f in kept), kept
    monkeypatch.undo()
    r = runner.invoke(app, ["index", str(library), "--model", str(tiny_model_path), "--workers", "0"])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1 and "symbolic link" in r.output, r.output
    assert os.listdir(target) == []
    record(f"`index` while LIB/.genrerec is moved away and replaced by a link to another folder, {when}",
           f"stopped with one line, nothing written in the link's target ({msg.split(': ', 1)[1].split(';')[0]}); "
           "the next run: one line, exit 2 (a link)")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_catalog_folder_of_another_user_is_refused_by_root(library, tiny_model, record):
    db = library / ".genrerec"
    db.mkdir()
    os.chown(db, 12345, 12345)
    with pytest.raises(LibraryError, match="belongs to another user") as ei:
        index_library(library, model=tiny_model, workers=0, show_progress=False)
    assert os.listdir(db) == []
    os.chown(db, 0, 0)  # root's own catalog folder is fine
    assert index_library(library, model=tiny_model, workers=0, show_progress=False).total_ok == 12
    record("root runs `index` on a library whose .genrerec belongs to another user", str(ei.value).split(": ", 1)[1])
