"""Retrieval: stream, download, getCoverArt.

Only catalog tracks are served, named by their opaque id; the file must still
lie inside the library once links are resolved (`library_file`, the one place
files are opened, so a safer open can replace it in one edit). `stream` sends the
original bytes with HTTP ranges unless the client asks for another format or a
lower bit rate, then an MP3 from the shared transcoder (genrerec.media.transcode:
bounded in length, MAX_TRANSCODES at a time). Cover art is the picture embedded in
the first song, else a cover/folder/front image in its folder: never a link, never
outside the library, at most MAX_IMAGE_BYTES; `size` resizes (Pillow) to a JPEG.
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
from ..media.transcode import TranscodeError, Transcoder, open_transcode
from ..safety import UnsafePathError, is_within, open_beneath
from .library import Song
from .registry import Ctx, endpoint
from .responses import GENERIC, NOT_FOUND, SubsonicError

MAX_TRANSCODES = 2
DEFAULT_BITRATE_K = 192
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_COVER_SIZE = 2000
COVER_NAMES = ("cover", "folder", "front", "album", "albumart")
COVER_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".gif")
COVER_CACHE = 64
_transcoders: dict[str, Transcoder] = {}  # one per catalog folder, cached there like the web app's
_transcoders_lock = threading.Lock()
_covers: OrderedDict[tuple, tuple[bytes, str] | None] = OrderedDict()
_covers_lock = threading.Lock()


def library_file(ctx: Ctx, s: Song) -> Path:
    """The song's file, only if it is still a regular file inside the library (no link leads out)."""
    root = ctx.lib.rec.root
    real = os.path.realpath(root / s.path)
    if not is_within(real, root):
        raise SubsonicError(NOT_FOUND, f"song {s.id} points outside the library; not served")
    if not os.path.isfile(real):
        raise SubsonicError(NOT_FOUND, f"song {s.id}: the file is gone (re-run `genrerec index`)")
    return Path(real)


def open_song(ctx: Ctx, s: Song) -> int:
    """A read-only fd of the song's file, opened once beneath the library root without following
    links out (`safety.open_beneath`); what is served is that handle, never the path again."""
    try:
        return open_beneath(ctx.lib.rec.root, s.path)
    except (UnsafePathError, OSError) as e:
        raise SubsonicError(NOT_FOUND, f"song {s.id} cannot be served: {e}") from None


def _transcoder(ctx: Ctx) -> Transcoder:
    db = str(ctx.lib.rec.db_dir)
    with _transcoders_lock:
        if db not in _transcoders:
            _transcoders[db] = Transcoder(ctx.lib.rec.db_dir / "transcodes", parallel=MAX_TRANSCODES)
        return _transcoders[db]


def _transcoded(ctx: Ctx, fd: int, s: Song, range_header: str | None):
    """Work for a server thread (not the library thread): the shared MP3 transcode, with ranges.
    The transcoder makes one bit rate (its default) whatever maxBitRate asks."""
    tc = _transcoder(ctx)

    def work() -> Response:
        job = tc.start(fd, s.duration or None)
        try:
            job.future.result(timeout=600)
            out, size = open_transcode(job)
        except TranscodeError as e:
            raise SubsonicError(GENERIC, f"cannot transcode this song: {e}") from None
        except Exception as e:  # a timeout or a failed job: a Subsonic error, never a traceback
            raise SubsonicError(GENERIC, f"cannot transcode this song: {e}") from None
        finally:
            tc.release(job)
        return FdResponse(out, size, "audio/mpeg", range_header)
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
    return _transcoded(ctx, fd, s, ctx.headers.get("range"))


@endpoint("download")
def download(ctx: Ctx):
    s = ctx.view.song(ctx.params.need("id"))
    fd = open_song(ctx, s)
    name = Path(s.path).name.replace('"', "'").encode("ascii", "replace").decode()
    return FdResponse(fd, os.fstat(fd).st_size, s.content_type, ctx.headers.get("range"),
                      headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _embedded(path: Path) -> tuple[bytes, str] | None:
    try:
        import av

        with av.open(os.fspath(path)) as c:
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


def _folder_image(ctx: Ctx, folder: Path) -> tuple[bytes, str] | None:
    root = ctx.lib.rec.root
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
            p = folder / name
            try:
                st = os.lstat(p)
                if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_IMAGE_BYTES:
                    continue  # a link (it could lead anywhere) or a huge file is never served
                fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
                with os.fdopen(fd, "rb") as f:
                    data = f.read(MAX_IMAGE_BYTES + 1)
            except OSError:
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
    path = library_file(ctx, first)
    key = (str(path), os.stat(path).st_mtime_ns)
    with _covers_lock:
        if key in _covers:
            _covers.move_to_end(key)
            return _covers[key]
    got = _embedded(path) or _folder_image(ctx, path.parent)
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
