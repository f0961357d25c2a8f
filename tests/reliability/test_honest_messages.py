"""Honest messages (issue 12, items 8-12): file names are shown as they are
(never read as markup), odd paths give one line, and faults (read-only, disk
full, a locked catalog) say what happened and what was kept."""

import os

import pytest
from typer.testing import CliRunner

from genrerec.cli.common import app
from genrerec.engine.index import index_library
from tests.conftest import write_audio

runner = CliRunner()


def _ok(r, code=0):
    assert r.exit_code == code and "Traceback" not in r.output and r.exception is None or isinstance(
        r.exception, SystemExit), (r.exit_code, r.output, r.exception)
    return r.output


@pytest.fixture
def marked_library(library, tiny_model):
    for seed, name in enumerate(("a[/b].wav", "[live] song.wav", "x [remaster] [explicit].wav"), 7):
        write_audio(library / "tags" / name, "mid", seconds=6, seed=seed)  # three recordings, not one thrice
    (library / "tags" / "c[").mkdir()
    (library / "tags" / "c[" / "d].mp3").write_bytes(b"not audio at all")  # a failing file: path has `[/d]`
    index_library(library, model=tiny_model, workers=0, show_progress=False)
    return library


def test_markup_in_file_names_is_shown_not_parsed(marked_library, tiny_model, record):
    lib = marked_library
    out = _ok(runner.invoke(app, ["index", str(lib), "--workers", "0"]))
    out = _ok(runner.invoke(app, ["stats", str(lib)]))
    assert "c[/d].mp3" in out
    out = _ok(runner.invoke(app, ["similar", str(lib / "tags" / "a[/b].wav"), "-n", "12"]), 0)
    # the table may shorten a long name in the middle ("x [rem…xplicit].wav"), but never eats its brackets
    assert "[live] song.wav" in out and "plicit].wav" in out, out
    out = _ok(runner.invoke(app, ["recommend", "-H", str(lib / "tags" / "a[/b].wav"), "-n", "12", "-t", "0"]))
    assert "[live]" in out and "plicit]" in out, out
    record("failing file `c[/d].mp3`, tracks `a[/b].wav`, `[live] song.wav`, then index/stats/similar/recommend",
           "names shown as they are; no MarkupError")


def test_long_and_odd_paths_give_one_line(library, tiny_model, tmp_path, record):
    index_library(library, model=tiny_model, workers=0, show_progress=False)
    long = str(library / ("x" * 300 + ".wav"))
    r = runner.invoke(app, ["recommend", "-H", long, "--library", str(library)])
    assert r.exit_code == 2 and "no such file" in r.output and "Traceback" not in r.output, r.output
    r = runner.invoke(app, ["similar", long, "--library", str(library)])
    assert r.exit_code == 2 and "no such file" in r.output, r.output
    r = runner.invoke(app, ["recommend", "-H", long])  # no --library: found upward from the track
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    m3u = tmp_path / "big.m3u"
    m3u.write_text("#EXTM3U\n" + "y" * 100_000 + "\n" + "z" * 5000 + "\n" + str(library / "low" / "low0.wav") + "\n")
    _ok(runner.invoke(app, ["recommend", "-H", str(m3u), "--library", str(library), "-n", "2"]))
    good = str(library / "low" / "low0.wav")
    r = runner.invoke(app, ["recommend", "-H", good, "-n", "2", "-o", "/proc/x.m3u8"])
    assert r.exit_code == 2 and "cannot write the playlist" in r.output, r.output
    r = runner.invoke(app, ["recommend", "-H", good, "-n", "2", "-o", str(tmp_path)])
    assert r.exit_code == 2 and "is a folder" in r.output, r.output
    for case in ("-H with a 300-character name (recommend and similar)", "M3U history with a 100 KB line",
                 "-o /proc/x.m3u8", "-o naming an existing folder"):
        record(case, "one line, exit 2 (the long M3U line is ignored with a warning)" if "M3U" in case
               else "one line, exit 2")


def test_path_longer_than_path_max_is_shown_as_text(tmp_path, tiny_model, record):
    lib = tmp_path / "lib"
    write_audio(lib / "ok.wav", seconds=4)
    fd = os.open(lib, os.O_RDONLY)
    for _ in range(20):  # a folder chain longer than PATH_MAX, built one open folder at a time
        os.mkdir("d" * 250, dir_fd=fd)
        nxt = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nxt
    os.close(fd)
    s = index_library(lib, model=tiny_model, workers=0, show_progress=False)
    assert s.total_ok == 1
    shown = " ".join(p for p, _ in s.failed)
    assert "b'" not in shown
    record("folders nested past PATH_MAX", f"shown as text, never b'...': {len(s.failed)} reported")


_INDEX_SCRIPT = """
import sys, typer
import genrerec.engine.index as gi
from genrerec import load_model
from genrerec.cli.common import run

commit = gi._commit
def announce(*a):  # tells the test when a batch is committed: its cue to send the signal
    n = commit(*a)
    print("committed", n, flush=True)
    return n
gi._commit = announce
try:
    run(lambda: gi.index_library(sys.argv[1], model=load_model(sys.argv[2]), workers=1, batch_tracks=4,
                                 show_progress=False))
except typer.Exit as e:
    sys.exit(e.exit_code)
"""


@pytest.mark.parametrize("sig", ["SIGINT to the process group (Ctrl-C)", "SIGTERM"])
def test_interrupt_commits_finished_work_and_exits_quietly(tmp_path, tiny_model_path, sig, record):
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from genrerec.library.catalog import Catalog

    lib = tmp_path / "lib"
    for i in range(16):
        write_audio(lib / f"t{i:02d}.wav", ("low", "high")[i % 2], seconds=6, seed=i)
    root = Path(__file__).resolve().parents[2]
    p = subprocess.Popen([sys.executable, "-c", _INDEX_SCRIPT, str(lib), str(tiny_model_path)], cwd=root,
                         env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    first = p.stdout.readline()  # the first batch of 4 is committed
    assert first.startswith("committed"), first + p.stderr.read()
    if sig == "SIGTERM":
        p.send_signal(signal.SIGTERM)
    else:
        os.killpg(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=120)
    cat = Catalog(lib / ".genrerec" / "catalog.sqlite", create=False)
    kept = cat.count("ok")
    cat.close()
    assert p.returncode == (143 if sig == "SIGTERM" else 130), (p.returncode, err)
    assert "Traceback" not in err and "ForkPoolWorker" not in err, err
    assert "finished work is saved" in err
    assert kept >= 5, kept  # the committed batch and at least the track decoded when the signal came
    record(f"{sig} during `index` after the first batch", f"exit {p.returncode}, quiet, {kept}/16 tracks kept "
           "(the committed batch plus the tracks already decoded)")


def _namespace_or_skip():
    """Read-only mounts and a full disk, made for real in a user + mount namespace (no root needed)."""
    import shutil
    import subprocess

    if not shutil.which("unshare") or subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode:
        pytest.skip("unprivileged user namespaces are not available here")


def _sh_in_namespace(script: str, **env) -> str:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    r = subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=root, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(root), "PY": sys.executable, "COLUMNS": "300", **env})
    return r.stdout


def test_read_only_catalog_is_used_not_called_damaged(library, tiny_model, tiny_model_path, tmp_path, record):
    _namespace_or_skip()
    index_library(library, model=tiny_model, workers=0, show_progress=False)
    out = _sh_in_namespace(
        'mount --bind "$LIB" "$LIB" && mount -o remount,ro,bind "$LIB" || exit 9\n'
        'for c in "stats $LIB" "similar $LIB/low/low0.wav -n 2" "recommend -H $LIB/low/low0.wav -n 2" '
        '"index $LIB --model $MODEL --workers 0"; do\n'
        '  $PY -m genrerec.cli $c; echo "== $c -> $?"\ndone',
        LIB=str(library), MODEL=str(tiny_model_path), GENREREC_CACHE=str(tmp_path / "cache"))
    assert "damaged" not in out and "delete" not in out and "Traceback" not in out, out
    for cmd in ("stats", "similar", "recommend"):
        assert f"== {cmd} " in out and [l for l in out.splitlines() if l.startswith(f"== {cmd} ")][0].endswith(
            "-> 0"), out
    assert "is read-only" in out and "--db DIR" in out and out.rstrip().endswith("-> 2"), out
    assert not (tmp_path / "cache").exists()  # no second catalog quietly started elsewhere
    record("healthy catalog on a read-only mount: stats, similar, recommend", "work from it (read as immutable)")
    record("healthy catalog on a read-only mount: index", "exit 2: " + [l for l in out.splitlines()
                                                                         if "read-only" in l][0][7:][-110:])


@pytest.mark.parametrize("size", ["8k", "24k", "48k"])
def test_disk_full_is_one_clear_message_and_nothing_is_lost(tmp_path, tiny_model_path, size, record):
    _namespace_or_skip()
    lib = tmp_path / "lib"
    for i in range(4):
        write_audio(lib / f"t{i}.wav", ("low", "high")[i % 2], seconds=6, seed=i)
    db = tmp_path / "db"
    db.mkdir()
    out = _sh_in_namespace(
        'mount -t tmpfs -o size=$SIZE tmpfs "$DB" || exit 9\n'
        'idx() { $PY -m genrerec.cli index "$LIB" --db "$DB" --model "$MODEL" --workers 0; echo "== $?"; }\n'
        'idx; mount -o remount,size=20m "$DB"; idx; '
        '$PY -m genrerec.cli stats --db "$DB" --json | $PY -c "import json,sys; print(\'tracks\', json.load(sys.stdin)[\'tracks\'])"',
        LIB=str(lib), DB=str(db), MODEL=str(tiny_model_path), SIZE=size)
    first, rest = out.split("== ", 1)
    assert "Traceback" not in out and "damaged" not in out, out
    errors = [l for l in first.splitlines() if "error" in l.lower()]
    assert rest.startswith("2") and len(errors) == 1 and "no space left" in errors[0], out
    assert "tracks 4" in out  # after freeing space the rerun completes
    record(f"disk full at {size} of room for the catalog, then space freed and index rerun",
           f"exit 2: {errors[0][7:][:120]}; rerun completes")


def test_catalog_locked_by_another_program_says_who(library, tiny_model, monkeypatch, record):
    import subprocess
    import sys

    import genrerec.library.catalog as gc
    from genrerec.errors import LibraryLocked

    index_library(library, model=tiny_model, workers=0, show_progress=False)
    write_audio(library / "new" / "new0.wav", "mid", seconds=6.0, seed=9)  # work to commit (a no-op index writes nothing)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys; db = sqlite3.connect(sys.argv[1], isolation_level=None); "
         "db.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); sys.stdin.read()",
         str(library / ".genrerec" / "catalog.sqlite")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        monkeypatch.setattr(gc, "BUSY_TIMEOUT_S", 0.2)
        with pytest.raises(LibraryLocked, match=f"locked by another program \\(held by pid {holder.pid}") as ei:
            index_library(library, model=tiny_model, workers=0, show_progress=False)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    msg = str(ei.value)
    assert "\n" not in msg
    record("another program holds a write lock on the catalog, then `index`",
           "one line naming it: " + msg.split(": ", 1)[1][:110])
