#!/usr/bin/env python
"""Regenerate the web app screenshots in docs/images/ from a real library.

Indexes a music folder (default ../shared/gtzan, the 114 GTZAN clips) with
the shipped model into a catalog outside it (a temp folder unless --db is
given; an existing catalog is reused), serves it, and photographs the map
page with a two-track history and its playlist, the builder panel, and the
library page, in headless Chromium. Takes about a minute plus indexing.

    python docs/screenshots.py [--library DIR] [--db DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "images"
HISTORY = ("jazz.00001", "metal.00002")  # the README demo's listener: jazz and metal


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--library", type=Path, default=ROOT.parent / "shared" / "gtzan")
    ap.add_argument("--db", type=Path, default=None, help="catalog folder (default: a temp folder)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    if not args.library.is_dir():
        sys.exit(f"error: {args.library}: no such folder (give --library)")

    from selenium.webdriver.support.ui import WebDriverWait

    from genrerec import index_library, load_model
    from genrerec.web import running
    from genrerec.web.browser import chromium, wait_ready

    with tempfile.TemporaryDirectory(prefix="genrerec-shots-") as tmp:
        db = args.db or Path(tmp) / "db"
        index_library(args.library, db, load_model(), show_progress=False)
        args.out.mkdir(parents=True, exist_ok=True)
        with running(db) as (url, worker):
            d = chromium(size=(1440, 900))
            try:
                d.get(url)
                wait_ready(d)
                ids = []
                for q in HISTORY:
                    hit = d.execute_script(f"return (async () => (await api('/api/tracks?q={q}')).tracks[0].id)()")
                    ids.append(hit)
                    d.execute_script("addToHistory(arguments[0])", hit)
                WebDriverWait(d, 20).until(lambda d: d.execute_script(
                    "return genrerec.shown && genrerec.shown.history.length") == len(ids))
                # hover the first pick so its tooltip shows on the map
                first = d.execute_script("return state.picks[0].id")
                p = d.execute_script("return genrerec.map.screenOf(arguments[0])", first)
                d.execute_script("genrerec.map._hover(genrerec.map.row.get(arguments[0]), arguments[1], arguments[2])",
                                 first, p["x"], p["y"])
                d.execute_script("genrerec.map.draw()")
                d.save_screenshot(str(args.out / "web-map.png"))
                d.find_element("css selector", "aside.builder").screenshot(str(args.out / "web-builder.png"))
                d.get(url + "library")
                wait_ready(d)
                d.save_screenshot(str(args.out / "web-library.png"))
            finally:
                d.quit()
    for name in ("web-map.png", "web-builder.png", "web-library.png"):
        print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
