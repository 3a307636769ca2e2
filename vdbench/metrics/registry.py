"""Metrics by name: the one registry the runner, the standalone commands, the CLI and the tables
read. A metric is a function of accumulated feature statistics (vdbench.metrics.feature_stats)
that declares the feature arrays it reads and which statistics of them it needs.

Adding a metric (e.g. KVD): its own file with a ``Metric`` subclass, plus one ``register_metric``
line below. A protocol then lists it by name (vdbench/protocols/registry.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

import numpy as np

from vdbench.metrics.errors import InputError
from vdbench.metrics.feature_stats import FeatureStats, Keep
from vdbench.metrics.frechet import frechet_distance
from vdbench.metrics.networks import Array, get_network


@dataclass(frozen=True)
class Metric:
    """Base: ``name`` → values computed from the generated set's statistics (and the real
    set's, for metrics that compare with a reference)."""

    name: str
    array: Array
    help: str
    # a distance to a real reference: also computed against each further reference split
    compares: bool = False
    # the protocol option fvd_exclude_context drops the conditioning frames from its input
    excludable_context: bool = False

    def needs(self) -> dict[str, Keep]:
        """Statistics the metric reads, per array key (the same for the real set)."""
        raise NotImplementedError

    def check(self, num_clips: int, draws: int) -> None:
        """Refuse, before any work, counts the metric cannot be computed from."""

    def compute(self, gen: FeatureStats, real: Optional[FeatureStats]) -> dict[str, float]:
        raise NotImplementedError

    def outputs(self) -> tuple[str, ...]:
        """The names of the values ``compute`` can return (records, tables)."""
        return (self.name,)

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

    def needs(self) -> dict[str, Keep]:
        return {self.array.key: Keep(gaussian=True, per_draw=self.per_draw)}

    def check(self, num_clips: int, draws: int) -> None:
        if num_clips < 2:  # the real clips (and each draw) need a covariance
            raise InputError(f"{self.name}: a covariance needs at least 2 clips, got "
                             f"{num_clips}")

    def compute(self, gen: FeatureStats, real: Optional[FeatureStats]) -> dict[str, float]:
        if real is None:
            raise InputError(f"{self.name} compares with real videos; none were given")
        key = self.array.key
        if not self.per_draw:
            return {self.name: frechet_distance(real.stats(key), gen.stats(key))}
        return _mean_std(self.name, [frechet_distance(real.stats(key), d, warn=False)
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


METRICS: dict[str, Metric] = {}


def register_metric(metric: Metric) -> Metric:
    if metric.name in METRICS:
        raise ValueError(f"metric {metric.name!r} is registered twice")
    get_network(metric.array.network)  # a metric reads a registered network's output
    METRICS[metric.name] = metric
    return metric


def get_metric(name: str) -> Metric:
    try:
        return METRICS[name]
    except KeyError:
        raise InputError(f"unknown metric {name!r}; expected one of {', '.join(METRICS)}") \
            from None


def frechet_of(network: str) -> FrechetDistance:
    """The pooled Fréchet distance of ``network``'s features (`vdbench fid`, `vdbench fvd`)."""
    return _only(FrechetDistance, network, "a Fréchet distance")


def inception_score_of(network: str) -> InceptionScore:
    """The Inception Score of ``network``'s logits (`vdbench is`, `vdbench stats`)."""
    return _only(InceptionScore, network, "an Inception Score")


def _only(kind: type, network: str, what: str):
    found = [m for m in METRICS.values() if type(m) is kind and m.array == Array(
        network, logits=kind is InceptionScore) and not getattr(m, "per_draw", False)]
    if not found:
        raise InputError(f"--network: no registered metric computes {what} of {network}")
    return found[0]


def metric_of_output(key: str) -> Optional[Metric]:
    """The registered metric whose values include ``key`` (None if none)."""
    return next((m for m in METRICS.values() if key in m.outputs()), None)


I3D, C3D = Array("i3d"), Array("c3d")
INCEPTION_AVG, INCEPTION_FIRST = Array("inception_avg"), Array("inception_first")

register_metric(FrechetDistance(
    "fvd", I3D, "Fréchet Video Distance: I3D logits, all samples pooled", compares=True,
    excludable_context=True))
register_metric(FrechetDistance(
    "fvd_per_draw", I3D, "FVD of each draw (every clip's s-th sample) vs the real clips; "
    "mean ± std over draws (BAIR's per-trajectory figure)", per_draw=True,
    excludable_context=True))
register_metric(FrechetDistance(
    "fid_c3d", C3D, "UCF101 FID: C3D fc7 features (TGANv2), all samples pooled", compares=True))
register_metric(FrechetDistance(
    "fid_c3d_per_draw", C3D, "C3D FID of each draw (TGANv2: a set of samples) vs the real "
    "clips; mean ± std over draws", per_draw=True))
register_metric(FrechetDistance(
    "fid_avg", INCEPTION_AVG, "FID-avg: Inception pool3 averaged over frames", compares=True))
register_metric(FrechetDistance(
    "fid_first", INCEPTION_FIRST, "FID-first: Inception pool3 of the first frame", compares=True))
register_metric(InceptionScore(
    "is_i3d", Array("i3d", logits=True), "Kinetics IS: I3D's 400 logits; 1 and 10 splits"))
register_metric(InceptionScore(
    "is_c3d", Array("c3d", logits=True), "UCF101 IS: C3D's 101 logits; 1 and 10 splits"))
register_metric(InceptionScore(
    "is_c3d_per_draw", Array("c3d", logits=True), "C3D IS of each draw (TGANv2: a set of "
    "samples, one split); mean ± std over draws", per_draw=True))
register_metric(InceptionScore(
    "is_avg", Array("inception_avg", logits=True), "IS-avg: Inception logits averaged over "
    "frames; 1 and 10 splits"))
register_metric(InceptionScore(
    "is_first", Array("inception_first", logits=True), "IS-first: Inception logits of the "
    "first frame; 1 and 10 splits"))
