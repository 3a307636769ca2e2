"""Bilinear resize with the TF1 `tf.image.resize_bilinear` convention.

The FVD reference (google-research/frechet_video_distance) resizes frames with TF1's
`resize_bilinear(align_corners=False)`, whose source coordinate is ``dst * in/out`` with no
half-pixel offset (``half_pixel_centers=False``). torch's and TF2's bilinear resize use the
half-pixel convention and give different pixels, hence different FVDs. We write the resize as two
small interpolation matrices, so a frame is resized with two matmuls.
"""

from __future__ import annotations

import functools

import torch


@functools.lru_cache(maxsize=32)
def _interpolation_matrix(in_size: int, out_size: int) -> torch.Tensor:
    """[out_size, in_size] float32 weights of TF1 bilinear interpolation along one axis."""
    # TF computes the scale and the source coordinate in float32 (image_resizer_state.h,
    # CalculateResizeScale and the legacy scaler: in = out_index * scale).
    scale = torch.tensor(in_size, dtype=torch.float32) / torch.tensor(out_size, dtype=torch.float32)
    src = torch.arange(out_size, dtype=torch.float32) * scale
    lo = torch.floor(src).to(torch.int64).clamp(max=in_size - 1)
    return _two_tap_matrix(lo, src - torch.floor(src), in_size)


def _two_tap_matrix(lo: torch.Tensor, frac: torch.Tensor, in_size: int) -> torch.Tensor:
    """Row i: weight 1 − frac[i] on column lo[i], frac[i] on lo[i] + 1 (clamped to the edge)."""
    hi = torch.clamp(lo + 1, max=in_size - 1)
    weights = torch.zeros(lo.shape[0], in_size, dtype=torch.float32)
    rows = torch.arange(lo.shape[0])
    weights.index_put_((rows, lo), 1.0 - frac.to(torch.float32), accumulate=True)
    weights.index_put_((rows, hi), frac.to(torch.float32), accumulate=True)
    return weights


def resize_bilinear_tf1(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize channels-last frames ``[..., H, W, C]`` to ``size = (h, w)`` like TF1.

    Matches ``tf.compat.v1.image.resize_bilinear(frames, size, align_corners=False)``
    (``half_pixel_centers=False``). Returns float32.
    """
    if frames.ndim < 3:
        raise ValueError(f"expected frames [..., H, W, C], got shape {tuple(frames.shape)}")
    out_h, out_w = size
    in_h, in_w = frames.shape[-3], frames.shape[-2]
    x = frames.to(torch.float32)
    wy = _interpolation_matrix(in_h, out_h).to(x.device)
    wx = _interpolation_matrix(in_w, out_w).to(x.device)
    # [..., H, W, C] -> rows: [..., h, W, C]; then columns: [..., h, w, C].
    x = torch.einsum("yh,...hwc->...ywc", wy, x)
    return torch.einsum("xw,...ywc->...yxc", wx, x)


@functools.lru_cache(maxsize=32)
def _align_corners_matrix(in_size: int, out_size: int) -> torch.Tensor:
    """[out_size, in_size] float32 weights of bilinear interpolation with aligned corners.

    Chainer 6's `F.resize_images` (the resize TGANv2's C3D uses): source coordinates
    ``linspace(0, in − 1, out)`` in float64, split by ``modf`` into index and weight, the weight
    then cast to float32; the upper neighbour is clamped to ``in − 1``.
    """
    src = torch.linspace(0, in_size - 1, out_size, dtype=torch.float64)
    frac = (src - torch.floor(src)).to(torch.float32)
    return _two_tap_matrix(torch.floor(src).to(torch.int64), frac, in_size)


def resize_bilinear_align_corners(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize channels-last frames ``[..., H, W, C]`` like chainer 6 ``F.resize_images``.

    Equals torch's ``interpolate(mode="bilinear", align_corners=True)`` up to float32 rounding.
    """
    if frames.ndim < 3:
        raise ValueError(f"expected frames [..., H, W, C], got shape {tuple(frames.shape)}")
    x = frames.to(torch.float32)
    wy = _align_corners_matrix(x.shape[-3], size[0]).to(x.device)
    wx = _align_corners_matrix(x.shape[-2], size[1]).to(x.device)
    x = torch.einsum("yh,...hwc->...ywc", wy, x)
    return torch.einsum("xw,...ywc->...yxc", wx, x)
