"""The feature arrays a protocol's metrics read, computed for each chunk of videos.

Which networks run, on which frames, and what is kept of their output all come from the
registered metrics the protocol lists (vdbench.metrics.registry, vdbench.metrics.networks).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from vdbench.engine.accumulate import Accumulator
from vdbench.metrics.feature_stats import FeatureStats, merge_plans
from vdbench.metrics.networks import Array, get_network, network_arrays
from vdbench.metrics.precision import exact_float32, metric_precision
from vdbench.metrics.registry import Metric, get_metric
from vdbench.metrics.errors import InputError
from vdbench.protocols.base import Protocol


def protocol_metrics(protocol: Protocol) -> list[Metric]:
    """The protocol's metrics as registered, with the conditioning frames dropped from the
    input of the FVD metrics when the protocol asks for it (FitVid's evaluation)."""
    metrics = [get_metric(name) for name in protocol.metrics]
    if not protocol.fvd_exclude_context:  # (Protocol refuses it where no FVD is computed)
        return metrics
    return [m.excluding_context() if m.excludable_context else m for m in metrics]


class FeatureSet:
    """The feature networks a protocol's metrics need, applied to one batch of videos.

    Networks load when the set is made, before any generation: missing weights fail the run at
    once with the message saying where to put them. ``extractor`` replaces the I3D.

    ``plan``: the arrays of a generated set; ``real_plan``: those of the real clips, without the
    paired scores that have no real-side value (PSNR of a clip against itself).
    """

    def __init__(self, protocol: Protocol, device: str, extractor=None,
                 c3d_weights: Optional[str] = None, inception_weights: Optional[str] = None,
                 lpips_weights: Optional[str] = None):
        protocol.check_conditional_metrics(protocol.metrics)
        self.metrics = protocol_metrics(protocol)
        for metric in self.metrics:
            metric.check(protocol.num_clips, protocol.samples_per_clip)
        self.plan = merge_plans(*(m.needs() for m in self.metrics))
        self.arrays: dict[str, Array] = {m.array.key: m.array for m in self.metrics}
        self.real_plan = {k: keep for k, keep in self.plan.items()
                          if get_network(self.arrays[k].network).real_side}
        self.context_frames = protocol.context_frames
        # by network family
        weights = {"c3d": c3d_weights, "inception": inception_weights, "lpips": lpips_weights}
        used = {get_network(a.network).family for a in self.arrays.values()}
        for family, given in weights.items():
            if given is not None and family not in used:
                raise InputError(f"--{family}-weights: no metric of protocol {protocol.name} "
                                 f"({', '.join(protocol.metrics)}) uses the {family} network")
        exact_float32()  # also for an extractor given from outside the registry
        self.extractors = {}
        for name in sorted({a.network for a in self.arrays.values()}):
            network = get_network(name)
            if name == "i3d" and extractor is not None:
                self.extractors[name] = extractor
            else:
                self.extractors[name] = network.make(device, weights.get(network.family))

    def accumulator(self, draws: int = 1, bootstrap: bool = False,
                    real: bool = False) -> Accumulator:
        """An empty set for a pass with ``draws`` samples per clip; ``bootstrap``: keeping
        every row with its cluster (its clip); ``real``: of the real clips (``real_plan``)."""
        plan = self.real_plan if real else self.plan
        return Accumulator(FeatureStats(plan, draws, bootstrap=bootstrap))

    @property
    def record(self) -> dict:
        """What produced the features: part of every record and of the chunk cache's key."""
        return {"feature_networks": {
            name: {"network": getattr(e, "network", type(e).__name__),
                   "preprocessing": getattr(e, "preprocessing", ""),
                   "weights_sha256": getattr(e, "weights_sha256", None)}
            for name, e in self.extractors.items()},
            "feature_arrays": sorted(self.plan),
            "metric_precision": metric_precision()}

    def __call__(self, videos: np.ndarray, real: Optional[np.ndarray] = None
                 ) -> dict[str, np.ndarray]:
        """The arrays of generated ``videos`` (``plan``) against their ``real`` clips; without
        ``real``, those of real clips (``real_plan``), a paired score against the clip itself."""
        plan, real = (self.plan, real) if real is not None else (self.real_plan, videos)
        out: dict[str, np.ndarray] = {}
        for name, extractor in self.extractors.items():
            out.update(network_arrays(extractor, name, plan, videos, real,
                                      self.context_frames))
        return out
