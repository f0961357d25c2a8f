#!/usr/bin/env python
"""How fast `genrerec mpd dj` tops MPD's queue up again after a skip, against a real MPD.

* MPD: `mpd --no-daemon` with a config of our own (null audio output, loopback, a free
  port), over a synthetic library of --tracks FLAC files (copies of one silent 5-minute
  FLAC; MPD plays and tags them like any others), scanned before timing;
* the catalog is written directly: 10 genre clusters, 128-d embeddings, artist and album
  tags, 10 tracks per album folder (as benchmarks/web.py's synthetic catalog, with files
  MPD can play);
* the reaction (what issue 21 asks for): the library's `DJ` (genrerec.mpd.dj, what
  `genrerec mpd dj` runs) in a thread of this process, temperature 0.5, default controls;
  a client waits until K songs follow the current one, sends `next` (a skip: the song
  left within 30 s), and the DJ's own report for that change gives the time from MPD's
  `player` idle answer arriving to the queue being topped up (song judged, picks made,
  every `add` acknowledged by MPD);
* from outside: the real CLI in its own process (`python -m genrerec.cli mpd dj --keep K`),
  timed by the client from sending `next` until it sees K songs after the current one
  again (adds MPD's handling of `next`, the events' trips and the client's scheduling);
* skips are paced --gap seconds apart (a listener does not skip twice in a millisecond);
  the first --warmup of each phase are not counted.

Reports median, p95, min and max; the load average (1/5/15 min) before and after, since other
work on the machine shares its cores. Writes docs/benchmarks/mpd.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from common import DOCS, ROOT, env_md, environment, md_table

from genrerec.library.catalog import Catalog
from genrerec.utils import atomic_write_json, atomic_write_text

GENRES = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"]
SECONDS, SR = 300, 8000


def library(root: Path, n: int, dim: int = 128, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    template = root.parent / "template.flac"
    sf.write(str(template), np.zeros(SECONDS * SR, np.int16), SR, format="FLAC")
    centers = rng.standard_normal((len(GENRES), dim)) * 2
    cat = Catalog(root / ".genrerec" / "catalog.sqlite")
    with cat.transaction():
        cat.set_meta("library", str(root))
        cat.set_meta("model_id", "synthetic")
        cat.set_meta("genres", GENRES)
        for i in range(n):
            g = (i // 10) % len(GENRES)
            rel = f"{GENRES[g]}/album{i // 10:04d}/{i % 10 + 1:02d} track{i:05d}.flac"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template, root / rel)
            e = centers[g] + rng.uniform(0.3, 1.5) * rng.standard_normal(dim)
            logits = np.eye(len(GENRES))[g] * 3 + rng.standard_normal(len(GENRES))
            cat.upsert(os.fsencode(rel), SECONDS, 1, rel, status="ok", duration=float(SECONDS), model_id="synthetic",
                       genres=np.exp(logits) / np.exp(logits).sum(), embedding=e / np.linalg.norm(e),
                       tags={"artist": f"Artist {i // 30}", "title": f"Song {i}", "album": f"Album {i // 10}"})
    cat.close()
    return root


def start_mpd(tmp: Path, music: Path):
    import mpd

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp / "mpd.conf"
    conf.write_text(f'music_directory "{music}"\ndb_file "{tmp / "db"}"\nlog_file "{tmp / "log"}"\n'
                    f'bind_to_address "127.0.0.1"\nport "{port}"\nauto_update "no"\nzeroconf_enabled "no"\n'
                    'audio_output {\n type "null"\n name "null"\n mixer_type "none"\n}\n')
    proc = subprocess.Popen(["mpd", "--no-daemon", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        c = mpd.MPDClient()
        c.timeout = c.idletimeout = 120
        try:
            c.connect("127.0.0.1", port)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"mpd did not start: {(tmp / 'log').read_text() if (tmp / 'log').exists() else ''}")
            time.sleep(0.05)
    c.update()
    while "updating_db" in c.status():
        c.idle("update")
    return proc, port, c


def upcoming(c) -> int:
    s = c.status()
    return int(s["playlistlength"]) - int(s["song"]) - 1 if "song" in s else int(s["playlistlength"])


def wait_full(c, keep: int, deadline_s: float = 120) -> None:
    end = time.monotonic() + deadline_s
    while upcoming(c) < keep:
        if time.monotonic() > end:
            raise SystemExit("the dj did not top the queue up within 120 s")
        c.idle("playlist")


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def skips(c, args, times: list[float], on_skip=None) -> None:
    """--warmup + --reps skips, each once the queue is full again; `times` gets the time from sending
    `next` until this client sees it full (timed ones only); on_skip(i) after each `next`."""
    for i in range(args.warmup + args.reps):
        wait_full(c, args.keep)
        time.sleep(args.gap)  # pacing between skips (a listener's), not synchronisation
        t = time.perf_counter()
        c.next()
        wait_full(c, args.keep)
        if i >= args.warmup:
            times.append((time.perf_counter() - t) * 1000)
        if on_skip:
            on_skip(i)


def in_process_dj(root: Path, port: int, keep: int, reports: queue.Queue, ready: threading.Event, box: dict):
    """The library's DJ in this thread (its Recommender opened here), reporting every change it handles."""
    from genrerec.mpd.client import MpdConnection, MpdTarget, PathMap
    from genrerec.mpd.dj import DJ, Picker
    from genrerec.recommend.recommender import Recommender

    with Recommender.open(root) as rec:
        conn = MpdConnection(MpdTarget("127.0.0.1", port)).connect()
        box["dj"] = DJ(conn, Picker(rec, PathMap(root, root, "same"), 0.5, max_per_artist=3), keep,
                       on_event=reports.put)
        ready.set()
        box["dj"].run()
        conn.close()


def stats(xs: list[float]) -> dict:
    ms = np.array(xs)
    return {"median": round(float(np.median(ms)), 1), "p95": round(float(np.percentile(ms, 95)), 1),
            "min": round(float(ms.min()), 1), "max": round(float(ms.max()), 1), "n": len(xs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=5000)
    ap.add_argument("--keep", type=int, default=5)
    ap.add_argument("--reps", type=int, default=40, help="timed skips per phase")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--gap", type=float, default=0.5, help="seconds between skips")
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args()
    if shutil.which("mpd") is None:
        sys.exit("error: the mpd binary is needed (apt-get install mpd)")
    load_before = loadavg()
    first = f"{GENRES[0]}/album0000/01 track00000.flac"
    with tempfile.TemporaryDirectory(prefix="genrerec-mpd-bench-") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        root = library(tmp / "music", args.tracks)
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        proc, port, c = start_mpd(tmp, root)
        scan_s = time.perf_counter() - t
        dj = thread = None
        box: dict = {}
        try:
            # phase 1: the CLI in its own process, timed from outside
            c.add(first)
            c.play(0)
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            t = time.perf_counter()
            dj = subprocess.Popen([sys.executable, "-m", "genrerec.cli", "mpd", "dj", "--keep", str(args.keep),
                                   "--port", str(port), "--library", str(root)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, env=env)
            wait_full(c, args.keep)
            first_s = time.perf_counter() - t
            outside: list[float] = []
            skips(c, args, outside)
            queue1 = [x["file"] for x in c.playlistinfo()]
            dj.terminate()
            dj.wait(30)
            # phase 2: the library's DJ in a thread, timed by its own reports
            c.clear()
            c.add(first)
            c.play(0)
            reports: queue.Queue = queue.Queue()
            ready = threading.Event()
            thread = threading.Thread(target=in_process_dj, args=(root, port, args.keep, reports, ready, box),
                                      daemon=True)
            thread.start()
            if not ready.wait(120):
                raise SystemExit("the in-process dj did not start")
            inside: list[float] = []

            def reaction(i: int) -> None:
                while True:  # the report of the skip's player event: the song judged, the queue topped up
                    r = reports.get(timeout=120)
                    if r.get("verdict") == "skipped":
                        assert r["added"], r
                        if i >= args.warmup:
                            inside.append((r["t_done"] - r["t_event"]) * 1000)
                        return

            skips(c, args, [], reaction)
            queue2 = [x["file"] for x in c.playlistinfo()]
        finally:
            if dj is not None and dj.poll() is None:
                dj.terminate()
                dj.wait(30)
            if thread is not None and "dj" in box:
                box["dj"].stop()
                thread.join(30)
            proc.terminate()
            proc.wait(30)
    load_after = loadavg()
    for q in (queue1, queue2):
        assert len(q) == len(set(q)), "the dj queued a song twice"
    res = {"tracks": args.tracks, "keep": args.keep, "reps": args.reps, "warmup": args.warmup, "gap_s": args.gap,
           "reaction_ms": stats(inside), "next_sent_to_topped_up_ms": stats(outside),
           "first_top_up_s": round(first_s, 2), "library_build_s": round(build_s, 1),
           "mpd_start_scan_s": round(scan_s, 1), "queue_lengths_at_end": [len(queue1), len(queue2)],
           "load_before": load_before, "load_after": load_after,
           "mpd": subprocess.run(["mpd", "--version"], capture_output=True, text=True).stdout.split("\n")[0],
           "environment": environment()}
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / "mpd.json", res)
    write_md(args, res)


def write_md(args, res: dict) -> None:
    r, q = res["reaction_ms"], res["next_sent_to_topped_up_ms"]
    rows = [{"metric": "reaction: the skip's `player` event received by the dj until the queue is topped up, "
                       "median / p95 (min-max) ms", "value": f"{r['median']} / {r['p95']} ({r['min']}-{r['max']})"},
            {"metric": "from outside: `next` sent until a client sees the queue full again (the CLI dj), "
                       "median / p95 (min-max) ms", "value": f"{q['median']} / {q['p95']} ({q['min']}-{q['max']})"},
            {"metric": "first top-up after `genrerec mpd dj` starts (process start, catalog open, picks), s",
             "value": res["first_top_up_s"]}]
    lb, la = (" / ".join(map(str, res[k])) for k in ("load_before", "load_after"))
    text = (f"# MPD auto-DJ reaction time\n\nWritten by `benchmarks/mpd_dj.py` (its docstring says what is timed). "
            f"A real MPD ({res['mpd']}, null audio output) over a synthetic library of {args.tracks} FLAC files "
            "(catalog written directly: 10 genre clusters, 128-d embeddings, albums of 10), `--keep "
            f"{args.keep}`, temperature 0.5. {args.reps} timed skips per row ({args.warmup} warm-up skips not "
            f"counted), {args.gap:g} s apart. The reaction is timed inside the dj (the library's `DJ` in a thread "
            "of the benchmark, from its reports: when MPD's idle answer for the skip arrived, and when the song was "
            "judged skipped, the picks made and MPD had acknowledged every `add`); the second row times the "
            "`genrerec mpd dj` process from a client, which adds MPD's handling of `next`, the events' trip to "
            "both clients and the client's own scheduling. MPD, the dj and the client share the machine.\n\n"
            + md_table(rows, [("metric", "metric"), ("value", "value")])
            + f"\n\nThe queues held {' and '.join(map(str, res['queue_lengths_at_end']))} songs at the end, none "
            f"twice. Load average (1/5/15 min) before: {lb}, after: {la} (other work shares the machine's "
            f"cores).\n\n{env_md(res['environment'])}\n")
    atomic_write_text(args.out / "mpd.md", text)
    print(text)


if __name__ == "__main__":
    main()
