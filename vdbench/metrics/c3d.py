"""C3D fine-tuned on UCF101, as TGANv2 evaluates UCF101 (the paper's footnote 2).

Reference: pfnet-research/tgan2, `tgan2/models/c3d/c3d_ucf101.py` (`C3DVersion1UCF101`, chainer
6) with the weights `conv3d_deepnetA_ucf.npz` and the mean clip `mean2.npz`; IS from
`tgan2/evaluations/inception_score.py`, FID from `tgan2/evaluations/fid.py` (features of the
`fc7` layer after its ReLU). What we match, step by step:

- input: TGANv2 feeds x ∈ [−1, 1] with x = (v − 128)/128 for dataset pixels v
  (`tgan2/datasets/h5video.py`) and clipped generator output for samples. Its `pre` layer maps
  x to 128·x (RGB → BGR) and its `mean` layer adds 128 − mean, so the network sees
  v_BGR − mean: uint8 pixels exactly, float '-1-1' input as 128·x + 128.
- resize: the whole frame (no crop) to 112×112 by chainer's bilinear `F.resize_images`
  (aligned corners), after the scaling and before the mean;
- mean: `mean2.npz['mean']` is [3, 16, H, W] (BGR, H, W ≥ 120), cropped to [:, :, 8:120, 8:120]
  (not centred for W = 171: that is what the reference does);
- exactly 16 frames (the mean clip and fc6 fix it);
- conv 3×3×3 pad 1 + ReLU; max pools pool1 (1,2,2), then (2,2,2), with chainer's default
  `cover_all=True` (ceil mode): pool5 turns 2×7×7 into 1×4×4, hence fc6's 512·4·4 inputs;
- fc6 → ReLU → fc7 → ReLU (the FID features, 4096) → fc8 (the 101 logits; IS uses their
  softmax). Dropout is off at evaluation.

Runner use: ``c3d = C3DFeatures(device=...)`` once, then per batch
``feats, logits = c3d.features_and_logits(uint8 [B, 16, H, W, 3])`` → float32 [B, 4096] fc7
features (into a GaussianStats for FID) and float32 [B, 101] logits (kept for IS);
``c3d(videos)`` alone returns the features.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vdbench.metrics.errors import InputError
from vdbench.metrics.pixels import to_pixels
from vdbench.metrics.resize import resize_bilinear_align_corners

FRAMES = 16
INPUT_SIZE = 112
MEAN_CROP = 8  # mean[:, :, 8:120, 8:120]
NUM_CLASSES = 101
FEATURE_DIM = 4096
# (name, in, out) of the 3×3×3 convolutions, in order; chainer npz keys are f"{name}/W", "/b".
CONVS = (("conv1a", 3, 64), ("conv2a", 64, 128), ("conv3a", 128, 256), ("conv3b", 256, 256),
         ("conv4a", 256, 512), ("conv4b", 512, 512), ("conv5a", 512, 512),
         ("conv5b", 512, 512))
POOL_AFTER: dict[str, int | tuple[int, ...]] = {
    "conv1a": (1, 2, 2), "conv2a": 2, "conv3b": 2, "conv4b": 2, "conv5b": 2}
LINEARS = (("fc6", 512 * 4 * 4, FEATURE_DIM), ("fc7", FEATURE_DIM, FEATURE_DIM),
           ("fc8", FEATURE_DIM, NUM_CLASSES))

NETWORK = "c3d-ucf101 (TGANv2 conv3d_deepnetA_ucf) fc7 after ReLU"
PREPROCESSING = ("RGB->BGR, chainer bilinear resize (align corners) of the whole frame to "
                 "112x112, minus mean2.npz[:, :, 8:120, 8:120]; uint8 v as v, float -1-1 x as "
                 "128x+128")
# TGANv2's scaling of [−1, 1] input is 128·x + 128 (not 127.5): keep it for float input.
C3D_RANGES = {"0-255": (1.0, 0.0), "0-1": (255.0, 0.0), "-1-1": (128.0, 128.0)}


class C3D(nn.Module):
    """The TGANv2 C3D (`C3DVersion1UCF101` without its `pre`/`mean` layers)."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleDict({n: nn.Conv3d(i, o, 3, padding=1) for n, i, o in CONVS})
        self.fcs = nn.ModuleDict({n: nn.Linear(i, o) for n, i, o in LINEARS})

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, 3, 16, 112, 112] mean-subtracted BGR → (fc7 after ReLU, fc8 logits)."""
        for name, conv in self.convs.items():
            x = F.relu(conv(x))
            if name in POOL_AFTER:
                x = F.max_pool3d(x, POOL_AFTER[name], ceil_mode=True)  # chainer cover_all=True
        h = F.relu(self.fcs["fc6"](x.flatten(1)))
        h = F.relu(self.fcs["fc7"](h))
        return h, self.fcs["fc8"](h)


def crop_mean(mean: np.ndarray, source: str = "mean2.npz") -> torch.Tensor:
    """mean2.npz's [3, 16, H, W] BGR clip → the [3, 16, 112, 112] crop TGANv2 subtracts."""
    m = np.asarray(mean)
    need = MEAN_CROP + INPUT_SIZE
    if m.ndim != 4 or m.shape[:2] != (3, FRAMES) or m.shape[2] < need or m.shape[3] < need:
        raise InputError(f"{source}: 'mean' must be [3, {FRAMES}, H, W] with H, W ≥ {need}, "
                         f"got {m.shape}")
    if not np.issubdtype(m.dtype, np.floating) or not np.all(np.isfinite(m)):
        raise InputError(f"{source}: 'mean' must hold finite floats, got dtype {m.dtype}")
    crop = m[:, :, MEAN_CROP:need, MEAN_CROP:need]
    return torch.from_numpy(np.ascontiguousarray(crop, dtype=np.float32))


def preprocess(videos, mean_crop: torch.Tensor, value_range: Optional[str] = None) -> torch.Tensor:
    """[B, 16, H, W, 3] → C3D input [B, 3, 16, 112, 112]: BGR, resized, mean subtracted."""
    x = to_pixels(videos, value_range, exact_frames=FRAMES, network="C3D", ranges=C3D_RANGES)
    x = resize_bilinear_align_corners(x.flip(-1), (INPUT_SIZE, INPUT_SIZE))
    return x.permute(0, 4, 1, 2, 3) - mean_crop.to(x.device)


class C3DFeatures:
    """FeatureExtractor: uint8 videos [B, 16, H, W, 3] → fc7 features [B, 4096] (FID).

    ``features_and_logits`` also returns the fc8 logits [B, 101] (IS) from the same pass.
    """

    name = "c3d"
    dim = FEATURE_DIM
    num_classes = NUM_CLASSES
    network = NETWORK
    preprocessing = PREPROCESSING

    def __init__(self, model: Optional[C3D] = None, mean_crop: Optional[torch.Tensor] = None,
                 device: str = "cpu", weights_dir=None, weights=None):
        """Weights: ``model`` and ``mean_crop`` as given (``weights_sha256`` None), else the
        folder ``weights_dir`` (or ``weights``, the registry's name for it) or the cache's."""
        self.device = torch.device(device)
        self.weights_sha256: Optional[dict[str, str]] = None
        if model is None or mean_crop is None:
            from vdbench.metrics.c3d_weights import load_c3d, weights_sha256

            folder = weights_dir or weights
            model, mean_crop = load_c3d(folder)
            self.weights_sha256 = weights_sha256(folder)
        self.model = model.eval().to(self.device)
        self.mean_crop = mean_crop.to(self.device)

    @torch.inference_mode()
    def features_and_logits(self, videos, value_range: Optional[str] = None):
        x = preprocess(videos, self.mean_crop, value_range).to(self.device)
        feats, logits = self.model(x)
        return feats.float().cpu().numpy(), logits.float().cpu().numpy()

    def __call__(self, videos, value_range: Optional[str] = None) -> np.ndarray:
        return self.features_and_logits(videos, value_range)[0]
