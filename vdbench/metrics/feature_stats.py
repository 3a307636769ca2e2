"""What one set of videos (the real clips, or a model's samples) contributes to the metrics.

Feature arrays arrive batch by batch, one row per video, each tagged with its draw (the sample
index s: draw s holds every clip's s-th sample). Per array, the metrics ask for some of:

- ``gaussian``: streaming Gaussian statistics over all rows (memory O(D²) whatever N is);
- ``per_draw``: the same, one per draw (per-draw FVD, TGANv2's sets);
- ``rows``: every row, in arrival order (Inception Score logits, per-sample scores).

With ``bootstrap=True`` every array also keeps its rows, each tagged with its cluster (the
conditioning clip it was generated from), so that vdbench.metrics.uncertainty can recompute the
metrics on resampled clips: ``reweighted`` gives the statistics of the rows repeated as often as
a bootstrap replicate draws them, from weighted sums rather than re-stacked features.

The runner (one chunk at a time) and the standalone `fvd`/`fid`/`is`/`stats` commands (one batch
at a time, or a saved statistics file) fill the same object, and the registered metrics
(vdbench.metrics.registry) read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

import numpy as np

from vdbench.metrics.errors import InputError
from vdbench.metrics.frechet import GaussianStats


@dataclass(frozen=True)
class Keep:
    """Which statistics of one feature array to keep."""

    gaussian: bool = False
    per_draw: bool = False
    rows: bool = False

    def __or__(self, other: "Keep") -> "Keep":
        return Keep(self.gaussian or other.gaussian, self.per_draw or other.per_draw,
                    self.rows or other.rows)


def merge_plans(*plans: Mapping[str, Keep]) -> dict[str, Keep]:
    out: dict[str, Keep] = {}
    for plan in plans:
        for key, keep in plan.items():
            out[key] = out.get(key, Keep()) | keep
    return out


class FeatureStats:
    """Accumulated feature statistics of one set of videos, array by array."""

    def __init__(self, plan: Mapping[str, Keep], draws: int = 1, bootstrap: bool = False):
        self.asked = dict(plan)  # what the metrics read (a resampled copy keeps the same)
        self.plan = {k: keep | Keep(rows=True) for k, keep in plan.items()} if bootstrap \
            else dict(plan)
        self.draws, self.count, self.bootstrap = draws, 0, bootstrap
        self.gaussian: dict[str, GaussianStats] = {}
        self.per_draw: dict[str, list[GaussianStats]] = {}
        self.rows: dict[str, list[tuple[int, np.ndarray]]] = {}
        self.clusters: list[np.ndarray] = []  # per batch: each row's cluster (clip) id

    @classmethod
    def of_saved(cls, key: str, stats: GaussianStats) -> "FeatureStats":
        """A set known only by its saved Gaussian statistics (a `vdbench stats` file)."""
        out = cls({key: Keep(gaussian=True)})
        out.gaussian[key], out.count = stats, stats.count
        return out

    def add(self, arrays: Mapping[str, np.ndarray], draw: int = 0,
            clusters: Optional[np.ndarray] = None) -> None:
        """One batch: ``arrays[key]`` holds one row per video for every planned key;
        ``clusters`` each row's cluster id (default: every row its own cluster)."""
        n = None
        for key, keep in self.plan.items():
            if key not in arrays:
                raise InputError(f"feature array {key!r} is missing from the batch "
                                 f"(got {sorted(arrays)})")
            x = np.asarray(arrays[key])
            n = len(x)
            if keep.gaussian or keep.per_draw:
                self._add_gaussian(key, x.reshape(n, -1), draw, keep.per_draw)
            if keep.rows:
                self.rows.setdefault(key, []).append((draw, x))
        if n is None:  # nothing planned (real clips of prediction scores alone): count the clips
            n = 0 if clusters is None else len(np.asarray(clusters).reshape(-1))
        ids = np.arange(self.count, self.count + n) if clusters is None else \
            np.asarray(clusters, dtype=np.int64).reshape(-1)
        if len(ids) != n:
            raise InputError(f"{len(ids)} cluster ids for a batch of {n} rows")
        self.clusters.append(ids)
        self.count += n

    def _add_gaussian(self, key: str, x: np.ndarray, draw: int, per_draw: bool) -> None:
        if key not in self.gaussian:
            self.gaussian[key] = GaussianStats(x.shape[1])
            if per_draw:
                self.per_draw[key] = [GaussianStats(x.shape[1]) for _ in range(self.draws)]
        self.gaussian[key].update(x)
        if per_draw:
            self.per_draw[key][draw].update(x)

    def stats(self, key: str) -> GaussianStats:
        if key not in self.gaussian:
            raise InputError(f"no statistics of feature array {key!r} (have "
                             f"{sorted(self.gaussian) or 'none'})")
        return self.gaussian[key]

    def draw_stats(self, key: str) -> list[GaussianStats]:
        self.stats(key)
        return self.per_draw[key]

    def all_rows(self, key: str) -> np.ndarray:
        """Every row of ``key`` in arrival order (the runner's global chunk order)."""
        if key not in self.rows:
            raise InputError(f"no rows of feature array {key!r} were kept")
        return np.concatenate([x for _, x in self.rows[key]])

    def draw_rows(self, key: str) -> list[np.ndarray]:
        """The rows of ``key`` of each draw, in arrival order within the draw."""
        self.all_rows(key)
        return [np.concatenate([x for d, x in self.rows[key] if d == draw] or
                               [np.empty((0,) + self.rows[key][0][1].shape[1:])])
                for draw in range(self.draws)]

    def has(self, key: str) -> bool:
        return key in self.gaussian or key in self.rows

    def cluster_ids(self) -> np.ndarray:
        """Each row's cluster id, in arrival order."""
        return np.concatenate(self.clusters) if self.clusters else np.empty(0, np.int64)

    def resamplable(self) -> bool:
        """Whether every array kept its rows (a saved statistics file has only sums)."""
        return bool(self.plan) and all(k in self.rows for k in self.plan) and bool(self.count)

    def reweighted(self, weights: np.ndarray, only: Optional[Mapping[str, Keep]] = None
                   ) -> "FeatureStats":
        """The statistics of the rows, each repeated ``weights[i]`` times (a bootstrap
        replicate's counts, in arrival order): Gaussian sums from weighted moments, rows
        repeated in place (so Inception Score splits stay consecutive in arrival order).
        ``only``: just these statistics (one metric's needs), to save the work."""
        w = np.asarray(weights).reshape(-1)
        if not self.resamplable():
            raise InputError("these statistics kept no rows: they cannot be resampled")
        if len(w) != self.count or (w < 0).any():
            raise InputError(f"expected {self.count} non-negative row weights, got {w.shape}")
        out = FeatureStats(self.asked, self.draws)
        out.plan = self.plan
        stops = np.cumsum([len(c) for c in self.clusters])
        parts = np.split(w.astype(np.int64), stops[:-1])
        # ``only`` may name arrays this set does not hold (a prediction score on the real side)
        for key, keep in (self.plan if only is None else
                          {k: v for k, v in only.items() if k in self.plan}).items():
            for (draw, x), wb in zip(self.rows[key], parts, strict=True):
                if keep.gaussian or keep.per_draw:
                    out._add_weighted(key, x.reshape(len(x), -1), wb, draw, keep.per_draw)
                if keep.rows:
                    out.rows.setdefault(key, []).append((draw, np.repeat(x, wb, axis=0)))
        out.clusters = [np.repeat(c, wb) for c, wb in zip(self.clusters, parts, strict=True)]
        out.count = int(w.sum())
        return out

    def _add_weighted(self, key: str, x: np.ndarray, w: np.ndarray, draw: int,
                      per_draw: bool) -> None:
        if key not in self.gaussian:
            self.gaussian[key] = GaussianStats(x.shape[1])
            if per_draw:
                self.per_draw[key] = [GaussianStats(x.shape[1]) for _ in range(self.draws)]
        self.gaussian[key].add_weighted(x, w)
        if per_draw:
            self.per_draw[key][draw].add_weighted(x, w)

    def pooled(self, other: "FeatureStats") -> "FeatureStats":
        """Both sets' rows in one (self's first), for the paired permutation test: a
        reweighting of the pool with 0/1 weights is one relabelled variant."""
        if not (self.resamplable() and other.resamplable()) or self.plan != other.plan \
                or self.draws != other.draws:
            raise InputError("only two sets with rows of the same arrays can be pooled")
        out = FeatureStats(self.asked, self.draws)
        out.plan = self.plan
        for key in self.plan:
            out.rows[key] = self.rows[key] + other.rows[key]
        out.clusters = self.clusters + other.clusters
        out.count = self.count + other.count
        return out
