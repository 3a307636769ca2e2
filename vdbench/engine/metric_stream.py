"""A Fréchet distance accumulated batch by batch (inside a training loop, say) and merged
across torch.distributed ranks by summing statistics, never by gathering features.

Each side keeps exact moments (vdbench.metrics.exact_moments): integer words whose sum is
exact in float64, so the value is a function of the multiset of videos alone, the same bits
whatever the batching, the order of updates and the number of ranks, and on every rank."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from vdbench.engine.metric_calls import MetricResult, range_name, to_numpy
from vdbench.metrics.errors import InputError
from vdbench.metrics.exact_moments import ExactMoments
from vdbench.metrics.frechet import frechet_distance
from vdbench.metrics.networks import by_family
from vdbench.metrics.registry import frechet_of

SIDES = ("real", "generated")
NO_INTERVAL = ("streaming statistics hold sums only: no rows to resample (for an interval, "
               "keep the videos or features and call the metric function)")


def all_reduce_moments(moments: ExactMoments, group: Any = None) -> ExactMoments:
    """The sum of every rank's moments, on every rank (a copy; ``moments`` is unchanged): one
    float64 all-reduce of count, Σ x and Σ x xᵀ words, exact because the words are integers.
    Without an initialised process group, a copy."""
    import torch
    import torch.distributed as dist

    out = moments.copy().normalize()
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size(group) == 1:
        return out
    device = torch.device("cuda", torch.cuda.current_device()) \
        if dist.get_backend(group) == "nccl" else torch.device("cpu")
    flat = np.concatenate([[float(out.count)], out.sum_words.ravel(), out.outer_words.ravel()])
    t = torch.from_numpy(flat).to(device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM, group=group)
    back = t.cpu().numpy()
    n_sum = out.sum_words.size
    out.count = int(back[0])
    out.sum_words = back[1:1 + n_sum].reshape(out.sum_words.shape).copy()
    out.outer_words = back[1 + n_sum:].reshape(out.outer_words.shape).copy()
    return out.normalize()


class StreamingFrechet:
    """The registered Fréchet distance of a feature network (i3d: FVD; c3d: UCF101 FID;
    inception: FID-avg/first), fed batch by batch.

    ``update(real=..., generated=...)`` takes videos [B, T, H, W, 3] (numpy or torch, uint8 or
    float in ``value_range``) or that network's features [B, D]; ``compute()`` merges the
    ranks (when torch.distributed is initialised) and returns a ``MetricResult`` on every rank;
    ``reset()`` empties both sides. Memory: 2 × 6 × D² float64 (D = 400 for I3D: 15 MB).
    """

    def __init__(self, network: str = "i3d", *, frame_mode: str = "avg", device: str = "cpu",
                 weights: Optional[str] = None, value_range: Any = None,
                 batch_size: int = 8, extractor: Any = None):
        self.network = by_family(network, frame_mode)
        self.metric = frechet_of(self.network.name)
        dim = self.network.feature_dim
        if dim is None:
            raise InputError(f"{network}: its features' dimension is not declared")
        self.dim, self.device, self.weights = dim, device, weights
        self.value_range, self.batch_size = range_name(value_range), batch_size
        self._extractor = extractor  # made on the first video batch unless given
        self.reset()

    def reset(self) -> None:
        """Forget every update (the network stays loaded)."""
        self.moments = {side: ExactMoments(self.dim) for side in SIDES}

    def update(self, real: Any = None, generated: Any = None) -> None:
        """Add a batch to either side or both."""
        for side, batch in (("real", real), ("generated", generated)):
            if batch is not None:
                self.moments[side].update(self._features(batch, side))

    def _features(self, batch: Any, side: str) -> np.ndarray:
        shape = tuple(batch.shape)
        if len(shape) == 2:
            x = to_numpy(batch)
            if not np.issubdtype(x.dtype, np.floating):
                raise InputError(f"{side}: features [B, D] must be float, got {x.dtype}")
            if shape[1] != self.dim:
                raise InputError(f"{side}: features of dimension {shape[1]}; "
                                 f"{self.network.name} features have {self.dim}")
            return x
        if len(shape) != 5 or shape[-1] != 3:
            raise InputError(f"{side}: expected videos [B, T, H, W, 3] or features "
                             f"[B, {self.dim}], got shape {shape}")
        if self._extractor is None:
            self._extractor = self.network.make(self.device, self.weights)
        parts = [self._extractor(batch[i:i + self.batch_size], value_range=self.value_range)
                 for i in range(0, shape[0], self.batch_size)]
        return np.concatenate(parts) if parts else np.empty((0, self.dim))

    def compute(self, group: Any = None) -> MetricResult:
        """The distance between everything added on every rank of ``group`` (default: the
        whole process group; a collective: every rank must call it)."""
        merged = {side: all_reduce_moments(self.moments[side], group) for side in SIDES}
        for side in SIDES:
            if merged[side].count < 2:
                raise InputError(f"{side}: {merged[side].count} video(s) added; at least 2 "
                                 "are needed for a covariance")
        real, gen = merged["real"].gaussian(), merged["generated"].gaussian()
        value = frechet_distance(real, gen)
        extractor = self._extractor
        return MetricResult(
            self.metric.name, value, n_real=real.count, n_generated=gen.count,
            settings={"network": self.network.network_label,
                      "preprocessing": getattr(extractor, "preprocessing",
                                               self.network.preprocessing),
                      "weights_sha256": getattr(extractor, "weights_sha256", None),
                      "bootstrap": {"not_computed": NO_INTERVAL},
                      "accumulation": "exact integer moments (features on a 2^-40 grid), "
                                      "summed over ranks by all_reduce"},
            extra={"world_size": _world_size(group)})


def _world_size(group: Any = None) -> int:
    import torch.distributed as dist

    return dist.get_world_size(group) if dist.is_available() and dist.is_initialized() else 1


class StreamingFVD(StreamingFrechet):
    """Fréchet Video Distance (I3D logits), fed batch by batch: see ``StreamingFrechet``."""

    def __init__(self, *, device: str = "cpu", value_range: Any = None,
                 batch_size: int = 8, extractor: Any = None):
        super().__init__("i3d", device=device, value_range=value_range,
                         batch_size=batch_size, extractor=extractor)
