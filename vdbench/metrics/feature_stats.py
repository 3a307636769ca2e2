"""What one set of videos (the real clips, or a model's samples) contributes to the metrics.

Feature arrays arrive batch by batch, one row per video, each tagged with its draw (the sample
index s: draw s holds every clip's s-th sample). Per array, the metrics ask for some of:

- ``gaussian``: streaming Gaussian statistics over all rows (memory O(D²) whatever N is);
- ``per_draw``: the same, one per draw (per-draw FVD, TGANv2's sets);
- ``rows``: every row, in arrival order (Inception Score logits, per-sample scores).

The runner (one chunk at a time) and the standalone `fvd`/`fid`/`is`/`stats` commands (one batch
at a time, or a saved statistics file) fill the same object, and the registered metrics
(vdbench.metrics.registry) read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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

    def __init__(self, plan: Mapping[str, Keep], draws: int = 1):
        self.plan, self.draws, self.count = dict(plan), draws, 0
        self.gaussian: dict[str, GaussianStats] = {}
        self.per_draw: dict[str, list[GaussianStats]] = {}
        self.rows: dict[str, list[tuple[int, np.ndarray]]] = {}

    @classmethod
    def of_saved(cls, key: str, stats: GaussianStats) -> "FeatureStats":
        """A set known only by its saved Gaussian statistics (a `vdbench stats` file)."""
        out = cls({key: Keep(gaussian=True)})
        out.gaussian[key], out.count = stats, stats.count
        return out

    def add(self, arrays: Mapping[str, np.ndarray], draw: int = 0) -> None:
        """One batch: ``arrays[key]`` holds one row per video for every planned key."""
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
        self.count += n or 0

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
