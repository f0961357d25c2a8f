"""A Subsonic user's listening as a history for `Recommender.recommend`, outside the server:
`genrerec recommend --listens subsonic:NAME` (every scrobble, play counts as weights, plus
each starred song once)."""

from __future__ import annotations

import os

from .users import UserStore

PREFIX = "subsonic:"


def is_subsonic(arg: str | os.PathLike) -> bool:
    return os.fspath(arg).startswith(PREFIX)


def subsonic_history(rec, arg: str | os.PathLike) -> dict[int, float]:
    """{catalog id: plays} of user NAME in `subsonic:NAME`, from users.sqlite beside rec's catalog."""
    name = os.fspath(arg)[len(PREFIX):]
    store = UserStore(rec.db_dir)
    try:
        store.need(name)
        ids = {os.fsdecode(rel): int(i) for rel, i in rec.id_of_rel.items()}
        return store.history(name, ids)
    finally:
        store.close()
