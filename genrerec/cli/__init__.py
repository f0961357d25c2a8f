"""cli: the `genrerec` command line, a thin layer over the library (main.py: index,
classify, train, stats, serve; playlists.py: recommend, similar, profile, path;
mixes.py: mix, clusters; users.py: the Subsonic users; mpd.py: the MPD auto-DJ).
May import every room below it; nothing imports it but the entry point and docgen."""

from . import main, mixes, mpd, playlists, users  # noqa: F401  (each module registers its commands on `app`)
from .common import app

__all__ = ["app"]
