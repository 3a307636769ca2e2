"""The feature networks a protocol's metrics need, applied to each chunk of videos."""

from __future__ import annotations

from typing import Optional

import numpy as np

from vdbench.engine.accumulate import SCORES
from vdbench.protocols.base import Protocol

# metric → the feature network it needs
NETWORK_OF = {"fvd": "i3d", "is_i3d": "i3d", "fid_c3d": "c3d", "is_c3d": "c3d",
              "fid_avg": "inception_avg", "is_avg": "inception_avg",
              "fid_first": "inception_first", "is_first": "inception_first"}


class FeatureSet:
    """The feature networks a protocol's metrics need, applied to one batch of videos.

    Networks load when the set is made, before any generation: missing weights fail the run at
    once with the message saying where to put them.
    """

    def __init__(self, protocol: Protocol, device: str, extractor=None,
                 c3d_weights: Optional[str] = None, inception_weights: Optional[str] = None):
        from vdbench.metrics.networks import extractor_factory

        weights = {"c3d": c3d_weights, "inception": inception_weights}
        self.extractors = {}
        for network in sorted({NETWORK_OF[m] for m in protocol.metrics if m in NETWORK_OF}):
            if network == "i3d" and extractor is not None:
                self.extractors[network] = extractor
                continue
            family, _, mode = network.partition("_")  # inception_avg → inception, avg
            self.extractors[network] = extractor_factory(family, device, mode or "avg",
                                                         weights.get(family))()
        self.consistency = None
        if protocol.dataset == "shapes" and protocol.context_frames:
            from vdbench.protocols.shapes_consistency import context_consistency

            self.consistency = context_consistency
        self.context_frames = protocol.context_frames
        self.score_arrays = frozenset(SCORES[m] for m in protocol.metrics if m in SCORES)

    @property
    def record(self) -> dict:
        return {"feature_networks": {
            name: {"network": getattr(e, "network", type(e).__name__),
                   "preprocessing": getattr(e, "preprocessing", "")}
            for name, e in self.extractors.items()}}

    def __call__(self, videos: np.ndarray, real: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        for name, extractor in self.extractors.items():
            if name == "i3d":  # FVD features are the logits
                out[name] = extractor(videos)
            else:
                out[name], out[f"{name}_logits"] = extractor.features_and_logits(videos)
        if self.consistency is not None:
            out["consistency"] = np.asarray(
                self.consistency(real, videos, self.context_frames), dtype=np.float64)
        return out
