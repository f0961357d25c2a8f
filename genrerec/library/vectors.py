"""Track vectors for similarity search: the combined genre + embedding vector,
a small FAISS wrapper keyed by catalog id, and the saved index that readers
reuse while it matches the catalog's generation."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import LibraryError
from ..faults import fault
from ..models.space import GENRE_WEIGHT  # v2's; a catalog records its model's (catalog meta)
from ..safety import PRIVATE_FILE_MODE, UnsafePathError, read_bytes_nofollow
from ..utils import atomic_path, atomic_write_json
from .catalog import Catalog

log = logging.getLogger("genrerec")

INDEX_FILE = "index.faiss"
INDEX_META = "index.json"
HNSW_THRESHOLD = 100_000  # exact below (4.6 ms a query at 100k of v2's 210-d), HNSW above: docs/benchmarks/scale.md
# HNSW keeps every float (~1.1 GB at 1M, ~11 GB at 10M for v2) and takes hours to build past a few million on a few cores;
# above this, OPQ + IVF-PQ: ~121 bytes a track at v2's 210 dims, trained on a sample (docs/benchmarks/scale-ivfpq.md)
IVFPQ_THRESHOLD = 2_000_000
IVFPQ_TRAIN_SAMPLE = 50_000  # vectors the OPQ rotation, coarse centroids and PQ codebooks learn from
IVFPQ_NPROBE = 32
IVFPQ_RERANK = 4  # candidates per wanted result that a reader holding the full vectors re-scores exactly
BUILD_CHUNK = 100_000  # tracks read from the catalog at a time while building the index (~90 MB for v2)


def ivfpq_factory(dim: int, n: int) -> str:
    """FAISS factory string for `n` vectors: OPQ rotation, sqrt(n) inverted lists
    (at most one per 39 training vectors, as FAISS wants), PQ with 2 dimensions
    per byte (a smaller divisor of `dim` if needed)."""
    m = max(d for d in range(1, dim // 2 + 1) if dim % d == 0)
    nlist = max(1, min(int(np.sqrt(n)), min(n, IVFPQ_TRAIN_SAMPLE) // 39))
    return f"OPQ{m},IVF{nlist},PQ{m}"


def train_sample(n: int, seed: int = 0) -> np.ndarray:
    """Sorted rows (of n) an `ivfpq` index trains on: all up to IVFPQ_TRAIN_SAMPLE, else a seeded sample."""
    if n <= IVFPQ_TRAIN_SAMPLE:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, IVFPQ_TRAIN_SAMPLE, replace=False))


def combined_vectors(genres: np.ndarray, embeddings: np.ndarray, genre_weight: float = GENRE_WEIGHT) -> np.ndarray:
    """[sqrt(1-w) * e/|e| , sqrt(w) * g/|g|]: its inner product is
    (1-w) * cos(embeddings) + w * cos(genre vectors), in [-1, 1]."""
    g = genres / np.maximum(np.linalg.norm(genres, axis=-1, keepdims=True), 1e-12)
    e = embeddings / np.maximum(np.linalg.norm(embeddings, axis=-1, keepdims=True), 1e-12)
    return np.concatenate([np.sqrt(1 - genre_weight) * e, np.sqrt(genre_weight) * g], axis=-1).astype(np.float32)


class VectorIndex:
    """A tiny FAISS wrapper (add, remove, query, save, load) keyed by catalog id.

    Inner product on unit vectors; exact (`flat`) for small libraries, HNSW for
    large ones, OPQ + IVF-PQ (`ivfpq`, compressed, needs `train`) for huge ones.
    """

    def __init__(self, dim: int, kind: str = "flat", hnsw_m: int = 32, ef_search: int = 128, n_hint: int = 0):
        import faiss

        self.dim, self.kind = dim, kind
        if kind == "flat":
            base = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            base = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            base.hnsw.efConstruction = 80
            base.hnsw.efSearch = ef_search
        elif kind == "ivfpq":
            base = faiss.index_factory(dim, ivfpq_factory(dim, max(n_hint, 1)), faiss.METRIC_INNER_PRODUCT)
            faiss.extract_index_ivf(base).nprobe = IVFPQ_NPROBE
        else:
            raise ValueError(f"unknown index kind {kind!r}")
        self.index = faiss.IndexIDMap2(base)

    @staticmethod
    def kind_for(n: int) -> str:
        return "flat" if n < HNSW_THRESHOLD else "hnsw" if n < IVFPQ_THRESHOLD else "ivfpq"

    @property
    def needs_training(self) -> bool:
        return not self.index.is_trained

    def train(self, vectors: np.ndarray, seed: int = 0) -> None:
        """Learn the quantizers of an `ivfpq` index from a random sample of `vectors`."""
        sample = vectors[train_sample(len(vectors), seed)]
        self.index.train(np.ascontiguousarray(sample, np.float32))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> set[int]:
        """The catalog ids held, to check the index against the catalog."""
        return {int(self.index.id_map.at(i)) for i in range(len(self))}

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, np.float32), np.asarray(ids, np.int64))

    def remove(self, ids: np.ndarray) -> None:
        import faiss

        if self.kind == "hnsw":
            raise NotImplementedError("HNSW cannot remove vectors; rebuild the index")
        self.index.remove_ids(faiss.IDSelectorArray(np.asarray(ids, np.int64)))

    def query(self, vectors: np.ndarray, k: int,
              rerank: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores [q, k], ids [q, k]); id -1 where fewer than k exist.

        For a compressed (`ivfpq`) index, `rerank` (ids -> their full vectors, as
        the Recommender holds them) re-scores IVFPQ_RERANK x k candidates exactly:
        PQ codes alone rank near neighbours only roughly."""
        k = max(1, min(k, len(self)))
        q = np.ascontiguousarray(np.atleast_2d(vectors), np.float32)
        if rerank is None or self.kind != "ivfpq":
            return self.index.search(q, k)
        scores, ids = self.index.search(q, min(len(self), k * IVFPQ_RERANK))
        out_s, out_i = np.full((len(q), k), -np.inf, np.float32), np.full((len(q), k), -1, np.int64)
        for r in range(len(q)):
            cand = ids[r][ids[r] >= 0]
            exact = rerank(cand) @ q[r]
            top = np.argsort(-exact, kind="stable")[:k]
            out_s[r, :len(top)], out_i[r, :len(top)] = exact[top], cand[top]
        return out_s, out_i

    def save(self, path: str | os.PathLike) -> None:
        import faiss

        with atomic_path(path, mode=PRIVATE_FILE_MODE) as tmp:
            faiss.write_index(self.index, str(tmp))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "VectorIndex":
        import faiss

        if os.path.islink(path):
            raise UnsafePathError(f"{path}: the FAISS index is a symbolic link; genrerec does not follow links "
                                  "for its own files: remove it")
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:
            raise LibraryError(f"{path}: FAISS index is damaged ({str(e).splitlines()[0][:120]})") from None
        self = cls.__new__(cls)
        self.index = index
        self.dim = index.d
        base = faiss.downcast_index(index.index) if hasattr(index, "index") else index
        name = type(base).__name__
        self.kind = "hnsw" if "HNSW" in name else "flat" if "Flat" in name else "ivfpq"
        return self


def build_vector_index(cat: Catalog, model_id: str, genre_weight: float = GENRE_WEIGHT,
                       kind: str | None = None, chunk: int = BUILD_CHUNK) -> VectorIndex:
    """The search index over a catalog's usable tracks, streamed from it `chunk`
    tracks at a time: memory is the index plus one chunk, not every vector twice
    (10M tracks of v2 are 8.4 GB as floats). An `ivfpq` index first trains on a
    seeded sample of at most IVFPQ_TRAIN_SAMPLE tracks fetched by id."""
    with cat.snapshot():
        all_ids = cat.vector_ids(model_id)
        n = len(all_ids)
        if not n:
            return VectorIndex(1, "flat")
        kind = kind or VectorIndex.kind_for(n)
        vi = None
        if kind == "ivfpq":
            pick = all_ids[train_sample(n)]
            sample = np.concatenate([combined_vectors(g, e, genre_weight)
                                     for _, g, e in cat.iter_vectors(model_id, chunk, ids=pick)])
            vi = VectorIndex(sample.shape[1], kind, n_hint=n)
            vi.train(sample)
            del sample
        del all_ids
        for ids, genres, embs in cat.iter_vectors(model_id, chunk):
            vecs = combined_vectors(genres, embs, genre_weight)
            if vi is None:
                vi = VectorIndex(vecs.shape[1], kind, n_hint=n)
            vi.add(ids, vecs)
        return vi


def load_or_rebuild_index(db_dir: Path, cat: Catalog, model_id: str, genre_weight: float = GENRE_WEIGHT,
                          save: bool = True) -> VectorIndex:
    """The FAISS index if it matches the catalog's generation, else a rebuild from the catalog."""
    with cat.snapshot():  # the generation vouched for is the one the index is built from
        return _load_or_rebuild_index(db_dir, cat, model_id, genre_weight, save)


def _load_or_rebuild_index(db_dir: Path, cat: Catalog, model_id: str, genre_weight: float,
                           save: bool) -> VectorIndex:
    meta_path, index_path = db_dir / INDEX_META, db_dir / INDEX_FILE
    want = {"generation": cat.generation, "model_id": model_id, "genre_weight": genre_weight}
    try:
        meta = json.loads(read_bytes_nofollow(meta_path))
        if all(meta.get(k) == v for k, v in want.items()):
            vi = VectorIndex.load(index_path)
            if len(vi) == meta.get("count"):
                return vi
    except UnsafePathError:
        raise
    except (OSError, ValueError, LibraryError) as e:
        log.info("index at %s unusable (%s): rebuilding from the catalog", db_dir, e)
    vi = build_vector_index(cat, model_id, genre_weight)
    if save:
        try:
            save_vector_index(db_dir, vi, want)
        except OSError as e:
            log.warning("could not save the rebuilt index in %s: %s", db_dir, e)
    return vi


def save_vector_index(db_dir: Path, vi: VectorIndex, meta: dict) -> None:
    vi.save(db_dir / INDEX_FILE)  # index first, then the meta that vouches for it
    fault("save-index")
    atomic_write_json(db_dir / INDEX_META, {**meta, "count": len(vi), "kind": vi.kind}, PRIVATE_FILE_MODE)
