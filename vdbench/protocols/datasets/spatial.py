"""Bringing decoded frames to the protocol resolution (64x64), and decoding video files to it.

Two ways to fit a frame into a square, both used in the field:

- ``fit="crop"``: keep the aspect ratio; resize so the short side is ``size`` and keep the
  centre ``size x size``. TGANv2's UCF101 pipeline does this (frames resized to 64 rows with the
  width following the aspect, bicubic, then the centre 64 columns), and so does VideoGPT's loader
  (short side bilinear, centre crop). We crop the centre square of the source first and resize it,
  which is the same up to rounding the long side to whole pixels.
- ``fit="squash"``: resize the whole frame to ``size x size``, changing its aspect ratio. This is
  what TFDS ``ucf101_1_256`` (ffmpeg ``scale=256x256``) followed by a resize to 64 does, i.e. the
  pipeline of the Video Diffusion Models paper for UCF101 (Section 4.1; TFDS default config).

The filter is bilinear with antialiasing (the triangle filter widened by the scale factor, as in
PIL's ``Image.resize(BILINEAR)``; tested against PIL): a 240 -> 64 reduction without antialiasing
(what ``F.interpolate(mode="bilinear")`` and cv2 do by default) samples about one pixel in four
and aliases fine texture into the frames the metrics see. Frames smaller than the
target are an error rather than silently upsampled: they mean a wrong or pre-shrunk copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Optional

import numpy as np

from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets.generic import iter_frames

FITS = ("crop", "squash")
_CHUNK = 32  # frames resized together: bounded memory for long or large videos


def center_square(frames: np.ndarray) -> np.ndarray:
    """The centre square of [T, H, W, C] frames (the larger margin after an odd split is below
    or right)."""
    h, w = frames.shape[1:3]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return frames[:, top:top + side, left:left + side]


def _resize(frames: np.ndarray, size: int) -> np.ndarray:
    """Antialiased bilinear resize of uint8 [T, H, W, 3] to [T, size, size, 3], in chunks of
    frames so that a long video never becomes one large float tensor."""
    import torch
    import torch.nn.functional as F

    out = np.empty((frames.shape[0], size, size, 3), dtype=np.uint8)
    for start in range(0, frames.shape[0], _CHUNK):
        chunk = np.ascontiguousarray(frames[start:start + _CHUNK])
        x = torch.from_numpy(chunk).permute(0, 3, 1, 2).float()
        y = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True,
                          align_corners=False)
        out[start:start + _CHUNK] = y.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    return out


def fit_frames(frames: np.ndarray, size: int, fit: str = "crop", source: str = "video"
               ) -> np.ndarray:
    """uint8 [T, H, W, 3] -> uint8 [T, size, size, 3] (see the module docstring for ``fit``)."""
    if fit not in FITS:
        raise InputError(f"unknown fit {fit!r}; choose one of {', '.join(FITS)}")
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise InputError(f"{source}: expected uint8 frames [T, H, W, 3], got {frames.dtype} "
                         f"{frames.shape}")
    h, w = frames.shape[1:3]
    if min(h, w) < size:
        raise InputError(f"{source}: frames are {h}x{w}, smaller than the {size}x{size} target "
                         f"(is this a downscaled copy of the dataset?)")
    if fit == "crop":
        frames = center_square(frames)
    if frames.shape[1:3] == (size, size):
        return np.ascontiguousarray(frames)
    return _resize(frames, size)


def describe_fit(size: Optional[int], fit: str) -> dict:
    """How a reader fits frames, for its ``describe()`` (provenance and cache keys)."""
    if size is None:
        return {"fit": None, "resize": "none (frames as decoded)"}
    return {"fit": fit, "resize": f"{fit} to {size}x{size}, antialiased bilinear"}


def _chunks(frames: Iterable[np.ndarray], n: int) -> Iterator[np.ndarray]:
    pending: list[np.ndarray] = []
    for frame in frames:
        pending.append(frame)
        if len(pending) == n:
            yield np.stack(pending)
            pending = []
    if pending:
        yield np.stack(pending)


def read_video(path: Path, size: int = 64, fit: str = "crop") -> np.ndarray:
    """All frames of a video file fitted to uint8 [T, size, size, 3], decoded in a stream so that
    at most a few full-size frames are in memory at once."""
    chunks = _chunks(iter_frames(path), _CHUNK)
    parts = [fit_frames(chunk, size, fit, str(path)) for chunk in chunks]
    if not parts:
        raise InputError(f"{path}: no video frames could be decoded")
    return np.concatenate(parts)
