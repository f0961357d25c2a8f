"""Free full-length music to try genrerec on: Debian's game soundtrack packages.

Fetched with `apt-get download` (no root needed) and unpacked with `dpkg -x`
into a folder of the caller's choosing, never into the package. Used by
`make demo` on a machine without ../shared, and by benchmarks/speed.py.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

from ..audio.decode import AUDIO_EXTENSIONS

DEMO_PACKAGES = ["warzone2100-music", "nexuiz-music"]  # a 163 MB download, 60 tracks, OGG Vorbis/Opus


class FetchError(RuntimeError):
    """The music could not be fetched; the message says what to do instead."""


def apt_available() -> bool:
    return shutil.which("apt-get") is not None and shutil.which("dpkg") is not None


def fetch_soundtracks(dest: Path, packages: list[str]) -> dict[str, list[Path]]:
    """Debian's free game music, each package unpacked under dest/x/<package>
    (downloaded once): {package: its audio files}."""
    if not apt_available():
        raise FetchError("apt-get and dpkg are not available here to fetch free music")
    out = {}
    for pkg in packages:
        x = dest / "x" / pkg
        done = x / ".unpacked"  # written last: names the .deb it came from; the .deb itself is deleted
        if not done.exists():
            _download_and_unpack(dest, pkg, x, done)
        out[pkg] = sorted(p for p in x.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
        if not out[pkg]:
            raise FetchError(f"no audio found in {pkg} (unpacked under {x})")
    return out


def _download_and_unpack(dest: Path, pkg: str, x: Path, done: Path) -> None:
    """apt-get download (unless the .deb is there), dpkg -x, open the nexuiz .pk3 zip; then delete the
    .deb and the .pk3, so only the unpacked music stays (the archives would double the space)."""
    if not list(dest.glob(f"{pkg}_*.deb")):
        dest.mkdir(parents=True, exist_ok=True)
        cmd = ["apt-get", "download", pkg]
        if subprocess.run(cmd, cwd=dest).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], check=False)
            if subprocess.run(cmd, cwd=dest).returncode != 0:
                raise FetchError(f"`apt-get download {pkg}` failed (no network, or no such package here)")
    deb = sorted(dest.glob(f"{pkg}_*.deb"))[-1]
    x.mkdir(parents=True, exist_ok=True)  # dpkg -x creates the target but not its parents
    if subprocess.run(["dpkg", "-x", str(deb), str(x)]).returncode != 0:
        raise FetchError(f"`dpkg -x {deb}` failed")
    for pk3 in x.rglob("*.pk3"):  # nexuiz keeps its music in a zip archive
        with zipfile.ZipFile(pk3) as z:
            z.extractall(pk3.with_suffix(""))
        pk3.unlink()
    done.write_text(deb.name + "\n")
    deb.unlink()
