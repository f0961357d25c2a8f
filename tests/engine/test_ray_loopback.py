"""A Ray cluster that `index --engine ray` starts on this machine listens on loopback only,
and its auth token is readable by this user only (issue 23, item 7)."""

from __future__ import annotations

import os
import stat

import pytest

from genrerec.engine.ray import RayEngine, token_paths

LOOPBACK = ("0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000")  # 127.0.0.1, ::1


def _descendants() -> set[int]:
    parent = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parent[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
    mine, grew = {os.getpid()}, True
    while grew:
        new = {p for p, pp in parent.items() if pp in mine} - mine
        mine |= new
        grew = bool(new)
    return mine


def listening_addresses() -> dict[int, list[str]]:
    """{pid: [hex address of each listening TCP socket]} of this process and its descendants (/proc/net/tcp*)."""
    listen = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.read().splitlines()[1:]:
                cols = line.split()
                if cols[3] == "0A":  # LISTEN
                    listen[cols[9]] = cols[1].rsplit(":", 1)[0]
    found: dict[int, list[str]] = {}
    for pid in _descendants():
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in listen:
                    found.setdefault(pid, []).append(listen[link[8:-1]])
        except OSError:
            continue
    return found


@pytest.mark.skipif(not os.path.isdir("/proc/net"), reason="reads /proc/net/tcp (Linux)")
def test_local_cluster_listens_on_loopback_only_and_keeps_its_token_private(monkeypatch):
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("Ray already runs in this process")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    engine = RayEngine(workers=1)
    assert engine._connect(ray)
    try:
        ray.get(ray.remote(lambda: 1).remote())  # a worker process is up too
        found = listening_addresses()
        assert found, "no listening socket found"
        wide = {pid: a for pid, addrs in found.items() for a in addrs if a not in LOOPBACK}
        assert not wide, f"listening beyond loopback: {wide}"
        for p in token_paths():  # the user's own (Ray caches the token per process: no fresh HOME here)
            if os.path.exists(p):
                assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, p
    finally:
        ray.shutdown()
