"""Metrics by name: the one registry the runner, the standalone commands, the CLI and the tables
read (what a metric is: vdbench.metrics.base).

Adding a metric: its own file with a ``Metric`` subclass, plus its import and one
``register_metric`` line below. A protocol then lists it by name (vdbench/protocols/registry.py),
or `vdbench run --metrics NAME` asks for it where the protocol runs its feature network.
"""

from __future__ import annotations

import math
from typing import Optional

from vdbench.metrics.base import (PSNR_MAX, FrechetDistance, InceptionScore, KernelDistance,
                                  MeanScore, Metric, PredictionScore)
from vdbench.metrics.compat import MODES
from vdbench.metrics.errors import InputError
from vdbench.metrics.named import get_named, register_named
from vdbench.metrics.networks import Array, get_network

__all__ = ["METRICS", "FrechetDistance", "InceptionScore", "KernelDistance", "MeanScore",
           "Metric", "PredictionScore", "register_metric", "get_metric", "frechet_of",
           "inception_score_of", "kernel_distance_of", "metric_of_output"]

METRICS: dict[str, Metric] = {}


def register_metric(metric: Metric) -> Metric:
    get_network(metric.array.network)  # a metric reads a registered network's output
    return register_named(METRICS, metric.name, metric, "metric")


def get_metric(name: str) -> Metric:
    return get_named(METRICS, name, "metric")


def frechet_of(network: str) -> FrechetDistance:
    """The pooled Fréchet distance of ``network``'s features (`vdbench fid`, `vdbench fvd`)."""
    return _only(FrechetDistance, network, "a Fréchet distance")


def inception_score_of(network: str) -> InceptionScore:
    """The Inception Score of ``network``'s logits (`vdbench is`, `vdbench stats`)."""
    return _only(InceptionScore, network, "an Inception Score")


def kernel_distance_of(network: str) -> KernelDistance:
    """The kernel distance of ``network``'s features (`vdbench kvd`: KVD, or KID)."""
    return _only(KernelDistance, network, "a kernel distance (KVD/KID)")


def _only(kind: type, network: str, what: str):
    found = [m for m in METRICS.values() if type(m) is kind and m.array == Array(
        network, logits=kind is InceptionScore) and not getattr(m, "per_draw", False)]
    if not found:
        raise InputError(f"--network: no registered metric computes {what} of {network}")
    return found[0]


def metric_of_output(key: str) -> Optional[Metric]:
    """The registered metric whose values include ``key`` (None if none)."""
    return next((m for m in METRICS.values() if key in m.outputs()), None)


I3D, C3D = Array("i3d"), Array("c3d")
INCEPTION_AVG, INCEPTION_FIRST = Array("inception_avg"), Array("inception_first")

register_metric(FrechetDistance(
    "fvd", I3D, "Fréchet Video Distance: I3D logits, all samples pooled", compares=True,
    excludable_context=True))
register_metric(FrechetDistance(
    "fvd_per_draw", I3D, "FVD of each draw (every clip's s-th sample) vs the real clips; "
    "mean ± std over draws (BAIR's per-trajectory figure)", per_draw=True,
    excludable_context=True))
register_metric(FrechetDistance(
    "fid_c3d", C3D, "UCF101 FID: C3D fc7 features (TGANv2), all samples pooled", compares=True))
register_metric(FrechetDistance(
    "fid_c3d_per_draw", C3D, "C3D FID of each draw (TGANv2: a set of samples) vs the real "
    "clips; mean ± std over draws", per_draw=True))
register_metric(FrechetDistance(
    "fid_avg", INCEPTION_AVG, "FID-avg: Inception pool3 averaged over frames", compares=True))
register_metric(FrechetDistance(
    "fid_first", INCEPTION_FIRST, "FID-first: Inception pool3 of the first frame", compares=True))
register_metric(KernelDistance(
    "kvd", I3D, "Kernel Video Distance: unbiased MMD², cubic kernel, I3D logits, mean ± std "
    "over 100 subsets of min(N, 1000)", compares=True, excludable_context=True))
register_metric(KernelDistance(
    "kid_avg", INCEPTION_AVG, "KID-avg: unbiased MMD², cubic kernel, Inception pool3 averaged "
    "over frames", compares=True))
register_metric(KernelDistance(
    "kid_first", INCEPTION_FIRST, "KID-first: unbiased MMD², cubic kernel, Inception pool3 of "
    "the first frame", compares=True))
register_metric(InceptionScore(
    "is_i3d", Array("i3d", logits=True), "Kinetics IS: I3D's 400 logits; 1 and 10 splits"))
register_metric(InceptionScore(
    "is_c3d", Array("c3d", logits=True), "UCF101 IS: C3D's 101 logits; 1 and 10 splits"))
register_metric(InceptionScore(
    "is_c3d_per_draw", Array("c3d", logits=True), "C3D IS of each draw (TGANv2: a set of "
    "samples, one split); mean ± std over draws", per_draw=True))
register_metric(InceptionScore(
    "is_avg", Array("inception_avg", logits=True), "IS-avg: Inception logits averaged over "
    "frames; 1 and 10 splits"))
register_metric(InceptionScore(
    "is_first", Array("inception_first", logits=True), "IS-first: Inception logits of the "
    "first frame; 1 and 10 splits"))
register_metric(PredictionScore(
    "psnr", Array("psnr"), "prediction protocols: PSNR (dB) of the generated frames vs the "
    "ground truth, mean over frames; best-of-N and mean over a clip's samples",
    value_range=(0.0, PSNR_MAX)))  # MSE ≤ 1 for values in [0, 1]; capped at PSNR_MAX
register_metric(PredictionScore(
    "ssim", Array("ssim"), "prediction protocols: SSIM (11x11 gaussian, sigma 1.5) of the "
    "generated frames vs the ground truth, mean over frames; best-of-N and mean over samples",
    value_range=(-1.0, 1.0)))
register_metric(PredictionScore(
    "lpips", Array("lpips"), "prediction protocols: LPIPS (v0.1, AlexNet; needs its weights, "
    "--lpips-weights) of the generated frames vs the ground truth, mean over frames; best-of-N "
    "(lowest) and mean over samples", higher_is_better=False, value_range=(0.0, math.inf)))
# FVD under each parity mode (vdbench.metrics.compat: the mode → metric map lives there).
for _mode in [m for m in MODES.values() if m.metric != "fvd"]:
    register_metric(FrechetDistance(
        _mode.metric, Array(_mode.network), f"FVD as {_mode.summary} computes it: its "
        f"preprocessing ({_mode.preprocessing.resize}) and statistics (covariance "
        f"/{_mode.statistics.covariance}, {_mode.statistics.sqrt}), on the TF-Hub I3D",
        compares=True, excludable_context=True, parity=_mode.name))
# One VideoGPT-parity FVD per trial (VideoGPT's scripts/compute_fvd.py: 256 vs 256 per trial,
# mean ± std over --n_trials): the bair-videogpt protocol (vdbench.protocols.literature).
register_metric(FrechetDistance(
    "fvd_videogpt_per_draw", Array("i3d_videogpt"), "VideoGPT-parity FVD of each draw (every "
    "clip's s-th sample: a trial) vs the real clips; mean ± std over draws", per_draw=True,
    excludable_context=True, parity="videogpt"))
