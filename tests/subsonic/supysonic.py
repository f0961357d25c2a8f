"""genrerec and supysonic side by side: the same library, the same client, field names compared.

supysonic (https://github.com/spl0k/supysonic, AGPL; PyPI and Debian) is run from its own
virtual environment, never imported here: GENREREC_SUPYSONIC_VENV names it, else
~/.cache/genrerec/venv-supysonic-VERSION (what .ci/run installs); GENREREC_SUPYSONIC_VENV=/usr
runs Debian's package (`apt-get install supysonic`: /usr/bin/supysonic-cli and python3). It gets a config file, a
sqlite database and a daemon socket in a temporary folder, scans the library with
`supysonic-cli folder scan --foreground`, gets the same user, and serves its WSGI app with
werkzeug (a supysonic dependency) on a free loopback port.

Both servers answer the same calls from one httpx client with legacy auth (`p=enc:...`,
the one scheme supysonic 0.7 has) and f=json. Every object in an answer is typed by where
it sits (TREES); for each type, the fields the OpenSubsonic spec marks required (REQUIRED,
from each type's page under https://opensubsonic.netlify.app/docs/responses/) that
supysonic's objects carry must be on every genrerec object of that type. Values are not
compared: ids, dates and counts differ by design.

`python -m tests.subsonic.supysonic` rewrites the table in docs/subsonic.md.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

SUPYSONIC_VERSION = "0.7.9"
ENV_VAR = "GENREREC_SUPYSONIC_VENV"
DOC = Path(__file__).resolve().parents[2] / "docs" / "subsonic.md"
START, END = "<!-- supysonic-parity:start -->", "<!-- supysonic-parity:end -->"

# Required fields per response type: the "Req." column of each type's OpenSubsonic page
# (https://opensubsonic.netlify.app/docs/responses/<type>/); types with none are containers.
REQUIRED: dict[str, tuple[str, ...]] = {
    "MusicFolder": ("id",),  # responses/musicfolder
    "Indexes": ("ignoredArticles",),  # responses/indexes
    "Index": ("name",),  # responses/index_
    "Artist": ("id", "name"),  # responses/artist
    "Directory": ("id", "name"),  # responses/directory
    "Child": ("id", "isDir", "title"),  # responses/child
    "ArtistsID3": ("ignoredArticles",),  # responses/artistsid3
    "IndexID3": ("name",),  # responses/indexid3
    "ArtistID3": ("id", "name"),  # responses/artistid3
    "ArtistWithAlbumsID3": ("id", "name", "albumCount"),  # responses/artistwithalbumsid3
    "AlbumID3": ("id", "name", "songCount", "duration", "created"),  # responses/albumid3
    "AlbumID3WithSongs": ("id", "name", "songCount", "duration", "created"),  # responses/albumid3withsongs
    "Genre": ("value", "songCount", "albumCount"),  # responses/genre
    "Playlist": ("id", "name", "songCount", "duration", "created", "changed"),  # responses/playlist
    "PlaylistWithSongs": ("id", "name", "songCount", "duration", "created", "changed"),  # responses/playlistwithsongs
}

CHILD = ("Child", {})
ARTIST = ("Artist", {})
ARTIST_ID3 = ("ArtistID3", {})
ALBUM_ID3 = ("AlbumID3", {})
# endpoint -> (the answer's key, its type tree: (type, {field holding objects: subtree}))
TREES: dict[str, tuple[str, tuple]] = {
    "getMusicFolders": ("musicFolders", ("MusicFolders", {"musicFolder": ("MusicFolder", {})})),
    "getIndexes": ("indexes", ("Indexes", {"index": ("Index", {"artist": ARTIST}), "child": CHILD})),
    "getMusicDirectory": ("directory", ("Directory", {"child": CHILD})),
    "getArtists": ("artists", ("ArtistsID3", {"index": ("IndexID3", {"artist": ARTIST_ID3})})),
    "getArtist": ("artist", ("ArtistWithAlbumsID3", {"album": ALBUM_ID3})),
    "getAlbum": ("album", ("AlbumID3WithSongs", {"song": CHILD})),
    "getAlbumList2": ("albumList2", ("AlbumList2", {"album": ALBUM_ID3})),
    "getAlbumList": ("albumList", ("AlbumList", {"album": CHILD})),
    "getSong": ("song", CHILD),
    "getGenres": ("genres", ("Genres", {"genre": ("Genre", {})})),
    "getSongsByGenre": ("songsByGenre", ("Songs", {"song": CHILD})),
    "search3": ("searchResult3", ("SearchResult3", {"artist": ARTIST_ID3, "album": ALBUM_ID3, "song": CHILD})),
    "search2": ("searchResult2", ("SearchResult2", {"artist": ARTIST, "album": CHILD, "song": CHILD})),
    "getRandomSongs": ("randomSongs", ("Songs", {"song": CHILD})),
    "getPlaylists": ("playlists", ("Playlists", {"playlist": ("Playlist", {})})),
    "getPlaylist": ("playlist", ("PlaylistWithSongs", {"entry": CHILD})),
    "getStarred2": ("starred2", ("Starred2", {"artist": ARTIST_ID3, "album": ALBUM_ID3, "song": CHILD})),
    "getStarred": ("starred", ("Starred", {"artist": ARTIST, "album": CHILD, "song": CHILD})),
}

SERVE = """
import sys
from supysonic.config import IniConfig
from supysonic.web import create_application
from werkzeug.serving import make_server
srv = make_server("127.0.0.1", 0, create_application(IniConfig.from_common_locations()), threaded=True)
print(srv.server_port, flush=True)
srv.serve_forever()
"""


def supysonic_venv() -> Path | None:
    """The supysonic virtual environment to use, or None when there is none."""
    named = os.environ.get(ENV_VAR)
    venv = Path(named) if named else Path.home() / ".cache" / "genrerec" / f"venv-supysonic-{SUPYSONIC_VERSION}"
    return venv if (venv / "bin" / "supysonic-cli").is_file() else None


@contextlib.contextmanager
def supysonic_server(venv: Path, library: Path, user: str, password: str) -> Iterator[str]:
    """supysonic serving `library` (scanned first) to `user`: yields its base URL."""
    with tempfile.TemporaryDirectory(prefix="genrerec-supysonic-") as tmp:
        work = Path(tmp)
        (work / "supysonic.conf").write_text(
            f"[base]\ndatabase_uri = sqlite:///{work}/supysonic.db\n"
            f"[webapp]\ncache_dir = {work}/cache\nmount_webui = no\nlog_level = ERROR\n"
            f"[daemon]\nsocket = {work}/daemon.sock\nrun_watcher = no\n")
        env = {**os.environ, "HOME": str(work)}  # no ~/.supysonic of whoever runs the tests
        cli = str(venv / "bin" / "supysonic-cli")
        for args in (["folder", "add", "music", str(library)], ["folder", "scan", "--foreground"],
                     ["user", "add", user, "-p", password]):
            subprocess.run([cli, *args], cwd=work, env=env, check=True, timeout=300, capture_output=True)
        with open(work / "server.log", "wb") as log:
            p = subprocess.Popen([str(venv / "bin" / "python3"), "-c", SERVE], cwd=work, env=env,
                                 stdout=subprocess.PIPE, stderr=log, text=True)
            try:
                line = p.stdout.readline()  # printed once the socket listens
                if not line.strip().isdigit():
                    raise RuntimeError("supysonic did not start: " + (work / "server.log").read_text()[-2000:])
                yield f"http://127.0.0.1:{int(line)}"
            finally:
                p.terminate()
                p.wait(30)


class Client:
    """One server, legacy auth, f=json; `call` gives the answer's body or raises on a failed status."""

    def __init__(self, http, base: str, user: str, password: str):
        self.http, self.base = http, base.rstrip("/")
        self.auth = {"u": user, "p": "enc:" + password.encode().hex(), "v": "1.12.0", "c": "parity", "f": "json"}

    def call(self, method: str, **params) -> dict:
        r = self.http.get(f"{self.base}/rest/{method}", params={**self.auth, **params}, timeout=60)
        body = r.json()["subsonic-response"]
        if body["status"] != "ok":
            raise AssertionError(f"{self.base} {method}: {body.get('error')}")
        return body


def prepare(c: Client) -> dict[str, dict]:
    """Star a song, an album and an artist, make a playlist, then the parameters of every call,
    each server's own ids found through its own answers. Every list call gets the same objects from
    both (random songs: all of them), so that the optional fields compared do not depend on chance."""
    albums = c.call("getAlbumList2", type="alphabeticalByName", size=50)["albumList2"]["album"]
    album = next(a for a in albums if a["name"] == "Deep Tones")
    songs = c.call("getAlbum", id=album["id"])["album"]["song"]
    c.call("star", id=songs[0]["id"], albumId=album["id"], artistId=album["artistId"])
    c.call("createPlaylist", name="parity", songId=[s["id"] for s in songs[:2]])
    playlist = next(p for p in c.call("getPlaylists")["playlists"]["playlist"] if p["name"] == "parity")
    folder = c.call("getIndexes")["indexes"]["index"][0]["artist"][0]["id"]
    genre = album["genre"]  # "Low": the starred song's, so both answers hold it (a starred song has `starred`)
    return {"getMusicFolders": {}, "getIndexes": {}, "getMusicDirectory": {"id": folder}, "getArtists": {},
            "getArtist": {"id": album["artistId"]}, "getAlbum": {"id": album["id"]},
            "getAlbumList2": {"type": "alphabeticalByName"}, "getAlbumList": {"type": "alphabeticalByName"},
            "getSong": {"id": songs[0]["id"]}, "getGenres": {}, "getSongsByGenre": {"genre": genre},
            "search3": {"query": ""}, "search2": {"query": ""}, "getRandomSongs": {"size": 50},  # all 13 songs
            "getPlaylists": {}, "getPlaylist": {"id": playlist["id"]}, "getStarred2": {}, "getStarred": {}}


def typed_fields(answer: dict, tree: tuple) -> dict[str, tuple[set[str], set[str], int]]:
    """type -> (fields on every object, fields on any object, how many objects) in one answer."""
    out: dict[str, tuple[set[str], set[str], int]] = {}

    def walk(obj, node):
        name, children = node
        objs = obj if isinstance(obj, list) else [obj]
        for o in objs:
            if not isinstance(o, dict):
                continue
            keys = set(o)
            every, anyk, n = out.get(name, (None, set(), 0))
            out[name] = (keys if every is None else every & keys, anyk | keys, n + 1)
            for k, sub in children.items():
                if k in o:
                    walk(o[k], sub)

    walk(answer, tree)
    return out


def compare(ours: Client, theirs: Client) -> list[dict]:
    """One row per (endpoint, type) supysonic answered: the required fields it carries, whether
    genrerec carries each on every object, and the optional fields only supysonic carries."""
    ours_p, theirs_p = prepare(ours), prepare(theirs)
    rows = []
    for endpoint, (key, tree) in TREES.items():
        g = typed_fields(ours.call(endpoint, **ours_p[endpoint])[key], tree)
        s = typed_fields(theirs.call(endpoint, **theirs_p[endpoint])[key], tree)
        for typ, (_, s_any, s_n) in s.items():
            if typ not in REQUIRED:  # a container (albumList2, searchResult3, ...): no fields of its own
                continue
            g_every, g_any, g_n = g.get(typ, (set(), set(), 0))
            req = [f for f in REQUIRED.get(typ, ()) if f in s_any]
            rows.append({"endpoint": endpoint, "type": typ, "required": req, "supysonic_n": s_n, "genrerec_n": g_n,
                         "missing": [f for f in req if f not in g_every] if g_n else req,
                         "only_supysonic": sorted(s_any - g_any - set(REQUIRED.get(typ, ())))})
    return rows


def table(rows: list[dict]) -> str:
    """The markdown table docs/subsonic.md shows (between START and END)."""
    lines = [START, "", f"Generated by `python -m tests.subsonic.supysonic` (supysonic {SUPYSONIC_VERSION}, the "
             "synthetic library of tests/subsonic/conftest.py with the tags in the files).", "",
             "| endpoint | type | spec-required fields supysonic sends | genrerec sends them | "
             "optional fields only supysonic sends |", "|---|---|---|---|---|"]
    for r in rows:
        req = ", ".join(f"`{f}`" for f in r["required"]) or "-"
        ok = "yes" if not r["missing"] else "**no: " + ", ".join(r["missing"]) + "**"
        only = ", ".join(f"`{f}`" for f in r["only_supysonic"]) or "-"
        lines.append(f"| `{r['endpoint']}` | {r['type']} | {req} | {ok} | {only} |")
    return "\n".join(lines + ["", END])


@contextlib.contextmanager
def both_servers(tmp: Path, venv: Path) -> Iterator[tuple[Client, Client]]:
    """genrerec and supysonic on one new synthetic library: (genrerec's client, supysonic's)."""
    import httpx

    from genrerec.subsonic.users import UserStore
    from genrerec.web.server import running
    from tests.subsonic.conftest import PASSWORD, USER, make_subsonic_library

    lib = make_subsonic_library(tmp / "music", tagged_files=True)
    store = UserStore(lib / ".genrerec")
    store.add(USER, PASSWORD)
    store.close()
    with supysonic_server(venv, lib, USER, PASSWORD) as supy, running(lib) as (url, _), httpx.Client() as http:
        yield Client(http, url, USER, PASSWORD), Client(http, supy, USER, PASSWORD)


def main() -> None:
    venv = supysonic_venv()
    if venv is None:
        raise SystemExit(f"no supysonic: set {ENV_VAR} to a venv with `pip install supysonic=={SUPYSONIC_VERSION}`")
    with tempfile.TemporaryDirectory() as tmp, both_servers(Path(tmp), venv) as (ours, theirs):
        block = table(compare(ours, theirs))
    text = DOC.read_text()
    head, rest = text.split(START, 1)
    DOC.write_text(head + block + rest.split(END, 1)[1])
    print(block)


if __name__ == "__main__":
    main()
