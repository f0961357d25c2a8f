"""examples/playlist_from_history.py leaves nothing in the folder it runs from (it wrote
playlist-t*.m3u8 into the repository root)."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import write_audio

ROOT = Path(__file__).resolve().parents[2]


def test_example_writes_its_playlists_to_out_not_the_current_folder(tmp_path):
    lib = tmp_path / "music"
    for kind in ("low", "high"):
        for i in range(3):
            write_audio(lib / kind / f"{kind}{i}.wav", kind, seconds=5, seed=i)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "playlist_from_history.py"), str(lib),
                        str(lib / "low" / "low0.wav"), "--out", str(tmp_path / "lists")], cwd=cwd,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert os.listdir(cwd) == [] and len(list((tmp_path / "lists").glob("playlist-t*.m3u8"))) == 3
