"""Dataset readers: local files only, never a silent download.

Every reader is a `VideoDataset` (see `protocols.datasets.base`): ``len(reader)``,
``reader.clip(i)`` -> uint8 [T, 64, 64, 3], ``reader.batches(batch_size)`` and
``reader.select(n, frames=..., seed=...)`` for the clips and windows a protocol evaluates.
Readers import TensorFlow/TFDS and PyAV only when opened, so this package stays light.
"""

from __future__ import annotations

from pathlib import Path

from vdbench.metrics.errors import InputError

DATASETS = ("bair", "ucf101", "kinetics600", "captioned-videos")


def open_dataset(name: str, path: str | Path, split: str, **options):
    """A reader for one of `DATASETS` from a local folder (its layout is detected)."""
    if name == "bair":
        from vdbench.protocols.datasets.bair import open_bair
        return open_bair(path, split, **options)
    if name == "ucf101":
        from vdbench.protocols.datasets.ucf101 import open_ucf101
        return open_ucf101(path, split, **options)
    if name == "kinetics600":
        from vdbench.protocols.datasets.kinetics import open_kinetics600
        return open_kinetics600(path, split, **options)
    if name == "captioned-videos":
        from vdbench.protocols.datasets.captioned import open_captioned
        return open_captioned(path, split, **options)
    raise InputError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
