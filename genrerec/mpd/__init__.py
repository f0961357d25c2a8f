"""mpd: an auto-DJ for the Music Player Daemon (docs/mpd.md): `genrerec mpd queue / dj / album`.

client.py is the connection (MPD_HOST / MPD_PORT, password, reconnecting) and the mapping
between MPD's song URIs and catalog tracks (MPD's music_directory onto the library root);
dj.py decides what to queue (small pure functions: what the queue lacks, what counts as
played or skipped) and runs the loop that waits on MPD's idle events; album.py picks the
album most like the playing one. Needs python-mpd2 (`pip install 'genrerec[mpd]'`),
imported only when a connection is made.
May import: audio, models, training, library, engine, recommend, playlists, media, and the
shared top-level modules. Imported by cli (`genrerec mpd`).
"""

from .client import MpdConnection, MpdError, MpdTarget, PathMap
from .dj import DJ, Listening, Picker, queue_similar

__all__ = ["DJ", "Listening", "MpdConnection", "MpdError", "MpdTarget", "PathMap", "Picker", "queue_similar"]
