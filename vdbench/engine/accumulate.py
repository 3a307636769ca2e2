"""Per-chunk features of a protocol's metrics, and their streaming accumulation on rank 0.

A chunk's result is a dict of arrays, one row per video (e.g. ``i3d``: [n, 400] logits,
``c3d``: [n, 4096] fc7 features, ``c3d_logits``: [n, 101], ``consistency``: [n]). Rank 0 folds
chunk results in global chunk order into accumulators whose memory does not grow with the number
of samples (Gaussian statistics), except the logits kept for Inception Scores (one row of class
logits per sample: IS needs all of them for its splits).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vdbench.metrics.frechet import GaussianStats, frechet_distance
from vdbench.engine.chunks import Chunk

# metric → the feature array its Fréchet distance is computed from
FRECHET = {"fvd": "i3d", "fid_c3d": "c3d", "fid_avg": "inception_avg",
           "fid_first": "inception_first"}
# metric → the logits array its Inception Score is computed from (I3D features are logits)
SCORES = {"is_i3d": "i3d", "is_c3d": "c3d_logits", "is_avg": "inception_avg_logits",
          "is_first": "inception_first_logits"}
IS_SPLITS = (1, 10)  # Section 4.3: IS over 1 and 10 splits


@dataclass
class Accumulator:
    """Everything a generated (or real) set contributes to the metrics."""

    samples_per_clip: int = 1
    score_arrays: frozenset = frozenset()  # logits arrays to keep for Inception Scores
    pooled: dict[str, GaussianStats] = field(default_factory=dict)
    per_draw: dict[str, list[GaussianStats]] = field(default_factory=dict)
    logits: dict[str, list[np.ndarray]] = field(default_factory=dict)
    consistency: list[np.ndarray] = field(default_factory=list)
    count: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    chunks_cached: int = 0

    def add(self, chunk: Chunk, result: dict) -> None:
        arrays = result["arrays"]
        for name in set(FRECHET.values()) & set(arrays):
            f = arrays[name]
            if name not in self.pooled:
                self.pooled[name] = GaussianStats(f.shape[1])
                self.per_draw[name] = [GaussianStats(f.shape[1])
                                       for _ in range(self.samples_per_clip)]
            self.pooled[name].update(f)
            self.per_draw[name][chunk.sample].update(f)
        for name in self.score_arrays & set(arrays):
            self.logits.setdefault(name, []).append(np.asarray(arrays[name], np.float32))
        if "consistency" in arrays:
            self.consistency.append(np.asarray(arrays["consistency"], dtype=np.float64))
        self.count += len(chunk)
        if result.get("cached"):
            self.chunks_cached += 1
        else:
            for k, v in result.get("seconds", {}).items():
                self.seconds[k] = self.seconds.get(k, 0.0) + v


def frechet_metrics(gen: Accumulator, real: Accumulator, metrics) -> dict:
    out = {}
    for metric in metrics:
        name = FRECHET.get(metric)
        if name is None or name not in gen.pooled:
            continue
        out[metric] = frechet_distance(real.pooled[name], gen.pooled[name])
        draws = gen.per_draw[name]
        if len(draws) > 1 and draws[0].count >= 2:
            # Secondary figure: one distance per draw (every clip's s-th sample vs the real clips).
            values = np.array([frechet_distance(real.pooled[name], d, warn=False) for d in draws])
            out.update({f"{metric}_per_draw_mean": float(values.mean()),
                        f"{metric}_per_draw_std": float(values.std())})
    return out


def score_metrics(acc: Accumulator, metrics, suffix: str = "") -> dict:
    """Inception Scores: ``is_x`` over one split; ``is_x_10splits`` ± ``_std`` over ten."""
    from vdbench.metrics.inception_score import inception_score

    out = {}
    for metric in metrics:
        name = SCORES.get(metric)
        if name is None or name not in acc.logits:
            continue
        logits = np.concatenate(acc.logits[name])
        for splits in IS_SPLITS:
            if len(logits) < splits:
                continue
            mean, std = inception_score(logits, splits=splits)
            key = metric + suffix + ("" if splits == 1 else f"_{splits}splits")
            out[key] = float(mean)
            if splits > 1:
                out[f"{key}_std"] = float(std)
    return out


def metrics_of(gen: Accumulator, real: Accumulator, metrics) -> dict:
    """The protocol's metric values from the two accumulated sets (and the real-data IS)."""
    out = {**frechet_metrics(gen, real, metrics), **score_metrics(gen, metrics),
           **score_metrics(real, metrics, suffix="_real")}
    if gen.consistency:
        out["context_consistency"] = float(np.concatenate(gen.consistency).mean())
    if real.consistency:
        out["context_consistency_real"] = float(np.concatenate(real.consistency).mean())
    return out
