"""Whole-track genre vectors and embeddings from a trained model.

A track is summarised by windows spread over all of it (at most
`max_windows`, so an hour-long file costs the same as a short one): the genre
vector is the mean of the window softmaxes, the embedding the L2-normalised
mean of the penultimate-layer activations.

Two runtimes run the same model: ONNX Runtime (onnx_runtime.py, the default where
onnxruntime is installed and an up-to-date .onnx sits beside the checkpoint: twice as
fast on a CPU and no torch needed) and torch (any checkpoint; the train install).
Both give the same model id, so a catalog stays valid across them.

The default model is v3 (`load_model()` or `load_model("v3")`): the v2 network with the v3
similarity space on top (space.py): track vectors are the standardised pooled mid-level
features + embedding, genres are calibrated and may be "uncertain". v1 and v2 stay loadable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from ..audio.decode import AudioError, read_windows
from ..audio.features import FeatureConfig
from ..audio.melspec import log_mel
from .checkpoint import CheckpointError
from .onnx_runtime import ORT_THREADS, RUNTIME_ENV, RUNTIMES, OnnxModelError, OnnxNet, have_onnxruntime, matching_onnx
from .space import GENRE_WEIGHT, SPACE_FILE, TASTE_RULE, TASTE_SIMILARITY

if TYPE_CHECKING:
    from .checkpoint import Checkpoint
    from .space import V3Space

DEFAULT_MODEL = "genrerec-musicnn-v2.pt"  # MusiCNN (MSD-pretrained) + GTZAN genre head: docs/model-card.md
V1_MODEL = "genrerec-cnn-gtzan-v1.pt"  # the compact CNN trained from scratch, kept for comparison
MAX_WINDOWS = 16
INFER_BATCH = 16  # windows per torch forward pass: as fast as 64 for MusiCNN and faster for the v1 CNN on 2 cores,
# and MusiCNN's front end holds [batch, 204, 187, 59] floats per conv (0.6 GB at 64, 0.14 GB at 16)


@dataclass
class TrackEmbedding:
    """One track's summary: genre probabilities, unit-norm embedding, duration."""

    genres: np.ndarray  # [n_genres], sums to 1
    embedding: np.ndarray  # [embed_dim], unit L2 norm
    duration: float
    n_windows: int
    tags: np.ndarray | None = None  # [n_tags] mean tag probabilities, for models with a tag head
    label: str | None = None  # the genre call shown for the track: top genre, or "uncertain" (v3)
    features: np.ndarray | None = None  # v3: raw track features [1506 pooled + 200 embedding] (float16), kept
    # so the vector can be rebuilt with other statistics without decoding the audio again
    nearest_similarity: float | None = None  # v3: cosine to the nearest genre-training clip (GenreCall)


def window_hop_s(features: FeatureConfig) -> float:
    """Hop between windows where a track is short enough to tile: half a window for the v1
    models; MusiCNN patches tile without overlap (as its authors do), which decodes and
    infers a third fewer windows on a 30 s clip for the same coverage."""
    return features.window_s if features.scale == "log10p" else features.window_s / 2


def decode_windows(path: str | os.PathLike, features: FeatureConfig,
                   max_windows: int = MAX_WINDOWS) -> tuple[np.ndarray, float]:
    """The audio windows the model looks at, spread over a track: ([k, samples], duration)."""
    return read_windows(path, features.window_s, window_hop_s(features), max_windows, features.sample_rate)


def windows_to_specs(path: str | os.PathLike, wavs: np.ndarray, features: FeatureConfig) -> np.ndarray:
    """Log-mels [k, n_mels, frames] float16 of decoded windows; AudioError if they are not finite."""
    specs = log_mel(wavs, features)[..., : features.window_frames]
    if not np.isfinite(specs).all():
        raise AudioError(path, "features are not finite (corrupt samples)")
    return specs.astype(np.float16)


def track_windows(path: str | os.PathLike, features: FeatureConfig, max_windows: int = MAX_WINDOWS) -> tuple[np.ndarray, float]:
    """Decode windows spread over a track and turn them into log-mels.

    Runs in worker processes during indexing, so it returns plain numpy
    ([k, n_mels, frames] float16, duration).
    """
    wavs, duration = decode_windows(path, features, max_windows)
    return windows_to_specs(path, wavs, features), duration


class TorchNet:
    """A checkpoint's network in torch (any model kind; needs the train install)."""

    name = "torch"

    def __init__(self, ckpt: "Checkpoint"):
        self.net = ckpt.build()
        self.with_tags = bool(ckpt.tags)

    def set_threads(self, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)

    def infer(self, specs: np.ndarray, batch_size: int = INFER_BATCH, pooled: bool = False):
        """(softmax, embedding, tag sigmoids or None), + pooled mid-level features [k, 1506] if `pooled`."""
        import torch

        if pooled and not hasattr(self.net, "pooled"):
            raise ValueError("only MusiCNN models have pooled mid-level features")
        x = torch.as_tensor(np.asarray(specs), dtype=torch.float32)
        probs, embs, tags, pools = [], [], [], []
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                if pooled:
                    pools.append(self.net.pooled(x[i:i + batch_size]))
                    e = self.net.backend(pools[-1])
                else:
                    e = self.net.embed(x[i:i + batch_size])
                probs.append(self.net.classify(e).softmax(-1))
                embs.append(e)
                if self.with_tags:
                    tags.append(torch.sigmoid(self.net.tags(e)))
        out = (torch.cat(probs).numpy(), torch.cat(embs).numpy(), torch.cat(tags).numpy() if tags else None)
        return (*out, torch.cat(pools).numpy()) if pooled else out


class GenreModel:
    """A trained classifier used for inference: `classify` and `encode` files.

    `GenreModel(checkpoint)` runs it in torch; `GenreModel(onnx=OnnxNet(path))` on ONNX
    Runtime from the exported graph's sidecar alone (no torch)."""

    genre_weight: float = GENRE_WEIGHT  # share of the genre vector in the search vector (library.vectors)
    taste_similarity: float = TASTE_SIMILARITY  # cosine threshold between tastes (recommend.tastes)
    taste_rule: str = TASTE_RULE  # how a history splits into tastes (recommend.tastes.TASTE_RULES)
    taste_min_size: int = 1

    def __init__(self, ckpt: "Checkpoint | None" = None, source: str = "", *, onnx: OnnxNet | None = None):
        self.checkpoint = ckpt
        self.source = source
        self.space: "V3Space | None" = None
        if onnx is not None:
            m = onnx.meta
            self.runtime: TorchNet | OnnxNet = onnx
            self.genres: list[str] = [str(g) for g in m["genres"]]
            self.features: FeatureConfig = FeatureConfig.from_dict(m["features"])
            self.embed_dim: int = int(m["embed_dim"])
            self.model_id: str = str(m["model_id"])
            self.tags: list[str] = [str(t) for t in m["tags"]]
        elif ckpt is not None:
            self.runtime = TorchNet(ckpt)
            self.genres = list(ckpt.genres)
            self.features = ckpt.features
            self.embed_dim = int(self.runtime.net.embed_dim)
            self.model_id = ckpt.model_id()
            self.tags = list(ckpt.tags)  # style/mood tags the model scores (MusiCNN), else []
        else:
            raise TypeError("GenreModel needs a checkpoint or onnx=OnnxNet(...)")
        if not self.genres:
            raise CheckpointError(f"{source or 'checkpoint'}: a pretrained backbone without a genre head; "
                             "fine-tune it first: genrerec train --model musicnn --data DIR --out RUN")

    @property
    def net(self):
        """The torch network (torch runtime only)."""
        if not isinstance(self.runtime, TorchNet):
            raise AttributeError("this model runs on ONNX Runtime; load_model(..., runtime='torch') for the network")
        return self.runtime.net

    @property
    def runtime_name(self) -> str:
        return self.runtime.name

    def with_space(self, space: "V3Space", name: str = "v3") -> "GenreModel":
        """This MSD MusiCNN network with a similarity space on top: a new model (its own id)
        whose embedding is the space's unit vector and whose genres are calibrated."""
        import copy
        import hashlib

        from .musicnn_tags import MSD_TAGS

        if list(self.tags) != MSD_TAGS:
            raise CheckpointError(f"{self.source}: the v3 space was built on the MSD MusiCNN backbone; "
                                  "this model is another one")
        if isinstance(self.runtime, OnnxNet) and not self.runtime.has_pooled:
            raise CheckpointError(f"{self.runtime.path}: this ONNX graph has no pooled output; export it again "
                                  "(python scripts/export_onnx.py)")
        m = copy.copy(self)
        m.space = space
        m.genres = list(space.genres)
        m.embed_dim = int(space.live.sum())
        m.model_id = f"musicnn-{name}-{hashlib.sha1((self.model_id + space.digest()).encode()).hexdigest()[:12]}"
        m.genre_weight, m.taste_similarity = space.genre_weight, space.taste_similarity
        m.taste_rule, m.taste_min_size = space.taste_rule, space.taste_min_size
        m.tags = space.tag_names  # MSD's 50, merged with MTT's when the space has an MTT head
        m.source = f"{self.source} + {space.source}"
        return m

    def with_vector_stats(self, stats) -> "GenreModel":
        """This v3 model with its vectors standardised by a library's statistics (space.LibraryStats;
        None: the reference's). The same model id: genres, calls and tags do not change, and the
        catalog records which statistics its vectors use (library.adapt)."""
        import copy

        if self.space is None:
            raise CheckpointError(f"{self.source}: library statistics need a model with a v3 space")
        m = copy.copy(self)
        m.space = self.space.adapted(stats)
        return m

    def set_threads(self, threads: int) -> None:
        """Intra-op threads of this process's inference (1 in each indexing worker)."""
        self.runtime.set_threads(threads)

    def infer_windows(self, specs: np.ndarray, batch_size: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Window-level (softmax [k, G], embedding [k, D], tag sigmoids [k, n_tags] or None)
        for log-mel windows [k, M, T]; batch_size None: the runtime's own."""
        if batch_size is None:
            return self.runtime.infer(specs)
        return self.runtime.infer(specs, batch_size)

    def aggregate(self, probs: np.ndarray, embs: np.ndarray, duration: float,
                  tags: np.ndarray | None = None, pooled: np.ndarray | None = None) -> TrackEmbedding:
        """Pool window outputs into one track summary (through the space, for a v3 model)."""
        if self.space is not None and pooled is not None:
            return self._aggregate_space(embs, duration, tags, pooled)
        g = probs.mean(0)
        e = embs.mean(0)
        norm = float(np.linalg.norm(e))
        e = e / norm if norm > 0 else np.full_like(e, 1.0 / np.sqrt(len(e)))
        t = None if tags is None else tags.mean(0).astype(np.float32)
        label = self.genres[int(np.argmax(g))] if self.genres else None
        return TrackEmbedding(g.astype(np.float32), e.astype(np.float32), float(duration), int(len(probs)), t, label)

    def _aggregate_space(self, embs: np.ndarray, duration: float, tags: np.ndarray | None,
                         pooled: np.ndarray) -> TrackEmbedding:
        space = self.space
        assert space is not None
        p, e = pooled.mean(0), embs.mean(0)  # the track's features, as the space's statistics and head were made
        call = space.call(p, e)
        probs = np.array([call.probs[g] for g in space.genres], np.float32)
        t = None if tags is None else space.tags(p, e, tags.mean(0))
        raw = np.concatenate([p, e / max(float(np.linalg.norm(e)), 1e-12)]).astype(np.float16)
        return TrackEmbedding(probs, space.vector(p, e), float(duration), int(len(embs)), t, call.label, raw,
                              call.nearest_similarity)

    def encode_windows(self, batch: Sequence[tuple[np.ndarray, float]],
                       batch_size: int | None = None) -> list[TrackEmbedding]:
        """Encode several tracks' windows with one batched forward pass."""
        if not batch:
            return []
        specs = np.concatenate([s for s, _ in batch])
        if self.space is not None:
            kw = {} if batch_size is None else {"batch_size": batch_size}
            probs, embs, tags, pooled = self.runtime.infer(specs, pooled=True, **kw)
        else:
            (probs, embs, tags), pooled = self.infer_windows(specs, batch_size), None
        out, i = [], 0
        for s, dur in batch:
            j = i + len(s)
            out.append(self.aggregate(probs[i:j], embs[i:j], dur, None if tags is None else tags[i:j],
                                      None if pooled is None else pooled[i:j]))
            i = j
        return out

    def encode(self, paths: Iterable[str | os.PathLike], batch_size: int | None = None, show_progress_bar: bool = False,
               max_windows: int = MAX_WINDOWS, errors: str = "raise") -> list[TrackEmbedding | None]:
        """Genre vector + embedding for each file.

        Args:
            paths: audio files.
            batch_size: windows per forward pass (None: the runtime's own).
            show_progress_bar: show a progress bar.
            max_windows: windows sampled across each track.
            errors: "raise" stops at the first AudioError; "skip" returns None
                for that file.
        """
        from ..utils import progress

        paths = list(paths)
        out: list[TrackEmbedding | None] = []
        # no bar at all unless asked: a disabled rich bar still writes a blank line to a piped stderr
        with (progress() if show_progress_bar else _NoBar()) as bar:
            task = bar.add_task("encode", total=len(paths), info="")
            for p in paths:
                try:
                    specs, dur = track_windows(p, self.features, max_windows)
                    out.append(self.encode_windows([(specs, dur)], batch_size)[0])
                except AudioError:
                    if errors == "raise":
                        raise
                    out.append(None)
                bar.advance(task)
        return out

    def classify(self, path: str | os.PathLike, max_windows: int = MAX_WINDOWS) -> dict[str, float]:
        """Genre distribution of a whole track, highest first (calibrated for v3; the call,
        which may be "uncertain", is `encode([path])[0].label`)."""
        te = self.encode([path], max_windows=max_windows)[0]
        assert te is not None
        return self.top_genres(te.genres)

    def top_genres(self, genres: np.ndarray, k: int | None = None) -> dict[str, float]:
        """{genre: probability}, highest first (all, or the k best)."""
        order = np.argsort(-genres)[:k]
        return {self.genres[i]: float(genres[i]) for i in order}

    def top_tags(self, tags: np.ndarray | None, k: int = 5) -> dict[str, float]:
        """The k highest-scoring style/mood tags ({} for a model without tags)."""
        if tags is None or not self.tags:
            return {}
        order = np.argsort(-tags)[:k]
        return {self.tags[i]: float(tags[i]) for i in order}


def default_model_path() -> Path:
    return Path(str(resources.files("genrerec") / "assets" / DEFAULT_MODEL))


def pretrained_model_path(name: str = "msd") -> Path:
    """A pretrained MusiCNN backbone shipped in the package ("msd" or "mtt"), converted by
    scripts/convert_musicnn.sh: the starting point of `genrerec train --model musicnn`."""
    if name not in ("msd", "mtt"):
        raise ValueError(f"unknown pretrained model {name!r}; choose msd or mtt")
    return Path(str(resources.files("genrerec") / "assets" / f"musicnn-{name}-pretrained.pt"))


SHIPPED = {"v2": DEFAULT_MODEL, "v1": V1_MODEL}
DEFAULT_NAME = "v3"  # what load_model() and `genrerec index` use: the v2 network + the v3 space
SPACES = {"v3": SPACE_FILE}


def load_model(path: str | os.PathLike | None = None, runtime: str | None = None,
               threads: int = ORT_THREADS) -> GenreModel:
    """Load a model; with no argument the default shipped model (v3), with "v1", "v2" or "v3" the
    shipped model of that name, else a checkpoint (.pt) or an exported graph (.onnx).

    runtime: "auto" (default, or $GENREREC_RUNTIME): ONNX Runtime where onnxruntime is
    installed and an .onnx exported from this very checkpoint sits beside it, torch
    otherwise; "onnx" or "torch" insist. threads: ONNX Runtime intra-op threads."""
    runtime = (runtime or os.environ.get(RUNTIME_ENV) or "auto").lower()
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    name = DEFAULT_NAME if path is None else str(path)
    if name in SPACES and not Path(name).exists():
        from .space import V3Space

        space = V3Space.load(Path(str(resources.files("genrerec") / "assets" / SPACES[name])))
        return load_model("v2", runtime, threads).with_space(space, name)
    if path is not None and str(path) in SHIPPED and not Path(path).exists():
        path = Path(str(resources.files("genrerec") / "assets" / SHIPPED[str(path)]))
    p = Path(path) if path else default_model_path()
    onnx_path = p if p.suffix == ".onnx" else (matching_onnx(p) if runtime != "torch" else None)
    if runtime != "torch" and onnx_path is not None and have_onnxruntime():
        try:
            return GenreModel(source=str(p), onnx=OnnxNet(onnx_path, threads))
        except OnnxModelError as e:
            raise CheckpointError(str(e)) from None
    if runtime == "onnx" or p.suffix == ".onnx":
        why = ("onnxruntime is not installed (pip install onnxruntime)" if not have_onnxruntime()
               else f"no up-to-date .onnx beside {p} (python scripts/export_onnx.py {p})")
        raise CheckpointError(f"{p}: cannot run on ONNX Runtime: {why}")
    try:
        import torch  # noqa: F401
    except ImportError:
        raise CheckpointError(f"{p}: this model needs torch, which is not installed: pip install 'genrerec[train]' "
                         "(the shipped v2 model runs without it on ONNX Runtime)") from None
    from .checkpoint import load_checkpoint

    return GenreModel(load_checkpoint(p), str(p))


class _NoBar:
    """The progress-bar calls `encode` makes, doing nothing."""

    def __enter__(self) -> "_NoBar":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def add_task(self, *args, **kw) -> int:
        return 0

    def advance(self, *args, **kw) -> None:
        return None
