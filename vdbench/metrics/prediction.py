"""Prediction metrics: PSNR and SSIM of each generated frame against the ground-truth frame at
the same index, as the video-prediction literature reports them on BAIR (1 → 15 frames) and
Kinetics-600 (5 → 11).

Conventions (recorded with every value, ``SETTINGS``):

- pixels: uint8 / 255, so values lie in [0, 1] and the data range is 1;
- frames: the generated ones only (those after the conditioning frames); conditioning frames
  are copies of the ground truth and would inflate both scores;
- PSNR = 10 · log10(1 / MSE), the MSE over all pixels and the three colour channels of a frame,
  capped at ``PSNR_MAX`` = 100 dB: an exact frame (MSE 0, PSNR +inf) counts as 100 dB, so that
  means over frames and samples stay finite and records stay valid JSON. Every finite PSNR of
  8-bit frames up to 226 × 226 pixels lies below the cap (the largest, a one-level error in one
  pixel, is 10 · log10(255² · 3 · H · W) dB: 89.0 dB at 64 × 64);
- SSIM (Wang et al. 2004, "Image quality assessment: from error visibility to structural
  similarity", eq. 13): an 11 × 11 Gaussian window of σ = 1.5, K1 = 0.01, K2 = 0.03, population
  (co)variances, averaged over the window positions that lie inside the frame (no padding),
  computed per RGB channel and averaged over channels;
- LPIPS: vdbench.metrics.lpips (lower is better);
- per video: the mean over its generated frames; per clip, over its N samples, the best (the
  highest per-video mean; the lowest for LPIPS) and the mean are both reported
  (vdbench.metrics.base.PredictionScore).

The same values as scikit-image's ``peak_signal_noise_ratio(data_range=1)`` and
``structural_similarity(data_range=1, channel_axis=-1, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False)`` (tests/test_prediction_metrics.py checks them to 1e-6), except
that PSNR is capped.
"""

from __future__ import annotations

import abc
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from vdbench.metrics.base import PSNR_MAX
from vdbench.metrics.errors import InputError

WINDOW, SIGMA, K1, K2 = 11, 1.5, 0.01, 0.03
SETTINGS = {
    "value_range": "[0, 1] (uint8 / 255); data range 1",
    "frames": "generated frames only (after the conditioning frames), each against the "
              "ground-truth frame at the same index",
    "per_video": "mean over the generated frames",
    "colour": "RGB; PSNR: MSE over all pixels and channels of a frame; SSIM: per channel, "
              "mean over channels",
    "psnr": f"10 log10(1 / MSE), capped at {PSNR_MAX:g} dB (an exact frame, MSE 0, counts as "
            f"{PSNR_MAX:g} dB)",
    "ssim": f"Wang et al. 2004: {WINDOW}x{WINDOW} gaussian window, sigma {SIGMA}, K1 {K1}, "
            f"K2 {K2}, population covariances, mean over the valid window positions (no "
            "padding); equals scikit-image structural_similarity(gaussian_weights=True, "
            "sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=-1)",
}
SCORES = ("psnr", "ssim")  # the SETTINGS entries of one metric each


def settings_of(name: str, higher_is_better: bool = True) -> dict[str, str]:
    """What a prediction metric's record says about how it was computed: the shared
    conventions, its own entry, and which sample is the best of N."""
    from vdbench.metrics.lpips import SETTINGS as LPIPS_SETTINGS

    own = {**{k: v for k, v in SETTINGS.items() if k not in SCORES},
           name: SETTINGS.get(name, LPIPS_SETTINGS if name == "lpips" else "")}
    word = "highest" if higher_is_better else "lowest"
    own["over_samples"] = (f"best: per clip the sample with the {word} per-video value, mean "
                           "over clips; mean: mean over all clips and samples")
    return own
PSNR_LABEL = "PSNR per generated frame vs the ground truth: " + SETTINGS["psnr"]
SSIM_LABEL = "SSIM per generated frame vs the ground truth: " + SETTINGS["ssim"]


def _unit(frames: np.ndarray) -> torch.Tensor:
    """uint8 [..., H, W, 3] → float64 [..., H, W, 3] in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).to(torch.float64) / 255.0


def psnr_frames(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """uint8 frames [..., H, W, 3] (two of one shape) → PSNR of each frame [...] (dB), at most
    PSNR_MAX."""
    mse = ((_unit(pred) - _unit(truth)) ** 2).mean(dim=(-3, -2, -1)).numpy()
    with np.errstate(divide="ignore"):
        return np.minimum(10.0 * np.log10(1.0 / mse), PSNR_MAX)


def _gaussian() -> torch.Tensor:
    x = torch.arange(WINDOW, dtype=torch.float64) - (WINDOW - 1) / 2
    g = torch.exp(-x ** 2 / (2 * SIGMA ** 2))
    return g / g.sum()


def _filter(x: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian mean over each window position inside the frame; x [N, 1, H, W]."""
    g = _gaussian()
    x = F.conv2d(x, g.view(1, 1, WINDOW, 1))
    return F.conv2d(x, g.view(1, 1, 1, WINDOW))


def ssim_frames(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """uint8 frames [..., H, W, 3] (two of one shape) → SSIM of each frame [...]."""
    lead, (h, w, c) = pred.shape[:-3], pred.shape[-3:]
    if min(h, w) < WINDOW:
        raise InputError(f"SSIM needs frames of at least {WINDOW}x{WINDOW} pixels, got {h}x{w}")
    # [..., H, W, C] → [N·C, 1, H, W]: each colour channel is an image of its own
    x, y = (_unit(a).reshape(-1, h, w, c).permute(0, 3, 1, 2).reshape(-1, 1, h, w)
            for a in (pred, truth))
    mx, my = _filter(x), _filter(y)
    vx = _filter(x * x) - mx * mx
    vy = _filter(y * y) - my * my
    cxy = _filter(x * y) - mx * my
    c1, c2 = K1 ** 2, K2 ** 2  # (K · data range)², data range 1
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.mean(dim=(1, 2, 3)).reshape(-1, c).mean(dim=1).reshape(lead).numpy()


def _generated(videos: np.ndarray, real: np.ndarray, context_frames: int
               ) -> tuple[np.ndarray, np.ndarray]:
    if real is None or videos.shape != real.shape:
        raise InputError(f"prediction metrics compare each generated video with its real clip: "
                         f"got shapes {getattr(videos, 'shape', None)} and "
                         f"{getattr(real, 'shape', None)}")
    if not 0 < context_frames < videos.shape[1]:
        raise InputError(f"prediction metrics need conditioning frames and generated frames; "
                         f"got {context_frames} of {videos.shape[1]} frames as context")
    return videos[:, context_frames:], real[:, context_frames:]


class _PairedScore(abc.ABC):
    """A paired scorer (vdbench.metrics.networks): one value per generated video, the mean
    over its generated frames of ``per_frame`` against its real clip. No weights."""

    network = ""
    preprocessing = "uint8 / 255 (values in [0, 1])"

    def __init__(self, device: str = "cpu", weights=None):
        del device, weights  # CPU float64 arithmetic; nothing to load
        # known: there are no weights (None: unknown, a model handed in memory)
        self.weights_sha256: Optional[dict[str, str]] = {}

    def score(self, videos: np.ndarray, real: np.ndarray, context_frames: int) -> np.ndarray:
        pred, truth = _generated(videos, real, context_frames)
        return self.per_frame(pred, truth).mean(axis=1)

    @abc.abstractmethod
    def per_frame(self, pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
        """One value per generated frame [N, T] of ``pred`` against ``truth``."""


class PSNRScore(_PairedScore):
    network = PSNR_LABEL

    def per_frame(self, pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
        return psnr_frames(pred, truth)


class SSIMScore(_PairedScore):
    network = SSIM_LABEL

    def per_frame(self, pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
        return ssim_frames(pred, truth)
