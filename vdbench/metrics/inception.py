"""Inception features of video frames for the text-to-video FID/IS-avg and FID/IS-first.

The paper (Section 4.3) measures "the Inception-based image metrics FID and IS ... by averaging
activations across frames (FID/IS-avg) and by measuring the first frame only (FID/IS-first)".
Per frame, the network is the TF `inception-2015-12-05` graph as torch-fidelity reproduces it
(see metrics/inception_weights.py): uint8 RGB → TF1 bilinear resize to 299×299 →
(x − 128)/128 → pool3 features (2048, for FID) and the 1008 logits without the softmax bias
(for IS, as openai/improved-gan's `inception_score` and torch-fidelity's ISC compute them).
"avg" averages each video's per-frame features and logits over its frames (in float64);
"first" uses frame 0 only.

Runner use: ``inc = InceptionFeatures(frames="avg", device=...)`` once (and another with
``frames="first"``), then per batch ``feats, logits = inc.features_and_logits(uint8 [B, T, H, W,
3])`` → float32 [B, 2048] features (into a GaussianStats for FID) and float32 [B, 1008] logits
(kept for IS). Float input is quantised to uint8 (round half to even) as the graph takes uint8.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from vdbench.metrics.errors import InputError
from vdbench.metrics.pixels import to_pixels

FRAME_MODES = ("avg", "first")
POOL_DIM = 2048
NUM_CLASSES = 1008
PREPROCESSING = "uint8 frames, TF1 bilinear resize to 299x299 (torch-fidelity), (x-128)/128"


def network_name(frames: str) -> str:
    return f"inception-2015-12-05 pool3 (torch-fidelity), frames {frames}"


class InceptionFeatures:
    """FeatureExtractor: uint8 videos [B, T, H, W, 3] → pool3 features [B, 2048] per video."""

    dim = POOL_DIM
    num_classes = NUM_CLASSES
    preprocessing = PREPROCESSING

    def __init__(self, frames: str = "avg", model: Optional[torch.nn.Module] = None,
                 device: str = "cpu", weights=None, frame_batch: int = 32):
        if frames not in FRAME_MODES:
            raise InputError(f"frames must be one of {FRAME_MODES}, got {frames!r}")
        self.frames, self.frame_batch = frames, frame_batch
        self.name, self.network = f"inception-{frames}", network_name(frames)
        self.device = torch.device(device)
        self.weights_sha256: Optional[dict[str, str]] = None  # unknown for a model given
        if model is None:
            from vdbench.metrics.inception_weights import load_inception, weights_sha256

            model = load_inception(weights)
            self.weights_sha256 = weights_sha256(weights)
        self.model = model.eval().to(self.device)

    @torch.inference_mode()
    def per_frame(self, frames: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """uint8 [N, H, W, 3] → (pool3 [N, 2048], logits [N, 1008]) in float64."""
        pools, logits = [], []
        for chunk in frames.split(self.frame_batch):
            pool, logit = self.model(chunk.permute(0, 3, 1, 2).contiguous().to(self.device))
            pools.append(pool.double().cpu().numpy())
            logits.append(logit.double().cpu().numpy())
        return np.concatenate(pools), np.concatenate(logits)

    def features_and_logits(self, videos, value_range: Optional[str] = None):
        x = to_pixels(videos, value_range, network="Inception")
        x = x.round().clamp(0, 255).to(torch.uint8)
        if self.frames == "first":
            x = x[:, :1]
        b, t = x.shape[:2]
        pool, logits = self.per_frame(x.flatten(0, 1))
        pool = pool.reshape(b, t, -1).mean(axis=1)
        logits = logits.reshape(b, t, -1).mean(axis=1)
        return pool.astype(np.float32), logits.astype(np.float32)

    def __call__(self, videos, value_range: Optional[str] = None) -> np.ndarray:
        return self.features_and_logits(videos, value_range)[0]
