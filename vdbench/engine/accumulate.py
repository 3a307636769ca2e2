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

from vdbench.engine.chunks import Chunk
from vdbench.metrics.feature_stats import FeatureStats
from vdbench.metrics.registry import Metric


@dataclass
class Accumulator:
    """Everything a generated (or real) set contributes to the metrics, and its timings."""

    stats: FeatureStats
    count: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    chunks_cached: int = 0

    def add(self, chunk: Chunk, result: dict) -> None:
        self.stats.add(result["arrays"], draw=chunk.sample)
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
