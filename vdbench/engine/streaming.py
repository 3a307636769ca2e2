"""The standalone commands' path: clip sources (or saved statistics) → feature arrays →
FeatureStats, which the registered metrics read as they do in a run."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Optional

import numpy as np
from tqdm.auto import tqdm

from vdbench.metrics.arrays import npz_keys, read_npy, read_npz
from vdbench.metrics.errors import InputError
from vdbench.metrics.feature_stats import FeatureStats, Keep
from vdbench.metrics.frechet import GaussianStats
from vdbench.metrics.networks import FeatureNetwork, by_family, by_label, network_arrays
from vdbench.metrics.registry import Metric, frechet_of
from vdbench.metrics.uncertainty import Bootstrap
from vdbench.protocols.datasets.generic import open_source

log = logging.getLogger(__name__)


def is_stats_file(path: str | Path) -> bool:
    """A statistics .npz: `vdbench stats`'s (count, sum, sum_outer), or the mu/sigma layout
    of pytorch-fid and clean-fid."""
    path = Path(path)
    if path.suffix != ".npz" or not path.is_file():
        return False
    keys = set(npz_keys(path))
    return "sum_outer" in keys or {"mu", "sigma"} <= keys


def stats_label(path: str | Path) -> Optional[str]:
    """The network label a statistics file was written with (None if it records none)."""
    found = read_npz(path, ["meta_network"]).get("meta_network")
    if found is None:
        return None
    if found.shape != () or found.dtype.kind != "U":
        raise InputError(f"{path}: meta_network: expected one string, got {found.dtype} "
                         f"of shape {found.shape}")
    return str(found)


def load_stats(path: str | Path, network: FeatureNetwork) -> FeatureStats:
    """Saved statistics of ``network``'s features; refuses those of another network (by the
    label it records; a mu/sigma file of another program records none: by its dimension)."""
    found = stats_label(path)
    stats = GaussianStats.load(path)
    if found != network.network_label and (found is not None or stats.counted):
        raise InputError(f"{path}: meta_network: statistics of network {found!r}, expected "
                         f"{network.network_label!r}")
    dim = network.feature_dim
    if not stats.counted and dim is not None and stats.dim != dim:
        raise InputError(f"{path}: statistics of dimension {stats.dim}; {network.name} "
                         f"features have {dim}")
    return FeatureStats.of_saved(network.name, stats)


def iter_batches(source, fn: Callable, batch_size: int, desc: str = "features") -> Iterator:
    """``fn(batch)`` for every batch of ``source``'s clips, with a progress bar; errors name
    the input."""
    with tqdm(total=len(source), desc=desc, unit="video", leave=False) as bar:
        for batch in source.batches(batch_size):
            try:
                yield fn(batch)
            except InputError as err:
                raise InputError(f"{getattr(source, 'path', desc)}: {err}") from err
            bar.update(len(batch))


def stream_stats(source, extractor, network: str, plan: Mapping[str, Keep], batch_size: int,
                 value_range: Optional[str] = None, desc: str = "features",
                 bootstrap: bool = False, shard=None) -> FeatureStats:
    """``network``'s arrays of every clip of ``source``, accumulated as ``plan`` asks: the
    statistics the registered metrics read (the runner fills the same object chunk by chunk);
    ``bootstrap``: every row kept too, each video its own cluster. ``shard``: in chunks, over
    torchrun's ranks and a chunk cache (vdbench.engine.sharded_features), same result."""
    if shard is not None:
        from vdbench.engine.sharded_features import PassSpec, sharded_stats

        return sharded_stats(shard, source, extractor, PassSpec(
            desc, network, plan, batch_size, value_range, bootstrap))
    stats = FeatureStats(plan, bootstrap=bootstrap)
    for arrays in iter_batches(source, lambda b: network_arrays(
            extractor, network, plan, b, value_range=value_range), batch_size, desc):
        stats.add(arrays)
    if not stats.count:
        raise InputError(f"{desc}: no videos")
    return stats


def side_stats(path: str | Path, network: FeatureNetwork, make: Callable, batch_size: int,
               plan: Mapping[str, Keep], frames: Optional[int] = None, clips_per_video: int = 1,
               value_range: Optional[str] = None, bootstrap: bool = False,
               shard=None) -> FeatureStats:
    """One side of a distance: a saved statistics .npz, an [N, D] features .npy (as `vdbench
    features` writes), or videos to embed with the extractor ``make()`` returns (made only if
    needed). ``bootstrap``: keep every row, for the interval. An input held in memory (the
    Python API): engine.metric_calls.memory_side."""
    from vdbench.engine.metric_calls import InMemory, memory_side

    if isinstance(path, InMemory):
        return memory_side(path, network, make, batch_size, plan, frames, clips_per_video,
                           value_range, bootstrap)
    if is_stats_file(path):
        rows = [key for key, keep in plan.items() if keep.rows]
        if rows:
            raise InputError(f"{path}: a statistics file holds Gaussian statistics only; "
                             f"{', '.join(rows)} needs every video's features (give the videos, "
                             f"or the .npy of `vdbench features {network.family}`)")
        return load_stats(path, network)
    features = read_rows(path, "features")
    if features is not None:
        return features_stats(path, features, network, plan, bootstrap)
    source = open_source(path, frames, clips_per_video)
    if len(source) < 2:
        raise InputError(f"{path}: {len(source)} video(s); at least 2 are needed for a covariance")
    return stream_stats(source, make(), network.name, plan, batch_size, value_range,
                        desc=Path(path).name, bootstrap=bootstrap, shard=shard)


def features_stats(path: str | Path, features: np.ndarray, network: FeatureNetwork,
                   plan: Mapping[str, Keep], bootstrap: bool = False) -> FeatureStats:
    """The statistics ``plan`` asks for of an [N, D] features file: ``network``'s features of N
    videos (refused where D is not the network's dimension or a planned array is another)."""
    others = sorted(set(plan) - {network.name})
    if others:
        raise InputError(f"{path}: a features file gives {network.name} features only, not "
                         f"{', '.join(others)}")
    dim = network.feature_dim
    if dim is not None and features.shape[1] != dim:
        raise InputError(f"{path}: features of dimension {features.shape[1]}; "
                         f"{network.name} features have {dim}")
    if len(features) < 2:
        raise InputError(f"{path}: {len(features)} row(s) of features; at least 2 are needed")
    stats = FeatureStats(plan, bootstrap=bootstrap)
    stats.add({network.name: features})
    return stats


def resolve_network(network: Optional[str], frame_mode: str, sides: tuple, default: str
                    ) -> FeatureNetwork:
    """``--network``/``--frame-mode`` if given; else the network a statistics file among
    ``sides`` was written with; else ``default``."""
    if network:
        return by_family(network, frame_mode)
    labels = {str(label) for p in sides if is_stats_file(p)
              for label in [stats_label(p)] if label is not None}
    if len(labels) > 1:
        raise InputError(f"{', '.join(map(str, sides))}: statistics of different networks "
                         f"({' vs '.join(sorted(labels))})")
    return by_label(labels.pop()) if labels else by_family(default, frame_mode)


def metric_between(real, generated, network: FeatureNetwork, metric: Metric, make: Callable,
                   **kw) -> tuple[dict[str, float], FeatureStats, FeatureStats, Optional[object]]:
    """(``metric``'s values, real stats, generated stats, the extractor or None if no side
    needed it) of ``network``'s features of REAL and GENERATED (`vdbench fvd`, `fid`, `kvd`);
    ``make`` is called at most once."""
    made: list = []

    def make_once():
        if not made:
            made.append(make())
        return made[0]

    a = side_stats(real, network, make_once, plan=metric.needs(), **kw)
    b = side_stats(generated, network, make_once, plan=metric.needs(), **kw)
    return metric.compute(b, a), a, b, made[0] if made else None


def frechet_between(real, generated, network: FeatureNetwork, make: Callable, **kw
                    ) -> tuple[str, float, FeatureStats, FeatureStats, Optional[object]]:
    """(metric name, value, real stats, generated stats, extractor or None) of ``network``'s
    registered Fréchet distance (`vdbench fvd`, `vdbench fid`)."""
    metric = frechet_of(network.name)
    values, a, b, extractor = metric_between(real, generated, network, metric, make, **kw)
    return metric.name, values[metric.name], a, b, extractor


def frechet_uncertainty(key: str, metric_name: str, real: FeatureStats, gen: FeatureStats,
                        config: Bootstrap) -> dict:
    """`vdbench fvd`/`fid`'s interval and FVD∞ as JSON fields: ``{key}_ci`` [lo, hi],
    ``{key}_se``, ``bootstrap``, ``{key}_inf`` and its fit. Without cluster structure every
    video is its own cluster and the two sides are resampled independently; a side given as a
    statistics file holds sums only, so neither is possible and the fields say so."""
    from vdbench.metrics.frechet_infinity import fit_of_stats, too_few
    from vdbench.metrics.registry import get_metric
    from vdbench.metrics.uncertainty import metric_intervals

    if not (real.resamplable() and gen.resamplable()):
        why = "a statistics file holds sums only: no rows to resample"
        return {f"{key}_ci": None, f"{key}_se": None, "bootstrap": {"not_computed": why},
                f"{key}_inf": None, f"{key}_inf_fit": {"not_computed": why}}
    metric = get_metric(metric_name)
    interval = metric_intervals(metric, gen, real, config, paired=False)[metric_name]
    fit = fit_of_stats(gen, real, metric.array.key, paired=False, seed=config.seed)
    fit_record = fit.record() if fit is not None else {"not_computed": too_few(gen.count)}
    clipped = interval.clipped()  # an end clipped to the metric's natural range
    return {f"{key}_ci": interval.pair(), f"{key}_se": interval.se,
            **({f"{key}_ci_clipped": clipped} if clipped else {}),
            "bootstrap": {**config.record(), "clusters": "videos (each its own cluster)",
                          "real_side": "resampled on its own"},
            f"{key}_inf": None if fit is None else fit.value, f"{key}_inf_fit": fit_record}


def uncertainty_lines(key: str, label: str, out: dict) -> list[str]:
    """The text form of ``frechet_uncertainty``'s fields."""
    if out[f"{key}_ci"] is None:
        lines = [f"no interval: {out['bootstrap']['not_computed']}"]
    else:
        (lo, hi), b = out[f"{key}_ci"], out["bootstrap"]
        lines = [f"95% interval [{lo:.4f}, {hi:.4f}], bootstrap SE {out[f'{key}_se']:.4f} "
                 f"({b['replicates']} replicates over videos, seed {b['seed']})"]
    fit = out[f"{key}_inf_fit"]
    if out[f"{key}_inf"] is None:
        lines.append(f"{label}∞ not computed: {fit['not_computed']}")
    else:
        flag = "" if fit["reliable"] else (" (a subset had no more samples than feature "
                                           "dimensions: the 1/N fit is unreliable)")
        lines.append(f"{label}∞ {fit['value']:.4f}  ({label} = a + b/N fitted on "
                     f"{len(fit['points'])} subset sizes, b = {fit['slope']:.4g}, residual "
                     f"rms {fit['residual_rms']:.3g}){flag}")
    return lines


def stats_meta(extractor) -> dict[str, str]:
    """What a statistics file records of the network that made it."""
    return {"network": extractor.network, "preprocessing": extractor.preprocessing,
            "weights_sha256": json.dumps(getattr(extractor, "weights_sha256", None))}


def dataset_source(name: str, data_dir: Optional[str], split: str, clips: Optional[int],
                   frames: int, seed: int):
    """The clips of a named dataset read from ``data_dir`` (never downloaded)."""
    from vdbench.protocols.datasets import open_dataset

    return open_dataset(name, data_dir, split).select(clips, frames=frames, seed=seed)


def read_logits(path: str | Path) -> Optional[np.ndarray]:
    """A 2-D float .npy of [N, classes] logits, or None when ``path`` holds something else."""
    return read_rows(path, "logits")


def holds_rows(path: str | Path) -> bool:
    """Whether ``path`` is a 2-D float .npy (features or logits, [N, D]); only its header is
    read."""
    path = Path(path)
    if path.suffix != ".npy" or not path.is_file():
        return False
    array = read_npy(path, mmap=True)
    return array.ndim == 2 and np.issubdtype(array.dtype, np.floating)


def read_rows(path: str | Path, what: str) -> Optional[np.ndarray]:
    """A 2-D float .npy of [N, D] ``what`` (logits, features) as float64, or None when ``path``
    holds something else (e.g. videos)."""
    if not holds_rows(path):
        return None
    array = read_npy(path, mmap=True)
    logits = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(logits)):
        raise InputError(f"{path}: {what} contain NaN or inf")
    return logits
