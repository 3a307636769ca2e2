"""The interface every dataset reader shares, and the seeded choice of clips and windows.

A reader is a sequence of videos already at the protocol resolution: ``len(reader)``,
``reader.clip(i)`` -> uint8 [T, 64, 64, 3] (all frames of video i), ``reader.batches(n)``.
``reader.select(n, frames=16, seed=s)`` is the view a protocol evaluates: ``n`` videos chosen
with seed ``s`` (without replacement unless ``replace=True``), each cut to one ``frames``-long
window, also drawn from ``s``. The window of a chosen video is its ground truth and its
conditioning frames alike (the Kinetics-600 protocol of the paper, Section 4.2). With
``frameskip=k`` a window takes every ``k``-th frame: ``frames`` output frames span
``(frames - 1) * k + 1`` source frames, and the window's start is drawn among the starts where
that whole span fits (the text-to-video experiments of Section 4.3 use k = 1 and 4).

A fingerprint (``reader.fingerprint()``, ``selection.fingerprint()``) identifies the data read
without reading it: for each file read (video files, record files, split lists and annotations)
its path relative to the dataset root, its size and its modification time in nanoseconds,
hashed with SHA-256; data made in code hashes its generator's parameters instead. A file replaced
in place changes its mtime (and usually its size), so a result cached from the old file no
longer matches. Computing it costs one ``stat`` per file and decodes nothing.

Both choices are pure functions of (seed, dataset size, video index, video length), computed with
a fixed integer hash (SplitMix64) rather than a library's random generator, so they do not change
with numpy versions, batch size or worker count, and they nest: the clips of a 16-clip quick run
are among those of a 50,000-clip paper run, with the same windows. Without a seed the first ``n``
videos are taken, each from its first frame (BAIR: the 256 test videos, frames 0-15).
"""

from __future__ import annotations

import abc
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from vdbench.metrics.errors import InputError

_PICK, _DRAW, _WINDOW = 0, 1, 2  # independent hash streams of one seed


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser (Steele et al. 2014), elementwise on uint64 with wrap-around."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def seeded_hash(*parts: int | np.ndarray) -> np.ndarray:
    """A uint64 hash of a tuple of non-negative integers (each may be an array; they broadcast)."""
    h = np.zeros((), dtype=np.uint64)
    for part in parts:
        h = _splitmix64(h ^ np.asarray(part, dtype=np.uint64))
    return h


def choose_indices(total: int, n: Optional[int], seed: Optional[int],
                   replace: bool = False) -> np.ndarray:
    """Indices of the videos a protocol uses, in ascending order (so reading stays sequential).

    Without replacement: the ``n`` videos with the smallest hash keys, so a smaller ``n`` gives a
    subset of a larger one. With replacement: draw ``k`` is ``hash(seed, k) mod total``.
    """
    n = total if n is None else n
    if n < 0:
        raise InputError(f"number of clips must be >= 0, got {n}")
    if replace:
        if seed is None:
            raise InputError("sampling clips with replacement needs a seed")
        if total == 0 and n > 0:
            raise InputError("cannot draw clips from an empty dataset")
        draws = seeded_hash(seed, _DRAW, np.arange(n)) % np.uint64(max(total, 1))
        return np.sort(draws.astype(np.int64))
    if n > total:
        raise InputError(f"{n} clips requested without replacement, the dataset has {total}")
    if seed is None or n == total:
        return np.arange(n, dtype=np.int64)
    keys = seeded_hash(seed, _PICK, np.arange(total))
    return np.sort(np.argsort(keys, kind="stable")[:n])


def window_span(frames: int, frameskip: int = 1) -> int:
    """Source frames covered by ``frames`` frames taken every ``frameskip``-th."""
    return (frames - 1) * frameskip + 1


def window_start(length: int, frames: int, seed: Optional[int], index: int,
                 occurrence: int = 0, frameskip: int = 1) -> int:
    """First frame of the window of ``frames`` frames (every ``frameskip``-th) of video
    ``index``: one of the ``length - span + 1`` starts where the whole span fits (0 without a
    seed). With frameskip 1 this is the original ``frames``-long window."""
    if seed is None:
        return 0
    choices = np.uint64(length - window_span(frames, frameskip) + 1)
    return int(seeded_hash(seed, _WINDOW, index, occurrence) % choices)


def fingerprint_files(root: Path, files: Iterable[Path]) -> str:
    """SHA-256 hex digest of (path relative to ``root``, size, mtime in ns) of each file, in
    the given order, each file once. Nothing is read but the files' metadata."""
    digest, seen, base = hashlib.sha256(), set(), os.path.abspath(root)
    for path in files:
        full = os.path.abspath(path)
        if full in seen:
            continue
        seen.add(full)
        try:
            st = os.stat(full)
        except OSError as err:
            raise InputError(f"{path}: cannot read its size and time ({err.strerror}); did the "
                             f"dataset change while it was read?") from None
        rel = os.path.relpath(full, base).replace(os.sep, "/")
        digest.update(f"{rel}\t{st.st_size}\t{st.st_mtime_ns}\n".encode("utf-8"))
    return digest.hexdigest()


def fingerprint_params(params: dict) -> str:
    """SHA-256 hex digest of the JSON of a generator's parameters (data made in code)."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


BATCH_PIXELS_ENV = "VDBENCH_MAX_BATCH_PIXELS"
DEFAULT_MAX_BATCH_PIXELS = 2**32 // 3  # 4 GiB of decoded RGB uint8 frames per batch


def pixels_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(f"{name}: expected a positive whole number of pixels, got {raw!r}")
    return value


def max_batch_pixels() -> int:
    """The cap on decoded pixels held for one batch of videos: ``$VDBENCH_MAX_BATCH_PIXELS`` or
    2**32 / 3 (4 GiB as RGB), so that a batch of small files, each under the per-video cap,
    cannot exhaust memory together."""
    return pixels_from_env(BATCH_PIXELS_ENV, DEFAULT_MAX_BATCH_PIXELS)


class BatchPixels:
    """Counts the decoded pixels held for the batch being filled; refuses past the cap."""

    def __init__(self) -> None:
        self.cap, self.held = max_batch_pixels(), 0

    def add(self, pixels: int, source: str) -> None:
        self.held += pixels
        if self.held > self.cap:
            raise InputError(f"{source}: with it the batch of decoded videos holds {self.held} "
                             f"pixels, over the limit of {self.cap} per batch (set "
                             f"{BATCH_PIXELS_ENV} to raise it, or lower --batch-size)")


def _stack_batches(clips: Iterable[np.ndarray], batch_size: int, name: str) -> Iterator[np.ndarray]:
    """Stack clips into [B, T, H, W, 3] batches; all clips must share one shape."""
    if batch_size < 1:
        raise InputError(f"batch size must be >= 1, got {batch_size}")
    pending: list[np.ndarray] = []
    shape, budget = None, BatchPixels()
    for i, clip in enumerate(clips):
        if shape is None:
            shape = clip.shape
        elif clip.shape != shape:
            raise InputError(f"{name}: clips of shapes {shape} and {clip.shape} cannot share a "
                             f"batch; cut equal windows with select(frames=...)")
        budget.add(clip.size // 3, f"{name}: clip {i}")
        pending.append(clip)
        if len(pending) == batch_size:
            yield np.stack(pending)
            pending, budget.held = [], 0
    if pending:
        yield np.stack(pending)


class VideoDataset(abc.ABC):
    """A lazily read sequence of videos, uint8 [T, H, W, 3] each (see the module docstring)."""

    name: str = "dataset"

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of videos."""

    @abc.abstractmethod
    def _read(self, i: int) -> np.ndarray:
        """Video ``i`` (0 <= i < len) as uint8 [T, H, W, 3]."""

    def locate(self, i: int) -> str:
        """Where video ``i`` comes from (a file, a record), for error messages and provenance."""
        return f"{self.name}[{i}]"

    def clip(self, i: int) -> np.ndarray:
        """All frames of video ``i`` as uint8 [T, H, W, 3]."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"{self.name}: video {i} out of range (has {len(self)})")
        return self._read(i % len(self))

    def __getitem__(self, i: int) -> np.ndarray:
        return self.clip(i)

    def iter_clips(self, indices: Sequence[int]) -> Iterator[np.ndarray]:
        """Videos ``indices`` in that order; readers with sequential storage override this."""
        for i in indices:
            yield self.clip(int(i))

    def iter_windows(self, indices: Sequence[int], frames: int,
                     start_of: Callable[[int, int], int]) -> Iterator[np.ndarray]:
        """``frames``-long windows of videos ``indices``; the window of the ``j``-th starts at
        ``start_of(j, its length)``. Readers that can decode less than a whole video override
        this (see `protocols.datasets.files`)."""
        for j, video in enumerate(self.iter_clips(indices)):
            start = start_of(j, video.shape[0])
            yield video[start:start + frames]

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        """All videos in order as uint8 [B, T, H, W, 3] (they must share one length)."""
        return _stack_batches(self.iter_clips(range(len(self))), batch_size, self.name)

    def select(self, n: Optional[int] = None, *, frames: Optional[int] = None,
               seed: Optional[int] = None, replace: bool = False,
               frameskip: int = 1) -> "Selection":
        """The ``n`` videos (all by default) a protocol evaluates, cut to windows of ``frames``
        frames taken every ``frameskip``-th.

        See the module docstring for how ``seed`` picks videos and windows.
        """
        if seed is not None and seed < 0:
            raise InputError(f"seed must be >= 0, got {seed}")
        if frames is not None and frames < 1:
            raise InputError(f"frames must be >= 1, got {frames}")
        if isinstance(frameskip, bool) or not isinstance(frameskip, (int, np.integer)) \
                or frameskip < 1:
            raise InputError(f"frameskip must be an integer >= 1, got {frameskip!r}")
        try:
            indices = choose_indices(len(self), n, seed, replace)
        except InputError as err:
            raise InputError(f"{self.name}: {err}") from None
        return self._selection(indices, frames, seed, replace, int(frameskip))

    def _selection(self, indices: np.ndarray, frames: Optional[int], seed: Optional[int],
                   replace: bool, frameskip: int) -> "Selection":
        """The Selection type of this reader (readers with per-video metadata extend it)."""
        return Selection(self, indices, frames, seed, replace, frameskip)

    def describe(self) -> dict:
        """A JSON-able summary for result provenance."""
        return {"dataset": self.name, "videos": len(self)}

    def data_files(self, indices: Sequence[int]) -> tuple[Path, list[Path]]:
        """(dataset root, the files read to give videos ``indices``: listing files first, then
        the files holding those videos), for `fingerprint`. Readers of files override this;
        readers of data made in code override `fingerprint` instead."""
        raise InputError(f"dataset {self.name}: {type(self).__name__} does not say which files it "
                         "reads (implement data_files or fingerprint), so cached chunks cannot "
                         "be checked against its data")

    def fingerprint(self, indices: Optional[Sequence[int]] = None) -> str:
        """Hex digest of the files read for videos ``indices`` (all by default): see the
        module docstring."""
        chosen = range(len(self)) if indices is None else sorted({int(i) for i in indices})
        return fingerprint_files(*self.data_files(chosen))


def _occurrences(indices: np.ndarray) -> np.ndarray:
    """For sorted indices, how many times each one already occurred before it (0, 1, ...)."""
    occ = np.zeros(len(indices), dtype=np.int64)
    for k in range(1, len(indices)):
        if indices[k] == indices[k - 1]:
            occ[k] = occ[k - 1] + 1
    return occ


class Selection(VideoDataset):
    """Videos ``indices`` of a dataset, each cut to a seeded window of ``frames`` frames taken
    every ``frameskip``-th.

    ``captions(positions)`` and ``text(positions)`` give the per-clip captions and caption
    embeddings of positions ``k`` of the selection (the order `batches` yields); they are None
    for datasets without captions (see `protocols.datasets.captioned`).
    """

    def __init__(self, dataset: VideoDataset, indices: np.ndarray, frames: Optional[int],
                 seed: Optional[int], replace: bool = False, frameskip: int = 1):
        self.dataset, self.indices, self.frames, self.seed = dataset, indices, frames, seed
        self.replace, self.frameskip = replace, frameskip
        self.name = dataset.name
        self._occurrence = _occurrences(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def locate(self, k: int) -> str:
        return self.dataset.locate(int(self.indices[k]))

    def _read(self, k: int) -> np.ndarray:
        return next(iter(self.iter_clips([k])))

    def iter_clips(self, indices: Sequence[int]) -> Iterator[np.ndarray]:
        ks = [int(k) for k in indices]
        videos = [int(self.indices[k]) for k in ks]
        step = self.frameskip
        if self.frames is None:
            clips = self.dataset.iter_clips(videos)
            return clips if step == 1 else (clip[::step] for clip in clips)
        frames = self.frames
        span = window_span(frames, step)

        def start_of(j: int, length: int) -> int:
            return self._window_start(length, videos[j], int(self._occurrence[ks[j]]))

        # Readers cut contiguous windows; the span is read whole and every step-th frame kept.
        windows = self.dataset.iter_windows(videos, span, start_of)
        return windows if step == 1 else (window[::step] for window in windows)

    def _window_start(self, length: int, video: int, occurrence: int) -> int:
        """First frame of the window of ``video`` (``length`` frames long, the
        ``occurrence``-th time it is chosen); subclasses draw it another way."""
        frames, step = self.frames or 1, self.frameskip
        span = window_span(frames, step)
        if length < span:
            skip = "" if step == 1 else f" ({frames} at frameskip {step})"
            raise InputError(f"{self.dataset.locate(video)}: has {length} frames, "
                             f"{span} needed{skip}")
        return window_start(length, frames, self.seed, video, occurrence, step)

    def captions(self, positions: Sequence[int]) -> Optional[tuple[str, ...]]:
        """Captions of clips ``positions`` of this selection; None: the dataset has none."""
        return None

    def text(self, positions: Sequence[int]) -> Optional[np.ndarray]:
        """Caption embeddings [len(positions), (L,) D] of clips ``positions``; None: none."""
        return None

    def fingerprint(self, indices: Optional[Sequence[int]] = None) -> str:
        """The fingerprint of the files this selection reads (see the module docstring)."""
        chosen = self.indices if indices is None else self.indices[np.asarray(indices, int)]
        return self.dataset.fingerprint(chosen.tolist())

    def describe(self) -> dict:
        return {**self.dataset.describe(), "clips": len(self), "frames": self.frames,
                "frameskip": self.frameskip, "seed": self.seed, "replace": self.replace,
                "indices_head": self.indices[:8].tolist()}
