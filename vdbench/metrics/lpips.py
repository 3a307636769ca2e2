"""LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as a Perceptual
Metric", eq. 1), the variant the video-prediction literature reports: the `lpips` package's
version 0.1 with the AlexNet backbone (``lpips.LPIPS(net='alex', version='0.1')``).

For two frames x, x₀ scaled to [−1, 1]:

- shift and scale each colour channel: (x − shift) / scale with shift (−0.030, −0.088, −0.188)
  and scale (0.458, 0.448, 0.450) (the package's ScalingLayer: ImageNet's mean and std moved
  to [−1, 1] input);
- AlexNet's convolutional features after each of its 5 ReLUs (torchvision's ``alexnet``
  layout: conv 11×11 stride 4 pad 2, max pool 3/2, conv 5×5 pad 2, max pool 3/2, three conv
  3×3 pad 1);
- at each layer l, unit-normalise every feature vector over channels (ŷ = y / (‖y‖₂ + 1e-10)),
  take (ŷ − ŷ₀)², weight channels by the layer's 1×1 linear layer w_l (no bias), and average
  over positions; LPIPS is the sum over the 5 layers.

The weights (AlexNet's five convolutions and the five w_l) come from one file
(vdbench.metrics.lpips_weights). Frames are scored at their own size (no resize), as the
prediction papers score 64×64 BAIR and Kinetics frames; AlexNet needs at least 31×31.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vdbench.metrics.errors import InputError
from vdbench.metrics.prediction import _PairedScore

SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
EPS = 1e-10  # the package's normalize_tensor
# (name, in, out, kernel, stride, padding, max pool before it) of AlexNet's convolutions; the
# names are the keys of the lpips package's state dict (net.sliceK.I), see lpips_weights.
CONVS = (("net.slice1.0", 3, 64, 11, 4, 2, False), ("net.slice2.3", 64, 192, 5, 1, 2, True),
         ("net.slice3.6", 192, 384, 3, 1, 1, True), ("net.slice4.8", 384, 256, 3, 1, 1, False),
         ("net.slice5.10", 256, 256, 3, 1, 1, False))
LINS = tuple(f"lin{i}.model.1" for i in range(len(CONVS)))  # 1×1, no bias
MIN_SIZE = 31  # the smallest frame AlexNet's two pools leave a 3×3 map for
FRAMES_PER_PASS = 256  # frames per network call (memory bound, not a result setting)

LPIPS_LABEL = ("LPIPS per generated frame vs the ground truth: lpips v0.1 AlexNet (Zhang et al. "
               "2018), frames as uint8/127.5 - 1, no resize")
SETTINGS = ("lpips v0.1, AlexNet backbone (lpips.LPIPS(net='alex', version='0.1')): input "
            "uint8/127.5 - 1, the package's ScalingLayer, features after AlexNet's 5 ReLUs, "
            "unit-normalised over channels, squared difference, 1x1 linear layers, mean over "
            "positions, sum over layers; frames at their own size (no resize); lower is better")


class LPIPSNet(nn.Module):
    """LPIPS v0.1 on AlexNet; ``forward(x, y)`` of [N, 3, H, W] frames in [−1, 1] → [N]."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(i, o, k, stride=s, padding=p)
                                   for _, i, o, k, s, p, _ in CONVS)
        self.lins = nn.ModuleList(nn.Conv2d(o, 1, 1, bias=False) for _, _, o, *_ in CONVS)
        self.shift: torch.Tensor
        self.scale: torch.Tensor
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """AlexNet's activations after each ReLU, of the scaled input."""
        x = (x - self.shift) / self.scale
        out = []
        for conv, (*_, pool) in zip(self.convs, CONVS, strict=True):
            if pool:
                x = F.max_pool2d(x, kernel_size=3, stride=2)
            x = F.relu(conv(x))
            out.append(x)
        return out

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(len(x), dtype=x.dtype, device=x.device)
        for fx, fy, lin in zip(self.features(x), self.features(y), self.lins, strict=True):
            nx = fx / (fx.pow(2).sum(dim=1, keepdim=True).sqrt() + EPS)
            ny = fy / (fy.pow(2).sum(dim=1, keepdim=True).sqrt() + EPS)
            total = total + lin((nx - ny) ** 2).mean(dim=(1, 2, 3))
        return total

    def load_arrays(self, arrays: dict[str, torch.Tensor]) -> "LPIPSNet":
        """The weights from the file's arrays (lpips_weights.read_lpips_file's keys)."""
        with torch.no_grad():
            for conv, (name, *_) in zip(self.convs, CONVS, strict=True):
                conv.get_parameter("weight").copy_(arrays[f"{name}.weight"])
                conv.get_parameter("bias").copy_(arrays[f"{name}.bias"])
            for lin, name in zip(self.lins, LINS, strict=True):
                lin.get_parameter("weight").copy_(arrays[f"{name}.weight"])
        return self.eval()


def to_input(frames: np.ndarray) -> torch.Tensor:
    """uint8 frames [N, H, W, 3] → float32 [N, 3, H, W] in [−1, 1] (v / 127.5 − 1, the
    package's ``im2tensor``)."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(torch.float32)
    return (x / 127.5 - 1.0).permute(0, 3, 1, 2)


class LPIPSScore(_PairedScore):
    """A paired scorer (vdbench.metrics.networks): each generated video's mean LPIPS over its
    generated frames against its real clip."""

    network = LPIPS_LABEL
    preprocessing = "uint8 / 127.5 - 1 (values in [-1, 1]), then the lpips ScalingLayer"

    def __init__(self, device: str = "cpu", weights=None, model: Optional[LPIPSNet] = None):
        """Weights: ``model`` as given (``weights_sha256`` None), else the file ``weights`` or
        the cache's (vdbench.metrics.lpips_weights)."""
        self.device = torch.device(device)
        self.weights_sha256 = None
        if model is None:
            from vdbench.metrics.lpips_weights import load_lpips, weights_sha256

            model = load_lpips(weights)
            self.weights_sha256 = weights_sha256(weights)
        self.model = model.eval().to(self.device)

    @torch.inference_mode()
    def per_frame(self, pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
        lead, (h, w) = pred.shape[:-3], pred.shape[-3:-1]
        if min(h, w) < MIN_SIZE:
            raise InputError(f"LPIPS (AlexNet) needs frames of at least {MIN_SIZE}x{MIN_SIZE} "
                             f"pixels, got {h}x{w}")
        a, b = pred.reshape(-1, h, w, 3), truth.reshape(-1, h, w, 3)
        out = [self.model(to_input(a[i:i + FRAMES_PER_PASS]).to(self.device),
                          to_input(b[i:i + FRAMES_PER_PASS]).to(self.device))
               for i in range(0, len(a), FRAMES_PER_PASS)]
        return torch.cat(out).double().cpu().numpy().reshape(lead)
