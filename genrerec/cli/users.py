"""`genrerec user add / key / list / remove`: who may use the Subsonic API of `genrerec serve`.

Users live in users.sqlite beside the catalog (passwords encrypted with the
0600 key file users.key; API keys only as digests). A password is read from a
prompt or, with --password-stdin, from the first line of standard input, never
from the command line, where `ps` would show it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from ..safety import markup_escape as esc
from .common import _fail, app, out, run

user_app = typer.Typer(no_args_is_help=True, help="Users of the Subsonic API (`genrerec serve` at /rest/).")
app.add_typer(user_app, name="user")

LIBRARY_OPT = typer.Option(None, "--library", help="Library folder (default: found from the current folder).")
DB_OPT = typer.Option(None, "--db", help="Catalog folder.")


def _catalog_dir(library: Optional[Path], db: Optional[Path]) -> Path:
    """The catalog folder of the library, found as `recommend` finds it (the library must be indexed)."""
    from ..errors import LibraryError
    from ..library.location import CATALOG_FILE, DB_DIRNAME, find_db_dir
    from ..safety import display

    start = (db or library or Path.cwd()).expanduser()
    if db is not None:
        d = db.parent if db.name == CATALOG_FILE else db
        if not (d / CATALOG_FILE).exists():
            raise LibraryError(f"{display(db)}: no genrerec catalog here; pass the folder `genrerec index` wrote "
                               "(the library's .genrerec)")
        return d
    if (start / DB_DIRNAME / CATALOG_FILE).exists():
        return start / DB_DIRNAME
    found = find_db_dir(start)
    if found is None:
        raise LibraryError(f"{display(start)}: no genrerec library found here or above; run `genrerec index DIR` "
                           "first, or pass --library / --db")
    return found


def _store(library: Optional[Path], db: Optional[Path]):
    from ..subsonic.users import UserStore

    return run(lambda: UserStore(_catalog_dir(library, db)))


def _read_password(stdin: bool) -> str:
    if stdin:
        line = sys.stdin.readline()
        if not line.strip("\r\n"):
            _fail("--password-stdin: standard input held no password (give it on the first line)")
        return line.rstrip("\r\n")
    pw = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return pw


@user_app.command("add")
def add(name: str = typer.Argument(..., help="User name (letters, digits, . _ @ + -)."),
        password_stdin: bool = typer.Option(False, "--password-stdin",
                                            help="Read the password from the first line of standard input."),
        library: Optional[Path] = LIBRARY_OPT, db: Optional[Path] = DB_OPT) -> None:
    """Add a user (or set an existing user's password)."""
    from ..subsonic.users import UserError

    store = _store(library, db)
    try:
        pw = _read_password(password_stdin)
        try:
            existed = run(lambda: store.add(name, pw))
        except UserError as e:
            _fail(str(e))
        out.print(f"{'password changed for' if existed else 'added'} user {esc(name)} in {esc(store.path)}",
                  highlight=False)
    finally:
        store.close()


@user_app.command("key")
def key(name: str = typer.Argument(..., help="User name."),
        library: Optional[Path] = LIBRARY_OPT, db: Optional[Path] = DB_OPT) -> None:
    """Print a new API key for a user (clients with apiKeyAuthentication send it instead of a password)."""
    store = _store(library, db)
    try:
        k = run(lambda: store.new_api_key(name))
        print(k)
    finally:
        store.close()


@user_app.command("list")
def list_users(library: Optional[Path] = LIBRARY_OPT, db: Optional[Path] = DB_OPT) -> None:
    """The users, one a line."""
    store = _store(library, db)
    try:
        for n in store.names():
            print(n)
    finally:
        store.close()


@user_app.command("remove")
def remove(name: str = typer.Argument(..., help="User name."),
           library: Optional[Path] = LIBRARY_OPT, db: Optional[Path] = DB_OPT) -> None:
    """Remove a user with their API keys, scrobbles, stars, ratings and playlists."""
    store = _store(library, db)
    try:
        run(lambda: store.remove(name))
        out.print(f"removed user {esc(name)}", highlight=False)
    finally:
        store.close()
