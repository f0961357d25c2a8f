"""2-D map coordinates of the track vectors, computed once per catalog generation.

PCA (an eigen-decomposition of the D x D covariance: ~0.1 s for 20,000
tracks) is the default; UMAP is used where `umap-learn` is installed, since it
keeps neighbourhoods apart better, at the cost of tens of seconds. Either way
the result is cached beside the catalog, keyed by model and generation, so a
restart or a second browser tab costs nothing.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import numpy as np

from ..safety import PRIVATE_FILE_MODE, UnsafePathError, read_bytes_nofollow
from ..utils import atomic_path

CACHE_FILE = "map.npz"
log = logging.getLogger(__name__)


def pca_2d(x: np.ndarray) -> np.ndarray:
    """First two principal components, signs fixed (largest loading positive) so reruns agree."""
    x = np.asarray(x, np.float64)
    if len(x) == 0:
        return np.zeros((0, 2))
    c = x - x.mean(axis=0)
    if len(x) == 1:
        return np.zeros((1, 2))
    w, v = np.linalg.eigh(c.T @ c)
    comp = v[:, np.argsort(-w)[:2]]
    if comp.shape[1] < 2:
        comp = np.pad(comp, ((0, 0), (0, 2 - comp.shape[1])))
    comp *= np.where(comp[np.argmax(np.abs(comp), axis=0), [0, 1]] < 0, -1.0, 1.0)
    return c @ comp


def project(x: np.ndarray) -> tuple[np.ndarray, str]:
    """(coordinates scaled into [-1, 1] with the aspect kept, method name)."""
    method = "PCA"
    xy = None
    if len(x) >= 16:
        try:
            import umap  # optional: umap-learn

            xy = umap.UMAP(n_components=2, metric="cosine", random_state=0).fit_transform(x)
            method = "UMAP"
        except ImportError:
            pass
        except Exception as e:  # a broken optional install must not take the map down
            log.warning("UMAP failed (%s); using PCA", e)
    if xy is None:
        xy = pca_2d(x)
    xy = np.asarray(xy, np.float64)
    if len(xy):
        xy = xy - (xy.max(axis=0) + xy.min(axis=0)) / 2
        xy /= max(float(np.abs(xy).max()), 1e-12)
    return xy.astype(np.float32), method


def cached_projection(db_dir: Path, key: str, x: np.ndarray) -> tuple[np.ndarray, str]:
    """project(x), read from db_dir/map.npz when it was made for the same key; saved there when writable."""
    path = Path(db_dir) / CACHE_FILE
    try:  # never through a link: the catalog folder's files are genrerec's own
        with np.load(io.BytesIO(read_bytes_nofollow(path)), allow_pickle=False) as z:
            if str(z["key"]) == key and len(z["xy"]) == len(x):
                return z["xy"], str(z["method"])
    except UnsafePathError as e:  # a planted link: not read; the rename below replaces the link itself
        log.warning("%s", e)
    except (OSError, KeyError, ValueError):
        pass
    xy, method = project(x)
    if os.access(db_dir, os.W_OK):
        try:
            with atomic_path(path, mode=PRIVATE_FILE_MODE) as tmp, open(tmp, "wb") as f:
                np.savez(f, key=np.array(key), xy=xy, method=np.array(method))
        except OSError as e:
            log.warning("could not cache the map in %s: %s", path, e)
    return xy, method
