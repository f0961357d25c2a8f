"""`make demo`: index a real music folder with the shipped model, then write a playlist.

Settings come from the environment (the Makefile exports its variables), so
paths with spaces or non-ASCII names need no extra quoting:

  LIBRARY   music folder (default ../shared/gtzan if present, else free game
            soundtracks fetched from Debian into DEMO_MUSIC)
  HISTORY   played tracks, .m3u files or folders: one path, or several in
            shell quoting ("'a b.mp3' c.mp3"); default: three tracks of LIBRARY
  DEMO_DB   catalog folder (default .demo/NAME-HASH.genrerec: one per library, HASH of
            its full path, so another LIBRARY never reuses, and empties, this one's)
  DEMO_MUSIC  where fetched music goes (default runs/soundtracks, git-ignored)

Each step is the `genrerec` command a user would type, printed before it runs.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

from .freemusic import DEMO_PACKAGES, FetchError, apt_available, fetch_soundtracks

SHARED_GTZAN = Path("../shared/gtzan")
GTZAN_HISTORY = ["jazz/jazz.00001.mp3", "jazz/jazz.00003.mp3", "metal/metal.00002.mp3"]
OWN_MUSIC_HINT = "make demo LIBRARY=~/Music  (optionally HISTORY=\"~/Music/a.mp3 ~/Music/b.flac\")"


class DemoError(Exception):
    pass


def _env(name: str) -> str | None:
    v = os.environ.get(name, "").strip()
    return v or None


def split_paths(raw: str) -> list[Path]:
    """One existing path as is (spaces and all); otherwise shell-style words."""
    one = Path(os.path.expanduser(raw))
    if one.exists():
        return [one]
    try:
        words = shlex.split(raw)
    except ValueError as e:
        raise DemoError(f"HISTORY={raw!r}: {e}; quote paths with spaces, e.g. HISTORY=\"'My Music/a.mp3'\"") from None
    return [Path(os.path.expanduser(w)) for w in words]


def choose_library(music_dir: Path) -> tuple[Path, list[Path] | None]:
    """(library folder, default history or None) following the order in the module doc."""
    lib = _env("LIBRARY")
    if lib:
        p = Path(os.path.expanduser(lib))
        if not p.is_dir():
            raise DemoError(f"LIBRARY={lib}: no such folder; give the folder that holds your music")
        return p, None
    if SHARED_GTZAN.is_dir():
        return SHARED_GTZAN, [SHARED_GTZAN / h for h in GTZAN_HISTORY]
    if not apt_available():
        raise DemoError(f"no music to index: {SHARED_GTZAN} is missing and apt-get is not available to fetch "
                        f"free music; point the demo at your own music: {OWN_MUSIC_HINT}")
    print(f"No LIBRARY given and no {SHARED_GTZAN}: fetching free game soundtracks from Debian "
          f"({', '.join(DEMO_PACKAGES)}; a 163 MB download, once; 168 MB unpacked, the .deb files deleted) "
          f"into {music_dir}/.\n"
          f"To use your own music instead: {OWN_MUSIC_HINT}", flush=True)
    try:
        got = fetch_soundtracks(music_dir, DEMO_PACKAGES)
    except (FetchError, OSError, zipfile.BadZipFile) as e:
        raise DemoError(f"could not fetch the demo music ({e}); use your own: {OWN_MUSIC_HINT}") from None
    first, second = (got[p] for p in DEMO_PACKAGES[:2])
    return music_dir / "x", [first[0], first[len(first) // 2], second[0]]


def demo_db(library: Path) -> Path:
    """The demo's catalog of `library`: one per library folder (NAME-HASH of its full path)."""
    real = library.resolve()
    h = hashlib.sha1(os.fsencode(str(real))).hexdigest()[:10]
    return Path(".demo") / f"{real.name or 'root'}-{h}.genrerec"


def _genrerec(*args: object) -> None:
    shown = " ".join(shlex.quote(str(a)) for a in args)
    print(f"\n$ genrerec {shown}", flush=True)
    rc = subprocess.run([sys.executable, "-m", "genrerec.cli", *map(str, args)]).returncode
    if rc:
        raise SystemExit(rc)


def _some_tracks(db: Path, k: int = 3) -> list[Path]:
    from ..recommend.recommender import Recommender

    with Recommender.open(db) as rec:
        rows = sorted(range(len(rec)), key=lambda r: rec.rels[r])
        return [rec.path_of(int(rec.ids[rows[i * len(rows) // k]])) for i in range(min(k, len(rows)))]


def main() -> int:
    try:
        library, history = choose_library(Path(_env("DEMO_MUSIC") or "runs/soundtracks"))
        if _env("HISTORY"):
            history = split_paths(_env("HISTORY"))
        db = Path(_env("DEMO_DB")) if _env("DEMO_DB") else demo_db(library)
    except DemoError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    _genrerec("index", library, "--db", db)
    if not history:
        history = _some_tracks(db)
    _genrerec("recommend", *history, "--db", db, "-n", 15, "--seed", 0, "-o", "demo-playlist.m3u8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
