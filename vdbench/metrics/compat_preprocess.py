"""The preprocessing of each FVD parity mode (vdbench.metrics.compat): videos [N, T, H, W, 3]
→ I3D input [N, 3, T, 224, 224] in [−1, 1], written after the cited code's operations and
their order (the order changes float rounding, hence the last bits of the FVD).
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import torch
import torch.nn.functional as F

from vdbench.metrics import fvd
from vdbench.metrics.i3d import INPUT_SIZE


def stylegan_v(videos, value_range: Optional[str] = None) -> torch.Tensor:
    """StyleGAN-V's torchscript I3D with rescale=True, resize=True: uint8 [N, C, T, H, W] →
    x / 255 * 2 − 1 → trilinear interpolation to [T, 224, 224], align_corners=False (in time
    the source index of frame t is t itself: each frame is resized alone, half-pixel
    bilinear)."""
    x = fvd.to_unit_range_255(videos, value_range).permute(0, 4, 1, 2, 3)
    x = x / 255 * 2 - 1
    return F.interpolate(x, size=(x.shape[2], INPUT_SIZE, INPUT_SIZE), mode="trilinear",
                         align_corners=False)


def short_side_size(h: int, w: int, resolution: int = INPUT_SIZE) -> tuple[int, int]:
    """VideoGPT's target size: the shorter side to ``resolution``, the other to
    ceil(side · resolution / shorter) in Python floats (as written there: a square 100-pixel
    frame goes to 225 × 224 and loses a row to the crop)."""
    scale = resolution / min(h, w)
    return (resolution, math.ceil(w * scale)) if h < w else (math.ceil(h * scale), resolution)


def videogpt(videos, value_range: Optional[str] = None) -> torch.Tensor:
    """VideoGPT's `preprocess`: per video, frames [T, C, H, W] / 255 → bilinear resize of the
    shorter side (align_corners=False, no antialias) → centre crop 224 × 224 → − 0.5; then
    the batch × 2."""
    x = fvd.to_unit_range_255(videos, value_range).permute(0, 1, 4, 2, 3) / 255.0
    out = []
    for video in x:  # one video at a time, as theirs (interpolate sees [T, C, H, W])
        size = short_side_size(video.shape[-2], video.shape[-1])
        v = F.interpolate(video, size=size, mode="bilinear", align_corners=False)
        top, left = (size[0] - INPUT_SIZE) // 2, (size[1] - INPUT_SIZE) // 2
        v = v[:, :, top:top + INPUT_SIZE, left:left + INPUT_SIZE]
        out.append(v.permute(1, 0, 2, 3).contiguous() - 0.5)
    return torch.stack(out) * 2


PREPROCESSORS: dict[str, Callable[..., torch.Tensor]] = {
    "tf": fvd.preprocess,
    "stylegan-v": stylegan_v,
    "videogpt": videogpt,
}
