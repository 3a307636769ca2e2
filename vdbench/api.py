"""The Python API: one call per metric, and a streaming Fréchet distance.

Each function takes what the matching command takes (`vdbench fvd|kvd|fid|is`): paths of
arrays (.npy/.npz), video files or folders, frame folders or .zip archives, statistics files
(.npz), feature or logit .npy files; and also objects in memory: videos [N, T, H, W, 3] as
numpy arrays or torch tensors (uint8, or float with ``value_range`` "0-1", "-1-1", "0-255" or
the pair (0, 1), ...), features [N, D], or ``GaussianStats``. It returns a frozen
``MetricResult`` (value, 95% bootstrap interval lo/hi/se where available, counts, settings).
The commands call the same functions (vdbench.engine.metric_calls), so both give one value.

    >>> import vdbench
    >>> r = vdbench.fvd("real.npy", generated_uint8_videos)
    >>> r.value, r.lo, r.hi, r.n_generated
"""

from __future__ import annotations

import os
from typing import Any, Optional

from vdbench.engine.metric_calls import (FID_DEFAULT, InputSettings, MetricResult,
                                         frechet_result, fvd_result,
                                         inception_score_result, kernel_result)
from vdbench.engine.metric_stream import StreamingFrechet, StreamingFVD
from vdbench.metrics.networks import by_family
from vdbench.metrics.uncertainty import DEFAULT_REPLICATES, Bootstrap

__all__ = ["fvd", "fid", "kvd", "inception_score", "MetricResult", "StreamingFrechet",
           "StreamingFVD"]


def fvd(real: Any, generated: Any, *, compat: str = "tf", batch_size: int = 8,
        device: str = "cpu", frames: Optional[int] = None, clips_per_video: int = 1,
        value_range: Any = None, bootstrap: int = DEFAULT_REPLICATES,
        bootstrap_seed: int = 0) -> MetricResult:
    """Fréchet Video Distance (I3D logits, as the TF-Hub reference) between REAL and
    GENERATED, with its 95% bootstrap interval (``bootstrap`` replicates over videos) and
    FVD∞ in ``extra['inf']``; ``compat``: a parity mode ("stylegan-v", "videogpt": that code's
    preprocessing and statistics on the same I3D); as `vdbench fvd [--compat]`."""
    inputs = InputSettings(batch_size, device, frames, clips_per_video, value_range)
    return fvd_result(real, generated, compat, inputs, Bootstrap(bootstrap, bootstrap_seed))


def fid(real: Any, generated: Any, *, network: Optional[str] = None, frame_mode: str = "avg",
        weights: Optional[str] = None, batch_size: int = 8, device: str = "cpu",
        frames: Optional[int] = None, clips_per_video: int = 1, value_range: Any = None,
        bootstrap: int = DEFAULT_REPLICATES, bootstrap_seed: int = 0) -> MetricResult:
    """Fréchet distance in ``network``'s feature space (c3d: UCF101 FID; inception: FID-avg
    or FID-first by ``frame_mode``; i3d: FVD); without ``network``, that of a statistics file
    given as a side, else c3d; as `vdbench fid`."""
    from vdbench.engine.streaming import resolve_network

    paths = tuple(x for x in (real, generated) if isinstance(x, (str, os.PathLike)))
    net = resolve_network(network, frame_mode, paths, FID_DEFAULT)
    inputs = InputSettings(batch_size, device, frames, clips_per_video, value_range, weights)
    return frechet_result(real, generated, net, inputs, Bootstrap(bootstrap, bootstrap_seed))


def kvd(real: Any, generated: Any, *, network: str = "i3d", frame_mode: str = "avg",
        weights: Optional[str] = None, batch_size: int = 8, device: str = "cpu",
        frames: Optional[int] = None, clips_per_video: int = 1, value_range: Any = None,
        bootstrap: int = DEFAULT_REPLICATES, bootstrap_seed: int = 0) -> MetricResult:
    """Kernel Video Distance (``network`` inception: KID-avg/first): the unbiased MMD² of the
    cubic kernel, mean over 100 seeded subsets ± their std (``std``), with its bootstrap
    interval; as `vdbench kvd`. Statistics files cannot be used (they hold no rows)."""
    inputs = InputSettings(batch_size, device, frames, clips_per_video, value_range, weights)
    return kernel_result(real, generated, by_family(network, frame_mode), inputs,
                         Bootstrap(bootstrap, bootstrap_seed))


def inception_score(generated: Any, *, network: str = FID_DEFAULT, frame_mode: str = "avg",
                    weights: Optional[str] = None, splits: int = 1, batch_size: int = 8,
                    device: str = "cpu", frames: Optional[int] = None,
                    clips_per_video: int = 1, value_range: Any = None) -> MetricResult:
    """Inception Score of ``network``'s class logits (c3d: UCF101, i3d: Kinetics-400,
    inception: ImageNet IS-avg/first), mean over ``splits`` parts ± their std (``std``);
    GENERATED may also be [N, classes] logits; as `vdbench is`."""
    inputs = InputSettings(batch_size, device, frames, clips_per_video, value_range, weights)
    return inception_score_result(generated, by_family(network, frame_mode), inputs, splits)
