"""Per-chunk features of a protocol's metrics, and their streaming accumulation on rank 0.

A chunk's result is a dict of arrays, one row per video (e.g. ``i3d``: [n, 400] logits,
``consistency``: [n]). Rank 0 folds chunk results in global chunk order into accumulators whose
memory does not grow with the number of samples (Gaussian statistics), except the logits kept for
Inception Scores (one row of class logits per sample, as IS needs all of them for its splits).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from metrics.frechet import GaussianStats, frechet_distance
from vdbench.chunks import Chunk

FRECHET = {"i3d": "fvd"}  # feature array → the Fréchet metric computed from it


@dataclass
class Accumulator:
    """Everything a generated (or real) set contributes to the metrics."""

    samples_per_clip: int = 1
    pooled: dict[str, GaussianStats] = field(default_factory=dict)
    per_draw: dict[str, list[GaussianStats]] = field(default_factory=dict)
    consistency: list[np.ndarray] = field(default_factory=list)
    count: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    chunks_cached: int = 0

    def add(self, chunk: Chunk, result: dict) -> None:
        arrays = result["arrays"]
        for name in FRECHET:
            if name not in arrays:
                continue
            f = arrays[name]
            if name not in self.pooled:
                self.pooled[name] = GaussianStats(f.shape[1])
                self.per_draw[name] = [GaussianStats(f.shape[1])
                                       for _ in range(self.samples_per_clip)]
            self.pooled[name].update(f)
            self.per_draw[name][chunk.sample].update(f)
        if "consistency" in arrays:
            self.consistency.append(np.asarray(arrays["consistency"], dtype=np.float64))
        self.count += len(chunk)
        if result.get("cached"):
            self.chunks_cached += 1
        else:
            for k, v in result.get("seconds", {}).items():
                self.seconds[k] = self.seconds.get(k, 0.0) + v


def metrics_of(gen: Accumulator, real: Accumulator) -> dict:
    """The protocol's metric values from the two accumulated sets."""
    out = {}
    for name, metric in FRECHET.items():
        if name not in gen.pooled:
            continue
        out[metric] = frechet_distance(real.pooled[name], gen.pooled[name])
        draws = gen.per_draw[name]
        if len(draws) > 1 and draws[0].count >= 2:
            # Secondary figure: one FVD per draw (every clip's s-th sample vs the real clips).
            values = np.array([frechet_distance(real.pooled[name], d, warn=False) for d in draws])
            out.update({f"{metric}_per_draw_mean": float(values.mean()),
                        f"{metric}_per_draw_std": float(values.std())})
    if gen.consistency:
        out["context_consistency"] = float(np.concatenate(gen.consistency).mean())
    if real.consistency:
        out["context_consistency_real"] = float(np.concatenate(real.consistency).mean())
    return out
