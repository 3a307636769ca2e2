"""Fréchet Video Distance as the reference computes it (google-research/frechet_video_distance).

Pipeline: uint8 videos [N, T, H, W, 3] → TF1 bilinear resize of every frame to 224×224 →
2·x/255 − 1 → I3D (TF-Hub i3d-kinetics-400/1) time-averaged logits [N, 400] → Gaussian
statistics in float64 → Fréchet distance (TF-GAN formula). Streams: memory does not grow with N.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from vdbench.metrics.hashing import weights_sha256
from vdbench.metrics.i3d import INPUT_SIZE, MIN_FRAMES, NUM_CLASSES
from vdbench.metrics.pixels import to_pixels
from vdbench.metrics.resize import resize_bilinear_tf1

NETWORK = "i3d-kinetics-400/1 logits (time-averaged)"
PREPROCESSING = "tf1 resize_bilinear 224x224 (half_pixel_centers=False), 2x/255-1"


def to_unit_range_255(videos, value_range: Optional[str] = None) -> torch.Tensor:
    """Validate [N, T, H, W, 3] videos (≥ 9 frames) and return float32 on the 0–255 scale.

    uint8 is taken as 0–255. Float input must declare its ``value_range`` ('0-1', '-1-1',
    '0-255'): guessing would silently change the FVD.
    """
    return to_pixels(videos, value_range, min_frames=MIN_FRAMES, network="I3D")


def preprocess(videos, value_range: Optional[str] = None) -> torch.Tensor:
    """[N, T, H, W, 3] → I3D input [N, 3, T, 224, 224] in [−1, 1] (reference `preprocess`)."""
    x = resize_bilinear_tf1(to_unit_range_255(videos, value_range), (INPUT_SIZE, INPUT_SIZE))
    x = 2.0 * x / 255.0 - 1.0
    # [N, T, H, W, C] → [N, C, T, H, W]: a view with channels_last_3d strides, which oneDNN's
    # convolutions prefer; no copy.
    return x.permute(0, 4, 1, 2, 3)


class I3DFeatures:
    """FeatureExtractor: uint8 videos [B, T, H, W, 3] → float32 logits [B, 400].

    Weights: ``model`` as given, else the safetensors file ``weights`` or the cache's (fetched
    on first use); the sha256 of that file is ``weights_sha256`` (None for a model given).
    """

    name = "i3d"
    dim = NUM_CLASSES
    network = NETWORK
    preprocessing = PREPROCESSING

    def __init__(self, model: Optional[torch.nn.Module] = None, device: str = "cpu",
                 weights: Optional[str | Path] = None):
        from vdbench.metrics.i3d_weights import fetch_i3d_weights, load_i3d

        self.device = torch.device(device)
        self.weights_sha256: Optional[dict[str, str]] = None
        if model is None:
            path = Path(weights) if weights else fetch_i3d_weights()
            model = load_i3d(path, device=self.device)
            self.weights_sha256 = {path.name: weights_sha256(path)}
        # torch's stub for Module.to lacks the memory_format form that Module.to documents.
        self.model = model.to(  # type: ignore[call-overload]
            memory_format=torch.channels_last_3d)

    @torch.inference_mode()
    def __call__(self, videos, value_range: Optional[str] = None) -> np.ndarray:
        x = preprocess(videos, value_range).to(self.device)
        return self.model(x).float().cpu().numpy()

    def features_and_logits(self, videos, value_range: Optional[str] = None):
        """(FVD features, IS logits): for I3D both are the 400 time-averaged logits."""
        logits = self(videos, value_range)
        return logits, logits
