#!/usr/bin/env python
"""Run the reliability suite (tests/reliability) and write docs/reliability.md:
every fault and bad input tried, and what genrerec did with it. About 4 minutes."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DOCS, ROOT, env_md, environment

from genrerec.utils import atomic_write_text

GROUPS = {
    "test_bad_inputs": "Bad files in a library (`genrerec index`)",
    "test_crash_safety": "Crash safety: SIGKILL during `genrerec index`",
    "test_corrupt_state": "Damaged or foreign state files",
    "test_bad_usage": "Bad API and CLI input",
    "test_security": "Hostile input: planted links and checkpoints, playlist injection, links out of the library",
    "test_attacks": "Hostile input, round 3: swap races, FIFOs, cross-site posts, unbounded bodies and transcodes",
    "test_honest_messages": "Honest messages: odd names and paths, read-only, disk full, locked catalog",
    "test_wrong_results": "Wrong results: missing files, stale readers, model switch, moved library, odd audio",
    "test_catalog_damage": "Hardening round 3 (issue 23): damage inside the catalog, and `index --rebuild`",
    "test_state_swaps": "Hardening round 3 (issue 23): the catalog folder swapped for a link while `index` runs",
    "test_output_honesty": "Hardening round 3 (issue 23): what is printed and written (counts, suffixes, escapes)",
}
NOTES = {  # said under a group's table
    "test_state_swaps": "The run holds the catalog folder open (O_NOFOLLOW) and writes the lock and the FAISS files "
    "through that handle; SQLite opens the catalog, its WAL and shared memory by name once, at the start, and the "
    "run then checks they are the held folder's files. What remains by name is SQLite's own clean-up when the "
    "connection closes (it unlinks `catalog.sqlite-wal` and `-shm`): after a swap in the instant between the last "
    "check and that close, only files with those two names in the link's target could be removed.",
}
# round-3 fixes whose tests live beside the code they test, outside tests/reliability: (case, outcome, test)
ELSEWHERE = [
    ("`index --engine ray` starting a local cluster", "every Ray process listens on 127.0.0.1 only (Ray rewrote "
     "a loopback node address to the reachable one); the auth token is 0600",
     "tests/engine/test_ray_loopback.py::test_local_cluster_listens_on_loopback_only_and_keeps_its_token_private"),
    ("`serve --token X` (visible in `ps`)", "exit 2, one line: take it from GENREREC_TOKEN or --token-file (0600)",
     "tests/web/test_server.py::test_token_on_the_command_line_is_refused"),
    ("--token-file readable by others; a short token", "refused: `chmod 600 FILE`; at least 16 characters",
     "tests/web/test_server.py::test_token_file_must_be_private_and_long_enough"),
    ("`serve --host 0.0.0.0` without a token", "generated into a 0600 file; its path is printed, the token never",
     "tests/web/test_server.py::test_generated_token_is_written_private_and_never_printed"),
    ("a client that sends nothing, half a request line, or headers without the blank line",
     "closed after the header timeout (10 s; 1 s in the test); finished requests still served",
     "tests/web/test_server.py::test_a_client_that_never_finishes_its_headers_is_dropped"),
    ("`index --help` at 80 columns", "descriptions get 33 columns (were 17)",
     "tests/cli/test_main.py::test_index_help_is_readable_at_80_columns"),
    ("deep paths and Japanese names in tables", "shortened from the left by terminal cells, file and album "
     "folder kept (`…/aftermath_soundtrack/track10.opus`)",
     "tests/cli/test_main.py::test_names_are_fitted_keeping_what_tells_tracks_apart"),
    ("`classify` piped; tagged files", "nothing on stderr (was a blank line a file); 'Artist - Title' from tags",
     "tests/cli/test_main.py::test_classify_writes_nothing_to_a_piped_stderr_and_labels_by_tags"),
    ("`classify` / `index` of a folder without audio", "exit 2: no audio found",
     "tests/cli/test_main.py::test_classify_and_index_of_a_folder_without_audio_say_so"),
    ("a file that failed, on the next run", "counted as failed only (was also 'unchanged')",
     "tests/cli/test_main.py::test_failed_files_are_counted_once"),
    ("a second `index` while one runs", "exit 2 (was 1), one line", "tests/engine/test_index.py::"
     "test_a_second_index_on_a_locked_library_exits_2_like_other_user_errors"),
    ("a FLAC cut off before one window", "skipped: damaged or truncated (the header says 20.0 s), not 'too short'",
     "tests/audio/test_decode.py::test_a_flac_cut_off_before_one_window_is_called_damaged_not_short"),
    ("web page names of untagged tracks", "'album folder/track26', not a bare 'track26'",
     "tests/library/test_names.py::test_short_name_keeps_the_album_folder"),
    ("`make demo LIBRARY=B` after A; the fetched .debs", "a catalog per library (0 removed); .debs deleted after "
     "unpacking", "tests/demo/test_demo.py::test_each_library_gets_its_own_catalog"),
    ("examples/playlist_from_history.py", "playlists in --out (default a temporary folder), none in the current "
     "folder", "tests/examples/test_playlist_from_history.py"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=DOCS.parent / "reliability.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "cases.jsonl"
        t0 = time.time()
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/reliability"],
                           cwd=ROOT, env={**os.environ, "GENREREC_RELIABILITY_REPORT": str(report)},
                           capture_output=True, text=True)
        secs = time.time() - t0
        text = report.read_text() if report.exists() else ""
        text = re.sub(r"/tmp/pytest-of-[^/\s]+/pytest-\d+/[^/\s]+", "<tmp>", text)  # pytest's temp folders
        text = text.replace(str(ROOT), "<repo>")
        cases = [json.loads(l) for l in text.splitlines()]
    tail = [l for l in r.stdout.splitlines() if re.search(r"\d+ (passed|failed)", l)]
    summary = tail[-1].strip("= ") if tail else "no result line"
    kills = sum(1 for c in cases if c["case"].startswith("SIGKILL at"))
    random_kills = sum(int(m.group(1)) for c in cases if (m := re.match(r"(\d+) SIGKILLs", c["case"])))
    md = ["# Reliability", "",
          "Generated by `python benchmarks/reliability_report.py` from the suite in `tests/reliability/` "
          "(also run by `make test` and CI) — do not edit by hand.", "",
          f"Result: **{summary}** in {secs:.0f} s. Kill points survived: {kills} exact points "
          f"(scan, decode, inference, inside the commit, between index and meta writes) plus {random_kills} "
          "kills in a row at seeded random points (the k-th inference or commit of a run); after each, "
          "catalog and FAISS index agree, finished tracks are kept, "
          "nothing is indexed twice, and the resumed result equals an uninterrupted run.", ""]
    for key, title in GROUPS.items():
        rows = [c for c in cases if c["group"] == key]
        md += [f"## {title}", "", "| case | what genrerec does | test |", "|---|---|---|"]
        md += [f"| {c['case'].replace('|', '/')} | {c['outcome'].replace('|', '/')} | `{c['test']}` |" for c in rows]
        md.append("")
        if key in NOTES:
            md += [NOTES[key], ""]
    md += ["## Hardening round 3 (issue 23): checked outside tests/reliability", "",
           "| case | what genrerec does | test |", "|---|---|---|"]
    md += [f"| {case} | {outcome} | `{test}` |" for case, outcome, test in ELSEWHERE]
    md.append("")
    md += ["## Properties (hypothesis)", "",
           "`tests/reliability/test_properties.py` checks, over generated inputs: window aggregation (genre "
           "vectors sum to 1, embeddings are unit length, window order is irrelevant); the combined similarity "
           "equals (1-w)·embedding cosine + w·genre cosine and stays in [-1, 1]; temperature sampling never "
           "repeats a track, returns n when n exist and is deterministic with a seed (plain top-n at T=0); "
           "playlist slots add up to n and follow the taste shares; splits are stratified, disjoint, complete "
           "and seeded; whole playlists have no duplicates, exclude the history and have size n. Every strategy "
           "generates valid inputs directly (no filtering), so no health check fails on any seed.", "",
           env_md(environment()), ""]
    atomic_write_text(args.out, "\n".join(md))
    print("\n".join(md))
    sys.exit(r.returncode)


if __name__ == "__main__":
    main()
