"""What every `genrerec` command shares: the typer app, the consoles, and the rule
that user errors (bad arguments, unreadable files, missing libraries) print one
clear line and exit 2, with no traceback."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from typer.core import TyperGroup

from ..safety import display, exists
from ..safety import markup_escape as esc

out = Console()
err = Console(stderr=True)


class _UserErrorGroup(TyperGroup):
    """The command group: a user error raised outside `run()` (a catalog found damaged while a command
    reads it, say) is still one line and exit 2, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except _user_errors() as e:
            _fail(str(e))


app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, cls=_UserErrorGroup,
                  help="Genre classification, track embeddings and playlists from your music library.")


def _fail(msg: str, code: int = 2) -> None:
    msg = "\n".join(esc(line) for line in str(msg).split("\n"))  # user text is never markup
    err.print(f"[bold red]error:[/] {msg}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _user_errors():
    from ..audio.decode import AudioError
    from ..errors import LibraryError, LibraryLocked
    from ..library.catalog import CatalogError
    from ..models.checkpoint import CheckpointError
    from ..recommend.listens import ListensError
    from ..recommend.results import RecommendError
    from ..training.errors import DataError  # not training.data: that imports torch

    return (AudioError, CatalogError, CheckpointError, DataError, LibraryError, LibraryLocked, ListensError,
            RecommendError)


def run(fn):
    """Call fn(); turn known user errors into one-line messages."""
    errors = _user_errors()
    try:
        return fn()
    except errors as e:  # a second `index` on a locked library too: a user error, exit 2 like the others
        _fail(str(e))
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM during `index` (index.Interrupted)
        err.print("interrupted: finished work is saved; run the same command again to continue")
        raise typer.Exit(128 + getattr(e, "signum", 2))


def _print_version(value: bool) -> None:
    if value:
        from ..version import __version__

        out.print(f"genrerec {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log details."),
         version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                      help="Print the version and exit.")) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")


def _bar(frac: float, width: int = 30) -> str:
    full = int(round(frac * width))
    return "█" * full + "·" * (width - full)


def _expand_folders(paths: List[Path]) -> List[Path]:
    """Folders stand for the audio files inside them (hidden ones skipped, as `index` does)."""
    from ..library.scan import scan_library

    out: List[Path] = []
    for p in paths:
        if p.is_dir():
            found = [f.path for f in scan_library(p)]
            if not found:
                err.print(f"warning: {esc(p)}: no audio files inside", highlight=False)
            out += found
        else:
            out.append(p)
    return out


def _open(library: Optional[Path], db: Optional[Path], near: list[Path]):
    from ..recommend.recommender import Recommender

    if db is not None:
        return run(lambda: Recommender.open(db))
    if library is not None:
        return run(lambda: Recommender.open(library))
    from ..library.location import find_db_dir

    for p in near:  # like git: look upward from the given tracks, then the current folder
        p = p.absolute()
        while not exists(p) and p != p.parent:
            p = p.parent
        d = find_db_dir(p)
        if d:
            return run(lambda: Recommender.open(d))
    here = find_db_dir(Path.cwd())
    if near and here is None:
        _fail(f"{display(near[0])}: no genrerec library found in its folder or above, nor in the current folder; "
              "run `genrerec index DIR` first, or pass --library / --db")
    return run(lambda: Recommender.open(here or Path.cwd()))
