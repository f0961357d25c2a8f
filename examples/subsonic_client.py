#!/usr/bin/env python
"""Browse, play and mix a `genrerec serve` library from Python, as a Subsonic client does.

The steps of docs/subsonic.md, with py-opensonic (`pip install py-opensonic`):
ping, search3 (a song), getAlbum (its album), stream (its bytes), getSimilarSongs2
(an instant mix) and getSonicSimilarTracks (the nearest songs, with a similarity).

    SUBSONIC_PASSWORD=... python examples/subsonic_client.py --user me [--url http://127.0.0.1:8750]

The password comes from SUBSONIC_PASSWORD, else it is asked for (never a command-line
argument, which `ps` would show). Exits 1 with one line on any failure.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from urllib.parse import urlsplit


async def tour(url: str, user: str, password: str, query: str = "") -> list[str]:
    """The lines the tour prints: one per step."""
    import libopensonic

    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.hostname}"
    conn = libopensonic.AsyncConnection(base, user, password, port=parts.port or 80)
    out = []
    try:
        assert await conn.ping()
        out.append(f"ping: ok ({url})")
        songs = (await conn.search3(query, artist_count=0, album_count=0, song_count=1)).song
        if not songs:
            raise SystemExit(f"search3 {query!r}: no song")
        song = songs[0]
        out.append(f"search3: {song.artist} - {song.title} ({song.id})")
        album = await conn.get_album(song.album_id)
        out.append(f"getAlbum: {album.name}, {album.song_count} songs")
        res = await conn.stream(song.id)
        data = await res.read()
        out.append(f"stream: {len(data)} bytes of {res.headers.get('content-type')}")
        mix = await conn.get_similar_songs2(song.id, count=10)
        out.append(f"getSimilarSongs2: {len(mix)} songs, first {mix[0].artist} - {mix[0].title}" if mix else
                   "getSimilarSongs2: no songs")
        for m in await conn.get_sonic_similar_tracks(song.id, count=5):
            out.append(f"getSonicSimilarTracks: {m.similarity:.3f} {m.entry.artist} - {m.entry.title}")
    finally:
        await conn.cleanup()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8750", help="the Subsonic API URL `serve` printed")
    ap.add_argument("--user", required=True)
    ap.add_argument("--query", default="", help='search3 query for the seed song (default "": any song)')
    args = ap.parse_args()
    password = os.environ.get("SUBSONIC_PASSWORD") or getpass.getpass(f"password for {args.user}: ")
    try:
        for line in asyncio.run(tour(args.url, args.user, password, args.query)):
            print(line)
    except ImportError:
        sys.exit("error: this example needs py-opensonic: pip install py-opensonic")
    except Exception as e:  # one line, never a traceback (credentials stay out of it)
        sys.exit(f"error: {type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
