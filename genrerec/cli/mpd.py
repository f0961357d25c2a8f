"""`genrerec mpd queue / dj / album`: an auto-DJ for the Music Player Daemon (docs/mpd.md).

A thin layer over genrerec.mpd: options (MPD's address, the library, the playlist
controls), one clear line and exit 2 for every user error (MPD unreachable, a wrong
password, python-mpd2 missing), notes on stderr, what was queued on stdout.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..recommend.recommender import DEFAULT_MAX_PER_ARTIST, DEFAULT_TEMPERATURE
from ..safety import display
from . import controls as ctl
from .common import _fail, _open, app, err, out, run

mpd_app = typer.Typer(no_args_is_help=True, help="An auto-DJ for MPD: queue songs like the playing one, keep the "
                      "queue going, queue the most similar album (docs/mpd.md).")
app.add_typer(mpd_app, name="mpd")


def _host_opt():
    return typer.Option(None, "--host", help="MPD's host, password@host, or unix socket path (default: MPD_HOST, "
                        "else localhost).", show_default=False)


def _port_opt():
    return typer.Option(None, "--port", help="MPD's port (default: MPD_PORT, else 6600).", show_default=False)


def _password_opt():
    return typer.Option(None, "--password", help="MPD's password (default: from MPD_HOST=password@host; the "
                        "environment keeps it out of `ps`).", show_default=False)


def _library_opt():
    return typer.Option(None, "--library", help="Library folder (default: found from --music-dir, else the "
                        "current folder).", show_default=False)


def _db_opt():
    return typer.Option(None, "--db", help="Catalog folder.", show_default=False)


def _music_dir_opt():
    return typer.Option(None, "--music-dir", help="MPD's music_directory, when MPD is reached over TCP (over its "
                        "unix socket MPD tells it; default: the library root).", show_default=False)


def _temperature_opt():
    return typer.Option(DEFAULT_TEMPERATURE, "--temperature", "-t", help="0 = closest matches; higher = more "
                        "variety.")


def _artist_opt():
    return typer.Option(DEFAULT_MAX_PER_ARTIST, "--max-per-artist", help="Tracks per artist (tags) in one batch "
                        "before other artists are preferred; 0 = no cap.")


def note(msg: str) -> None:
    """A note on stderr, user text made printable (never markup)."""
    err.print(f"mpd: {display(msg)}", markup=False, highlight=False, soft_wrap=True)


def _mpd(fn):
    """Call fn(); an MpdError is one line and exit 2 (and so are the library's user errors)."""
    from ..mpd.client import MpdError

    try:
        return run(fn)
    except MpdError as e:
        _fail(str(e))


class Session:
    """The library, the connection and the picker every `mpd` command starts from."""

    def __init__(self, host, port, password, library, db, music_dir, temperature, max_per_artist,
                 min_duration, max_duration, exclude_tag, exclude_genre, max_per_album, not_in, seed=None,
                 reconnect_for: float = 10.0):
        from ..mpd.client import MpdConnection, MpdTarget, mpd_module, path_map
        from ..mpd.dj import Picker

        ctl.check_picking(temperature=temperature, max_per_artist=max_per_artist)
        ctl.check_controls(min_duration, max_duration, max_per_album)
        _mpd(mpd_module)
        target = _mpd(lambda: MpdTarget.resolve(host, port, password))
        self.rec = _open(library, db, [music_dir] if music_dir is not None and library is None and db is None else [])
        self.conn = None
        try:
            kw = ctl.controls(self.rec, min_duration, max_duration, exclude_tag, exclude_genre, max_per_album, not_in)
            self.conn = _mpd(lambda: MpdConnection(target, reconnect_for=reconnect_for, note=note).connect())
            paths, assumed = _mpd(lambda: path_map(self.conn, self.rec.root, music_dir))
        except BaseException:  # typer.Exit from a one-line error included: nothing left open
            self.close()
            raise
        if assumed:
            note(assumed)
        self.picker = Picker(self.rec, paths, temperature, kw, max_per_artist or None, seed)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.rec.close()


def _print_added(s: Session, uris: list[str]) -> None:
    for u in uris:
        t = s.picker.track(u)
        out.print(display(s.rec.label(t) if t is not None else u), markup=False, highlight=False)


@mpd_app.command("queue")
def queue(n: int = typer.Option(20, "--n", "-n", help="Songs to append."),
          temperature: float = _temperature_opt(), host: Optional[str] = _host_opt(),
          port: Optional[int] = _port_opt(), password: Optional[str] = _password_opt(),
          library: Optional[Path] = _library_opt(), db: Optional[Path] = _db_opt(),
          music_dir: Optional[Path] = _music_dir_opt(), max_per_artist: int = _artist_opt(),
          min_duration: Optional[float] = ctl.min_duration_opt(),
          max_duration: Optional[float] = ctl.max_duration_opt(),
          exclude_tag: List[str] = ctl.exclude_tag_opt(), exclude_genre: List[str] = ctl.exclude_genre_opt(),
          max_per_album: int = ctl.max_per_album_opt(), not_in: List[Path] = ctl.not_in_opt(),
          seed: Optional[int] = typer.Option(None, help="Seed for reproducible picks.")) -> None:
    """Append n songs like the playing one (or, with none playing, like the last queued) to MPD's queue."""
    from ..mpd.dj import queue_similar

    ctl.check_picking(n)
    s = Session(host=host, port=port, password=password, library=library, db=db, music_dir=music_dir,
                 temperature=temperature, max_per_artist=max_per_artist, min_duration=min_duration,
                 max_duration=max_duration, exclude_tag=exclude_tag, exclude_genre=exclude_genre,
                 max_per_album=max_per_album, not_in=not_in, seed=seed)
    try:
        added = _mpd(lambda: queue_similar(s.conn, s.picker, n, note))
        _print_added(s, added)
        note(f"queued {len(added)} songs" + (f" (only {len(added)} of {n}: the library has no more that pass the "
                                             "filters and are not queued)" if len(added) < n else ""))
    finally:
        s.close()


@mpd_app.command("album")
def album(host: Optional[str] = _host_opt(), port: Optional[int] = _port_opt(),
          password: Optional[str] = _password_opt(), library: Optional[Path] = _library_opt(),
          db: Optional[Path] = _db_opt(), music_dir: Optional[Path] = _music_dir_opt(),
          min_duration: Optional[float] = ctl.min_duration_opt(),
          max_duration: Optional[float] = ctl.max_duration_opt(),
          exclude_tag: List[str] = ctl.exclude_tag_opt(), exclude_genre: List[str] = ctl.exclude_genre_opt(),
          not_in: List[Path] = ctl.not_in_opt()) -> None:
    """Append the album most like the playing song's album (album vectors: the mean of their tracks')."""
    from ..mpd.album import queue_album

    s = Session(host=host, port=port, password=password, library=library, db=db, music_dir=music_dir,
                 temperature=0.0, max_per_artist=0, min_duration=min_duration, max_duration=max_duration,
                 exclude_tag=exclude_tag, exclude_genre=exclude_genre, max_per_album=0, not_in=not_in)
    try:
        name, sim, added = _mpd(lambda: queue_album(s.conn, s.picker, note))
        _print_added(s, added)
        note(f"queued {len(added)} songs of the album {name} (similarity {sim:.3f})")
    finally:
        s.close()


@mpd_app.command("dj")
def dj(keep: int = typer.Option(5, "--keep", help="Songs to keep queued after the current one."),
       temperature: float = _temperature_opt(), host: Optional[str] = _host_opt(),
       port: Optional[int] = _port_opt(), password: Optional[str] = _password_opt(),
       library: Optional[Path] = _library_opt(), db: Optional[Path] = _db_opt(),
       music_dir: Optional[Path] = _music_dir_opt(), max_per_artist: int = _artist_opt(),
       min_duration: Optional[float] = ctl.min_duration_opt(), max_duration: Optional[float] = ctl.max_duration_opt(),
       exclude_tag: List[str] = ctl.exclude_tag_opt(), exclude_genre: List[str] = ctl.exclude_genre_opt(),
       max_per_album: int = ctl.max_per_album_opt(), not_in: List[Path] = ctl.not_in_opt()) -> None:
    """Keep MPD's queue going until Ctrl-C: at least --keep songs after the current one, like those played
    (a song skipped within 30 s steers the picks away from it)."""
    from ..mpd.client import RECONNECT_FOR
    from ..mpd.dj import DJ

    if keep < 1:
        _fail(f"--keep must be at least 1, got {keep}")
    s = Session(host=host, port=port, password=password, library=library, db=db, music_dir=music_dir,
                 temperature=temperature, max_per_artist=max_per_artist, min_duration=min_duration,
                 max_duration=max_duration, exclude_tag=exclude_tag, exclude_genre=exclude_genre,
                 max_per_album=max_per_album, not_in=not_in, reconnect_for=RECONNECT_FOR)

    def report(r: dict) -> None:
        for u in r["added"]:
            t = s.picker.track(u)
            note(f"queued {s.rec.label(t) if t is not None else u}")

    d = DJ(s.conn, s.picker, keep, note=note, on_event=report)
    note(f"dj: keeping {keep} songs queued after the current one at {s.conn.target} (Ctrl-C stops)")
    try:
        _mpd(lambda: _until_interrupted(d))
    finally:
        s.close()


def _until_interrupted(d) -> None:
    try:
        d.run()
    except KeyboardInterrupt:
        note("dj: stopped")
