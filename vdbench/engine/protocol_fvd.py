"""`vdbench fvd --protocol NAME REAL GENERATED`: a protocol's FVD between given sets.

The protocol fixes what the command otherwise leaves to its options: how many real and
generated videos, which frames (count, frameskip, the real clips' offsets, the generated clips
from frame 0), whether the conditioning frames count, and which metric (pooled FVD, or one FVD
per trial). REAL is a dataset name read from ``--data-dir`` (or made in code: shapes) or videos
(an array, video files, frame folders or a .zip of them); GENERATED is videos. Trial ``s`` of a
per-trial metric is the generated videos ``[s*N, (s+1)*N)``, ``N`` the protocol's real clips.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from tqdm.auto import tqdm

from vdbench.engine.features import protocol_metrics
from vdbench.metrics.base import FrechetDistance
from vdbench.metrics.errors import InputError
from vdbench.metrics.feature_stats import FeatureStats, merge_plans
from vdbench.metrics.networks import get_network, network_arrays
from vdbench.metrics.uncertainty import Bootstrap, metric_intervals
from vdbench.protocols.base import Protocol
from vdbench.protocols.datasets import READERS, get_reader
from vdbench.protocols.literature import (check_real_count, for_dataset, generated_clips,
                                          open_input, real_clips)
from vdbench.protocols.registry import get_protocol, protocol_split


def fvd_metrics(protocol: Protocol) -> list:
    """The protocol's Fréchet distances (with its context handling); refused if none."""
    if protocol.evaluation != "videos":
        raise InputError(f"--protocol {protocol.name}: evaluated against its oracle, not videos")
    found = [m for m in protocol_metrics(protocol) if isinstance(m, FrechetDistance)]
    if not found:
        raise InputError(f"--protocol {protocol.name}: computes {', '.join(protocol.metrics)}, "
                         "no Fréchet distance (`vdbench fvd` computes FVD)")
    networks = {m.array.network for m in found}
    if len(networks) > 1 or not get_network(networks.pop()).name.startswith("i3d"):
        raise InputError(f"--protocol {protocol.name}: its Fréchet distances read "
                         f"{', '.join(m.array.network for m in found)}; `vdbench fvd` reads "
                         "one I3D")
    return found


def open_real(protocol: Protocol, real: str, data_dir: Optional[str]):
    """(protocol as applied to REAL, the real clips)."""
    if Path(real).exists():
        if data_dir:
            raise InputError(f"--data-dir: applies where REAL is a dataset name; {real} is a "
                             "file or folder")
        dataset = open_input(real)
        return protocol, real_clips(dataset, protocol, protocol.seed)
    if real not in READERS:
        raise InputError(f"{real}: no such file or folder, and no dataset of that name "
                         f"({', '.join(READERS)})")
    split = protocol.split if real == protocol.dataset else protocol_split(real, "test")
    applied = for_dataset(protocol, real, split)
    reader = get_reader(real)
    dataset = reader.open_for(applied, data_dir, applied.split)
    return applied, real_clips(dataset, applied, reader.clip_seed(applied.seed))


def _batches(selection, start: int, stop: int, batch_size: int):
    positions = range(start, stop)
    for i in range(0, len(positions), batch_size):
        yield np.stack(list(selection.iter_clips(positions[i:i + batch_size])))


def selection_stats(selection, network: str, plan: dict, extractor, draws: int,
                    per_draw: int, context_frames: int, batch_size: int,
                    value_range: Optional[str], desc: str = "features") -> FeatureStats:
    """``network``'s statistics of a selection's clips, every row kept for the bootstrap (each
    video its own cluster); clip ``k`` belongs to draw ``k // per_draw``."""
    stats = FeatureStats(plan, draws=draws, bootstrap=True)
    with tqdm(total=draws * per_draw, desc=desc, unit="video", leave=False) as bar:
        for draw in range(draws):
            for batch in _batches(selection, draw * per_draw, (draw + 1) * per_draw,
                                  batch_size):
                stats.add(network_arrays(extractor, network, plan, batch,
                                         context_frames=context_frames,
                                         value_range=value_range), draw=draw)
                bar.update(len(batch))
    return stats


def _intervals(metrics: list, gen: FeatureStats, ref: FeatureStats, config: Bootstrap,
               points: dict[str, dict]) -> tuple[dict[str, dict], Optional[str]]:
    """(each value's interval, None) or ({}, why not): a replicate of a set this small can
    draw one video only, which has no covariance."""
    out: dict[str, dict] = {}
    try:
        for metric in metrics:
            for key, found in metric_intervals(metric, gen, ref, config, paired=False,
                                               point=points[metric.name]).items():
                out[key] = {"ci": found.pair(), "se": found.se,
                            **({"ci_clipped": found.clipped()} if found.clipped() else {})}
    except InputError as err:
        return {}, f"a bootstrap replicate failed ({err}): too few videos a side"
    return out, None


def protocol_fvd(name: str, real: str, generated: str, make: Callable,
                 data_dir: Optional[str] = None, batch_size: int = 8,
                 value_range: Optional[str] = None,
                 config: Optional[Bootstrap] = None) -> dict:
    """The protocol's FVD values, each with its 95% bootstrap interval (``config``: each video
    its own cluster, the two sides resampled independently, as `vdbench fvd`), and what they
    were computed on (``make(network)`` gives the extractor of the registered network its
    metrics read)."""
    config = config or Bootstrap()
    protocol = get_protocol(name)
    metrics = fvd_metrics(protocol)
    gens = generated_clips(open_input(generated), protocol)
    # a set too short for the protocol fails before any work; a dataset named as REAL is read
    # at the generated videos' size (StyleGAN-V compares a generator with its training set)
    size = next(iter(gens.iter_clips([0]))).shape[1]
    protocol, reals = open_real(dataclasses.replace(protocol, resolution=size), real, data_dir)
    check_real_count(reals.dataset, protocol)
    plan = merge_plans(*(m.needs() for m in metrics))
    network = metrics[0].array.network
    extractor = make(network)
    common = dict(context_frames=protocol.context_frames, batch_size=batch_size,
                  value_range=value_range)
    # generated first: a set too short for the protocol fails before the real side's work
    gen = selection_stats(gens, network, plan, extractor, protocol.samples_per_clip,
                          protocol.num_clips, desc="generated", **common)
    ref = selection_stats(reals, network, plan, extractor, 1, len(reals), desc="real",
                          **common)
    points = {metric.name: metric.compute(gen, ref) for metric in metrics}
    values = {k: v for point in points.values() for k, v in point.items()}
    intervals, why = _intervals(metrics, gen, ref, config, points)
    return {"protocol": protocol.name, "preset": protocol.preset, "values": values,
            "intervals": intervals,
            "bootstrap": {"not_computed": why} if why else
            {**config.record(), "clusters": "videos (each its own cluster)",
             "real_side": "resampled on its own"},
            "real": str(real), "generated": str(generated), "n_real": ref.count,
            "n_generated": gen.count, "trials": protocol.samples_per_clip,
            "frames": protocol.frames, "frameskip": protocol.frameskip,
            "context_frames_excluded": protocol.fvd_exclude_context,
            "network": get_network(network).network_label,
            "metrics": {m.name: m.settings() for m in metrics},
            "real_clips": reals.describe(), "follows": list(protocol.follows),
            "weights_sha256": getattr(extractor, "weights_sha256", None)}
