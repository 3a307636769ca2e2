"""Streaming evaluation glue: clip sources → features → Gaussian statistics → FVD."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import numpy as np
from tqdm.auto import tqdm

from metrics.errors import InputError
from metrics.frechet import GaussianStats
from metrics.fvd import NETWORK, PREPROCESSING
from protocols.datasets.generic import open_source

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


def load_stats(path: str | Path) -> GaussianStats:
    """Saved I3D statistics; refuses statistics of another network or preprocessing."""
    with np.load(path, allow_pickle=False) as data:
        network = str(data["meta_network"]) if "meta_network" in data else None
    if network != NETWORK:
        raise InputError(f"{path}: statistics of network {network!r}, expected {NETWORK!r}")
    return GaussianStats.load(path)


def iter_features(source, extractor, batch_size: int, value_range: Optional[str] = None,
                  desc: str = "features") -> Iterator[np.ndarray]:
    """Features of every clip of ``source``, one batch at a time, with a progress bar."""
    with tqdm(total=len(source), desc=desc, unit="video", leave=False) as bar:
        for batch in source.batches(batch_size):
            try:
                yield extractor(batch, value_range=value_range)
            except InputError as err:
                raise InputError(f"{getattr(source, 'path', desc)}: {err}") from err
            bar.update(len(batch))


def side_stats(path: str | Path, extractor_factory, batch_size: int, frames: Optional[int] = None,
               clips_per_video: int = 1, value_range: Optional[str] = None) -> GaussianStats:
    """Statistics of one side of an FVD: a saved stats .npz, or videos to embed."""
    if is_stats_file(path):
        return load_stats(path)
    source = open_source(path, frames, clips_per_video)
    if len(source) < 2:
        raise InputError(f"{path}: {len(source)} video(s); at least 2 are needed for a covariance")
    extractor = extractor_factory()
    stats = GaussianStats(extractor.dim)
    for features in iter_features(source, extractor, batch_size, value_range, desc=Path(path).name):
        stats.update(features)
    return stats


def stats_meta() -> dict[str, str]:
    return {"network": NETWORK, "preprocessing": PREPROCESSING}
