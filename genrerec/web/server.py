"""Running the app: `serve()` for the CLI, `running()` for tests, benchmarks and scripts.

The listening socket is bound here, before uvicorn starts, so a port in use
is one clear error, and port 0 picks a free port whose URL is then printed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .app import create_app
from .library import LibraryWorker
from .security import LOOPBACK_HOSTS, is_loopback


class ServeError(Exception):
    """The server cannot start (address in use, bad host); the message says why."""


@dataclass
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8750
    token: str | None = None  # required for a non-loopback host; generated when not given
    subsonic: bool = True  # answer the Subsonic API at /rest/ (off: --no-subsonic)
    token_source: str | None = None  # where the token came from, for the announcement (never the token itself)


TOKEN_ENV = "GENREREC_TOKEN"
MIN_TOKEN = 16


def read_token(token_file: str | os.PathLike | None, env: dict | None = None) -> tuple[str | None, str | None]:
    """(token, where it came from) from `--token-file` (a regular file only its owner can read) or
    $GENREREC_TOKEN, or (None, None). Never from the command line, where `ps` shows it to every local user."""
    env = os.environ if env is None else env
    if token_file is not None:
        p = Path(token_file)
        try:
            fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            raise ServeError(f"--token-file {p}: cannot read it ({e.strerror})") from None
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise ServeError(f"--token-file {p}: not a regular file")
            if st.st_mode & 0o077 or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
                raise ServeError(f"--token-file {p}: other users can read it (or it is not yours); "
                                 f"run `chmod 600 {p}` as its owner")
            token = f.read(4096).decode("utf-8", "replace").strip()
        source = f"the file {p}"
    elif env.get(TOKEN_ENV):
        token, source = env[TOKEN_ENV].strip(), f"${TOKEN_ENV}"
    else:
        return None, None
    if len(token) < MIN_TOKEN or any(c.isspace() for c in token):
        raise ServeError(f"the token in {source} must be at least {MIN_TOKEN} characters, without spaces")
    return token, source


def save_generated_token(token: str) -> Path:
    """Write a generated token to a file only this user can read, and say where (it is never printed)."""
    from ..utils import atomic_write_text, default_cache_dir

    path = default_cache_dir() / "serve-token"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write_text(path, token + "\n", mode=0o600)
    return path


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise ServeError(f"--host {host}: not an address of this machine ({e.strerror})") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # else keep-alive answers wait ~40 ms (Nagle +
    # delayed ACK: 44 -> 0.7 ms per request measured); connections accepted from it inherit the option
    try:
        sock.bind(addr)
    except OSError as e:
        sock.close()
        hint = "; pick another with --port" if e.errno in (98, 48) else ""
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror}{hint}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def _users(worker: LibraryWorker, cfg: ServeConfig):
    """The Subsonic user store beside the catalog. With no user every /rest/ call is refused
    (error 40): no address ever serves the API without a login, and a non-loopback one does not
    start at all (require_users_off_loopback)."""
    import sqlite3

    from ..subsonic.users import UserStore

    try:
        return UserStore(worker.lib.rec.db_dir)
    except (OSError, sqlite3.Error):  # a read-only catalog folder: the web app still runs, without /rest/
        return None


def add_user_command(worker: LibraryWorker) -> str:
    """The command that adds a Subsonic user to this library (--library when the catalog is the
    library's own .genrerec folder, else --db)."""
    import shlex

    rec = worker.lib.rec
    if Path(rec.db_dir).resolve() == (Path(rec.root) / ".genrerec").resolve():
        return f"genrerec user add NAME --library {shlex.quote(str(rec.root))}"
    return f"genrerec user add NAME --db {shlex.quote(str(rec.db_dir))}"


def require_users_off_loopback(worker: LibraryWorker, cfg: ServeConfig, users) -> None:
    """The security rule for --host: an address other machines can reach serves the Subsonic API
    only with at least one user, so a fresh install never listens on the network with a /rest/
    that nobody can log in to or that someone could race to claim. Raises ServeError (the CLI:
    one line, exit 2) naming the command that adds a user; --no-subsonic (cfg.subsonic False)
    turns the API off, and then the web app's token rule alone applies."""
    if not cfg.subsonic or is_loopback(cfg.host):
        return
    if users is None:
        raise ServeError(f"--host {cfg.host}: the catalog folder is not writable, so it cannot keep "
                         "Subsonic users; serve with --no-subsonic for the web app alone")
    if not users.names():
        raise ServeError(f"--host {cfg.host} needs a Subsonic user first: {add_user_command(worker)} "
                         "(or serve with --no-subsonic for the web app alone)")


def _prepare(worker: LibraryWorker, cfg: ServeConfig):
    loopback = is_loopback(cfg.host)
    token = cfg.token or (None if loopback else secrets.token_urlsafe(24))
    hosts = LOOPBACK_HOSTS if loopback else None
    users = _users(worker, cfg) if cfg.subsonic else None
    worker.users = users
    require_users_off_loopback(worker, cfg, users)
    if token and not cfg.token:  # only once the server will start
        cfg.token_source = f"the file {save_generated_token(token)} (generated; readable only by you)"
    app = create_app(worker, token=token, allowed_hosts=hosts, users=users)
    worker.run(worker.lib.warm_up)
    return app, token


def _server(app):
    import uvicorn

    from .protocol import BoundedHeaderProtocol

    return uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                         timeout_graceful_shutdown=2, http=BoundedHeaderProtocol))


def serve(source: str | os.PathLike, cfg: ServeConfig, announce: Callable[[str], None] = print) -> None:
    """Serve the library until Ctrl-C. Raises ServeError, or the library's own errors, before listening."""
    worker = LibraryWorker(source)
    try:
        app, token = _prepare(worker, cfg)
        sock = _bind(cfg.host, cfg.port)
        url = _url(cfg.host, sock)
        n = len(worker.lib.tracks)
        try:  # from the first line printed on, a Ctrl-C is a clean stop (a client may send it at once)
            announce(f"genrerec: {n} tracks from {worker.lib.rec.root} at {url}  (Ctrl-C to stop)")
            if token:  # where the token is, never the token: terminals are logged and shared
                announce(f"access token: in {cfg.token_source or 'the configuration'}; open {url}?token=TOKEN")
            if token and not is_loopback(cfg.host):
                announce("anyone who can reach this address and has the token can browse and play the library")
            names = worker.users.names() if worker.users is not None else None
            if not cfg.subsonic:
                announce("Subsonic API off (--no-subsonic)")
            elif names is None:
                announce("Subsonic API off: the catalog folder is not writable, so it cannot keep users")
            else:
                api = _url(cfg.host, sock)
                announce(f"Subsonic API: {api} (users: {', '.join(names)})" if names else
                         f"Subsonic API: {api} has no user yet; add one: {add_user_command(worker)}")
            _server(app).run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled, after a clean shutdown
            pass
    finally:
        _close_users(worker)
        worker.close()


def _close_users(worker: LibraryWorker) -> None:
    users = getattr(worker, "users", None)
    if users is not None:
        users.close()


@contextlib.contextmanager
def running(source: str | os.PathLike, cfg: ServeConfig | None = None) -> Iterator[tuple[str, LibraryWorker]]:
    """A server on a free loopback port in a background thread: yields (base URL, worker)."""
    cfg = cfg or ServeConfig(port=0)
    worker = LibraryWorker(source)
    try:
        app, token = _prepare(worker, cfg)
        sock = _bind(cfg.host, cfg.port)
        server = _server(app)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        started = threading.Event()
        while not server.started and thread.is_alive():
            started.wait(0.01)
        if not server.started:
            raise ServeError("the server did not start")
        try:
            yield _url(cfg.host, sock), worker
        finally:
            server.should_exit = True
            thread.join(10)
            sock.close()
    finally:
        _close_users(worker)
        worker.close()
