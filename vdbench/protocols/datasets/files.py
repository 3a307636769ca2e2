"""Datasets of one video per file (UCF101 .avi, Kinetics .mp4, a folder of clips).

``clip(i)`` decodes every frame and fits it to ``size`` x ``size`` (see
`protocols.datasets.spatial`). A protocol, though, reads one short window per video, and the
window's place depends on the frame count, which only decoding gives with certainty. So a window
is read in one decoding pass: the count is first taken from the packets (cheap, no decoding), the
file is decoded once with only the window's frames converted to RGB and resized, and the count is
confirmed at the end; in the rare case it differs (e.g. packed B-frames in an avi) the window is
placed again from the true count and decoded again. The result is the same as decoding every
frame and slicing, at a fraction of the cost for 10-second Kinetics clips.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets.base import VideoDataset
from vdbench.protocols.datasets.generic import count_video_packets, decode_video, iter_frames
from vdbench.protocols.datasets.spatial import FITS, describe_fit, fit_frames, read_video


def _common_folder(files: list[Path]) -> Path:
    if not files:
        return Path(".")
    return Path(os.path.commonpath([str(Path(f).absolute().parent) for f in files]))


def decode_window(path: Path, start: Optional[int], frames: int) -> tuple[list[np.ndarray], int]:
    """RGB frames ``start .. start+frames-1`` of a video (none if ``start`` is None) and the
    number of frames the whole file decodes to."""
    stop = -1 if start is None else start + frames
    window, total = [], 0
    for frame in iter_frames(path, keep=lambda n: start is not None and start <= n < stop):
        if frame is not None:
            window.append(frame)
        total += 1
    return window, total


class VideoFiles(VideoDataset):
    """Video files as a dataset; frames fitted to ``size`` x ``size`` unless ``size`` is None.

    ``root`` is the folder file paths are given relative to in fingerprints (default: the
    files' common folder); ``metadata`` the further files read to list the videos (split lists,
    annotation CSVs), which a fingerprint covers too.
    """

    def __init__(self, files: list[Path], size: Optional[int] = 64, fit: str = "crop",
                 root: Optional[Path] = None, metadata: Sequence[Path] = ()):
        if fit not in FITS:
            raise InputError(f"unknown fit {fit!r}; choose one of {', '.join(FITS)}")
        self.files, self.size, self.fit = list(files), size, fit
        self.name = str(self.files[0].parent) if self.files else "videos"
        self.data_root = Path(root) if root is not None else _common_folder(self.files)
        self.metadata = list(metadata)

    def __len__(self) -> int:
        return len(self.files)

    def locate(self, i: int) -> str:
        return str(self.files[i])

    def fitting(self) -> dict:
        """How frames reach the protocol resolution, for ``describe()``."""
        return describe_fit(self.size, self.fit)

    def describe(self) -> dict:
        return {**super().describe(), **self.fitting()}

    def data_files(self, indices: Sequence[int]) -> tuple[Path, list[Path]]:
        return self.data_root, self.metadata + [self.files[int(i)] for i in indices]

    def _read(self, i: int) -> np.ndarray:
        if self.size is None:
            return decode_video(self.files[i])
        return read_video(self.files[i], self.size, self.fit)

    def read_window(self, i: int, frames: int, start_of: Callable[[int], int]) -> np.ndarray:
        """Frames ``start .. start+frames-1`` of video ``i``, ``start = start_of(frame count)``."""
        path = self.files[i]
        guess = count_video_packets(path)
        start = start_of(guess) if guess >= frames else None
        window, total = decode_window(path, start, frames)
        if start is None or total != guess:
            start = start_of(total)  # raises if the video is too short
            window, _ = decode_window(path, start, frames)
        if len(window) != frames:
            raise InputError(f"{path}: frames {start}..{start + frames - 1} did not decode")
        video = np.stack(window)
        return video if self.size is None else fit_frames(video, self.size, self.fit, str(path))

    def iter_windows(self, indices: Sequence[int], frames: int,
                     start_of: Callable[[int, int], int]) -> Iterator[np.ndarray]:
        for j, i in enumerate(indices):
            yield self.read_window(int(i), frames, partial(start_of, j))
