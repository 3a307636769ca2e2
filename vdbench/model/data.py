"""Training clips from an in-memory uint8 video array, with joint image-video batches.

The only reader here is :func:`load_video_array` (``.npy`` / ``.npz``, uint8 ``[N, T, H, W, 3]``);
dataset readers from ``protocols`` can build a :class:`ClipSampler` from their own arrays.
Joint training (Section 4.3.1): each video clip gets K independent frames appended, each taken
from a random other video at a random time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vdbench.model.configs import VideoConfig
from vdbench.model.errors import DataError


def load_video_array(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(videos uint8 ``[N, T, H, W, 3]``, class labels ``[N]`` or None) from .npy or .npz.

    An ``.npz`` holds ``videos`` (or a single array) and optionally integer ``labels``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"training data {path} does not exist")
    labels = None
    try:
        if path.suffix == ".npy":
            videos = np.load(path, mmap_mode="r", allow_pickle=False)
        elif path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                keys = list(archive.keys())
                key = "videos" if "videos" in keys else (keys[0] if len(keys) == 1 else None)
                if key is None:
                    raise DataError(f"{path} must hold an array named 'videos', has {keys}")
                videos = archive[key]
                labels = archive["labels"] if "labels" in keys else None
        else:
            raise DataError(f"training data must be a .npy or .npz file, got {path.name}")
    except (OSError, ValueError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"cannot read {path} as a numpy array: {err}") from None
    check_videos(videos, str(path))
    if labels is not None and (labels.shape != (videos.shape[0],) or labels.dtype.kind not in "iu"):
        raise DataError(f"labels in {path} must be integers of shape [{videos.shape[0]}], "
                        f"got {labels.dtype} {labels.shape}")
    return videos, labels


def check_videos(videos: np.ndarray, where: str = "videos") -> None:
    if videos.dtype != np.uint8 or videos.ndim != 5 or videos.shape[-1] != 3:
        raise DataError(f"{where} must be a uint8 array [N, T, H, W, 3], "
                        f"got {videos.dtype} {tuple(videos.shape)}")
    if videos.shape[0] == 0:
        raise DataError(f"{where} holds no videos")


@dataclass
class Batch:
    x: torch.Tensor  # [B, 3, T + K, H, W] in [−1, 1]
    frame_is_image: torch.Tensor | None  # [T + K] bool, True for the K appended images
    cond: torch.Tensor | None  # [B] class labels or None
    clip_ids: torch.Tensor | None = None  # [B, 2] (video index, first frame) of each clip


class ClipSampler:
    """Random clips (with frameskip) plus K independent image frames per clip."""

    def __init__(self, videos: np.ndarray, video: VideoConfig, image_frames: int = 0,
                 flip: bool = False, labels: np.ndarray | None = None):
        check_videos(videos)
        n, length, height, width, _ = videos.shape
        if (height, width) != (video.height, video.width):
            raise DataError(f"videos are {height}×{width} but the config expects "
                            f"{video.height}×{video.width}; resize the data first")
        self.span = (video.frames - 1) * video.frameskip + 1
        if length < self.span:
            raise DataError(f"videos have {length} frames; {video.frames} frames at frameskip "
                            f"{video.frameskip} need at least {self.span}")
        self.videos, self.labels, self.video = videos, labels, video
        self.image_frames, self.flip = image_frames, flip

    def _indices(self, batch_size: int, generator: torch.Generator):
        n, length = self.videos.shape[:2]
        vid = torch.randint(n, (batch_size,), generator=generator)
        start = torch.randint(length - self.span + 1, (batch_size,), generator=generator)
        k = self.image_frames
        # Images come from other videos when there are any (Section 4.3.1).
        other = torch.randint(max(n - 1, 1), (batch_size, k), generator=generator)
        img_vid = (vid[:, None] + 1 + other) % n if n > 1 else torch.zeros_like(other)
        img_t = torch.randint(length, (batch_size, k), generator=generator)
        flips = torch.rand(batch_size, generator=generator) < 0.5
        return vid, start, img_vid, img_t, flips

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        return self.assemble(*self._indices(batch_size, generator))

    def sample_examples(self, generators: list[torch.Generator]) -> Batch:
        """One example per generator: example i depends on ``generators[i]`` alone, so a batch
        can be split over processes without changing any example."""
        draws = [self._indices(1, g) for g in generators]
        vid, start, img_vid, img_t, flips = (torch.cat(parts) for parts in zip(*draws, strict=True))
        return self.assemble(vid, start, img_vid, img_t, flips)

    def assemble(self, vid: torch.Tensor, start: torch.Tensor, img_vid: torch.Tensor,
                 img_t: torch.Tensor, flips: torch.Tensor) -> Batch:
        batch_size = vid.shape[0]
        step = self.video.frameskip
        rows = []
        for i in range(batch_size):
            clip = self.videos[int(vid[i]), int(start[i]): int(start[i]) + self.span: step]
            images = self.videos[img_vid[i].numpy(), img_t[i].numpy()]
            rows.append(np.concatenate([clip, images], axis=0))
        x = torch.from_numpy(np.stack(rows)).permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0
        if self.flip:
            x = torch.where(flips[:, None, None, None, None], x.flip(-1), x)
        mask = None
        if self.image_frames:
            mask = torch.arange(x.shape[2]) >= self.video.frames
        cond = None if self.labels is None else torch.as_tensor(self.labels[vid.numpy()]).long()
        return Batch(x=x, frame_is_image=mask, cond=cond, clip_ids=torch.stack([vid, start], 1))
