"""Dataset readers (local files only, never a silent download) and their one registry.

Every reader is a `VideoDataset` (see `protocols.datasets.base`): ``len(reader)``,
``reader.clip(i)`` -> uint8 [T, 64, 64, 3], ``reader.batches(batch_size)`` and
``reader.select(n, frames=..., seed=...)`` for the clips and windows a protocol evaluates.
Readers import TensorFlow/TFDS and PyAV only when opened, so this package stays light.

`READERS` holds one `Reader` per dataset name: what the reader needs (a ``--data-dir`` or
nothing, the protocol's resolution, its frame fitting, how many videos and frames to make) and
how a protocol's clips are chosen from it (seeded, or BAIR's fixed test clips). The engine asks
the registry and never branches on a dataset name; adding a reader is its module plus one
`Reader(...)` line below.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets.spatial import FITS

if TYPE_CHECKING:
    from vdbench.protocols.base import Protocol
    from vdbench.protocols.datasets.base import VideoDataset

# What a reader may take from the protocol, by keyword: the frame size, the frame fitting,
# and (for data made in code) how many videos and how many frames per video to make.
OPTIONS = ("size", "fit", "videos", "frames")


@dataclass(frozen=True)
class Reader:
    """One dataset as the protocols read it."""

    name: str
    opener: str  # "module:function" returning a VideoDataset; imported only when opened
    about: str  # what --data-dir must hold (help text and error messages)
    options: tuple[str, ...] = ()  # of OPTIONS: the keywords the opener takes from a protocol
    fits: tuple[str, ...] = ()  # frame fittings offered (option "fit"), its default first
    splits: tuple[str, ...] = ()  # the splits it knows; () = the names its files carry
    needs_data_dir: bool = True  # False: the data is made in code (takes no --data-dir)
    resolution: Optional[int] = None  # frames stored at this size (None: fitted to any)
    seeded: bool = True  # False: fixed clips, the first n videos from frame 0 (BAIR's test set)

    def __post_init__(self) -> None:
        unknown = [o for o in self.options if o not in OPTIONS]
        if unknown or ("fit" in self.options) != bool(self.fits) \
                or not set(self.fits) <= set(FITS):
            raise ValueError(f"reader {self.name}: bad options {self.options} / fits {self.fits}")

    def clip_seed(self, seed: int) -> Optional[int]:
        """The seed that picks a protocol's clips and windows (None: the fixed first ones)."""
        return seed if self.seeded else None

    def open(self, data_dir: Optional[str | Path], split: str, **options: Any) -> VideoDataset:
        """The reader of ``split``, from ``data_dir`` when the dataset lives in files."""
        if self.needs_data_dir and not data_dir:
            raise InputError(f"{self.name}: needs --data-dir: {self.about}")
        if not self.needs_data_dir and data_dir:
            raise InputError(f"{self.name}: --data-dir does not apply ({self.about})")
        if self.splits and split not in self.splits:
            raise InputError(f"{self.name}: unknown split {split!r}; choose one of "
                             f"{', '.join(self.splits)}")
        opener = _load(self.opener)
        return opener(data_dir, split, **options) if self.needs_data_dir \
            else opener(split, **options)

    def open_for(self, protocol: Protocol, data_dir: Optional[str | Path], split: str
                 ) -> VideoDataset:
        """The reader of ``split`` as ``protocol`` reads it (its size, fit and counts)."""
        where = f"protocol {protocol.name}"
        if self.needs_data_dir and not data_dir:
            raise InputError(f"{where} needs --data-dir: {self.about} (see README, Datasets)")
        if self.resolution is not None and protocol.resolution != self.resolution:
            raise InputError(f"{where}: {self.name} frames are {self.resolution}x"
                             f"{self.resolution}, the protocol asks for {protocol.resolution}")
        if protocol.fit and protocol.fit not in self.fits:
            offered = f"one of {', '.join(self.fits)}" if self.fits else "none (not resized)"
            raise InputError(f"{where}: fit {protocol.fit!r} does not apply to {self.name}; "
                             f"it offers {offered}")
        if protocol.with_replacement and not self.seeded:
            raise InputError(f"{where}: {self.name} evaluates fixed clips; drawing with "
                             "replacement does not apply")
        from vdbench.protocols.datasets.base import window_span

        wanted = {"size": protocol.resolution, "fit": protocol.fit or None,
                  "videos": protocol.num_clips,
                  "frames": protocol.source_frames
                  or window_span(protocol.frames, protocol.frameskip)}
        return self.open(data_dir, split, **{k: v for k, v in wanted.items()
                                             if k in self.options and v is not None})


def _load(spec: str) -> Callable[..., Any]:
    module, _, function = spec.partition(":")
    return getattr(importlib.import_module(module), function)


_HERE = "vdbench.protocols.datasets"
READERS: dict[str, Reader] = {r.name: r for r in (
    Reader("bair", f"{_HERE}.bair:open_bair", "BAIR's softmotion30_44k/{train,test}/*.tfrecords "
           "or a TFDS data_dir with bair_robot_pushing_small/", splits=("train", "test"),
           resolution=64, seeded=False),
    Reader("ucf101", f"{_HERE}.ucf101:open_ucf101", "UCF-101/<Class>/*.avi with "
           "ucfTrainTestlist/, or a TFDS data_dir with ucf101/", options=("size", "fit"),
           fits=("squash", "crop"), splits=("train", "test", "all")),
    Reader("kinetics600", f"{_HERE}.kinetics:open_kinetics600", "Kinetics-600 clips "
           "<youtube_id>_<start>_<end>.mp4 with the official <split>.csv",
           options=("size", "fit"), fits=("crop", "squash")),
    Reader("captioned-videos", f"{_HERE}.captioned:open_captioned", "<split>/captions.jsonl "
           "with the videos it names", options=("size", "fit"), fits=("crop", "squash")),
    Reader("shapes", f"{_HERE}.shapes:open_shapes", "procedural sprites, made in code",
           options=("size", "videos", "frames"), splits=("train", "test"),
           needs_data_dir=False, seeded=False),
)}
DATASETS = tuple(READERS)


def get_reader(name: str) -> Reader:
    try:
        return READERS[name]
    except KeyError:
        raise InputError(f"no reader for dataset {name!r}; registered: {', '.join(READERS)} "
                         "(bring your own data through the Python API)") from None


def open_dataset(name: str, path: Optional[str | Path], split: str, **options: Any
                 ) -> VideoDataset:
    """A reader for one of `DATASETS` from a local folder (its layout is detected)."""
    return get_reader(name).open(path, split, **options)
