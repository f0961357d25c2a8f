"""Playlists: getPlaylists, getPlaylist, createPlaylist, updatePlaylist, deletePlaylist.

Besides each user's own playlists ("pl-<n>"), every user with listening history
gets read-only playlists that refresh themselves:
  * "Mix for you" ("mix"): `Recommender.recommend` over the user's scrobbles of the
    last MIX_DAYS days (play counts as weights) plus their starred songs, at the
    default temperature;
  * one "Taste: <top tags>" ("taste-<k>") per taste of that history (the
    Recommender's clusters), a mix from that taste's songs alone.
They are recomputed when the history changes (a new scrobble or star, or a new
catalog generation), and stay the same between changes (the seed is the history's).
"""

from __future__ import annotations

import hashlib
import time

from ..models.space import readable_tags
from .library import SubsonicView
from .registry import Ctx, endpoint
from .responses import MISSING_PARAMETER, NOT_AUTHORISED, NOT_FOUND, SubsonicError, iso
from .shapes import UserData, song_entry
from .sonic import instant_mix

MIX_DAYS = 30
MIX_SIZE = 50
TASTE_SIZE = 25
MAX_TASTES_SHOWN = 5
MAX_ENTRIES = 10_000


def listening_history(store, view: SubsonicView, user: str, now: float | None = None,
                      days: int = MIX_DAYS) -> dict[int, float]:
    """{catalog id: plays} from a user's scrobbles of the last `days` days, plus 1 per starred song."""
    now = time.time() if now is None else now
    return store.history(user, {s.path: s.track_id for s in view.songs_by_path}, now - days * 86400)


def _mixes(ctx: Ctx) -> list[dict]:
    """The user's self-refreshing playlists: [{id, name, comment, ids, changed}], cached per history."""
    history = listening_history(ctx.store, ctx.view, ctx.user)
    if not history:
        return []
    key = hashlib.sha1(repr((ctx.view.generation, sorted(history.items()))).encode()).hexdigest()
    cached = ctx.shared.mixes.get(ctx.user)
    if cached and cached[0] == key:
        return cached[1]
    seed = int(key[:8], 16)
    now = time.time()
    mix = [r.track_id for r in instant_mix(ctx, history, MIX_SIZE, seed)]
    out = [{"id": "mix", "name": "Mix for you", "ids": mix, "changed": now,
            "comment": f"genrerec: from your plays of the last {MIX_DAYS} days and your starred songs; "
                       "refreshes itself as you listen"}]
    rec = ctx.lib.rec
    for k, taste in enumerate(rec.tastes(history)[:MAX_TASTES_SHOWN]):
        ids = [rec.id_of_path(p) for p in taste.tracks]
        words = readable_tags(taste.tags, 3) or list(taste.genres)[:2]  # named by its tags first
        picks = [r.track_id for r in instant_mix(ctx, {i: history.get(i, 1.0) for i in ids}, TASTE_SIZE, seed + k)]
        out.append({"id": f"taste-{k}", "name": "Taste: " + ", ".join(words), "ids": picks, "changed": now,
                    "comment": f"genrerec: {taste.share:.0%} of your listening, and more like it"})
    ctx.shared.mixes[ctx.user] = (key, out)
    return out


def _shape(view: SubsonicView, pid: str, name: str, owner: str, rels_or_ids: list, created: float,
           changed: float, comment: str | None, public: bool, readonly: bool, ud: UserData | None) -> dict:
    songs = [view.by_track.get(x) if isinstance(x, int) else view.by_path.get(x) for x in rels_or_ids]
    songs = [s for s in songs if s is not None]  # entries whose file left the catalog are skipped
    out = {"id": pid, "name": name, "comment": comment, "owner": owner, "public": public,
           "songCount": len(songs), "duration": int(round(sum(s.duration for s in songs))),
           "created": iso(created), "changed": iso(changed), "readonly": readonly,
           "coverArt": songs[0].album_id if songs else None}
    if ud is not None:
        out["entry"] = [song_entry(s, ud) for s in songs]
    return out


def _own(ctx: Ctx, pid: str) -> tuple:
    if pid == "mix" or pid.startswith("taste-"):
        raise SubsonicError(NOT_AUTHORISED, "this playlist refreshes itself and cannot be changed; "
                                            "copy its songs into a new playlist instead")
    row = _row(ctx, pid)
    if row[1] != ctx.user:
        raise SubsonicError(NOT_AUTHORISED, "only the owner may change this playlist")
    return row


def _row(ctx: Ctx, pid: str) -> tuple:
    row = None
    if pid.startswith("pl-") and pid[3:].isdigit() and len(pid) < 20:
        row = ctx.store.playlist(int(pid[3:]))
    if row is None or (row[1] != ctx.user and not row[4]):
        raise SubsonicError(NOT_FOUND, f"playlist {pid!r} not found")
    return row


def _user_playlist(ctx: Ctx, row: tuple, ud: UserData | None) -> dict:
    pid, owner, name, comment, public, created, changed = row
    return _shape(ctx.view, f"pl-{pid}", name, owner, ctx.store.entries(pid), created, changed, comment,
                  bool(public), owner != ctx.user, ud)


@endpoint("getPlaylists")
def get_playlists(ctx: Ctx) -> dict:
    view = ctx.view
    out = [_shape(view, m["id"], m["name"], ctx.user, m["ids"], m["changed"], m["changed"], m["comment"], False,
                  True, None) for m in _mixes(ctx)]
    out += [_user_playlist(ctx, row, None) for row in ctx.store.playlists(ctx.user)]
    return {"playlists": {"playlist": out}}


@endpoint("getPlaylist")
def get_playlist(ctx: Ctx) -> dict:
    pid = ctx.params.need("id")
    ud = UserData(ctx)
    if pid == "mix" or pid.startswith("taste-"):
        for m in _mixes(ctx):
            if m["id"] == pid:
                return {"playlist": _shape(ctx.view, pid, m["name"], ctx.user, m["ids"], m["changed"], m["changed"],
                                           m["comment"], False, True, ud)}
        raise SubsonicError(NOT_FOUND, f"playlist {pid!r} not found (it appears once you have listened)")
    return {"playlist": _user_playlist(ctx, _row(ctx, pid), ud)}


def _song_paths(ctx: Ctx, ids: list[str]) -> list[str]:
    if len(ids) > MAX_ENTRIES:
        raise SubsonicError(0, f"a playlist holds at most {MAX_ENTRIES} songs")
    return [ctx.view.song(i).path for i in ids]


@endpoint("createPlaylist")
def create_playlist(ctx: Ctx) -> dict:
    p = ctx.params
    rels = _song_paths(ctx, p.all("songId"))
    if p.get("playlistId"):
        row = _own(ctx, p["playlistId"])
        ctx.store.set_entries(row[0], rels)
        if p.get("name"):
            ctx.store.update_playlist(row[0], name=p["name"][:200])
        pid = row[0]
    else:
        name = p.get("name")
        if not name:
            raise SubsonicError(MISSING_PARAMETER, "required parameter is missing: name (or playlistId)")
        pid = ctx.store.create_playlist(ctx.user, name[:200], rels)
    return {"playlist": _user_playlist(ctx, ctx.store.playlist(pid), UserData(ctx))}


@endpoint("updatePlaylist")
def update_playlist(ctx: Ctx) -> dict:
    p = ctx.params
    row = _own(ctx, p.need("playlistId"))
    pid = row[0]
    public = p.bool("public") if "public" in p else None
    ctx.store.update_playlist(pid, name=(p.get("name") or None) and p["name"][:200],
                              comment=p.get("comment") and p["comment"][:1000], public=public)
    add, remove = p.all("songIdToAdd"), p.all("songIndexToRemove")
    if add or remove:
        rels = ctx.store.entries(pid)
        try:
            drop = {int(i) for i in remove}
        except ValueError:
            raise SubsonicError(0, "songIndexToRemove must be whole numbers (positions from 0)") from None
        rels = [r for i, r in enumerate(rels) if i not in drop] + _song_paths(ctx, add)
        if len(rels) > MAX_ENTRIES:
            raise SubsonicError(0, f"a playlist holds at most {MAX_ENTRIES} songs")
        ctx.store.set_entries(pid, rels)
    return {}


@endpoint("deletePlaylist")
def delete_playlist(ctx: Ctx) -> dict:
    row = _own(ctx, ctx.params.need("id"))
    ctx.store.delete_playlist(row[0])
    return {}


__all__ = ["listening_history"]
