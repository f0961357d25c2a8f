"""`genrerec mpd album`: queue the album most like the playing one.

An album is what the playlist controls call one (recommend.controls.album_keys: the album
tag, else a folder of at most 40 tracks); its vector is the normalised mean of its tracks'
vectors (recommend.groups). The most similar other album with tracks left to queue wins:
its tracks not already queued and not left out by the controls, in file-name order.
"""

from __future__ import annotations

import os
from typing import Callable

from ..recommend.controls import Controls
from ..recommend.groups import centroid, members, nearest_groups
from .client import MpdConnection, MpdError
from .dj import Notes, Picker, read_queue


def album_name(rec, key: str, tracks: list[int]) -> str:
    """The album tag of its first track, else its folder."""
    for t in tracks:
        if rec.albums.get(t):
            return rec.albums[t]
    return key.split(":", 1)[1]


def queue_album(conn: MpdConnection, picker: Picker, note: Callable[[str], None]) -> tuple[str, float, list[str]]:
    """Append the album most similar to the current song's album (with none playing, the last queued
    song's): (album name, similarity, URIs added)."""
    rec = picker.rec
    rec.refresh()
    state, _ = read_queue(conn)
    tracks = [picker.track(u) for u in state.uris]
    Notes(note, rec.root).foreign(u for u, t in zip(state.uris, tracks) if t is None)
    if state.pos is not None:
        seed = tracks[state.pos]
        if seed is None:
            raise MpdError(f"the current song {state.uris[state.pos]} is not in the library at {rec.root}; play a "
                           "song of the library (or pass --music-dir with MPD's music_directory)")
    else:
        known = [t for t in tracks if t is not None]
        if not known:
            raise MpdError("nothing is playing and no queued song is in the library: play a song of the library first")
        seed = known[-1]
    key = rec.album_of.get(seed)
    if key is None:
        raise MpdError(f"{os.fsdecode(rec.rels[rec.row_of[seed]])} belongs to no album (no album tag, and its "
                       "folder is the library root or holds over 40 tracks)")
    groups = members(rec.album_of)
    excluded = Controls(**picker.controls).excluded(rec) | picker.hidden() | picker.unknown_to_mpd
    queued = {t for t in tracks if t is not None}
    for k, sim, ids in nearest_groups(rec, rec.album_of, centroid(rec, groups[key]), len(groups), exclude={key}):
        todo = sorted((t for t in ids if t not in excluded and t not in queued), key=lambda t: rec.rels[rec.row_of[t]])
        if not todo:
            continue
        added = picker.add(conn, [(t, picker.uri(t)) for t in todo], len(todo), note)
        if added:
            return album_name(rec, k, ids), sim, added
    raise MpdError("no other album has tracks left to queue (all are queued or left out by the filters)")
