"""Per-chunk feature arrays, folded on rank 0 into each set's statistics, and the metrics.

A chunk's result is a dict of arrays, one row per video (e.g. ``i3d``: [n, 400] logits,
``c3d``: [n, 4096] fc7 features, ``c3d_logits``: [n, 101], ``context_consistency``: [n]).
Rank 0 folds chunk results in global chunk order into a FeatureStats
(vdbench.metrics.feature_stats) whose memory does not grow with the number of samples, except
for the rows a metric keeps (Inception Score logits: IS needs all of them for its splits); the
registered metrics (vdbench.metrics.registry) read it, as the standalone commands do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from vdbench.engine.chunks import Chunk
from vdbench.metrics.base import FrechetDistance
from vdbench.metrics.errors import InputError
from vdbench.metrics.feature_stats import FeatureStats
from vdbench.metrics.frechet_infinity import fit_of_stats, too_few
from vdbench.metrics.registry import Metric
from vdbench.metrics.uncertainty import Bootstrap, Interval, Paired, metric_intervals, \
    paired_comparison


@dataclass
class Accumulator:
    """Everything a generated (or real) set contributes to the metrics, and its timings."""

    stats: FeatureStats
    count: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    chunks_cached: int = 0
    def add(self, chunk: Chunk, result: dict) -> None:
        # bootstrap clusters (vdbench.metrics.uncertainty): the clip, with all its samples
        self.stats.add(result["arrays"], draw=chunk.sample,
                       clusters=np.arange(chunk.start, chunk.stop))
        self.count += len(chunk)
        if result.get("cached"):
            self.chunks_cached += 1
        else:
            for k, v in result.get("seconds", {}).items():
                self.seconds[k] = self.seconds.get(k, 0.0) + v


def metrics_of(gen: Accumulator, reals: dict[str, Accumulator], metrics: list[Metric]) -> dict:
    """The metric values against the ground truth (``reals[""]``), plus each comparing metric
    against every further reference split, suffixed with its name (e.g. ``fvd_train``)."""
    out: dict[str, float] = {}
    for metric in metrics:
        out.update(metric.compute(gen.stats, reals[""].stats))
    for split, real in reals.items():
        if split:
            for metric in (m for m in metrics if m.compares):
                out.update({f"{k}_{split}": v
                            for k, v in metric.compute(gen.stats, real.stats).items()})
    return out


@dataclass(frozen=True)
class Design:
    """How a run's samples are resampled: clusters of one clip's samples (conditional
    protocols: the clip conditions them) or single samples (unconditional), and whether the
    ground truth is the conditioning clips themselves (then drawn with them)."""

    by_clip: bool
    paired: bool

    def record(self) -> dict:
        return {"clusters": "clips (each with all its samples)" if self.by_clip
                else "clip indices (each with its independently seeded samples: unconditional)",
                "real_side": "the same clip draw (paired by clip)" if self.paired
                else "resampled on its own"}


def check_design(design: Design, num_clips: int, samples_per_clip: int) -> None:
    """Refuse, before any work, a bootstrap with fewer than 2 clusters (clip indices)."""
    if num_clips < 2:
        raise InputError(f"--bootstrap: a cluster bootstrap needs at least 2 clips, got "
                         f"{num_clips}")


def _named(values: dict, split: str) -> dict:
    return {f"{k}_{split}" if split else k: v for k, v in values.items()}


def intervals_of(gen: Accumulator, reals: dict[str, Accumulator], metrics: list[Metric],
                 config: Bootstrap, design: Design) -> dict[str, Interval]:
    """Each value of ``metrics_of`` with its bootstrap interval (every metric against the
    ground truth, comparing metrics against each further reference, resampled on its own)."""
    out: dict[str, Interval] = {}
    for split, real in reals.items():
        for metric in metrics if not split else [m for m in metrics if m.compares]:
            out.update(_named(metric_intervals(metric, gen.stats, real.stats, config,
                                               design.paired and not split), split))
    return out


def infinity_of(gen: Accumulator, reals: dict[str, Accumulator], metrics: list[Metric],
                seed: int, design: Design) -> dict[str, dict]:
    """FVD∞ (FID∞) of every pooled Fréchet metric against each reference, by name
    (``fvd_inf``, ``fvd_inf_train``...): the fit's record (vdbench.metrics.frechet_infinity),
    or why there is none (too few clips)."""
    out: dict[str, dict] = {}
    why = too_few(len(np.unique(gen.stats.cluster_ids())))
    for split, real in reals.items():
        for m in metrics:
            if isinstance(m, FrechetDistance) and not m.per_draw and (m.compares or not split):
                name = f"{m.name}_inf_{split}" if split else f"{m.name}_inf"
                if m.infinity_refusal():
                    out[name] = {"value": None, "not_computed": m.infinity_refusal()}
                    continue
                fit = fit_of_stats(gen.stats, real.stats, m.array.key,
                                   design.paired and not split, seed)
                out[name] = {"value": None, "not_computed": why} if fit is None \
                    else fit.record()
    return out


def paired_of(gen_a: FeatureStats, gen_b: FeatureStats, real: Optional[FeatureStats],
              metrics: list[Metric], config: Bootstrap, design: Design,
              permutations: int = 1000) -> dict[str, Paired]:
    """B − A of every value of ``metrics`` (against the ground truth ``real``) for two variants
    run on the same clips and seeds: interval and permutation p-value
    (vdbench.metrics.uncertainty.paired_comparison)."""
    out: dict[str, Paired] = {}
    for metric in metrics:
        out.update(paired_comparison(metric, gen_a, gen_b, real, config, design.paired,
                                     permutations))
    return out
