"""Inception-I3D (Carreira & Zisserman 2017) as the TF-Hub module `deepmind/i3d-kinetics-400/1`.

The FVD reference embeds videos with that module: 400 Kinetics logits averaged over time. This is
a PyTorch re-implementation of the same graph (deepmind/kinetics-i3d `i3d.py`), tensors laid out
[N, C, T, H, W]:
- TF "SAME" padding, which is asymmetric (the extra pixel goes after) for even kernels or strides
  > 1; padded max-pool positions never win (TF pads max-pools with −inf);
- Sonnet batch norm without scale, ε = 1e-3, moving statistics (inference); folded into the
  preceding convolution (mathematically identical; float rounding differs by ~1e-7 relative);
- logits = 1×1×1 conv of a [2, 7, 7] VALID average pool, averaged over the remaining frames.
The three 1×1×1 convs that read a Mixed block's input are run as one conv (identical result).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vdbench.metrics.errors import InputError

MIN_FRAMES = 9  # 3 temporal stride-2 stages leave ⌈T/8⌉ frames; the [2,7,7] pool needs 2.
INPUT_SIZE = 224
NUM_CLASSES = 400
BN_EPSILON = 1e-3

# (name, [b0, b1a, b1b, b2a, b2b, b3]) output channels of each Inception block, in order.
MIXED_CHANNELS = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF 'SAME' padding (before, after) along one axis: output size ⌈size / stride⌉."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_same(x: torch.Tensor, kernel, stride, value: float = 0.0) -> torch.Tensor:
    pads: list[int] = []
    for size, k, s in zip(reversed(x.shape[2:]), reversed(kernel), reversed(stride),
                           strict=True):
        pads.extend(same_padding(size, k, s))
    return F.pad(x, pads, value=value) if any(pads) else x


def max_pool_same(x: torch.Tensor, kernel, stride) -> torch.Tensor:
    """TF 'SAME' max-pool. Where the padding is (p, p) or (p, p + 1) on every axis, torch's
    implicit −inf padding with ceil_mode reproduces it without materialising a padded copy."""
    pads = [same_padding(n, k, s) for n, k, s in zip(x.shape[2:], kernel, stride, strict=True)]
    before = [b for b, _ in pads]
    out = [math.ceil(n / s) for n, s in zip(x.shape[2:], stride, strict=True)]
    if all(a - b in (0, 1) and 2 * b <= k for (b, a), k in zip(pads, kernel, strict=True)):
        y = F.max_pool3d(x, kernel, stride, before, ceil_mode=True)
        if list(y.shape[2:]) == out:
            return y
    return F.max_pool3d(_pad_same(x, kernel, stride, value=-math.inf), kernel, stride)


def conv_relu(x: torch.Tensor, weight, bias, stride, padding) -> torch.Tensor:
    """relu(conv3d(x)); on CPU inference, one oneDNN call with the ReLU fused (same math)."""
    if _FUSED and x.device.type == "cpu" and not torch.is_grad_enabled():
        return torch.ops.mkldnn._convolution_pointwise(
            x, weight, bias, list(padding), list(stride), [1, 1, 1], 1, "relu", [], "")
    return F.relu_(F.conv3d(x, weight, bias, stride, padding))


_FUSED = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn,
                                                          "_convolution_pointwise")


class Unit3D(nn.Module):
    """Conv3d (no bias) → batch norm (folded into weight/bias) → ReLU, with TF SAME padding."""

    def __init__(self, c_in: int, c_out: int, kernel=(1, 1, 1), stride=(1, 1, 1)):
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)
        self.weight = nn.Parameter(torch.empty(c_out, c_in, *self.kernel), requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(c_out), requires_grad=False)
        # Odd kernels at stride 1 pad symmetrically: let the conv do it, no copy.
        self.symmetric = all(s == 1 and k % 2 == 1 for k, s in zip(self.kernel, self.stride,
                                                                           strict=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.symmetric:
            pad = tuple(k // 2 for k in self.kernel)
            return conv_relu(x, self.weight, self.bias, self.stride, pad)
        return conv_relu(_pad_same(x, self.kernel, self.stride), self.weight, self.bias,
                         self.stride, (0, 0, 0))


class InceptionBlock(nn.Module):
    """Four branches: 1×1; 1×1→3×3×3; 1×1→3×3×3; 3×3×3 max-pool→1×1; concatenated."""

    def __init__(self, c_in: int, channels: tuple[int, ...]):
        super().__init__()
        b0, b1a, b1b, b2a, b2b, b3 = channels
        self.split = [b0, b1a, b2a]
        self.reduce = Unit3D(c_in, b0 + b1a + b2a)  # Branch_0, Branch_1/0a, Branch_2/0a fused.
        self.branch_1 = Unit3D(b1a, b1b, (3, 3, 3))
        self.branch_2 = Unit3D(b2a, b2b, (3, 3, 3))
        self.branch_3 = Unit3D(c_in, b3)
        self.c_out = b0 + b1b + b2b + b3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y0, y1, y2 = torch.split(self.reduce(x), self.split, dim=1)
        y3 = self.branch_3(F.max_pool3d(x, 3, 1, 1))  # stride 1, SAME = symmetric −inf padding
        return torch.cat([y0, self.branch_1(y1), self.branch_2(y2), y3], dim=1)


class InceptionI3d(nn.Module):
    """[N, 3, T, 224, 224] in [−1, 1] → [N, 400] time-averaged Kinetics-400 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_1a = Unit3D(3, 64, (7, 7, 7), (2, 2, 2))
        self.conv_2b = Unit3D(64, 64)
        self.conv_2c = Unit3D(64, 192, (3, 3, 3))
        blocks, c = {}, 192
        for name, channels in MIXED_CHANNELS.items():
            blocks[name] = InceptionBlock(c, channels)
            c = blocks[name].c_out
        self.mixed = nn.ModuleDict(blocks)
        self.logits = nn.Conv3d(c, NUM_CLASSES, 1, bias=True)
        self.logits.requires_grad_(False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Mixed_5c output [N, 1024, ⌈T/8⌉, 7, 7]."""
        x = max_pool_same(self.conv_1a(x), (1, 3, 3), (1, 2, 2))
        x = max_pool_same(self.conv_2c(self.conv_2b(x)), (1, 3, 3), (1, 2, 2))
        for name, block in self.mixed.items():
            if name == "Mixed_4b":
                x = max_pool_same(x, (3, 3, 3), (2, 2, 2))
            elif name == "Mixed_5b":
                x = max_pool_same(x, (2, 2, 2), (2, 2, 2))
            x = block(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_model_input(x)
        pooled = F.avg_pool3d(self.features(x), (2, 7, 7), stride=1)  # VALID
        # The 1×1×1 conv is linear, so averaging its output over time (the module's
        # `averaged_logits`) equals the conv of the time-averaged pool; keep the module's order.
        return self._logits(pooled).mean(dim=(2, 3, 4))

    def _logits(self, pooled: torch.Tensor) -> torch.Tensor:
        if pooled.device.type != "cpu":
            return self.logits(pooled)
        # oneDNN splits this small 1×1×1 conv differently at each thread count (the last bits
        # of the logits differ between 1 and 2 threads); ATen's own conv3d gives the same bits
        # at any count, equal to oneDNN's on one thread.
        return torch.ops.aten.slow_conv3d(pooled, self.logits.weight, [1, 1, 1],
                                          self.logits.bias, [1, 1, 1], [0, 0, 0])


def check_model_input(x: torch.Tensor) -> None:
    if x.ndim != 5 or x.shape[1] != 3:
        raise InputError(f"I3D expects [N, 3, T, H, W], got shape {tuple(x.shape)}")
    if x.shape[2] < MIN_FRAMES:
        raise InputError(f"I3D needs at least {MIN_FRAMES} frames, got {x.shape[2]}")
    if tuple(x.shape[3:]) != (INPUT_SIZE, INPUT_SIZE):
        raise InputError(f"I3D expects {INPUT_SIZE}×{INPUT_SIZE} frames, got {tuple(x.shape[3:])}")
