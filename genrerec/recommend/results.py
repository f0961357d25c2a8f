"""What a playlist is made of: the tracks people pass in, the picks handed back,
and the one error every bad argument or history raises."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence, Union

import numpy as np

DEFAULT_TEMPERATURE = 0.5  # CLI, API and web default (recommend and mix): a varied but faithful mix
TrackRef = Union[str, os.PathLike, int]
History = Union[Sequence[TrackRef], Mapping[TrackRef, float], Sequence[tuple[TrackRef, float]]]


class RecommendError(ValueError):
    """Bad arguments or history; the message says which and why."""


@dataclass
class Recommendation:
    track_id: int
    path: Path
    score: float  # similarity to the taste centroid it was drawn for
    genres: dict[str, float]  # genre distribution, highest first
    because: Path | None = None  # the history track it is most similar to
    taste: int = 0
    tags: dict[str, float] = field(default_factory=dict)  # top style/mood tags (models with tags), highest first
    label: str = ""  # the model's genre call: its top genre, or "uncertain" (v3) when it should not be trusted


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise RecommendError(f"n must be a positive whole number, got {n!r}")
    return int(n)


def check_nonnegative(value, name: str, unit: str = "") -> float:
    """`value` as a finite float >= 0, else a RecommendError naming `name` (and its `unit`, e.g. " of seconds")."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise RecommendError(f"{name} must be a number{unit} >= 0, got {value!r}") from None
    if not math.isfinite(v) or v < 0:
        raise RecommendError(f"{name} must be a finite number{unit} >= 0, got {v!r}")
    return v


def _check_temperature(t) -> float:
    return check_nonnegative(t, "temperature")
