"""Talking to MPD: where it is (MPD_HOST / MPD_PORT), logging in, reconnecting when the
connection drops, waiting on idle events that a stop request can interrupt, and the
mapping between MPD's song URIs and the catalog's tracks.

MPD names songs by their path below its `music_directory`; the catalog by their path
below the library root. `PathMap` joins the two when one folder is inside the other
(or they are the same). MPD tells its music_directory only to clients on its unix
socket (the `config` command); over TCP it comes from --music-dir, else the library
root is assumed to be MPD's root, and the caller says so.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 6600
TIMEOUT = 10.0  # seconds for connecting and for each command's answer (not for idle)
RECONNECT_FOR = 300.0  # a long-running client keeps trying to reconnect this long before it gives up
INSTALL_HINT = "python-mpd2 is not installed: pip install 'genrerec[mpd]'"
_PERMISSION, _PASSWORD = 4, 3  # MPD's ACK codes: no permission, wrong password


class MpdError(Exception):
    """MPD is unreachable, refused us, or the library and MPD do not fit together; one line."""


class MpdRefused(MpdError):
    """MPD refused the password, or wants one: trying again will not help."""


class Stopped(MpdError):
    """stop() was called while reconnecting."""


def mpd_module():
    """python-mpd2's `mpd` module, or MpdError saying how to install it."""
    try:
        import mpd
    except ImportError:
        raise MpdError(INSTALL_HINT) from None
    return mpd


@dataclass(frozen=True)
class MpdTarget:
    """Where MPD listens (a host and port, or a unix socket path / @abstract name) and its password."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    password: str | None = None

    @property
    def unix(self) -> bool:
        return self.host.startswith(("/", "@"))

    def __str__(self) -> str:
        return self.host if self.unix else f"{self.host}:{self.port}"

    @classmethod
    def resolve(cls, host: str | None = None, port: int | None = None, password: str | None = None,
                environ: Mapping[str, str] = os.environ) -> "MpdTarget":
        """Options first, then MPD_HOST (`host`, `password@host`, a socket path) and MPD_PORT, then
        localhost:6600, as mpc does. A password given on its own wins over one inside a host."""
        h = host if host else environ.get("MPD_HOST") or DEFAULT_HOST
        pw = None
        if not h.startswith("@") and "@" in h:  # password@host; "@name" alone is an abstract socket
            pw, h = h.split("@", 1)
        if port is None and environ.get("MPD_PORT"):
            raw = environ["MPD_PORT"]
            try:
                port = int(raw)
            except ValueError:
                raise MpdError(f"MPD_PORT={raw!r} is not a port number; set it to one (e.g. 6600) or unset it")
        port = DEFAULT_PORT if port is None else port
        if not 0 < port < 65536:
            raise MpdError(f"--port / MPD_PORT must be 1-65535, got {port}")
        return cls(h or DEFAULT_HOST, port, password if password is not None else pw)


class MpdConnection:
    """One connection to MPD that comes back after MPD restarts or the network drops.

    `call(name, *args)` runs an MPD command (python-mpd2's method of that name); when
    the connection is lost it reconnects (for up to `reconnect_for` seconds, backing
    off) and runs the command again. `idle` waits for changes and returns early once
    `stop()` is called from another thread (it sends a message on this connection's
    own channel, so MPD itself wakes the wait)."""

    def __init__(self, target: MpdTarget, timeout: float = TIMEOUT, reconnect_for: float = RECONNECT_FOR,
                 note: Callable[[str], None] | None = None):
        self.target = target
        self.timeout = timeout
        self.reconnect_for = reconnect_for
        self.note = note or (lambda msg: None)
        self.stopping = threading.Event()
        self.channel = f"genrerec-{os.getpid()}-{id(self):x}"
        self.reconnects = 0
        self._mpd = mpd_module()
        self._client = None
        self._subscribed = False

    @property
    def CommandError(self) -> type:
        """python-mpd2's error for a command MPD refused (e.g. `add` of a song it does not know)."""
        return self._mpd.CommandError

    # --- connecting ---
    def connect(self) -> "MpdConnection":
        """Connect and log in; MpdError (one line) if MPD is unreachable or refuses the password."""
        mpd = self._mpd
        c = mpd.MPDClient()
        c.timeout = self.timeout
        c.idletimeout = None
        try:
            c.connect(self.target.host, self.target.port)
        except (OSError, mpd.MPDError) as e:
            raise MpdError(f"cannot reach MPD at {self.target}: {_reason(e)}; is it running? (set --host/--port "
                           "or MPD_HOST/MPD_PORT)") from None
        try:
            if self.target.password is not None:
                c.password(self.target.password)
            c.status()  # needs the read permission: a missing password shows here, not later
            if self._subscribed:
                c.subscribe(self.channel)
        except mpd.CommandError as e:
            c.disconnect()
            raise self._refused(e) from None
        except (OSError, mpd.MPDError) as e:
            c.disconnect()
            raise MpdError(f"MPD at {self.target} dropped the connection while logging in: {_reason(e)}") from None
        self._client = c
        return self

    def _refused(self, e) -> MpdError:
        code = getattr(getattr(e, "errno", None), "value", None)
        if code == _PASSWORD:
            return MpdRefused(f"MPD at {self.target} refused the password; check --password or "
                            "MPD_HOST=password@host")
        if code == _PERMISSION:
            return MpdRefused(f"MPD at {self.target} needs a password for this; pass --password or set "
                            "MPD_HOST=password@host")
        return MpdError(f"MPD at {self.target}: {getattr(e, 'msg', None) or e}")

    def _reconnect(self) -> None:
        if self._client is not None:
            try:
                self._client.disconnect()
            except Exception:  # noqa: BLE001 - a broken socket may fail to close; it is dropped either way
                pass
            self._client = None
        self.note(f"lost the connection to MPD at {self.target}; reconnecting")
        deadline = time.monotonic() + self.reconnect_for
        delay = 0.1
        while True:
            if self.stopping.is_set():
                raise Stopped("stopped while reconnecting")
            try:
                self.connect()
            except MpdRefused:
                raise
            except MpdError as e:
                if time.monotonic() + delay > deadline:
                    raise MpdError(f"{e} (gave up reconnecting after {self.reconnect_for:g} s)") from None
                self.stopping.wait(delay)  # backing off between attempts; stop() ends the wait
                delay = min(delay * 2, 5.0)
                continue
            self.reconnects += 1
            self.note(f"reconnected to MPD at {self.target}")
            return

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.disconnect()
            except Exception:  # noqa: BLE001
                pass
            self._client = None

    # --- commands ---
    def call(self, name: str, *args):
        """Run one MPD command; reconnect and run it again if the connection was lost."""
        mpd = self._mpd
        for attempt in (0, 1):
            if self._client is None:
                self._reconnect()
            try:
                return getattr(self._client, name)(*args)
            except mpd.CommandError as e:
                code = getattr(getattr(e, "errno", None), "value", None)
                if code in (_PASSWORD, _PERMISSION):
                    raise self._refused(e) from None
                raise
            except (OSError, mpd.ConnectionError, mpd.ProtocolError):
                if attempt:
                    raise MpdError(f"MPD at {self.target} keeps dropping the connection (during {name})") from None
                self._reconnect()

    def idle(self, *subsystems: str) -> list[str]:
        """Wait until one of `subsystems` changes; after a reconnect, all of them (state may have
        changed meanwhile); [] once stop() was called."""
        if self.stopping.is_set():
            return []
        if not self._subscribed:
            self._subscribed = True
            self.call("subscribe", self.channel)
        while not self.stopping.is_set():
            try:
                if self._client is None:
                    self._reconnect()
                    return list(subsystems)
                changed = self._client.idle(*subsystems, "message")
            except Stopped:
                break
            except (OSError, self._mpd.ConnectionError, self._mpd.ProtocolError):
                if self.stopping.is_set():
                    break
                try:
                    self._reconnect()
                except Stopped:
                    break
                return list(subsystems)
            if "message" in changed:
                self.call("readmessages")  # ours (stop) or another client's on our channel: drained
            changed = [c for c in changed if c != "message"]
            if changed and not self.stopping.is_set():
                return changed
        return []

    def stop(self) -> None:
        """Make a pending or next `idle` return [] (safe to call from another thread)."""
        self.stopping.set()
        try:
            other = MpdConnection(self.target, timeout=self.timeout, reconnect_for=0).connect()
            try:
                other.call("sendmessage", self.channel, "stop")
            finally:
                other.close()
        except Exception:  # noqa: BLE001 - MPD gone: the reconnect loop sees `stopping` instead
            pass

    def music_directory(self) -> str | None:
        """MPD's music_directory, which it tells only over its unix socket; None elsewhere."""
        if not self.target.unix:
            return None
        try:
            d = self.call("config")
        except (self._mpd.CommandError, MpdRefused):  # `config` needs the admin permission too
            return None
        return d if isinstance(d, str) and os.path.isabs(d) else None


def _reason(e: BaseException) -> str:
    return getattr(e, "strerror", None) or str(e) or type(e).__name__


class PathMap:
    """MPD song URIs <-> catalog paths, when MPD's music_directory and the library root are the
    same folder or one holds the other (compared as given, then with symlinks resolved)."""

    def __init__(self, library_root: Path, mpd_root: Path, source: str):
        self.library_root, self.mpd_root, self.source = Path(library_root), Path(mpd_root), source
        for lib, root in ((os.path.abspath(library_root), os.path.abspath(mpd_root)),
                          (os.path.realpath(library_root), os.path.realpath(mpd_root))):
            rel = os.path.relpath(lib, root)
            if rel == ".":
                self._strip, self._add = "", ""
                return
            if not rel.startswith(".."):  # the library is a folder of MPD's
                self._strip, self._add = rel.replace(os.sep, "/") + "/", ""
                return
            back = os.path.relpath(root, lib)
            if not back.startswith(".."):  # MPD's root is a folder of the library
                self._strip, self._add = "", back.replace(os.sep, "/") + "/"
                return
        raise MpdError(f"MPD's music directory {mpd_root} ({source}) and the library at {library_root} do not "
                       "overlap, so no song MPD plays can be in the library; pass --music-dir with MPD's "
                       "music_directory")

    def rel(self, uri: str) -> bytes | None:
        """The catalog path (bytes, as the catalog keys it) of an MPD URI; None outside the library."""
        if "://" in uri or not uri.startswith(self._strip):
            return None
        return os.fsencode(self._add + uri[len(self._strip):])

    def uri(self, rel: bytes) -> str | None:
        """The MPD URI of a catalog path; None when MPD cannot see it (outside its music directory)."""
        r = os.fsdecode(rel)
        if not r.startswith(self._add):
            return None
        u = self._strip + r[len(self._add):]
        try:
            u.encode("utf-8")
        except UnicodeEncodeError:  # MPD's protocol is UTF-8; such a name cannot be sent
            return None
        return u


def path_map(conn: MpdConnection, library_root: Path, music_dir: Path | None) -> tuple[PathMap, str | None]:
    """The PathMap for this MPD and library, and a note to show when MPD's root had to be assumed."""
    told = conn.music_directory()
    if told:
        return PathMap(library_root, Path(told), "from MPD"), None
    if music_dir is not None:
        return PathMap(library_root, music_dir.expanduser(), "--music-dir"), None
    note = (f"MPD does not tell its music_directory over TCP; assuming it is the library root {library_root} "
            "(pass --music-dir if it is not)")
    return PathMap(library_root, library_root, "assumed"), note
