"""Playlists that start from something other than a listening history: a tag
mix, an artist (radio and similar artists) and the library's clusters.

`Mixes` is a base class of `Recommender` (these methods use its catalog rows);
the logic lives here so recommender.py stays about listening histories.

Tag mix: every track gets a mix score, the geometric mean of its model scores
for the requested tags (MusiCNN's 50 style/mood tags are sigmoid
probabilities): a track must score on *every* tag, and a tag that most tracks
score high on (rock) does not drown a rarer one (piano), since scaling one
tag's scores scales every track's product alike. Temperature works as in
`recommend`: T = 0 takes the top-ranked tracks; for T > 0 a pool of the
n * (1 + 10 T) best-scored tracks is drawn from with probability
proportional to exp(score / (T * 0.1)) (Gumbel top-k, seeded), so higher
temperatures reach further down the ranking.

Artists are the catalog's artist tags (multi-valued tags: the first; a file
named "Artist - Title" without tags counts too), matched case-insensitively;
an artist's point in the similarity space is the re-normalised mean of their
tracks' vectors (`groups.centroid`).
"""

from __future__ import annotations

import difflib
import math
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .clusters import Cluster, library_clusters
from .controls import DEFAULT_MAX_PER_ALBUM, Controls
from .groups import artist_keys, centroid, nearest_groups
from .picks import POOL_GROWTH, PickFilter, draw
from .results import DEFAULT_TEMPERATURE, Recommendation, RecommendError, _check_n, _check_temperature

MIX_FLOOR = 1e-6  # scores are clipped here before the log: a zero on one tag ranks last, not NaN


@dataclass
class ArtistMatch:
    """An artist and how close they are to the one asked about."""

    artist: str  # as tagged (the most common spelling)
    score: float  # cosine of the two artists' centroids
    tracks: int  # their indexed tracks


class Mixes:
    """Tag mixes, artists and clusters (mixed into `Recommender`)."""

    # --- tag mix ---
    def tag_columns(self, tags: Sequence[str] | str) -> list[int]:
        """Columns of `tag_vectors` for tag names (any case); RecommendError naming the nearest known
        tags for a word the model does not score."""
        if isinstance(tags, str):
            tags = [tags]
        if not tags:
            raise RecommendError("give at least one tag to mix, e.g. 'ambient'")
        if self.tag_vectors is None or not self.tag_names:
            raise RecommendError("this catalog has no style/mood tag scores (its model has no tag head); "
                                 "re-index with the default v2 model: genrerec index DIR --model v2")
        known = {t.casefold(): i for i, t in enumerate(self.tag_names)}
        cols = []
        for t in tags:
            word = str(t).strip().casefold()
            if word not in known:
                near = difflib.get_close_matches(word, list(known), n=5, cutoff=0.4)
                raise RecommendError(f"unknown tag {t!r}: " + (f"nearest known tags: {', '.join(near)}" if near else
                                     f"known tags: {', '.join(self.tag_names[:12])}, ...")
                                     + f" ({len(self.tag_names)} in all; `genrerec mix --list-tags` lists them)")
            cols.append(known[word])
        return list(dict.fromkeys(cols))

    def mix_scores(self, tags: Sequence[str] | str) -> np.ndarray:
        """Every catalog row's mix score for these tags (geometric mean of the tag scores)."""
        cols = self.tag_columns(tags)
        s = np.clip(self.tag_vectors[:, cols].astype(np.float64), MIX_FLOOR, 1.0)
        return np.exp(np.log(s).mean(axis=1))

    def mix(self, tags: Sequence[str] | str, n: int = 20, temperature: float = DEFAULT_TEMPERATURE,
            seed: int | None = None, avoid: Sequence[int] = (), max_per_artist: int | None = 3, *,
            min_duration: float | None = None, max_duration: float | None = None,
            exclude_tags: Sequence[str] = (), exclude_genres: Sequence[str] = (),
            max_per_album: int | None = DEFAULT_MAX_PER_ALBUM, not_in: Sequence[int] = ()) -> list[Recommendation]:
        """A playlist of up to n tracks ranked by style/mood tags (see the module doc).

        Args:
            tags: tag names the model scores (`tag_names`), any case; several
                combine by the geometric mean of their scores.
            n: playlist length.
            temperature: 0 = the top-ranked tracks; higher = further down the
                ranking (seeded draws).
            seed: makes draws at temperature > 0 reproducible.
            avoid: track ids never to pick.
            max_per_artist: picks per artist before other artists are preferred.
            min_duration, max_duration, exclude_tags, exclude_genres,
            max_per_album, not_in: the playlist controls (see `controls`).

        Each pick's `score` is its mix score, `tags` its own top tags.
        """
        n = _check_n(n)
        T = _check_temperature(temperature)
        ctl = Controls(min_duration, max_duration, tuple(exclude_tags), tuple(exclude_genres), max_per_album,
                       tuple(not_in))
        self.refresh()
        scores = self.mix_scores(tags)
        flt = PickFilter(self, set(), max_per_artist, np.zeros((0, self.vectors.shape[1]), np.float32),
                         ctl.max_per_album)
        flt.ban([self.resolve(int(t)) for t in avoid])
        flt.ban(ctl.excluded(self))
        order = np.argsort(-scores, kind="stable")
        pool = int(math.ceil(n * (1 + POOL_GROWTH * T))) + len(flt.banned)
        got = draw(lambda size: [(int(self.ids[r]), float(scores[r])) for r in order[:size]], len(order), n, pool,
                   T, np.random.default_rng(seed), flt, lambda tid: self.path_of(tid).exists())
        return [self._result(tid, s) for tid, s in got]

    # --- artists ---
    def artist_tracks(self, name: str) -> list[int]:
        """Track ids of an artist (tags, any case); RecommendError naming close spellings when none."""
        self.refresh()
        want = str(name).strip().casefold()
        if not want:
            raise RecommendError("give an artist name")
        found = [tid for tid, a in artist_keys(self).items() if a == want]
        if not found:
            names = sorted({t.artist for t in self.info.values() if t.artist})
            by_fold = {a.casefold(): a for a in names}
            near = [by_fold[a] for a in difflib.get_close_matches(want, list(by_fold), n=5, cutoff=0.5)]
            near += [a for a in names if want in a.casefold() and a not in near][: 5 - len(near)]
            raise RecommendError(f"no artist {name!r} in the library: " + (
                f"close names: {', '.join(near)}" if near else
                f"{len(names)} artists are tagged" + (f", e.g. {', '.join(names[:3])}" if names else
                                                      " (the files have no artist tags)")))
        return found

    def artist_name(self, track_ids: Sequence[int]) -> str:
        """The most common spelling of the artist tag among these tracks."""
        c = Counter(self.info[t].artist for t in track_ids if self.info.get(t) and self.info[t].artist)
        return c.most_common(1)[0][0] if c else "?"

    def similar_artists(self, name: str, n: int = 10) -> list[ArtistMatch]:
        """The n artists most similar to one artist: cosine of the normalised mean vectors of their tracks."""
        n = _check_n(n)
        tids = self.artist_tracks(name)
        keys = artist_keys(self)
        own = keys[tids[0]]
        got = nearest_groups(self, keys, centroid(self, tids), n, exclude={own})
        return [ArtistMatch(self.artist_name(ids), score, len(ids)) for _, score, ids in got]

    # --- clusters ---
    def clusters(self, k: int | str = "auto", seed: int = 0) -> list[Cluster]:
        """The library grouped into k playlists by seeded k-means on the track vectors, largest first
        (k = "auto": the k of best silhouette; see `clusters`). Every indexed track is in one cluster."""
        self.refresh()
        return library_clusters(self, k, seed)[0]
