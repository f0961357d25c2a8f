"""The beets plugin, against a real beets library made here (beets from PyPI)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from genrerec.playlists.m3u import read_m3u
from tests.conftest import write_tagged

pytest.importorskip("beets")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def beet(tmp_path):
    """`beet ARGS...` with its own config and library in tmp_path, the genrerec plugin enabled."""
    home = tmp_path / "beets"
    home.mkdir()
    (home / "config.yaml").write_text(f"directory: {tmp_path / 'Music'}\nlibrary: {home / 'library.db'}\n"
                                      "plugins: genrerec\nimport:\n  copy: yes\n  write: no\n")
    env = {**os.environ, "BEETSDIR": str(home), "PYTHONPATH": os.pathsep.join(
        [str(REPO), os.environ.get("PYTHONPATH", "")])}

    def run(*args):
        r = subprocess.run([sys.executable, "-m", "beets", *map(str, args)], env=env, capture_output=True, text=True,
                           cwd=tmp_path, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    return run


def test_beet_genrerec_tags_items_and_genrerec_mix_writes_a_playlist(beet, tmp_path):
    src = tmp_path / "incoming"
    for i in range(4):
        write_tagged(src / f"calm{i}.flac", "Calm Band", f"Slow {i}", "low", seconds=8, seed=i)
        write_tagged(src / f"noisy{i}.flac", "Noisy Band", f"Fast {i}", "high", seconds=8 + i, seed=10 + i)
    beet("import", "-A", "-q", src)
    assert "tagged 8 items" in beet("genrerec")
    out = beet("ls", "-f", "$artist|$genrerec_genre|$genrerec_tags|$genrerec_model", "artist:Calm Band")
    rows = [line.split("|") for line in out.splitlines()]
    assert len(rows) == 4 and all(r[1] in (r[2].split(":")[0], "uncertain") and len(r[2].split()) == 3 and r[3]
                                  for r in rows)  # the call: the top genre, or "uncertain"
    styles = beet("ls", "-f", "$genrerec_style", "artist:Calm Band").splitlines()
    assert len(styles) == 4 and all(len(s.split(", ")) == 3 for s in styles)  # the default model's MSD tags
    out = beet("genrerec-mix", "artist:Calm Band", "-n", "3", "-t", "0.5", "-o", tmp_path / "mix.m3u8")
    assert "wrote" in out and "history of 4" in out
    picks = read_m3u(tmp_path / "mix.m3u8")
    history = {Path(p) for p in beet("ls", "-p", "artist:Calm Band").splitlines()}
    assert len(picks) == 3 and all(p.exists() for p in picks) and not {p.resolve() for p in picks} & history
