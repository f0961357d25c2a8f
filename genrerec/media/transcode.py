"""Audio for players: files they play as they are, MP3 (or, when asked, Ogg Opus) transcodes of the rest.

Browsers play MP3, WAV, FLAC, Ogg/Opus, AAC/M4A and WebM directly; those are
streamed from the handle `safety.open_beneath` opened (media.stream). Others
(AIFF, AU, WMA, Matroska audio, ...) are decoded with PyAV from that same
handle and re-encoded to MP3 (Ogg Opus for a Subsonic client that asks for
`format=opus`) into a private on-disk cache, within bounds a hostile file
cannot stretch:

- at most MAX_TRANSCODE_S of audio: the container's duration, else the
  catalog's, and in any case the decoded time (a Matroska file may report none);
- one transcode per source file at a time, shared by every request for it,
  and at most MAX_PARALLEL overall;
- stopped as soon as no request is waiting for it (the client went away);
- the cache (catalog folder/transcodes, 0700, files written atomically) is
  kept under CACHE_BYTES, least recently used out first.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from ..safety import fstat_regular, make_private_dir, open_nofollow
from ..utils import atomic_path

MEDIA_TYPES = {
    ".mp3": "audio/mpeg", ".wav": "audio/wav", ".wave": "audio/wav", ".flac": "audio/flac",
    ".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg", ".m4a": "audio/mp4", ".mp4": "audio/mp4",
    ".aac": "audio/aac", ".webm": "audio/webm",
}
MAX_TRANSCODE_S = 30 * 60  # longer files are marked unplayable rather than transcoded
CACHE_BYTES = 1 << 30  # on-disk transcode cache cap (a 30-minute MP3 at 192 kbit/s is ~43 MB)
MAX_PARALLEL = 2  # transcodes running at once, over all tracks
TRANSCODE_DIR = "transcodes"  # the cache, inside the catalog folder
BITRATE = 192_000
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """An output format: container, encoder, sample rates the encoder takes (the source's kept when
    listed, else the first), and the encoder's sample format."""

    name: str
    container: str
    codec: str
    suffix: str
    media_type: str
    rates: tuple[int, ...]
    bitrate: int
    sample_format: str


TARGETS = {
    "mp3": Target("mp3", "mp3", "libmp3lame", ".mp3", "audio/mpeg", (44100, 48000), BITRATE, "fltp"),
    "opus": Target("opus", "ogg", "libopus", ".opus", "audio/ogg", (48000,), 128_000, "flt"),  # libopus: 48 kHz
}


class TranscodeError(Exception):
    """The file cannot be turned into something a browser plays."""


class TranscodeCancelled(TranscodeError):
    """Every request waiting for the transcode went away, so it stopped."""


def browser_playable(path: str | os.PathLike) -> bool:
    return Path(os.fsdecode(path)).suffix.lower() in MEDIA_TYPES


def media_type(path: str | os.PathLike) -> str:
    return MEDIA_TYPES.get(Path(os.fsdecode(path)).suffix.lower(), "application/octet-stream")


def _too_long() -> TranscodeError:
    return TranscodeError(f"longer than {MAX_TRANSCODE_S // 60} min; too long to transcode")


def transcode_to(src_fd: int, dst: str | os.PathLike, duration: float | None = None,
                 cancel: threading.Event | None = None, bitrate: int | None = None, target: str = "mp3") -> None:
    """Decode the open file `src_fd` (closed here) and write it to `dst` as `target` (a TARGETS key):
    MP3 (stereo or mono as the source, 44.1/48 kHz kept, else 44.1 kHz) or Ogg Opus (48 kHz).
    `duration` is the catalog's, used when the container has none."""
    import av

    tg = TARGETS[target]
    bitrate = bitrate or tg.bitrate

    try:
        with os.fdopen(src_fd, "rb") as f, av.open(f) as src:
            if not src.streams.audio:
                raise TranscodeError("no audio stream")
            stream = src.streams.audio[0]
            known = [float(stream.duration * stream.time_base)] if stream.duration and stream.time_base else []
            if src.duration:
                known.append(src.duration / 1_000_000)
            if duration:
                known.append(float(duration))
            if known and max(known) > MAX_TRANSCODE_S:
                raise _too_long()
            channels = 1 if stream.codec_context.channels == 1 else 2
            rate = stream.codec_context.sample_rate if stream.codec_context.sample_rate in tg.rates else tg.rates[0]
            layout = "mono" if channels == 1 else "stereo"
            decoded = 0.0
            with av.open(os.fspath(dst), "w", format=tg.container) as out_file:
                out = out_file.add_stream(tg.codec, rate=rate, layout=layout)
                out.bit_rate = bitrate
                resampler = av.AudioResampler(format=tg.sample_format, layout=layout, rate=rate)
                for frame in src.decode(stream):
                    if cancel is not None and cancel.is_set():
                        raise TranscodeCancelled("no request is waiting for it any more")
                    decoded += frame.samples / (frame.sample_rate or rate)
                    if decoded > MAX_TRANSCODE_S:  # whatever the header said
                        raise _too_long()
                    for fr in resampler.resample(frame):
                        out_file.mux(out.encode(fr))
                for fr in resampler.resample(None):
                    out_file.mux(out.encode(fr))
                out_file.mux(out.encode(None))
    except TranscodeError:
        raise
    except Exception as e:  # PyAV raises many error types for undecodable input
        raise TranscodeError(f"cannot decode ({type(e).__name__}: {e})") from None


@dataclass
class Job:
    """One transcode in flight; `future` gives the cached file's path."""

    key: str
    target: str = "mp3"
    future: Future = field(default_factory=Future)
    cancel: threading.Event = field(default_factory=threading.Event)
    waiters: int = 0


class Transcoder:
    """Shared, bounded MP3 / Ogg Opus transcodes cached on disk in `cache_dir` (a private temp folder when None
    or not writable). Thread-safe; `start()` + `release()` bracket each request's wait."""

    def __init__(self, cache_dir: str | os.PathLike | None = None, cache_bytes: int = CACHE_BYTES,
                 parallel: int = MAX_PARALLEL):
        self.cache_dir = self._usable(Path(cache_dir)) if cache_dir else None
        if self.cache_dir is None:
            self.cache_dir = Path(tempfile.mkdtemp(prefix="genrerec-transcodes-"))
        self.cache_bytes = cache_bytes
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(parallel)

    @staticmethod
    def _usable(d: Path) -> Path | None:
        try:
            make_private_dir(d)
            return d if os.access(d, os.W_OK) else None
        except OSError:
            return None

    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    @staticmethod
    def key_of(fd: int, target: str = "mp3") -> str:
        """The cache name of an open source file: same inode, size and mtime, same transcode."""
        st = fstat_regular(fd, "transcode source")
        tg = TARGETS[target]
        ident = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{tg.bitrate}"
        return hashlib.sha256(ident.encode()).hexdigest()[:32] + tg.suffix

    def cached(self, key: str) -> int | None:
        """An fd of the cached transcode, or None."""
        try:
            fd = open_nofollow(self.cache_dir / key)
        except FileNotFoundError:
            return None
        try:
            os.utime(fd)  # recently used: evicted last
        except OSError:
            pass
        return fd

    def start(self, src_fd: int, duration: float | None = None, target: str = "mp3") -> Job:
        """A job turning the open source file (closed here) into `target` (a TARGETS key): the one in
        flight for it, else a new one. A finished job's future is already done. Call release(job) when
        no longer waiting."""
        if target not in TARGETS:
            os.close(src_fd)
            raise TranscodeError(f"unknown transcode format {target!r}; one of {', '.join(TARGETS)}")
        try:
            key = self.key_of(src_fd, target)
        except BaseException:
            os.close(src_fd)
            raise
        with self._lock:
            job = self._jobs.get(key)
            if job is not None:
                job.waiters += 1
                os.close(src_fd)
                return job
            job = Job(key, target, waiters=1)
            fd = self.cached(key)
            if fd is not None:
                os.close(fd)
                job.future.set_result(self.cache_dir / key)
                os.close(src_fd)
                return job
            self._jobs[key] = job
        threading.Thread(target=self._run, args=(job, src_fd, duration), daemon=True,
                         name="genrerec-transcode").start()
        return job

    def release(self, job: Job) -> None:
        """This request stopped waiting; the last one to go stops an unfinished transcode."""
        with self._lock:
            job.waiters -= 1
            if job.waiters <= 0 and not job.future.done():
                job.cancel.set()

    def _run(self, job: Job, src_fd: int, duration: float | None) -> None:
        try:
            with self._slots:
                if job.cancel.is_set():
                    os.close(src_fd)
                    raise TranscodeCancelled("no request is waiting for it any more")
                with atomic_path(self.cache_dir / job.key, mode=0o600) as tmp:
                    transcode_to(src_fd, tmp, duration, job.cancel, target=job.target)
            self._evict()
            result, error = self.cache_dir / job.key, None
        except BaseException as e:  # noqa: BLE001 - handed to the waiters
            result, error = None, e if isinstance(e, TranscodeError) else TranscodeError(str(e))
            if not isinstance(e, TranscodeCancelled):
                log.info("transcode failed: %s", error)
        with self._lock:
            self._jobs.pop(job.key, None)
        if error is None:
            job.future.set_result(result)
        else:
            job.future.set_exception(error)

    def _evict(self) -> None:
        """Least recently used transcodes out until the cache is under its cap."""
        files = []
        for p in (p for tg in TARGETS.values() for p in self.cache_dir.glob("*" + tg.suffix)):
            try:
                st = p.stat()
            except OSError:
                continue
            files.append((st.st_mtime_ns, st.st_size, p))
        total = sum(s for _, s, _ in files)
        for _, size, p in sorted(files):
            if total <= self.cache_bytes:
                break
            try:
                p.unlink()  # a response still reading it keeps its open handle
                total -= size
            except OSError:
                pass


def open_transcode(job: Job) -> tuple[int, int]:
    """(fd, size) of a finished job's file (an MP3, or Ogg Opus for target "opus")."""
    fd = open_nofollow(job.future.result())
    return fd, os.fstat(fd).st_size
