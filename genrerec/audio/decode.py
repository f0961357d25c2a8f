"""Decoding audio files into mono float32 waveforms at one sample rate.

soundfile (libsndfile) reads WAV/FLAC/OGG/Opus/MP3/AIFF/AU and can seek, so a
window of a long file is decoded without touching the rest. Anything it cannot
open (m4a, aac, wma, ...) goes through PyAV, whose wheel carries FFmpeg.
Resampling is melspec.resample (torchaudio's sinc interpolation in numpy).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..safety import NotRegularFileError, open_regular

_PROC_FD = "/proc/self/fd"
SAMPLE_RATE = 16000  # rate of the shared GTZAN copy; mel bands stop at 8 kHz
AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".flac", ".ogg", ".oga", ".opus", ".wav", ".wave", ".aif", ".aiff", ".aifc",
     ".au", ".snd", ".m4a", ".mp4", ".aac", ".wma", ".webm", ".mka"}
)
SILENCE_RMS = 1e-4  # about -80 dBFS: quieter windows carry no music
MAX_FULL_DECODE_S = 20 * 60  # longer files are only ever read in windows


class AudioError(Exception):
    """A file could not be turned into usable audio; says which file and why."""

    def __init__(self, path: str | os.PathLike | bytes, reason: str):
        self.path = os.fsdecode(path) if isinstance(path, bytes) else str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class AudioInfo:
    """What we know about a file before decoding its samples."""

    duration: float  # seconds
    sample_rate: int
    channels: int
    backend: str  # "soundfile" or "pyav"


@dataclass
class _Source:
    """A file opened once for decoding: every reader works from this handle, never the path again,
    so a file swapped (for a FIFO, say) after the check is not what gets read."""

    path: Path
    fd: int

    def soundfile(self):
        import soundfile as sf

        os.lseek(self.fd, 0, os.SEEK_SET)
        return sf.SoundFile(self.fd, closefd=False)

    def av(self):
        """What av.open() reads: the handle itself (through /proc on Linux, a file object elsewhere)."""
        if os.path.isdir(_PROC_FD):
            return f"{_PROC_FD}/{self.fd}"
        os.lseek(self.fd, 0, os.SEEK_SET)
        return os.fdopen(os.dup(self.fd), "rb")


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[_Source]:
    """Open non-blocking and check the handle is a non-empty regular file: a FIFO is refused
    ("not a regular file") instead of blocking the reader forever."""
    try:
        fd = open_regular(path)
    except FileNotFoundError:
        raise AudioError(path, "file not found") from None
    except NotRegularFileError:
        raise AudioError(path, "not a regular file") from None
    except PermissionError:
        raise AudioError(path, "permission denied (file is not readable)") from None
    except OSError as e:
        raise AudioError(path, f"cannot access file ({e.strerror})") from None
    try:
        os.set_blocking(fd, True)  # a regular file: blocking reads are what the decoders expect
        if os.fstat(fd).st_size == 0:
            raise AudioError(path, "empty file (0 bytes)")
        if not os.access(path, os.R_OK):  # root opens anything; say what a user would meet
            raise AudioError(path, "permission denied (file is not readable)")
        yield _Source(path, fd)
    finally:
        os.close(fd)


MIN_RATE, MAX_RATE = 4_000, 768_000  # sample rates outside these are corrupt headers, not audio
MAX_PEAK = 1_000.0  # float samples are nominally within +-1; far beyond is corrupt or mislabelled data


def _why_silent(src: _Source, info: AudioInfo) -> str:
    """The real reason a file decoded to silence: bad samples, channels that
    cancel on mix-down, or plain silence."""
    if info.backend == "soundfile":
        try:
            with _quiet_c_stderr(), src.soundfile() as f:
                raw = f.read(min(f.frames, 30 * f.samplerate), dtype="float32", always_2d=True)
        except Exception:
            raw = None
        if raw is not None and raw.size:
            finite = np.isfinite(raw)
            if not finite.any():
                return "every sample is NaN or infinite (corrupt file)"
            ch_rms = np.sqrt(np.mean(np.where(finite, raw, 0).astype(np.float64) ** 2, axis=0))
            if raw.shape[1] > 1 and (ch_rms > SILENCE_RMS).any():
                return "channels cancel out when mixed to mono (one is the other inverted)"
    return "audio is silent (every window below -80 dBFS)"


def _to_mono(data: np.ndarray) -> np.ndarray:
    data = np.asarray(data, dtype=np.float32)
    if data.ndim == 2:
        data = data.mean(axis=1, dtype=np.float32)
    if not np.all(np.isfinite(data)):
        data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
    return data


def resample(wav: np.ndarray, orig_sr: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling (torchaudio's sinc interpolation, ported to numpy: no torch needed)."""
    from .melspec import resample as _resample

    return _resample(wav, orig_sr, sr)


# --- soundfile backend -------------------------------------------------------

@contextlib.contextmanager
def _quiet_c_stderr():
    """libmpg123 prints recoverable bit-reservoir warnings straight to fd 2;
    hide them (decoder failures still surface as exceptions)."""
    try:
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        yield
        return
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _sf_info(src: _Source) -> AudioInfo | None:
    try:
        with _quiet_c_stderr(), src.soundfile() as f:
            frames, rate, channels = f.frames, f.samplerate, f.channels
    except Exception:
        return None
    if rate <= 0:
        return None
    return AudioInfo(frames / rate, rate, channels, "soundfile")


def _sf_read(src: _Source, spans: list[tuple[float, float]]) -> tuple[list[np.ndarray], int]:
    out = []
    with _quiet_c_stderr(), src.soundfile() as f:
        sr = f.samplerate
        for start, dur in spans:
            want = f.frames if dur is None else int(round(dur * sr))
            chunks, have = [], 0
            try:
                f.seek(min(int(start * sr), max(f.frames - 1, 0)))
                while have < want:  # 1 s blocks: a damaged file keeps what decoded before the damage
                    block = f.read(min(want - have, sr), dtype="float32", always_2d=True)
                    if len(block) == 0:
                        break
                    chunks.append(_to_mono(block))
                    have += len(block)
            except Exception:
                if len(spans) == 1 and not chunks:
                    raise
            out.append(np.concatenate(chunks) if chunks else np.zeros(0, np.float32))
    return out, sr


# --- PyAV (FFmpeg) backend ---------------------------------------------------

def _av_info(src: _Source) -> AudioInfo | None:
    try:
        import av
    except ImportError:
        return None
    try:
        with av.open(src.av()) as c:
            if not c.streams.audio:
                return None
            s = c.streams.audio[0]
            if s.duration is not None and s.time_base is not None:
                dur = float(s.duration * s.time_base)
            elif c.duration is not None:
                dur = c.duration / 1_000_000
            else:
                dur = float("nan")
            return AudioInfo(dur, s.codec_context.sample_rate or 0, s.codec_context.channels or 1, "pyav")
    except Exception:
        return None


def _tolerant(frames):
    """Yield decoded frames until the stream ends or breaks (truncated file)."""
    it = iter(frames)
    got_any = False
    while True:
        try:
            frame = next(it)
        except StopIteration:
            return
        except Exception:
            if not got_any:
                raise
            return
        got_any = True
        yield frame


def _av_read(src: _Source, spans: list[tuple[float, float | None]], sr: int) -> list[np.ndarray]:
    import av

    out = []
    with av.open(src.av()) as c:
        stream = c.streams.audio[0]
        for start, dur in spans:
            if start > 0:
                c.seek(int(start * 1_000_000), any_frame=False, backward=True)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
            need = None if dur is None else int(round(dur * sr))
            chunks: list[np.ndarray] = []
            have = 0
            skip = None
            for frame in _tolerant(c.decode(stream)):
                if skip is None:  # seek lands on a keyframe at or before `start`
                    t = float(frame.pts * frame.time_base) if frame.pts is not None else start
                    skip = max(0, int(round((start - t) * sr)))
                for rf in resampler.resample(frame):
                    a = rf.to_ndarray().reshape(-1)
                    if skip:
                        cut = min(skip, a.size)
                        a, skip = a[cut:], skip - cut
                    chunks.append(a)
                    have += a.size
                if need is not None and have >= need:
                    break
            wav = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
            out.append(_to_mono(wav[:need] if need is not None else wav))
    return out


# --- public API --------------------------------------------------------------

def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Duration, rate and channels, without decoding; raises AudioError if unreadable."""
    path = Path(path)
    with _opened(path) as src:
        return _info(src)


def _info(src: _Source) -> AudioInfo:
    path = src.path
    info = _sf_info(src) or _av_info(src)
    if info is None:
        raise AudioError(path, "not a readable audio file (unknown format or corrupt)")
    if info.duration == 0:
        raise AudioError(path, "audio has zero length")
    if info.sample_rate and not MIN_RATE <= info.sample_rate <= MAX_RATE:
        raise AudioError(path, f"not a readable audio file (header claims an implausible sample rate of "
                               f"{info.sample_rate} Hz; corrupt?)")
    return info


def _read_spans(src: _Source, info: AudioInfo, spans, sr: int) -> list[np.ndarray]:
    path = src.path
    try:
        if info.backend == "soundfile":
            wavs, native = _sf_read(src, spans)
            return [resample(w, native, sr) for w in wavs]
        return _av_read(src, spans, sr)
    except AudioError:
        raise
    except MemoryError:
        raise AudioError(path, "out of memory while decoding") from None
    except Exception as e:  # decoder errors on truncated/corrupt data
        if info.backend == "soundfile" and _av_info(src) is not None:
            try:  # libsndfile gave up mid-file; FFmpeg is more forgiving
                return _av_read(src, spans, sr)
            except Exception:
                pass
        raise AudioError(path, f"decoding failed ({type(e).__name__}: {e})") from None


def load_audio(
    path: str | os.PathLike,
    sr: int = SAMPLE_RATE,
    offset: float = 0.0,
    duration: float | None = None,
) -> np.ndarray:
    """Decode (part of) a file to a mono float32 waveform at `sr`.

    Args:
        path: audio file.
        sr: target sample rate.
        offset: start in seconds.
        duration: seconds to read; None reads to the end (refused past
            MAX_FULL_DECODE_S: use `read_windows` for long files).
    """
    path = Path(path)
    with _opened(path) as src:
        info = _info(src)
        if duration is None and info.duration - offset > MAX_FULL_DECODE_S:
            raise AudioError(path, f"too long to decode whole ({info.duration / 60:.0f} min); read it in windows")
        wav = _read_spans(src, info, [(offset, duration)], sr)[0]
    if wav.size == 0:
        raise AudioError(path, "decoded to zero samples")
    return wav


def window_starts(duration: float, window_s: float, hop_s: float, max_windows: int | None) -> list[float]:
    """Start times of analysis windows covering the whole track.

    Short tracks get every window at `hop_s`; long ones get `max_windows`
    windows spread evenly from start to end, so a track is summarised by all of
    it, not its first 30 seconds, at a bounded cost.
    """
    if duration < window_s:
        return []
    last = duration - window_s
    n_all = int(math.floor(last / hop_s + 1e-9)) + 1
    if max_windows is None or n_all <= max_windows:
        return [i * hop_s for i in range(n_all)]
    if max_windows == 1:
        return [last / 2]
    return [last * i / (max_windows - 1) for i in range(max_windows)]


def read_windows(
    path: str | os.PathLike,
    window_s: float,
    hop_s: float | None = None,
    max_windows: int | None = 16,
    sr: int = SAMPLE_RATE,
) -> tuple[np.ndarray, float]:
    """Read fixed-length windows spread across a whole track.

    Returns:
        (windows [k, window_s*sr] float32, track duration in seconds). Silent
        windows are dropped. Raises AudioError when the file is too short or
        everything is silent.
    """
    path = Path(path)
    with _opened(path) as src:
        return _read_windows(src, window_s, hop_s, max_windows, sr)


def _read_windows(src: _Source, window_s: float, hop_s: float | None, max_windows: int | None,
                  sr: int) -> tuple[np.ndarray, float]:
    path = src.path
    info = _info(src)
    hop_s = hop_s or window_s / 2
    n = int(round(window_s * sr))
    dur = info.duration
    if not math.isfinite(dur) or dur <= 0:  # container without a duration: decode up to the cap
        wav = _read_spans(src, info, [(0.0, float(MAX_FULL_DECODE_S))], sr)[0]
        dur = wav.size / sr
        starts = window_starts(dur, window_s, hop_s, max_windows)
        wins = [wav[int(round(s * sr)):int(round(s * sr)) + n] for s in starts]
    else:
        starts = window_starts(dur, window_s, hop_s, max_windows)
        if not starts:
            raise AudioError(path, f"too short: {dur:.2f} s, need at least one {window_s:g} s window")
        n_all = len(window_starts(dur, window_s, hop_s, None))
        contiguous = len(starts) == n_all and dur <= MAX_FULL_DECODE_S
        if contiguous:  # windows tile the track: decode once, slice
            wav = _read_spans(src, info, [(0.0, None)], sr)[0]
            dur = wav.size / sr  # trust decoded length over the header
            starts = window_starts(dur, window_s, hop_s, max_windows)
            wins = [wav[int(round(s * sr)):int(round(s * sr)) + n] for s in starts]
        else:
            wins = _read_spans(src, info, [(s, window_s) for s in starts], sr)
    got = max((w.size for w in wins), default=0) / sr
    wins = [w for w in wins if w.size >= n * 0.9]  # a header can overstate the length
    if not wins:
        if math.isfinite(info.duration) and info.duration >= window_s:  # the header promised more: cut off
            raise AudioError(path, f"damaged or truncated: the header says {info.duration:.1f} s but only "
                                   f"{got:.2f} s decodes, less than one {window_s:g} s window")
        raise AudioError(path, f"too short: decoded less than one {window_s:g} s window")
    wins = [np.pad(w[:n], (0, max(0, n - w.size))) for w in wins]
    arr = np.stack(wins).astype(np.float32)
    peak = float(np.abs(arr).max())
    if not peak <= MAX_PEAK:
        raise AudioError(path, f"sample values far outside [-1, 1] (peak {peak:.3g}): corrupt or not audio data")
    rms = np.sqrt(np.mean(arr.astype(np.float64) ** 2, axis=1))
    keep = rms > SILENCE_RMS
    if not keep.any():
        raise AudioError(path, _why_silent(src, info))
    return arr[keep], float(dur)
