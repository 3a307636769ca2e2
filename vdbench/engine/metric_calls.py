"""One call per metric: REAL and GENERATED (paths, or arrays and tensors in memory) → a
``MetricResult``. `vdbench fvd|fid|kvd|is` and the Python API (vdbench.api) both call these,
so the two cannot disagree."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from vdbench.metrics.errors import InputError

if TYPE_CHECKING:  # imported where used: the CLI imports this module to build its help
    from vdbench.metrics.feature_stats import FeatureStats, Keep
    from vdbench.metrics.networks import FeatureNetwork
    from vdbench.metrics.uncertainty import Bootstrap

FID_DEFAULT = "c3d"  # `vdbench fid` and vdbench.fid without a network or a statistics file


@dataclass(frozen=True)
class InputSettings:
    """How videos are read and embedded (the CLI's input options)."""

    batch_size: int = 8
    device: str = "cpu"
    frames: Optional[int] = None
    clips_per_video: int = 1
    value_range: Optional[str] = None
    weights: Optional[str] = None  # C3D folder or Inception .pth instead of the cache
    # the feature pass in chunks over torchrun's ranks and a chunk cache
    # (vdbench.engine.sharded_features.Sharding); None: one stream in this process
    shard: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "value_range", range_name(self.value_range))
        for name in ("batch_size", "clips_per_video"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name}: at least 1, got {getattr(self, name)}")
        if self.frames is not None and self.frames < 1:
            raise InputError(f"frames: at least 1, got {self.frames}")

    def side_options(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "frames": self.frames,
                "clips_per_video": self.clips_per_video, "value_range": self.value_range,
                "shard": self.shard}


RANGES = {(0, 255): "0-255", (0, 1): "0-1", (-1, 1): "-1-1"}


def range_name(value_range: Any) -> Optional[str]:
    """A value range as the CLI names it: "0-1", or the pair (0, 1); None stays None."""
    if value_range is None or isinstance(value_range, str):
        return value_range
    try:
        return RANGES[tuple(value_range)]
    except (KeyError, TypeError):
        raise InputError(f"value_range: expected one of {list(RANGES.values())} or "
                         f"{list(RANGES)}, got {value_range!r}") from None


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class MetricResult:
    """A metric's value with its 95% bootstrap interval (``lo``, ``hi``, standard error
    ``se``; None where it cannot be computed, ``settings['bootstrap']`` says why), its spread
    ``std`` where the metric reports one (KVD over subsets, IS over splits), the counts of
    videos (None where unknown: mu/sigma statistics) and how it was computed."""

    metric: str  # registered name: fvd, fid_c3d, kvd, kid_avg, is_i3d, ...
    value: float
    lo: Optional[float] = None
    hi: Optional[float] = None
    se: Optional[float] = None
    std: Optional[float] = None
    n_real: Optional[int] = None
    n_generated: Optional[int] = None
    settings: Mapping[str, Any] = field(default_factory=dict)  # network, preprocessing, ...
    extra: Mapping[str, Any] = field(default_factory=dict)  # FVD∞ fit, subset size, splits

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", _frozen(self.settings))
        object.__setattr__(self, "extra", _frozen(self.extra))

    def __float__(self) -> float:
        return float(self.value)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable fields."""
        return {"metric": self.metric, "value": self.value, "lo": self.lo, "hi": self.hi,
                "se": self.se, "std": self.std, "n_real": self.n_real,
                "n_generated": self.n_generated, "settings": dict(self.settings),
                **dict(self.extra)}

    def __repr__(self) -> str:
        parts = [f"{self.metric}={self.value:.6g}"]
        if self.std is not None:
            parts[0] += f" ± {self.std:.3g}"
        if self.lo is not None:
            parts.append(f"95% interval [{self.lo:.6g}, {self.hi:.6g}], se {self.se:.4g}")
        counts = ", ".join(f"{k}={getattr(self, k)}" for k in ("n_real", "n_generated")
                           if getattr(self, k) is not None)
        parts += [counts] if counts else []
        parts.append(f"network={self.settings.get('network')!r}")
        return f"MetricResult({'; '.join(parts)})"


# --- inputs held in memory -------------------------------------------------------------------

@dataclass(frozen=True)
class InMemory:
    """An input given as an object rather than a path: videos [N, T, H, W, 3] (numpy or torch;
    uint8, or float with a declared value range), features [N, D], or GaussianStats.
    ``where`` names it in errors ("real", "generated")."""

    where: str
    data: Any

    def __str__(self) -> str:
        return f"<{self.where}: in memory>"


def as_input(x: Any, where: str) -> Any:
    """A path as a ``str``; anything else wrapped as ``InMemory``."""
    if isinstance(x, (str, os.PathLike)):
        return str(x)
    return x if isinstance(x, InMemory) else InMemory(where, x)


def to_numpy(x: Any) -> np.ndarray:
    """A numpy array of a numpy array or a torch tensor (any device; bf16/fp16 as float32)."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor: no torch import needed
        t = x.detach().cpu()
        if t.is_floating_point() and t.dtype.itemsize < 4:
            t = t.float()
        return t.numpy()
    return np.asarray(x)


def memory_side(found: InMemory, network: FeatureNetwork, make: Callable, batch_size: int,
                plan: Mapping[str, Keep], frames: Optional[int] = None,
                clips_per_video: int = 1, value_range: Optional[str] = None,
                bootstrap: bool = False) -> FeatureStats:
    """One side of a distance given in memory (engine.streaming.side_stats for paths)."""
    from vdbench.engine.streaming import features_stats, stream_stats
    from vdbench.metrics.feature_stats import FeatureStats
    from vdbench.metrics.frechet import GaussianStats
    from vdbench.protocols.datasets.generic import ArraySource

    where = found.where
    if isinstance(found.data, GaussianStats):
        rows = [key for key, keep in plan.items() if keep.rows]
        if rows:
            raise InputError(f"{where}: Gaussian statistics hold no rows; {', '.join(rows)} "
                             "needs every video's features")
        dim = network.feature_dim
        if dim is not None and found.data.dim != dim:
            raise InputError(f"{where}: statistics of dimension {found.data.dim}; "
                             f"{network.name} features have {dim}")
        return FeatureStats.of_saved(network.name, found.data)
    array = to_numpy(found.data)
    if array.ndim == 2:
        if not np.issubdtype(array.dtype, np.floating):
            raise InputError(f"{where}: features [N, D] must be float, got {array.dtype}")
        return features_stats(where, array.astype(np.float64), network, plan, bootstrap)
    if array.ndim != 5 or array.shape[-1] != 3:
        raise InputError(f"{where}: expected videos [N, T, H, W, 3] or features [N, D], got "
                         f"shape {array.shape}")
    if clips_per_video != 1:
        raise InputError(f"{where}: clips per video applies to video files, not arrays")
    if frames is not None and array.shape[1] < frames:
        raise InputError(f"{where}: has {array.shape[1]} frames per video, {frames} requested")
    if len(array) < 2:
        raise InputError(f"{where}: {len(array)} video(s); at least 2 are needed")
    return stream_stats(ArraySource(Path(where), array, frames), make(), network.name, plan,
                        batch_size, value_range, desc=where, bootstrap=bootstrap)


# --- the metrics -----------------------------------------------------------------------------

def _maker(network: FeatureNetwork, inputs: InputSettings) -> Callable:
    return lambda: network.make(inputs.device, inputs.weights)


def _counts(real: FeatureStats, gen: FeatureStats) -> dict[str, Any]:
    """Videos per side (None for mu/sigma statistics, which hold no count)."""
    return {"n_real": real.count or None, "n_generated": gen.count or None}


def _settings(network: FeatureNetwork, extractor, **more: Any) -> dict[str, Any]:
    return {"network": network.network_label,
            "preprocessing": getattr(extractor, "preprocessing", network.preprocessing),
            "weights_sha256": getattr(extractor, "weights_sha256", None), **more}


def frechet_result(real: Any, generated: Any, network: FeatureNetwork, inputs: InputSettings,
                   config: Bootstrap) -> MetricResult:
    """``network``'s registered Fréchet distance (FVD for i3d) with its bootstrap interval
    and its value extrapolated to infinitely many videos (FVD∞/FID∞, under ``extra``)."""
    from vdbench.engine.streaming import frechet_between, frechet_uncertainty

    name, value, a, b, extractor = frechet_between(
        as_input(real, "real"), as_input(generated, "generated"), network,
        _maker(network, inputs), **inputs.side_options(), bootstrap=True)
    found = frechet_uncertainty("x", name, a, b, config)
    ci = found["x_ci"] or (None, None)
    return MetricResult(name, value, lo=ci[0], hi=ci[1], se=found["x_se"], **_counts(a, b),
                        settings=_settings(network, extractor, bootstrap=found["bootstrap"]),
                        extra={"inf": found["x_inf"], "inf_fit": found["x_inf_fit"],
                               **({"ci_clipped": found["x_ci_clipped"]}
                                  if "x_ci_clipped" in found else {})})


def fvd_result(real: Any, generated: Any, compat: str, inputs: InputSettings,
               config: Bootstrap) -> MetricResult:
    """FVD under the parity mode ``compat`` (vdbench.metrics.compat; "tf": the TF-Hub
    reference's pipeline), recorded in ``settings`` (compat, compat_mode, preprocessing); a
    statistics file written under another mode is refused, and FVD∞ is withdrawn where the
    mode's statistics are not those its fit uses."""
    import dataclasses

    from vdbench.engine.compat_sides import (check_sides, compat_network, compat_record,
                                             infinity_refusal, preprocessing_of)

    check_sides(compat, real, generated)
    network = compat_network(compat)
    r = frechet_result(real, generated, network, inputs, config)
    why = infinity_refusal(r.metric)
    extra = {**r.extra, **({"inf": None, "inf_fit": {"not_computed": why}} if why else {})}
    settings = {**r.settings, "preprocessing": preprocessing_of(network), **compat_record(compat)}
    return dataclasses.replace(r, settings=settings, extra=extra)


def frechet_fields(key: str, result: MetricResult) -> dict[str, Any]:
    """`vdbench fvd`/`fid`'s interval and FVD∞ JSON fields of a Fréchet result."""
    return {f"{key}_ci": None if result.lo is None else [result.lo, result.hi],
            f"{key}_se": result.se,
            **({f"{key}_ci_clipped": result.extra["ci_clipped"]}
               if "ci_clipped" in result.extra else {}),
            "bootstrap": result.settings["bootstrap"],
            f"{key}_inf": result.extra["inf"], f"{key}_inf_fit": result.extra["inf_fit"]}


def kernel_result(real: Any, generated: Any, network: FeatureNetwork, inputs: InputSettings,
                  config: Bootstrap) -> MetricResult:
    """``network``'s kernel distance (KVD for i3d, KID for inception): the mean over seeded
    subsets ± their std, with its bootstrap interval where the sets are small enough."""
    from vdbench.engine.streaming import metric_between
    from vdbench.metrics.registry import kernel_distance_of
    from vdbench.metrics.uncertainty import metric_intervals

    metric = kernel_distance_of(network.name)
    values, a, b, extractor = metric_between(
        as_input(real, "real"), as_input(generated, "generated"), network, metric,
        _maker(network, inputs), **inputs.side_options(), bootstrap=True)
    # each video its own cluster, the two sides resampled independently (as for FVD)
    found = metric_intervals(metric, b, a, config, paired=False, point=values).get(metric.name)
    boot = {**config.record(), "clusters": "videos (each its own cluster)",
            "real_side": "resampled on its own"} if found is not None else \
        {"not_computed": "more than 4096 rows a side (kernel matrices too large); the std is "
                         "the spread over subsets"}
    lo, hi, se = (found.lo, found.hi, found.se) if found is not None else (None, None, None)
    return MetricResult(
        metric.name, values[metric.name], lo=lo, hi=hi, se=se,
        std=values[f"{metric.name}_std"], **_counts(a, b),
        settings=_settings(network, extractor, bootstrap=boot, **metric.settings()),
        extra={"subset_size": min(metric.max_subset_size, a.count, b.count),
               "subsets": metric.subsets,
               # an interval end clipped to the metric's natural range (KVD ≥ 0)
               **({"ci_clipped": found.clipped()} if found and found.clipped() else {})})


def inception_score_result(generated: Any, network: FeatureNetwork, inputs: InputSettings,
                           splits: int = 1) -> MetricResult:
    """The Inception Score of ``network``'s class logits of GENERATED: the mean over
    ``splits`` consecutive parts ± their std. GENERATED may also be [N, classes] logits."""
    from vdbench.metrics.registry import inception_score_of

    metric = inception_score_of(network.name)
    extractor, stats = _logit_stats(as_input(generated, "generated"), network, metric.needs(),
                                    inputs, metric.array.key)
    mean, std = metric.score(stats, splits)
    classes = stats.all_rows(metric.array.key).shape[1]
    return MetricResult(metric.name, mean, std=std, n_generated=stats.count,
                        settings=_settings(network, extractor),
                        extra={"splits": splits, "classes": int(classes)})


def _logit_stats(found: Any, network: FeatureNetwork, plan: Mapping[str, Keep],
                 inputs: InputSettings, key: str) -> tuple[Any, FeatureStats]:
    """(the extractor or None, the statistics of the logits): from a logits .npy or [N, C]
    array, else from videos."""
    from vdbench.engine.streaming import read_logits, stream_stats
    from vdbench.metrics.feature_stats import FeatureStats
    from vdbench.protocols.datasets.generic import ArraySource, open_source

    if isinstance(found, InMemory):
        array = to_numpy(found.data)
        logits = array.astype(np.float64) if array.ndim == 2 else None
        if logits is not None and not np.issubdtype(array.dtype, np.floating):
            raise InputError(f"{found.where}: logits [N, classes] must be float, got "
                             f"{array.dtype}")
        if logits is None:
            if array.ndim != 5 or array.shape[-1] != 3:
                raise InputError(f"{found.where}: expected videos [N, T, H, W, 3] or logits "
                                 f"[N, classes], got shape {array.shape}")
            if inputs.clips_per_video != 1:
                raise InputError(f"{found.where}: clips per video applies to video files, "
                                 "not arrays")
            source: Any = ArraySource(Path(found.where), array, inputs.frames)
    else:
        logits = read_logits(found)
        if logits is None:
            source = open_source(found, inputs.frames, inputs.clips_per_video)
    if logits is not None:
        if not np.all(np.isfinite(logits)):
            raise InputError(f"{getattr(found, 'where', found)}: logits contain NaN or inf")
        stats = FeatureStats(plan)
        stats.add({key: logits})
        return None, stats
    extractor = _maker(network, inputs)()
    return extractor, stream_stats(source, extractor, network.name, plan, inputs.batch_size,
                                   inputs.value_range)
