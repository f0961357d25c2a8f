"""What to queue in MPD, and the auto-DJ loop.

The decisions are small pure pieces, tested without MPD:
  * `missing(state, keep)`: how many songs the queue lacks after the current one;
  * `was_skipped(played, duration)`: a song left before SKIP_SECONDS of it played (and
    not simply at its end) was skipped;
  * `Listening`: the songs actually played and those skipped, from the player's changes
    (times from an injectable clock);
  * `Picker.pick`: tracks similar to the seeds (Recommender.recommend under the playlist
    controls), never one that is queued or was played, as MPD URIs.

`DJ.run` waits on MPD's idle events (player, playlist), and after each one tops the queue
up to `keep` songs after the current one, seeded by the last HISTORY songs played (the
current one included) and steered away from the skipped ones.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from .client import MpdConnection, MpdError, PathMap

SKIP_SECONDS = 30.0  # left before this much of it played: skipped (avoided), unless it ended
END_SLACK = 3.0  # ... "ended": within this many seconds of its end
HISTORY = 5  # songs played that seed the next picks (the current one included)
SEED_FROM_QUEUE = 5  # with nothing playing, `queue` seeds from the last this many queued songs
REMEMBER = 1000  # played songs never queued again this session (the most recent this many)
AVOID = 50  # skipped songs the picks steer away from (the most recent this many)
EXTRA = 5  # picks asked beyond those needed, in case MPD lacks some files


@dataclass
class QueueState:
    """MPD's queue: song URIs in order and the current song's position (None: none)."""

    uris: list[str]
    pos: int | None = None

    @property
    def upcoming(self) -> int:
        """Songs queued after the current one (all of them when there is none)."""
        return len(self.uris) - (self.pos + 1) if self.pos is not None else len(self.uris)


def missing(state: QueueState, keep: int) -> int:
    """How many songs to append so that at least `keep` follow the current one."""
    return max(0, keep - state.upcoming)


def was_skipped(played: float, duration: float | None) -> bool:
    """A song that stopped after `played` seconds was skipped if that was under SKIP_SECONDS
    and not its end (a song shorter than that, played out, was listened to)."""
    return played < SKIP_SECONDS and (duration is None or played < duration - END_SLACK)


@dataclass
class Listening:
    """Songs played and skipped, told by the player's state after each change.

    `observe` is given MPD's song id (one queue entry), its catalog track (None if not
    in the library), the player state, elapsed and duration; when the song id changes,
    the song before is judged from the time it played (by `clock`, pauses excluded)."""

    clock: Callable[[], float] = time.monotonic
    played: deque = field(default_factory=lambda: deque(maxlen=REMEMBER))
    avoided: deque = field(default_factory=lambda: deque(maxlen=AVOID))
    song: str | None = None
    track: int | None = None
    duration: float | None = None
    _start: float = 0.0
    _paused: float | None = None

    def observe(self, song: str | None, track: int | None, state: str, elapsed: float,
                duration: float | None) -> str | None:
        """Record the player's state; 'played' or 'skipped' for the song before when it changed."""
        now = self.clock()
        verdict = None
        if song != self.song:
            if self.song is not None:
                spent = self._paused if self._paused is not None else now - self._start
                verdict = "skipped" if was_skipped(spent, self.duration) else "played"
                if self.track is not None:
                    (self.avoided if verdict == "skipped" else self.played).append(self.track)
            self.song, self.track, self.duration = song, track, duration
        if state == "play":
            self._start, self._paused = now - elapsed, None
        else:
            self._paused = elapsed
        return verdict

    def seeds(self) -> list[int]:
        """The current track and the last songs played (most recent first), at most HISTORY."""
        out = [self.track] if self.track is not None else []
        for t in reversed(self.played):
            if len(out) >= HISTORY:
                break
            if t not in out and t not in self.avoided:
                out.append(t)
        return out


class Picker:
    """Tracks to queue: Recommender.recommend from seeds, as MPD URIs."""

    def __init__(self, rec, paths: PathMap, temperature: float, controls: dict | None = None,
                 max_per_artist: int | None = None, seed: int | None = None):
        self.rec, self.paths, self.temperature, self.seed = rec, paths, temperature, seed
        self.controls = dict(controls or {})
        self.max_per_artist = max_per_artist
        self.unknown_to_mpd: set[int] = set()  # catalog tracks MPD refused to add (not in its database)
        self._hidden: tuple[int, set[int]] | None = None  # (catalog generation, tracks outside MPD's folder)

    def track(self, uri: str) -> int | None:
        rel = self.paths.rel(uri)
        return self.rec.id_of_rel.get(rel) if rel is not None else None

    def uri(self, track: int) -> str | None:
        return self.paths.uri(self.rec.rels[self.rec.row_of[track]])

    def hidden(self) -> set[int]:
        """Catalog tracks MPD cannot see (outside its music directory), worked out once per catalog generation."""
        if self._hidden is None or self._hidden[0] != self.rec.generation:
            self._hidden = (self.rec.generation, {int(t) for t in self.rec.ids if self.uri(int(t)) is None})
        return self._hidden[1]

    def pick(self, seeds: Sequence[int], n: int, queued: Iterable[str], avoid: Sequence[int] = (),
             banned: Iterable[int] = ()) -> list[tuple[int, str]]:
        """Up to n (track, URI) pairs similar to the seeds, none queued, banned or a seed."""
        queued = set(queued)
        self.rec.refresh()
        seeds = [t for t in seeds if t in self.rec.row_of]  # a re-index since may have dropped some
        avoid = [t for t in avoid if t in self.rec.row_of and t not in seeds]
        if not seeds:
            return []
        ban = {t for t in (self.track(u) for u in queued) if t is not None} | set(banned) | self.unknown_to_mpd
        ban |= self.hidden()
        kw = dict(self.controls)
        kw["not_in"] = tuple(kw.get("not_in", ())) + tuple(sorted(ban - set(seeds)))
        recs = self.rec.recommend(list(seeds), n=n + EXTRA, temperature=self.temperature, seed=self.seed,
                                  avoid=avoid or None,
                                  max_per_artist=self.max_per_artist, **kw)
        out: list[tuple[int, str]] = []
        for r in recs:
            u = self.uri(r.track_id)
            if u is not None and u not in queued:
                out.append((r.track_id, u))
                queued.add(u)
        return out

    def add(self, conn: MpdConnection, picks: Sequence[tuple[int, str]], n: int,
            note: Callable[[str], None]) -> list[str]:
        """Append the first n picks MPD accepts; those it does not know are noted and never picked again."""
        added: list[str] = []
        for tid, uri in picks:
            if len(added) >= n:
                break
            try:
                conn.call("add", uri)
            except conn.CommandError as e:
                self.unknown_to_mpd.add(tid)
                note(f"MPD cannot add {uri} ({getattr(e, 'msg', None) or e}); is its database up to date? "
                     "(mpc update)")
                continue
            added.append(uri)
        return added


def read_queue(conn: MpdConnection) -> tuple[QueueState, dict]:
    """MPD's queue and status."""
    status = conn.call("status")
    songs = conn.call("playlistinfo")
    uris = [s.get("file", "") for s in songs]
    pos = int(status["song"]) if "song" in status else None
    if pos is not None and pos >= len(uris):  # the queue changed between the two commands
        pos = None
    return QueueState(uris, pos), status


class Notes:
    """One note per song not in the library, however often it is seen in the queue."""

    def __init__(self, note: Callable[[str], None], root):
        self.note, self.root, self.seen = note, root, set()

    def foreign(self, uris: Iterable[str]) -> None:
        new = sorted(set(uris) - self.seen)
        if new:
            self.seen |= set(new)
            more = f" and {len(new) - 1} more" if len(new) > 1 else ""
            self.note(f"ignoring {len(new)} queued song{'s' if len(new) > 1 else ''} not in the library at "
                      f"{self.root}: {new[0]}{more}")


def queue_similar(conn: MpdConnection, picker: Picker, n: int, note: Callable[[str], None]) -> list[str]:
    """Append n tracks like the playing song (with none playing, like the last queued songs) to MPD's
    queue, none already queued; the URIs added."""
    state, status = read_queue(conn)
    tracks = [picker.track(u) for u in state.uris]
    Notes(note, picker.rec.root).foreign(u for u, t in zip(state.uris, tracks) if t is None)
    if state.pos is not None:
        if tracks[state.pos] is None:
            raise MpdError(f"the current song {state.uris[state.pos]} is not in the library at {picker.rec.root}; "
                           "play a song of the library (or pass --music-dir with MPD's music_directory)")
        seeds = [tracks[state.pos]]
    else:
        seeds = [t for t in tracks if t is not None][-SEED_FROM_QUEUE:][::-1]
    if not seeds:
        raise MpdError("nothing is playing and no queued song is in the library: play a song of the library first")
    picks = picker.pick(seeds, n, state.uris)
    return picker.add(conn, picks, n, note)


class DJ:
    """Keeps at least `keep` songs queued after the current one until stopped.

    Example:
        dj = DJ(MpdConnection(MpdTarget.resolve()).connect(), Picker(rec, paths, 0.5), keep=5)
        dj.run()  # until dj.stop() (another thread) or Ctrl-C
    """

    def __init__(self, conn: MpdConnection, picker: Picker, keep: int = 5, clock: Callable[[], float] = time.monotonic,
                 note: Callable[[str], None] | None = None, on_event: Callable[[dict], None] | None = None):
        if keep < 1:
            raise MpdError(f"--keep must be at least 1, got {keep}")
        self.conn, self.picker, self.keep = conn, picker, keep
        self.listening = Listening(clock)
        self.note = note or (lambda msg: None)
        self.on_event = on_event
        self.notes = Notes(self.note, picker.rec.root)
        self._waiting = self._short = False

    def stop(self) -> None:
        """End `run` (from another thread or a signal handler)."""
        self.conn.stop()

    def sync(self, changed: Sequence[str] = ("player", "playlist")) -> dict:
        """Read MPD's state, judge the song that ended (after a player change), top the queue up;
        a report of what happened."""
        state, status = read_queue(self.conn)
        tracks = [self.picker.track(u) for u in state.uris]
        self.notes.foreign(u for u, t in zip(state.uris, tracks) if t is None)
        # one queue entry: MPD's song id, with its URI (ids start again at 1 when MPD restarts)
        song = f"{status.get('songid')}:{state.uris[state.pos]}" if state.pos is not None else None
        track = tracks[state.pos] if state.pos is not None else None
        duration = status.get("duration")
        verdict = None
        if "player" in changed:  # a queue change alone says nothing about listening
            verdict = self.listening.observe(song, track, status.get("state", "stop"),
                                             float(status.get("elapsed", 0)),
                                             float(duration) if duration is not None else None)
        added: list[str] = []
        need = missing(state, self.keep)
        seeds = self.listening.seeds()
        if need and not seeds:
            seeds = [t for t in tracks if t is not None][-SEED_FROM_QUEUE:][::-1]
        if need and seeds:
            picks = self.picker.pick(seeds, need, state.uris, list(self.listening.avoided), self.listening.played)
            added = self.picker.add(self.conn, picks, need, self.note)
            if len(added) < need and not self._short:  # said once, until the library has enough again
                self.note(f"only {len(added)} of {need} songs to queue: the library has no more that pass "
                          "the filters and are not queued or played")
            self._short = len(added) < need
        elif need and not self._waiting:
            self.note("waiting for a song of the library to play (nothing to pick similar songs to)")
        self._waiting = bool(need and not seeds)
        return {"verdict": verdict, "added": added, "upcoming": state.upcoming + len(added),
                "avoided": list(self.listening.avoided), "played": list(self.listening.played)}

    def run(self, max_events: int | None = None) -> int:
        """Top up now and after every player or queue change, until stop() (or `max_events` changes
        handled); the number of changes handled. Each report to `on_event` also holds `changed` (MPD's
        subsystems) and `t_event` / `t_done` (perf_counter when the change arrived and when it was handled)."""
        handled = 0
        report = self.sync()
        if self.on_event:
            self.on_event(report)
        while max_events is None or handled < max_events:
            changed = self.conn.idle("player", "playlist")
            if not changed:
                break
            t_event = time.perf_counter()
            report = self.sync(changed)
            report.update(changed=changed, t_event=t_event, t_done=time.perf_counter())
            handled += 1
            if self.on_event:
                self.on_event(report)
        return handled
