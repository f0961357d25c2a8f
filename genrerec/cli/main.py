"""`genrerec index / classify / train / split / evaluate / stats / serve`: the library commands.

User errors (bad arguments, unreadable files, missing libraries) print one
clear line and exit 2; no tracebacks.
"""

from __future__ import annotations

import json
import os
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from ..safety import display, exists
from ..safety import markup_escape as esc
from .common import _bar, _expand_folders, _fail, _open, app, out, run

# --- classification ---------------------------------------------------------

_AUDIO_KINDS = ".mp3, .flac, .ogg, .opus, .wav, .m4a and other audio files"

@app.command()
def classify(
    files: List[Path] = typer.Argument(..., help="Audio files, or folders (their audio, recursively)."),
    model: Optional[Path] = typer.Option(None, help="Checkpoint file, or v1 / v2 / v3 for a shipped model (default: "
                                         "v3, calibrated genres that say 'uncertain' when the music is far from what "
                                         "the genre head knows; v1 and v2 always name their top genre)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    top: int = typer.Option(3, min=1, help="Genres listed per file in --json (the table shows the genre call)."),
    top_tags: int = typer.Option(5, "--tags", min=0, help="Style/mood tags shown per file (models with tags)."),
    v3: bool = typer.Option(False, "--v3", hidden=True, help="Accepted and ignored: v3 is the default now."),
) -> None:
    """Style/mood tags and genre of each file (whole track): tags first, then the genre call, which for the
    default model (v3) is "uncertain" when its top genre should not be trusted.

    JSON: {file: {"genre": call, "genres": {genre: p, ...}, "tags": {tag: p, ...}, "nearest_similarity": s}}
    (nearest_similarity: v3's cosine to the nearest genre-training clip), or {file: {"error": reason}}."""
    from ..audio.decode import AudioError
    from ..models.inference import load_model
    from ..models.space import genre_text, readable_tag_scores

    m = run(lambda: load_model(model))
    given = files
    files = _expand_folders(files)
    if not files:
        _fail(f"no audio found in {', '.join(display(f) for f in given)} (looked for {_AUDIO_KINDS})")
    results, failed = {}, 0
    for f in files:
        try:
            te = m.encode([f])[0]
        except AudioError as e:
            failed += 1
            results[str(f)] = {"error": e.reason}
            continue
        genres = m.top_genres(te.genres)
        r = {"genre": te.label or next(iter(genres), ""), "genres": dict(list(genres.items())[:top]),
             "tags": readable_tag_scores(m.top_tags(te.tags, len(m.tags)), top_tags)}
        if te.nearest_similarity is not None:
            r["nearest_similarity"] = round(te.nearest_similarity, 3)
        results[str(f)] = r
    if as_json:
        print(json.dumps(results, indent=2))
    else:
        from .playlists import fit

        with_tags = bool(m.tags and top_tags)
        t = Table("file", *(["tags"] if with_tags else []), "genre")
        t.columns[0].no_wrap = True
        width = max(24, (out.width - 12) // 2 if with_tags else out.width - 40)  # the rest for tags and genre
        for f, r in results.items():
            name = esc(fit(display(_file_label(f)), width))  # "Artist - Title", or the file and its folders
            if "error" in r:
                t.add_row(name, *([""] if with_tags else []), f"[red]{esc(r['error'])}[/]")
            else:
                t.add_row(name, *([esc(", ".join(r["tags"]))] if with_tags else []),
                          esc(genre_text(r["genre"], r["genres"])))
        out.print(t)
    if failed or not files:
        raise typer.Exit(1 if 0 < failed < len(files) else 2)


def _file_label(f: str) -> str:
    """ "Artist - Title" from the file's tags, else the path as given."""
    from ..library.scan import read_tags

    tags = read_tags(Path(f)) if os.path.isfile(f) else {}
    return f"{tags['artist']} - {tags['title']}" if tags.get("artist") and tags.get("title") else f


@app.command()
def split(
    data: Path = typer.Option(..., help="Folder with one sub-folder per genre."),
    out_file: Path = typer.Option(..., "--out", "-o", help="Where to write the split JSON."),
    method: str = typer.Option("blocks", help="'blocks' (neighbouring clip numbers stay together) or 'random'."),
    val: float = typer.Option(0.15, min=0.0, max=0.9, help="Share of clips for validation."),
    test: float = typer.Option(0.15, min=0.0, max=0.9, help="Share of clips for the test set."),
    seed: int = typer.Option(0, help="Seed of the split."),
) -> None:
    """Write a stratified, seeded train/val/test split file."""
    from ..training.data import make_split, save_split, scan_genre_tree

    def go():
        s = make_split(scan_genre_tree(data), method, val, test, seed)
        save_split(s, out_file, method=method, seed=seed, data=str(data))
        counts = {k: sum(v == k for v in s.values()) for k in ("train", "val", "test")}
        out.print(f"wrote {out_file}: {counts}")

    run(go)


@app.command()
def train(
    data: Path = typer.Option(..., help="Folder with one sub-folder per genre."),
    model: str = typer.Option("cnn", help="seed-cnn, cnn, resnet18 or musicnn (pretrained on music, fine-tuned)."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Run folder (re-run to resume)."),
    split_file: Optional[Path] = typer.Option(None, "--split", help="Split JSON (default: a block split, saved in --out)."),
    epochs: int = typer.Option(80, min=1, help="Most epochs to train."),
    batch_size: int = typer.Option(32, min=2, help="Windows per training batch."),
    lr: float = typer.Option(2e-3, min=0.0, help="Peak learning rate (AdamW, warm-up then cosine)."),
    patience: int = typer.Option(25, min=1, help="Stop after this many epochs without a better validation score."),
    seed: int = typer.Option(0, help="Seed for initialisation and data order."),
    imagenet_weights: Optional[Path] = typer.Option(None, help="resnet18: local torchvision ImageNet weights file."),
    finetune: str = typer.Option("head", help="musicnn: train the genre head only ('head'), also the dense "
                                 "back end ('backend') or the whole network ('full')."),
    init: str = typer.Option("msd", help="musicnn: pretrained backbone, 'msd' (Million Song Dataset tags), "
                             "'mtt' (MagnaTagATune) or a MusiCNN checkpoint file."),
    backbone_lr_scale: float = typer.Option(0.1, min=0.0, help="musicnn: backbone learning rate as a share of --lr."),
) -> None:
    """Train a genre classifier; the best checkpoint is --out/best.pt."""
    from ..models.registry import MODEL_KINDS
    from ..training.config import TrainConfig
    from ..training.train import train as train_fn

    if model not in MODEL_KINDS:
        _fail(f"--model must be one of {', '.join(MODEL_KINDS)}, got {model!r}")
    if imagenet_weights and not imagenet_weights.is_file():
        _fail(f"--imagenet-weights {imagenet_weights}: file not found")
    if finetune not in ("head", "backend", "full"):
        _fail(f"--finetune must be head, backend or full, got {finetune!r}")
    if init not in ("msd", "mtt") and not Path(init).is_file():
        _fail(f"--init {init}: not 'msd', 'mtt' or an existing checkpoint file")
    cfg = TrainConfig(model=model, epochs=epochs, batch_size=batch_size, lr=lr, patience=patience, seed=seed,
                      imagenet_weights=str(imagenet_weights or ""), finetune=finetune, init=init,
                      backbone_lr_scale=backbone_lr_scale)
    summary = run(lambda: train_fn(data, out_dir, cfg, split_file))
    out.print_json(data=summary)


@app.command()
def evaluate(
    checkpoint: Path = typer.Argument(..., help="Checkpoint file (best.pt)."),
    data: Path = typer.Option(..., help="Folder with one sub-folder per genre."),
    split_file: Optional[Path] = typer.Option(None, "--split", help="Split JSON; evaluates its --subset clips."),
    subset: str = typer.Option("test", help="Which split part to evaluate."),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Write evaluation.json and confusion.png here."),
) -> None:
    """Clip-level accuracy, per-genre P/R/F1 and confusion matrix."""
    from ..training.evaluate import evaluate as eval_fn

    rep = run(lambda: eval_fn(checkpoint, data, split_file, subset, out_dir))
    t = Table("genre", "precision", "recall", "f1", "clips")
    for g, m in rep["per_genre"].items():
        t.add_row(g, f"{m['precision']:.2f}", f"{m['recall']:.2f}", f"{m['f1']:.2f}", str(m["support"]))
    out.print(t)
    out.print(f"clip accuracy {rep['clip_accuracy']:.3f}  macro-F1 {rep['macro_f1']:.3f}  ({rep['n_clips']} clips)")


# --- library ------------------------------------------------------------------

class EngineName(str, Enum):
    local = "local"
    ray = "ray"


class StatsName(str, Enum):
    library = "library"
    reference = "reference"


@app.command()
def index(
    library: Path = typer.Argument(..., help="Music folder (walked recursively)."),
    db: Optional[Path] = typer.Option(None, metavar="DIR", help="Catalog folder (default LIBRARY/.genrerec)."),
    model: Optional[Path] = typer.Option(None, metavar="FILE", help="Checkpoint file, or v1 / v2 / v3 for a "
                                         "shipped model (default: v3, MusiCNN with calibrated genres)."),
    workers: Optional[int] = typer.Option(None, metavar="N", help="Decoding processes, or Ray workers with "
                                          "--engine ray (default: CPU count, or every CPU of the cluster)."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Retry files that failed before."),
    engine: EngineName = typer.Option(EngineName.local, help="local (this machine) or ray (a Ray cluster; "
                               "pip install 'genrerec[ray]'; the library must be at the same path on every node)."),
    address: Optional[str] = typer.Option(None, help="With --engine ray: the cluster to join (auto, "
                                          "ray://HOST:10001); default: start Ray on this machine."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    follow_external_links: bool = typer.Option(
        False, "--follow-external-links", help="Also follow links that lead outside the library (never into /proc, "
        "/sys, /dev)."),
    watch: bool = typer.Option(False, "--watch", help="Keep running: re-index a few seconds after files change "
                               "(Ctrl-C stops; pip install 'genrerec[watch]')."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild a damaged catalog from the audio (the old "
                                 "one is kept beside it, renamed .damaged-TIME)."),
    stats: Optional[StatsName] = typer.Option(None, "--stats", metavar="KIND", help="v3 similarity standardised by "
                                              "this library's own statistics (library; kept for later runs) or the "
                                              "model's (reference). Default: as before; reference for a new "
                                              "catalog (docs/benchmarks/v3_adapt.md)."),
) -> None:
    """Index a music folder: embed new/changed tracks, drop removed ones, build the search index."""
    from ..engine.index import index_library
    from ..models.inference import load_model

    if not exists(library):
        _fail(f"{display(library)}: no such folder")
    if not library.is_dir():
        _fail(f"{library}: not a folder; give the folder that holds your music")
    if address is not None and engine != EngineName.ray:
        _fail("--address needs --engine ray")
    if workers is not None and workers < 0:
        _fail(f"--workers must be 0 (decode in this process) or more, got {workers}")
    if rebuild and watch:
        _fail("--rebuild and --watch together would rebuild on every change: run `genrerec index --rebuild` once, "
              "then --watch")
    eng = None
    if engine == EngineName.ray:
        from ..engine.ray import RayEngine

        eng = run(lambda: RayEngine(address, workers))
    m = run(lambda: load_model(model))
    kw = dict(workers=workers, retry_failed=retry_failed, follow_external_links=follow_external_links, engine=eng,
              adapt=None if stats is None else stats == StatsName.library)
    if watch:
        try:
            from ..engine.watch import watch_library
        except ImportError:
            _fail("--watch needs the watchdog package: pip install 'genrerec[watch]'")
        out.print(f"watching {esc(library)} for changes (Ctrl-C stops)", highlight=False)
        run(lambda: watch_library(library, db, m, on_index=lambda s: _show_index(library, s, as_json), **kw))
        return
    s = run(lambda: index_library(library, db, m, rebuild=rebuild, **kw))
    _show_index(library, s, as_json)
    if not (s.indexed or s.unchanged or s.moved or s.removed or s.failed):
        _fail(f"{display(library)}: no audio found (looked for {_AUDIO_KINDS}, in every folder but hidden "
              "ones); give the folder that holds your music")


def _show_index(library: Path, s, as_json: bool) -> None:
    if as_json:
        print(json.dumps(s.to_dict(), indent=2))
        return
    if s.note:
        out.print(f"[yellow]{esc(s.note)}[/]")
    rt = f", {s.audio_seconds / s.seconds:.0f}x real time" if s.indexed and s.seconds else ""
    out.print(f"[bold]{esc(library)}[/]: {s.indexed} indexed, {s.unchanged} unchanged, {s.moved} moved, "
              f"{s.removed} removed, {len(s.failed)} failed — {s.total_ok} tracks searchable "
              f"({s.index_kind} index) in {s.seconds:.1f} s{rt}")
    for p, e in s.failed[:20]:
        out.print(f"  [red]failed[/] {esc(p)}: {esc(e)}", highlight=False)
    if len(s.failed) > 20:
        out.print(f"  ... and {len(s.failed) - 20} more (see `genrerec stats`)")
    out.print(f"catalog: {esc(s.db_dir)}", highlight=False)


@app.command()
def stats(
    path: Optional[Path] = typer.Argument(None, help="Library folder (default: found from the current folder)."),
    library: Optional[Path] = typer.Option(None, help="Library folder (same as the argument)."),
    db: Optional[Path] = typer.Option(None, help="Catalog folder."),
    duplicates: bool = typer.Option(False, "--duplicates", help="List the duplicate recordings found."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Library size, genre histogram (each track's genre call), failures and duplicates."""
    if path is not None and library is not None and path != library:
        _fail(f"two libraries given ({path} and --library {library}); give one")
    rec = _open(library or path, db, [])
    cat = rec.catalog
    hist = {g: 0 for g in rec.genres}
    for label in rec.labels:  # the genre call of each track: "uncertain" (v3) is a row of its own
        hist[label] = hist.get(label, 0) + 1
    fails = [(os.fsdecode(p), e) for p, e in cat.failures()]
    hours = cat.db.execute("SELECT coalesce(sum(duration),0) FROM tracks WHERE status='ok'").fetchone()[0] / 3600
    groups = [[os.fsdecode(rec.rels[rec.row_of[i]]) for i in g if i in rec.row_of] for g in rec.duplicates]
    tags = rec.tag_dict(list(range(len(rec))), k=10) if len(rec) else {}  # mean tag scores over the library
    if as_json:
        print(json.dumps({"library": str(rec.root), "db": str(rec.db_dir), "tracks": len(rec), "hours": hours,
                          "genres": hist, "tags": tags, "failed": [{"path": p, "error": e} for p, e in fails],
                          "duplicates": groups}, indent=2))
        return
    out.print(f"[bold]{esc(rec.root)}[/] ({esc(rec.db_dir)}): {len(rec)} tracks, {hours:.1f} h, "
              f"{len(fails)} failed, {len(groups)} duplicated recordings")
    if duplicates:
        for g in groups:
            out.print("  same recording: " + "  =  ".join(display(p) for p in g), highlight=False, markup=False,
                      soft_wrap=True)  # display(): no terminal escapes or newlines from file names
        return
    for g, c in sorted(hist.items(), key=lambda x: -x[1]):
        out.print(f"{esc(g):>12} {_bar(c / max(1, len(rec)))} {c}")
    if tags:
        from ..models.space import readable_tag_scores

        out.print("top tags: " + ", ".join(f"{esc(t)} {p:.0%}" for t, p in readable_tag_scores(tags).items()),
                  highlight=False)
    for p, e in fails[:50]:
        out.print(f"  [red]failed[/] {esc(p)}: {esc(e)}", highlight=False)


@app.command()
def serve(
    library: Optional[Path] = typer.Argument(None, help="Library folder (default: found from the current folder)."),
    db: Optional[Path] = typer.Option(None, help="Catalog folder."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on; anything but loopback requires a token, "
                                                 "and a Subsonic user unless --no-subsonic."),
    port: int = typer.Option(8750, min=0, max=65535, help="Port (0: any free port)."),
    token_file: Optional[Path] = typer.Option(None, "--token-file", help="File holding the access token, readable "
                                              "only by you (chmod 600); or set GENREREC_TOKEN. Default for a "
                                              "non-loopback --host: generated, written to a private file."),
    token: Optional[str] = typer.Option(None, hidden=True, help="Refused: `ps` shows it to every local user."),
    no_subsonic: bool = typer.Option(False, "--no-subsonic",
                                     help="No Subsonic API at /rest/ (else a non-loopback --host needs a "
                                          "Subsonic user: `genrerec user add`)."),
) -> None:
    """A local web app: the library as a map, audio, and a playlist builder; plus the
    Subsonic API at /rest/ on the same port, for Subsonic clients (users: `genrerec user add`)."""
    try:
        from ..web.server import ServeConfig, ServeError
        from ..web.server import serve as serve_fn
    except ImportError as e:
        _fail(f"the web app needs FastAPI and uvicorn ({e.name} is missing): pip install 'genrerec[web]'")
    if token is not None:
        _fail("--token on the command line shows the token to every local user (ps, /proc); put it in the "
              "GENREREC_TOKEN environment variable, or in a file only you can read: --token-file FILE (chmod 600)")
    from ..web.server import read_token

    try:
        secret, secret_from = read_token(token_file)
    except ServeError as e:
        _fail(str(e))
    source = db or library or Path.cwd()

    def go():
        cfg = ServeConfig(host=host, port=port, token=secret, token_source=secret_from, subsonic=not no_subsonic)
        try:
            serve_fn(source, cfg, announce=lambda s: print(s, flush=True))
        except ServeError as e:
            _fail(str(e))

    run(go)
    out.print("stopped")
