"""Retrieval: stream, download, getCoverArt.

Only catalog tracks are served, named by their opaque id, and every file is
opened once beneath the library root without following links out
(`safety.open_beneath`): what is served, transcoded or read for its picture is
that handle, never the path opened again. `stream` sends the original bytes with
HTTP ranges unless the client asks for another format or a lower bit rate, then
an MP3 (Ogg Opus for `format=opus`) from the web app's transcoder
(genrerec.media.transcode: shared per file, bounded in length and in how many run
at once). Cover art is the picture embedded in the first song, else a
cover/folder/front image in its folder: never a link, never outside the library,
at most MAX_IMAGE_BYTES; `size` resizes (Pillow) to a JPEG.
"""

from __future__ import annotations

import io
import os
import stat
import threading
from collections import OrderedDict
from pathlib import Path

from fastapi.responses import Response

from ..media.stream import FdResponse
from ..media.transcode import TARGETS, TranscodeError, open_transcode
from ..safety import UnsafePathError, is_within, open_beneath
from .library import Song
from .registry import Ctx, endpoint
from .responses import GENERIC, NOT_FOUND, SubsonicError

DEFAULT_BITRATE_K = 192
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_COVER_SIZE = 2000
COVER_NAMES = ("cover", "folder", "front", "album", "albumart")
COVER_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".gif")
COVER_CACHE = 64
_covers: OrderedDict[tuple, tuple[bytes, str] | None] = OrderedDict()
_covers_lock = threading.Lock()


def open_song(ctx: Ctx, s: Song) -> int:
    """A read-only fd of the song's file, opened once beneath the library root without following
    links out (`safety.open_beneath`); what is served is that handle, never the path again."""
    try:
        return open_beneath(ctx.lib.rec.root, s.path)
    except (UnsafePathError, OSError) as e:
        raise SubsonicError(NOT_FOUND, f"song {s.id} cannot be served: {e}") from None


def _transcoded(ctx: Ctx, fd: int, s: Song, range_header: str | None, target: str = "mp3"):
    """Work for a server thread (not the library thread): the shared transcode (MP3, or Ogg Opus for
    target "opus"), with ranges. The transcoder makes one bit rate per format whatever maxBitRate asks."""
    tc = ctx.shared.transcoder

    def work() -> Response:
        job = tc.start(fd, s.duration or None, target)
        try:
            job.future.result(timeout=600)
            out, size = open_transcode(job)
        except TranscodeError as e:
            raise SubsonicError(GENERIC, f"cannot transcode this song: {e}") from None
        except Exception as e:  # a timeout or a failed job: a Subsonic error, never a traceback
            raise SubsonicError(GENERIC, f"cannot transcode this song: {e}") from None
        finally:
            tc.release(job)
        return FdResponse(out, size, TARGETS[target].media_type, range_header)
    return work


@endpoint("stream")
def stream(ctx: Ctx):
    s = ctx.view.song(ctx.params.need("id"))
    fd = open_song(ctx, s)
    fmt = (ctx.params.get("format") or "").lower()
    max_k = ctx.params.int("maxBitRate", 0, 0, 100_000)
    file_k = int(s.size * 8 / s.duration / 1000) if s.duration > 0 else 0
    wants_other = fmt not in ("", "raw", s.suffix)
    too_big = max_k > 0 and file_k > max_k and fmt != "raw"
    if not (wants_other or too_big):
        return FdResponse(fd, os.fstat(fd).st_size, s.content_type, ctx.headers.get("range"))
    return _transcoded(ctx, fd, s, ctx.headers.get("range"), "opus" if fmt == "opus" else "mp3")


@endpoint("download")
def download(ctx: Ctx):
    s = ctx.view.song(ctx.params.need("id"))
    fd = open_song(ctx, s)
    name = Path(s.path).name.replace('"', "'").encode("ascii", "replace").decode()
    return FdResponse(fd, os.fstat(fd).st_size, s.content_type, ctx.headers.get("range"),
                      headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _embedded(fd: int) -> tuple[bytes, str] | None:
    """The picture embedded in the open song `fd` (read through a duplicate; `fd` stays open)."""
    try:
        import av

        with os.fdopen(os.dup(fd), "rb") as f, av.open(f) as c:
            for st in c.streams.video:
                if st.disposition & av.stream.Disposition.attached_pic:
                    for pkt in c.demux(st):
                        data = bytes(pkt)
                        if data and len(data) <= MAX_IMAGE_BYTES:
                            return data, "image/png" if data[:4] == b"\x89PNG" else "image/jpeg"
                        break
    except Exception:  # an unreadable file has no usable picture
        return None
    return None


def _folder_image(ctx: Ctx, rel_folder: Path) -> tuple[bytes, str] | None:
    root = ctx.lib.rec.root
    folder = root / rel_folder
    if not is_within(folder, root):
        return None
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return None
    for want in COVER_NAMES:
        for name in names:
            stem, ext = os.path.splitext(name)
            if stem.lower() != want or ext.lower() not in COVER_EXTS:
                continue
            try:
                if stat.S_ISLNK(os.lstat(folder / name).st_mode):
                    continue  # a link (it could lead anywhere) is never served
                fd = open_beneath(root, rel_folder / name)  # inside, no link on the way, a regular file
                with os.fdopen(fd, "rb") as f:
                    if os.fstat(f.fileno()).st_size > MAX_IMAGE_BYTES:
                        continue  # a huge file is never served
                    data = f.read(MAX_IMAGE_BYTES + 1)
            except (UnsafePathError, OSError):
                continue
            mime = {".png": "image/png", ".webp": "image/webp", ".gif": "image/gif"}.get(ext.lower(), "image/jpeg")
            return data, mime
    return None


def _resized(data: bytes, mime: str, size: int) -> tuple[bytes, str]:
    try:
        from PIL import Image
    except ImportError:
        return data, mime  # without Pillow: the original size
    try:
        with Image.open(io.BytesIO(data)) as im:
            if max(im.size) <= size:
                return data, mime
            im.thumbnail((size, size))
            buf = io.BytesIO()
            im.convert("RGB").save(buf, "JPEG", quality=88)
            return buf.getvalue(), "image/jpeg"
    except Exception:
        return data, mime


def cover_of(ctx: Ctx, item_id: str) -> tuple[bytes, str] | None:
    songs = ctx.view.songs_of(item_id)
    if not songs:
        return None
    first = songs[0]
    fd = open_song(ctx, first)
    try:
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino, st.st_mtime_ns)
        with _covers_lock:
            if key in _covers:
                _covers.move_to_end(key)
                return _covers[key]
        got = _embedded(fd) or _folder_image(ctx, Path(first.path).parent)
    finally:
        os.close(fd)
    with _covers_lock:
        _covers[key] = got
        while len(_covers) > COVER_CACHE:
            _covers.popitem(last=False)
    return got


@endpoint("getCoverArt")
def cover_art(ctx: Ctx):
    item = ctx.params.need("id")
    size = ctx.params.int("size", None, 1, 100_000)
    got = cover_of(ctx, item)
    if got is None:
        raise SubsonicError(NOT_FOUND, f"no cover art for {item!r}")
    data, mime = got
    if size:
        data, mime = _resized(data, mime, min(size, MAX_COVER_SIZE))
    return Response(data, media_type=mime, headers={"Cache-Control": "max-age=3600"})
