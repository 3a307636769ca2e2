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
from vdbench.metrics.registry import frechet_of
from vdbench.metrics.uncertainty import Bootstrap
from vdbench.protocols.datasets.generic import open_source

log = logging.getLogger(__name__)


def is_stats_file(path: str | Path) -> bool:
    path = Path(path)
    if path.suffix != ".npz" or not path.is_file():
        return False
    return "sum_outer" in npz_keys(path)


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
    """Saved statistics of ``network``'s features; refuses those of another network."""
    found = stats_label(path)
    if found != network.network_label:
        raise InputError(f"{path}: meta_network: statistics of network {found!r}, expected "
                         f"{network.network_label!r}")
    return FeatureStats.of_saved(network.name, GaussianStats.load(path))


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
                 bootstrap: bool = False) -> FeatureStats:
    """``network``'s arrays of every clip of ``source``, accumulated as ``plan`` asks: the
    statistics the registered metrics read (the runner fills the same object chunk by chunk);
    ``bootstrap``: every row kept too, each video its own cluster."""
    stats = FeatureStats(plan, bootstrap=bootstrap)
    for arrays in iter_batches(source, lambda b: network_arrays(
            extractor, network, plan, b, value_range=value_range), batch_size, desc):
        stats.add(arrays)
    if not stats.count:
        raise InputError(f"{desc}: no videos")
    return stats


def side_stats(path: str | Path, network: FeatureNetwork, make: Callable, batch_size: int,
               plan: Mapping[str, Keep], frames: Optional[int] = None, clips_per_video: int = 1,
               value_range: Optional[str] = None, bootstrap: bool = False) -> FeatureStats:
    """One side of a Fréchet distance: a saved statistics .npz, or videos to embed with the
    extractor ``make()`` returns (made only if needed)."""
    if is_stats_file(path):
        return load_stats(path, network)
    source = open_source(path, frames, clips_per_video)
    if len(source) < 2:
        raise InputError(f"{path}: {len(source)} video(s); at least 2 are needed for a covariance")
    return stream_stats(source, make(), network.name, plan, batch_size, value_range,
                        desc=Path(path).name, bootstrap=bootstrap)


def resolve_network(network: Optional[str], frame_mode: str, sides: tuple, default: str
                    ) -> FeatureNetwork:
    """``--network``/``--frame-mode`` if given; else the network a statistics file among
    ``sides`` was written with; else ``default``."""
    if network:
        return by_family(network, frame_mode)
    labels = {str(stats_label(p)) for p in sides if is_stats_file(p)}
    if len(labels) > 1:
        raise InputError(f"{', '.join(map(str, sides))}: statistics of different networks "
                         f"({' vs '.join(sorted(labels))})")
    return by_label(labels.pop()) if labels else by_family(default, frame_mode)


def frechet_between(real, generated, network: FeatureNetwork, make: Callable, **kw
                    ) -> tuple[str, float, FeatureStats, FeatureStats, Optional[object]]:
    """(metric name, value, real stats, generated stats, the extractor or None if both sides
    were statistics files) of ``network``'s registered Fréchet distance (`vdbench fvd`,
    `vdbench fid`); ``make`` is called at most once."""
    metric = frechet_of(network.name)
    made: list = []

    def make_once():
        if not made:
            made.append(make())
        return made[0]

    a = side_stats(real, network, make_once, plan=metric.needs(), **kw)
    b = side_stats(generated, network, make_once, plan=metric.needs(), **kw)
    return metric.name, metric.compute(b, a)[metric.name], a, b, made[0] if made else None


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
    return {f"{key}_ci": interval.pair(), f"{key}_se": interval.se,
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
    path = Path(path)
    if path.suffix != ".npy" or not path.is_file():
        return None
    array = read_npy(path, mmap=True)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.floating):
        return None
    logits = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(logits)):
        raise InputError(f"{path}: logits contain NaN or inf")
    return logits
