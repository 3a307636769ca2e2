"""What a metric is: a function of accumulated feature statistics (vdbench.metrics.feature_stats)
that declares the feature array it reads and which statistics of it it needs; and the kinds of
metric the paper uses (Fréchet distances, Inception Scores, means of per-video scores).
Registered by name in vdbench.metrics.registry.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from vdbench.metrics.errors import InputError
from vdbench.metrics.feature_stats import FeatureStats, Keep
from vdbench.metrics.frechet import frechet_distance
from vdbench.metrics import kernel
from vdbench.metrics.networks import Array


@dataclass(frozen=True)
class Metric(abc.ABC):
    """Base: ``name`` → values computed from the generated set's statistics (and the real
    set's, for metrics that compare with a reference)."""

    name: str
    array: Array
    help: str
    # a distance to a real reference: also computed against each further reference split
    compares: bool = False
    # the protocol option fvd_exclude_context drops the conditioning frames from its input
    excludable_context: bool = False
    # compares generated frames with the ground-truth continuation: prediction protocols only
    conditional: bool = False
    # the natural range of the metric's values (of what they estimate); bootstrap intervals are
    # clipped to it (vdbench.metrics.uncertainty). Each kind declares its own; ``_std`` values
    # are ≥ 0 whatever the metric (range_of).
    value_range: tuple[float, float] = (-math.inf, math.inf)

    @abc.abstractmethod
    def needs(self) -> dict[str, Keep]:
        """Statistics the metric reads, per array key (the same for the real set)."""

    def check(self, num_clips: int, draws: int) -> None:  # noqa: B027 (optional hook)
        """Refuse, before any work, counts the metric cannot be computed from (by default:
        any counts are fine)."""

    @abc.abstractmethod
    def compute(self, gen: FeatureStats, real: Optional[FeatureStats]) -> dict[str, float]:
        """The metric's values from the generated (and real) statistics."""

    def outputs(self) -> tuple[str, ...]:
        """The names of the values ``compute`` can return (records, tables)."""
        return (self.name,)

    def settings(self) -> dict[str, Any]:
        """How the values were computed, where more than the name says (recorded)."""
        return {}

    def range_of(self, output: str) -> tuple[float, float]:
        """The natural range of one of ``outputs()``: a spread (``_std``) is ≥ 0, every other
        value lies in ``value_range``."""
        return (0.0, math.inf) if output.endswith("_std") else self.value_range

    def excluding_context(self) -> "Metric":
        return dataclasses.replace(self, array=dataclasses.replace(self.array,
                                                                   after_context=True))


def _mean_std(name: str, values: list[float]) -> dict[str, float]:
    """Mean and population std (numpy's ddof=0, as TGANv2 reports its sets) over draws."""
    return {f"{name}_mean": float(np.mean(values)), f"{name}_std": float(np.std(values))}


@dataclass(frozen=True)
class FrechetDistance(Metric):
    """Fréchet distance between the Gaussians of the real and the generated features
    (metrics/frechet.py). ``per_draw``: one distance per draw (draw s = every clip's s-th
    sample) against all real clips, reported as mean ± std over draws."""

    per_draw: bool = False
    value_range: tuple[float, float] = (0.0, math.inf)  # a squared distance
    # an FVD parity mode (vdbench.metrics.compat): its covariance and square root; "" TF-GAN's
    parity: str = ""

    def needs(self) -> dict[str, Keep]:
        return {self.array.key: Keep(gaussian=True, per_draw=self.per_draw)}

    def distance(self, real, gen, warn: bool = True) -> float:
        """The distance between real and generated GaussianStats, by this metric's formula."""
        if not self.parity:
            return frechet_distance(real, gen, warn=warn)
        from vdbench.metrics.compat import get_mode
        from vdbench.metrics.compat_frechet import mode_frechet

        statistics = get_mode(self.parity).statistics
        return mode_frechet(real, gen, statistics.covariance, statistics.sqrt, warn=warn)

    def ddof(self) -> int:
        """The covariance divisor n − ddof of this metric's formula (1: TF-GAN's n − 1)."""
        if not self.parity:
            return 1
        from vdbench.metrics.compat import get_mode

        return {"n-1": 1, "n": 0}[get_mode(self.parity).statistics.covariance]

    def infinity_refusal(self) -> Optional[str]:
        """Why FVD∞ (fitted with TF-GAN's statistics, metrics/frechet_infinity.py) does not
        apply to this metric; None where it does."""
        if not self.parity:
            return None
        return (f"FVD∞ is fitted with TF-GAN's statistics, not {self.parity}'s; "
                f"not computed for {self.name}")

    def settings(self) -> dict[str, Any]:
        if not self.parity:
            return {}
        from vdbench.metrics.compat import get_mode

        return {"compat": self.parity, "compat_mode": get_mode(self.parity).record()}

    def check(self, num_clips: int, draws: int) -> None:
        if num_clips < 2:  # the real clips (and each draw) need a covariance
            raise InputError(f"{self.name}: a covariance needs at least 2 clips, got "
                             f"{num_clips}")

    def compute(self, gen: FeatureStats, real: Optional[FeatureStats]) -> dict[str, float]:
        if real is None:
            raise InputError(f"{self.name} compares with real videos; none were given")
        key = self.array.key
        if not self.per_draw:
            return {self.name: self.distance(real.stats(key), gen.stats(key))}
        return _mean_std(self.name, [self.distance(real.stats(key), d, warn=False)
                                     for d in gen.draw_stats(key)])

    def outputs(self) -> tuple[str, ...]:
        return (f"{self.name}_mean", f"{self.name}_std") if self.per_draw else (self.name,)


@dataclass(frozen=True)
class InceptionScore(Metric):
    """exp(E KL(p(y|x) ‖ p(y))) of class logits (metrics/inception_score.py) over each number
    of ``splits`` (Section 4.3: 1 and 10): ``name`` for one split, ``name_Nsplits`` ± ``_std``
    for N; the real set's as ``name_real...``. ``per_draw``: one split per draw (TGANv2: each
    set of samples scored alone), mean ± std over draws."""

    splits: tuple[int, ...] = (1, 10)
    per_draw: bool = False
    value_range: tuple[float, float] = (1.0, math.inf)  # exp of a mean KL divergence ≥ 0

    def needs(self) -> dict[str, Keep]:
        return {self.array.key: Keep(rows=True)}

    def score(self, stats: FeatureStats, splits: int) -> tuple[float, float]:
        """(mean, std) over ``splits`` consecutive parts of all the set's logits."""
        from vdbench.metrics.inception_score import inception_score

        return inception_score(stats.all_rows(self.array.key), splits)

    def compute(self, gen: FeatureStats, real: Optional[FeatureStats]) -> dict[str, float]:
        from vdbench.metrics.inception_score import inception_score

        if self.per_draw:
            return _mean_std(self.name, [inception_score(rows, 1)[0]
                                         for rows in gen.draw_rows(self.array.key)])
        out = self._scores(gen, self.name)
        if real is not None and real.has(self.array.key):
            out.update(self._scores(real, f"{self.name}_real"))
        return out

    def _scores(self, stats: FeatureStats, name: str) -> dict[str, float]:
        out = {}
        for splits in self.splits:
            if stats.count < splits:
                continue
            mean, std = self.score(stats, splits)
            key = name if splits == 1 else f"{name}_{splits}splits"
            out[key] = mean
            if splits > 1:
                out[f"{key}_std"] = std
        return out

    def outputs(self) -> tuple[str, ...]:
        if self.per_draw:
            return (f"{self.name}_mean", f"{self.name}_std")
        return tuple(f"{self.name}{side}{'' if s == 1 else f'_{s}splits{std}'}"
                     for side in ("", "_real") for s in self.splits
                     for std in (("",) if s == 1 else ("", "_std")))


@dataclass(frozen=True)
class MeanScore(Metric):
    """The mean of a per-video score (e.g. a paired scorer's), of the generated set and of the
    real set (``name_real``)."""

    def needs(self) -> dict[str, Keep]:
        return {self.array.key: Keep(rows=True)}

    def compute(self, gen: FeatureStats, real: Optional[FeatureStats]) -> dict[str, float]:
        out = {self.name: float(np.mean(gen.all_rows(self.array.key)))}
        if real is not None and real.has(self.array.key):
            out[f"{self.name}_real"] = float(np.mean(real.all_rows(self.array.key)))
        return out

    def outputs(self) -> tuple[str, ...]:
        return (self.name, f"{self.name}_real")


# dB: the PSNR an exact frame (+inf) counts as, and the top of PSNR's range
# (vdbench.metrics.prediction explains the choice)
PSNR_MAX = 100.0


@dataclass(frozen=True)
class PredictionScore(Metric):
    """A per-video score of a generated continuation against the real one (PSNR, SSIM: higher
    is better; LPIPS: lower is better; vdbench.metrics.prediction), over a clip's N samples:
    ``name_best`` the mean over clips of the best sample's score (best-of-N), ``name_mean``
    the mean over all clips and samples. The real set is not scored against itself."""

    conditional: bool = True
    higher_is_better: bool = True

    def needs(self) -> dict[str, Keep]:
        return {self.array.key: Keep(rows=True)}

    def compute(self, gen: FeatureStats, real: Optional[FeatureStats]) -> dict[str, float]:
        return best_and_mean(self.name, gen.draw_rows(self.array.key), self.higher_is_better)

    def outputs(self) -> tuple[str, ...]:
        return (f"{self.name}_best", f"{self.name}_mean")

    def settings(self) -> dict[str, Any]:
        from vdbench.metrics.prediction import settings_of

        return settings_of(self.name, self.higher_is_better)


def best_and_mean(name: str, draws: list[np.ndarray], higher_is_better: bool = True
                  ) -> dict[str, float]:
    """Per-draw score rows (draw s: every clip's s-th sample, in clip order) → best-of-N (per
    clip the max over its samples, or the min where lower is better; mean over clips) and
    mean-of-N (mean over clips and samples)."""
    scores = np.stack([np.asarray(d, dtype=np.float64).reshape(-1) for d in draws])
    best = scores.max(axis=0) if higher_is_better else scores.min(axis=0)
    return {f"{name}_best": float(best.mean()), f"{name}_mean": float(scores.mean())}


@dataclass(frozen=True)
class KernelDistance(Metric):
    """Unbiased MMD² with the cubic polynomial kernel between the real and the generated
    features (KVD on I3D, KID on Inception; metrics/kernel.py): ``name`` is the mean over
    ``subsets`` seeded subsets of min(N, ``max_subset_size``) rows, ``name_std`` their std."""

    max_subset_size: int = kernel.MAX_SUBSET_SIZE
    subsets: int = kernel.SUBSETS
    seed: int = kernel.SEED
    # MMD² ≥ 0; its unbiased estimate can be below 0 (Interval.within keeps the value)
    value_range: tuple[float, float] = (0.0, math.inf)

    def needs(self) -> dict[str, Keep]:
        return {self.array.key: Keep(rows=True)}

    def check(self, num_clips: int, draws: int) -> None:
        if num_clips < 2:  # the unbiased estimator leaves each row's own kernel value out
            raise InputError(f"{self.name}: the unbiased MMD² needs at least 2 clips, got "
                             f"{num_clips}")

    def compute(self, gen: FeatureStats, real: Optional[FeatureStats]) -> dict[str, float]:
        if real is None:
            raise InputError(f"{self.name} compares with real videos; none were given")
        key = self.array.key
        found = kernel.kernel_distance(real.all_rows(key), gen.all_rows(key),
                                       self.max_subset_size, self.subsets, self.seed)
        return {self.name: found.mean, f"{self.name}_std": found.std}

    def outputs(self) -> tuple[str, ...]:
        return (self.name, f"{self.name}_std")

    def settings(self) -> dict[str, Any]:
        return {"estimator": kernel.ESTIMATOR, "kernel": kernel.KERNEL,
                "subset_size": f"min(N_real, N_generated, {self.max_subset_size})",
                "subsets": self.subsets, "seed": self.seed,
                "draw": "numpy RandomState(seed).choice without replacement, generated rows "
                        "then real rows, per subset (torch-fidelity's KID)"}
