"""The I3D of an FVD parity mode: our TF-Hub I3D behind that implementation's preprocessing.

Registered once per mode in vdbench.metrics.networks (``i3d_stylegan_v``, ``i3d_videogpt``),
each with its own network label, so that statistics files and the chunk cache never mix
features of different preprocessing.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from vdbench.metrics.compat import get_mode
from vdbench.metrics.compat_preprocess import PREPROCESSORS
from vdbench.metrics.fvd import NETWORK, I3DFeatures


def network_label(mode: str) -> str:
    """The label statistics of ``mode``'s features carry (checked when they are read)."""
    return f"{NETWORK}; {mode} parity preprocessing (TF-Hub weights)"


def preprocessing_label(mode: str) -> str:
    found = get_mode(mode).preprocessing
    return f"{mode}: {found.resize}; {found.scaling}"


class CompatI3DFeatures(I3DFeatures):
    """FeatureExtractor: uint8 videos [B, T, H, W, 3] → the 400 time-averaged logits of our I3D
    after parity mode ``mode``'s preprocessing."""

    def __init__(self, mode: str, model: Optional[torch.nn.Module] = None, device: str = "cpu",
                 weights: Optional[str] = None):
        super().__init__(model=model, device=device, weights=weights)
        self.mode = get_mode(mode).name
        self.name = get_mode(mode).network
        self.network = network_label(self.mode)
        self.preprocessing = preprocessing_label(self.mode)
        self._preprocess = PREPROCESSORS[get_mode(mode).preprocessing.key]

    @torch.inference_mode()
    def __call__(self, videos, value_range: Optional[str] = None) -> np.ndarray:
        x = self._preprocess(videos, value_range).to(self.device)
        # the I3D's oneDNN convolutions prefer channels-last strides (as I3DFeatures feeds it)
        x = x.contiguous(memory_format=torch.channels_last_3d)
        return self.model(x).float().cpu().numpy()
