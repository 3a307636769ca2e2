"""Videos from a TensorFlow Datasets (TFDS) dataset already prepared in a local ``data_dir``.

We open the prepared files with ``tfds.builder_from_directory``, which reads the dataset's own
``dataset_info.json`` and never downloads or prepares anything (nor needs the builder's source
code). A missing or unprepared dataset is an `InputError` that says which folder was expected and
the command that prepares it on a machine with network access. TensorFlow and TFDS are imported
only when such a dataset is opened.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets.base import VideoDataset

_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


def _import_tfds():
    try:
        import tensorflow  # noqa: F401  (TFDS needs it but does not declare it)
        import tensorflow_datasets as tfds
    except ImportError as err:
        raise InputError(f"reading a TFDS dataset needs tensorflow and tensorflow-datasets "
                         f"({err}): pip install 'vdbench[tf,data]'") from err
    return tfds


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split("."))


def find_prepared(data_dir: Path, name: str, config: Optional[str], how: str) -> Path:
    """``data_dir/name[/config]/VERSION``: the newest prepared version (with dataset_info.json).

    ``how`` completes the error message: how to obtain the dataset.
    """
    folder = data_dir / name / config if config else data_dir / name
    expected = f"{folder}/<version>/dataset_info.json"
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: no such data directory; expected the prepared TFDS "
                         f"dataset at {expected}. {how}")
    versions = [p for p in folder.iterdir() if _VERSION.match(p.name)] if folder.is_dir() else []
    versions = [p for p in versions if (p / "dataset_info.json").is_file()]
    if not versions:
        raise InputError(f"{data_dir}: holds no prepared TFDS dataset '{name}"
                         f"{'/' + config if config else ''}'; expected {expected}. {how}")
    return max(versions, key=lambda p: _version_key(p.name))


class TfdsVideos(VideoDataset):
    """One video feature of one split of a prepared TFDS dataset, read in stored order.

    ``transform(video, where)`` turns the decoded feature into uint8 [T, H, W, 3] (checking or
    resizing it); ``feature`` names it (e.g. ``image_aux1`` or ``video``).
    """

    def __init__(self, path: Path, split: str, feature: str,
                 transform: Callable[[np.ndarray, str], np.ndarray],
                 fitting: Optional[dict] = None):
        tfds = _import_tfds()
        self._tfds, self.path, self.split, self.feature = tfds, path, split, feature
        self._transform, self._fitting = transform, fitting or {}
        self._builder = tfds.builder_from_directory(str(path))
        splits = self._builder.info.splits
        self._parts = split.split("+")  # a union such as "train+test" reads one after the other
        for part in self._parts:
            if part not in splits:
                raise InputError(f"{path}: has no split '{part}' (has "
                                 f"{', '.join(sorted(splits))})")
        if feature not in self._builder.info.features.shape:
            raise InputError(f"{path}: has no feature '{feature}'")
        self._counts = [splits[part].num_examples for part in self._parts]
        self._len = sum(self._counts)
        self.name = f"{self._builder.info.full_name} {split} ({path})"

    def __len__(self) -> int:
        return self._len

    def feature_shape(self) -> tuple:
        """The stored shape of the video feature, None for sizes that vary."""
        return tuple(self._builder.info.features.shape[self.feature])

    def locate(self, i: int) -> str:
        return f"{self.path} split {self.split} example {i}"

    def _stream(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """Videos ``start..stop-1`` in stored order, across the parts of a split union."""
        offset = 0
        for part, count in zip(self._parts, self._counts, strict=True):
            lo, hi = max(start - offset, 0), min(stop - offset, count)
            if lo < hi:
                yield from self._stream_part(part, lo, hi)
            offset += count

    def _stream_part(self, part: str, start: int, stop: int) -> Iterator[np.ndarray]:
        tfds = self._tfds
        decoders = tfds.decode.PartialDecoding({self.feature: True})
        try:
            ds = self._builder.as_dataset(split=f"{part}[{start}:{stop}]",
                                          shuffle_files=False, decoders=decoders)
            for example in tfds.as_numpy(ds):
                yield example[self.feature]
        except Exception as err:  # tf.errors.* carry no common base besides Exception
            if isinstance(err, InputError):
                raise
            raise InputError(f"{self.path}: cannot read split {part} examples "
                             f"{start}..{stop - 1} ({type(err).__name__}: {err})") from err

    def _read(self, i: int) -> np.ndarray:
        for video in self._stream(i, i + 1):
            return self._transform(video, self.locate(i))
        raise InputError(f"{self.locate(i)}: missing from the stored files")

    def iter_clips(self, indices: Sequence[int]) -> Iterator[np.ndarray]:
        """Ascending indices are read in one pass over the files; others one by one."""
        indices = [int(i) for i in indices]
        if not indices or any(b < a for a, b in pairwise(indices)):
            yield from super().iter_clips(indices)
            return
        wanted = iter(indices)
        target: int | None = next(wanted)
        for i, video in enumerate(self._stream(indices[0], indices[-1] + 1), indices[0]):
            while target == i:  # an index may repeat (clips drawn with replacement)
                yield self._transform(video, self.locate(i))
                target = next(wanted, None)
            if target is None:
                return

    def data_files(self, indices: Sequence[int]) -> tuple[Path, list[Path]]:
        """The dataset's metadata and every shard file of the split's parts (which shard holds
        a given example is not looked up: all of them count)."""
        shards = sorted(p for p in self.path.iterdir()
                        if any(f"-{part}." in p.name for part in self._parts))
        listing = [p for p in (self.path / "dataset_info.json", self.path / "features.json")
                   if p.is_file()]
        return self.path, listing + shards

    def describe(self) -> dict:
        info = self._builder.info
        return {"dataset": info.full_name, "split": self.split, "videos": len(self),
                "path": str(self.path), "feature": self.feature, **self._fitting}
