"""Streaming evaluation glue: clip sources → features → Gaussian statistics → FVD."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import numpy as np
from tqdm.auto import tqdm

from vdbench.metrics.errors import InputError
from vdbench.metrics.frechet import GaussianStats
from vdbench.metrics.fvd import NETWORK, PREPROCESSING
from vdbench.protocols.datasets.generic import open_source

log = logging.getLogger(__name__)


def is_stats_file(path: str | Path) -> bool:
    path = Path(path)
    if path.suffix != ".npz" or not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as data:
            return "sum_outer" in data
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: cannot read ({err})") from err


def load_stats(path: str | Path, network: str = NETWORK) -> GaussianStats:
    """Saved statistics of ``network`` (I3D by default); refuses those of another network."""
    with np.load(path, allow_pickle=False) as data:
        found = str(data["meta_network"]) if "meta_network" in data else None
    if found != network:
        raise InputError(f"{path}: statistics of network {found!r}, expected {network!r}")
    return GaussianStats.load(path)


def iter_features(source, extractor, batch_size: int, value_range: Optional[str] = None,
                  desc: str = "features", logits: bool = False) -> Iterator:
    """Features of every clip of ``source``, one batch at a time, with a progress bar.

    With ``logits=True`` each item is the extractor's (features, logits) pair.
    """
    run = extractor.features_and_logits if logits else extractor
    with tqdm(total=len(source), desc=desc, unit="video", leave=False) as bar:
        for batch in source.batches(batch_size):
            try:
                yield run(batch, value_range=value_range)
            except InputError as err:
                raise InputError(f"{getattr(source, 'path', desc)}: {err}") from err
            bar.update(len(batch))


def side_stats(path: str | Path, extractor_factory, batch_size: int, frames: Optional[int] = None,
               clips_per_video: int = 1, value_range: Optional[str] = None,
               network: str = NETWORK) -> GaussianStats:
    """Statistics of one side of an FVD/FID: a saved stats .npz, or videos to embed."""
    if is_stats_file(path):
        return load_stats(path, network)
    source = open_source(path, frames, clips_per_video)
    if len(source) < 2:
        raise InputError(f"{path}: {len(source)} video(s); at least 2 are needed for a covariance")
    extractor = extractor_factory()
    stats = GaussianStats(extractor.dim)
    for features in iter_features(source, extractor, batch_size, value_range, desc=Path(path).name):
        stats.update(features)
    return stats


def stats_and_logits(source, extractor, batch_size: int, value_range: Optional[str] = None,
                     desc: str = "features") -> tuple[GaussianStats, np.ndarray]:
    """Gaussian statistics of the features and all logits (for IS) of ``source``'s clips."""
    stats, logits = GaussianStats(extractor.dim), []
    for feats, batch_logits in iter_features(source, extractor, batch_size, value_range, desc,
                                             logits=True):
        stats.update(feats)
        logits.append(batch_logits)
    if not logits:
        raise InputError(f"{desc}: no videos")
    return stats, np.concatenate(logits)


def stats_meta(network: str = NETWORK, preprocessing: str = PREPROCESSING) -> dict[str, str]:
    return {"network": network, "preprocessing": preprocessing}


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
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: cannot read ({err})") from err
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.floating):
        return None
    return np.asarray(array, dtype=np.float64)
