"""beets plugin: genres, top tags and playlists from genrerec.

Enable with `plugins: genrerec` in beets' config.yaml (installed with
genrerec; beets itself: `pip install 'genrerec[beets]'`). Commands:

  beet genrerec [QUERY]             index the beets library folder with genrerec
                                    (incremental) and store on each matching item
                                    the flexible attributes genrerec_genre (the
                                    model's call: its top genre, or "uncertain"),
                                    genrerec_tags ("jazz:0.81 blues:0.07 ...") and
                                    genrerec_model (the model id, so a model change
                                    shows), and with the default model
                                    genrerec_style (its top 3 style/mood tags,
                                    "ambient, instrumental, electronic")
  beet genrerec-mix QUERY -n 20 -t 0.5 [-o mix.m3u8]
                                    a playlist with the items matching QUERY as
                                    listening history

Options in config.yaml under `genrerec:`: `db` (catalog folder; default
<library folder>/.genrerec).
"""

from __future__ import annotations

import os
from pathlib import Path

from beets import config, ui
from beets.plugins import BeetsPlugin

TOP_TAGS = 3


class GenrerecPlugin(BeetsPlugin):
    def __init__(self):
        super().__init__()
        self.config.add({"db": None})

    def commands(self):
        index = ui.Subcommand("genrerec", help="genre and top tags from genrerec for matching items")
        index.func = self.index
        mix = ui.Subcommand("genrerec-mix", help="an M3U8 playlist from the items matching QUERY as history")
        mix.parser.add_option("-n", "--number", dest="n", type="int", default=20, help="playlist length")
        mix.parser.add_option("-t", "--temperature", dest="temperature", type="float", default=None,
                              help="0 = closest matches; higher = more variety (default: genrerec's)")
        mix.parser.add_option("-o", "--output", dest="output", default="genrerec-mix.m3u8", help="playlist file")
        mix.func = self.mix
        return [index, mix]

    # --- helpers ---
    def _root_db(self) -> tuple[Path, Path | None]:
        root = Path(config["directory"].as_filename())
        db = self.config["db"].get()
        return root, Path(os.path.expanduser(db)) if db else None

    def _open(self, reindex: bool):
        from genrerec import Recommender, index_library

        root, db = self._root_db()
        if reindex:
            s = index_library(root, db, show_progress=False)
            ui.print_(f"genrerec: {s.indexed} indexed, {s.unchanged} unchanged, {len(s.failed)} failed "
                      "in the beets library folder")
        return Recommender.open(db or root)

    @staticmethod
    def _items(lib, args):
        return list(lib.items(ui.decargs(args) if hasattr(ui, "decargs") else args))

    # --- commands ---
    def index(self, lib, opts, args):
        from genrerec.models.space import readable_tags
        from genrerec.recommend.results import RecommendError

        with self._open(reindex=True) as rec:
            done = skipped = 0
            for item in self._items(lib, args):
                try:
                    tid = rec.resolve(os.fsdecode(item.path))
                except RecommendError as e:
                    self._log.info("{}", e)
                    skipped += 1
                    continue
                row = rec.row_of[tid]
                top = list(rec._genre_dict(rec.genre_vectors[row]).items())[:TOP_TAGS]
                item["genrerec_genre"] = rec.labels[row]  # the model's call: its top genre, or "uncertain" (v3)
                item["genrerec_tags"] = " ".join(f"{g}:{p:.2f}" for g, p in top)
                item["genrerec_model"] = rec.model_id
                style = readable_tags(rec.tag_dict(row, 2 * TOP_TAGS), TOP_TAGS)  # [] for a model without tags
                if style:
                    item["genrerec_style"] = ", ".join(style)
                item.store()
                done += 1
        ui.print_(f"genrerec: tagged {done} items" + (f", {skipped} not indexed (see `beet -v genrerec`)"
                                                      if skipped else ""))

    def mix(self, lib, opts, args):
        from genrerec.playlists.formats import Entry, write_playlist
        from genrerec.recommend.recommender import DEFAULT_TEMPERATURE
        from genrerec.recommend.results import RecommendError

        items = self._items(lib, args)
        if not items:
            raise ui.UserError("genrerec-mix: no items match the query")
        with self._open(reindex=False) as rec:
            history = []
            for item in items:
                try:
                    history.append(rec.resolve(os.fsdecode(item.path)))
                except RecommendError:
                    continue
            if not history:
                raise ui.UserError("genrerec-mix: none of the matching items is indexed; run `beet genrerec` first")
            t = DEFAULT_TEMPERATURE if opts.temperature is None else opts.temperature
            try:
                recs = rec.recommend(history, n=opts.n, temperature=t)
            except RecommendError as e:
                raise ui.UserError(f"genrerec-mix: {e}") from None
            entries = [Entry(r.path, rec.info[r.track_id].artist, rec.info[r.track_id].title,
                             rec.info[r.track_id].duration, r.score) for r in recs]
            write_playlist(opts.output, entries, fmt="m3u8")
        ui.print_(f"genrerec-mix: wrote {opts.output} ({len(recs)} tracks, history of {len(history)})")
