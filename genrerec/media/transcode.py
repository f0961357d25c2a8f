"""Audio for the browser: files it plays as they are, MP3 transcodes of the rest.

Browsers play MP3, WAV, FLAC, Ogg/Opus, AAC/M4A and WebM directly; those are
streamed from disk with HTTP range requests (Starlette's FileResponse), so
seeking works. Others (AIFF, AU, WMA, Matroska audio, ...) are decoded with
PyAV and re-encoded to MP3 in memory, once per file, kept in a small LRU.
"""

from __future__ import annotations

import io
import os
import re
import threading
from collections import OrderedDict
from pathlib import Path

MEDIA_TYPES = {
    ".mp3": "audio/mpeg", ".wav": "audio/wav", ".wave": "audio/wav", ".flac": "audio/flac",
    ".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg", ".m4a": "audio/mp4", ".mp4": "audio/mp4",
    ".aac": "audio/aac", ".webm": "audio/webm",
}
MAX_TRANSCODE_S = 30 * 60  # longer files are marked unplayable rather than held in memory
CACHE_ITEMS = 4


class TranscodeError(Exception):
    """The file cannot be turned into something a browser plays."""


def browser_playable(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in MEDIA_TYPES


def media_type(path: str | os.PathLike) -> str:
    return MEDIA_TYPES.get(Path(path).suffix.lower(), "application/octet-stream")


def transcode_mp3(path: str | os.PathLike, bitrate: int = 192_000) -> bytes:
    """The whole file as MP3 bytes (stereo or mono as the source, 44.1/48 kHz kept, else 44.1 kHz)."""
    import av

    try:
        with av.open(os.fspath(path)) as src:
            if not src.streams.audio:
                raise TranscodeError("no audio stream")
            stream = src.streams.audio[0]
            if stream.duration and stream.time_base and float(stream.duration * stream.time_base) > MAX_TRANSCODE_S:
                raise TranscodeError(f"longer than {MAX_TRANSCODE_S // 60} min; too long to transcode")
            channels = 1 if stream.codec_context.channels == 1 else 2
            rate = stream.codec_context.sample_rate if stream.codec_context.sample_rate in (44100, 48000) else 44100
            layout = "mono" if channels == 1 else "stereo"
            buf = io.BytesIO()
            with av.open(buf, "w", format="mp3") as dst:
                out = dst.add_stream("libmp3lame", rate=rate, layout=layout)
                out.bit_rate = bitrate
                resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
                for frame in src.decode(stream):
                    for f in resampler.resample(frame):
                        dst.mux(out.encode(f))
                for f in resampler.resample(None):
                    dst.mux(out.encode(f))
                dst.mux(out.encode(None))
            return buf.getvalue()
    except TranscodeError:
        raise
    except Exception as e:  # PyAV raises many error types for undecodable input
        raise TranscodeError(f"cannot decode ({type(e).__name__}: {e})") from None


class TranscodeCache:
    """MP3 bytes of the last few transcoded files, keyed by path, size and mtime."""

    def __init__(self, items: int = CACHE_ITEMS):
        self.items = items
        self._data: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path) -> bytes:
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        data = transcode_mp3(path)
        with self._lock:
            self._data[key] = data
            while len(self._data) > self.items:
                self._data.popitem(last=False)
        return data


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single-range `Range` header; None for the whole body.

    Raises ValueError for a range that cannot be satisfied (HTTP 416)."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if not m or m.group(1) == m.group(2) == "":
        raise ValueError(header)
    if m.group(1) == "":  # suffix range: the last N bytes
        n = int(m.group(2))
        if n == 0:
            raise ValueError(header)
        return max(0, size - n), size - 1
    start = int(m.group(1))
    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    if start >= size or end < start:
        raise ValueError(header)
    return start, end
