"""Playlists out as M3U8, XSPF and JSON: what players read back."""

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import pytest

from genrerec.playlists.formats import Entry, format_for, write_playlist

NS = {"x": "http://xspf.org/ns/0/"}


@pytest.fixture
def entries(tmp_path):
    music = tmp_path / "Música & más"
    names = ["AC<DC> - Back in Black.flac", "ジャズ/100% #1.ogg"]
    out = []
    for n in names:
        p = music / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
        out.append(Entry(p, "Art & <Co>", "Title \"1\"", 241.6, 0.9))
    return out


def test_xspf_locations_resolve_back_to_the_files(entries, tmp_path):
    pl = write_playlist(tmp_path / "lists" / "mix.xspf", entries)
    tracks = ET.parse(pl).getroot().findall("x:trackList/x:track", NS)
    back = [(pl.parent / unquote(t.find("x:location", NS).text)).resolve() for t in tracks]
    assert back == [e.path.resolve() for e in entries]
    assert tracks[0].find("x:creator", NS).text == "Art & <Co>" and tracks[0].find("x:duration", NS).text == "241600"
    absolute = write_playlist(tmp_path / "abs.xspf", entries, relative=False)
    loc = ET.parse(absolute).getroot().find("x:trackList/x:track/x:location", NS).text
    assert loc.startswith("file:///") and Path(unquote(loc[len("file://"):])) == entries[0].path.resolve()


def test_json_and_m3u8_by_suffix_or_format(entries, tmp_path):
    js = write_playlist(tmp_path / "mix.json", entries)
    assert [tmp_path / t["path"] for t in json.loads(js.read_text())["tracks"]] == [e.path for e in entries]
    m3u = write_playlist(tmp_path / "mix.txt", entries, fmt="m3u8")
    assert m3u.read_text().startswith("#EXTM3U") and "#EXTINF:242,Art & <Co> - Title \"1\"" in m3u.read_text()
    assert format_for("a.XSPF") == "xspf" and format_for("a.m3u") == "m3u8"
    with pytest.raises(ValueError, match="unknown playlist format"):
        format_for("a.pls", "pls")
    assert not os.path.exists(tmp_path / "a.pls")
