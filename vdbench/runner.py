"""Run a protocol: real clips → per-sample-seeded generation → I3D features → metrics → record.

Every sample's seed is ``sample_seed(protocol.seed, clip, sample)``, so results do not depend on
batch size, and `compare` evaluates every variant on the same clips with the same seeds.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
from tqdm.auto import tqdm

from metrics.errors import InputError
from metrics.frechet import GaussianStats, frechet_distance
from protocols.base import Protocol
from vdbench.generator import GenerationRequest, check_output, sample_seed

log = logging.getLogger(__name__)
MAX_EXAMPLES = 8
_LATER = "not computed yet: the C3D/Inception networks arrive with the metrics issue (#8)"
UNAVAILABLE = {m: _LATER for m in ("fid_c3d", "is_c3d", "fid_avg", "is_avg", "fid_first",
                                   "is_first", "is_i3d")}


def open_protocol_data(protocol: Protocol, data_dir: Optional[str]):
    """(clips that condition the model, clips that define the ground truth).

    The paper's protocol uses the same clips for both (Section 4.2). ``with_replacement``
    reproduces the evaluation the paper attributes to [33, 14]: clips drawn with replacement,
    and the ground truth drawn with a different seed.
    """
    if protocol.dataset == "shapes":
        from protocols.datasets.shapes import ShapesDataset

        dataset = ShapesDataset("test", max(protocol.num_clips, 256), protocol.resolution,
                                frames=max(30, protocol.frames))
        clips = dataset.select(protocol.num_clips, frames=protocol.frames)
        return clips, clips
    if protocol.dataset not in ("bair", "kinetics600", "ucf101"):
        raise InputError(f"protocol {protocol.name}: no reader for dataset {protocol.dataset!r} "
                         "(bring your own data through the Python API)")
    if data_dir is None:
        raise InputError(f"protocol {protocol.name} needs --data-dir (where {protocol.dataset} "
                         "lives; see README, Datasets)")
    from protocols.datasets import open_dataset

    dataset = open_dataset(protocol.dataset, data_dir, protocol.split)
    seed = None if protocol.dataset == "bair" else protocol.seed
    if not protocol.with_replacement:
        clips = dataset.select(protocol.num_clips, frames=protocol.frames, seed=seed)
        return clips, clips
    draw = dict(frames=protocol.frames, replace=True)
    return (dataset.select(protocol.num_clips, seed=protocol.seed, **draw),
            dataset.select(protocol.num_clips, seed=protocol.seed + 1, **draw))


@dataclass
class Evaluation:
    """Streaming accumulators of one generated set."""

    pooled: GaussianStats
    per_draw: list[GaussianStats]
    consistency: list[float] = field(default_factory=list)
    seconds_generation: float = 0.0
    seconds_metrics: float = 0.0
    examples: list = field(default_factory=list)  # first generated videos, for a sample grid


def real_stats(clips, extractor, batch_size: int) -> GaussianStats:
    stats = GaussianStats(extractor.dim)
    for batch in tqdm(clips.batches(batch_size), desc="real clips",
                      total=-(-len(clips) // batch_size), leave=False):
        stats.update(extractor(batch))
    return stats


def evaluate_generator(protocol: Protocol, clips, generator, extractor, batch_size: int,
                       consistency=None) -> Evaluation:
    """Generate ``samples_per_clip`` samples for every clip and accumulate their features."""
    ev = Evaluation(GaussianStats(extractor.dim),
                    [GaussianStats(extractor.dim) for _ in range(protocol.samples_per_clip)])
    bar = tqdm(total=protocol.num_samples, desc=f"generating ({generator.name})", unit="video")
    clip_index = 0
    for real in clips.batches(batch_size):
        context = real[:, :protocol.context_frames] if protocol.context_frames else None
        for s in range(protocol.samples_per_clip):
            seeds = tuple(sample_seed(protocol.seed, clip_index + i, s) for i in range(len(real)))
            request = GenerationRequest(seeds, protocol.frames, protocol.resolution, context)
            t = time.perf_counter()
            videos = check_output(generator.generate(request), request, generator.name)
            ev.seconds_generation += time.perf_counter() - t
            if clip_index == 0 and sum(len(v) for v in ev.examples) < MAX_EXAMPLES:
                ev.examples.append(videos[:MAX_EXAMPLES])
            t = time.perf_counter()
            features = extractor(videos)
            ev.pooled.update(features)
            ev.per_draw[s].update(features)
            if consistency is not None:
                ev.consistency.extend(consistency(real, videos, protocol.context_frames))
            ev.seconds_metrics += time.perf_counter() - t
            bar.update(len(real))
        clip_index += len(real)
    bar.close()
    return ev


def metrics_of(ev: Evaluation, real: GaussianStats) -> dict:
    out = {"fvd": frechet_distance(real, ev.pooled)}
    if len(ev.per_draw) > 1 and ev.per_draw[0].count >= 2:
        # Secondary figure: one FVD per draw (every clip's s-th sample vs the real clips).
        draws = np.array([frechet_distance(real, d, warn=False) for d in ev.per_draw])
        out.update(fvd_per_draw_mean=float(draws.mean()), fvd_per_draw_std=float(draws.std()))
    if ev.consistency:
        out["context_consistency"] = float(np.mean(ev.consistency))
    return out


def check_compatible(protocol: Protocol, generator) -> None:
    """A checkpoint must match the protocol's resolution before any expensive work."""
    resolution = getattr(generator, "resolution", None)
    if resolution is not None and resolution != protocol.resolution:
        raise InputError(f"model {generator.name} generates {resolution}×{resolution} frames; "
                         f"protocol {protocol.name} evaluates {protocol.resolution}×"
                         f"{protocol.resolution}")


@dataclass(frozen=True)
class RunOptions:
    checkpoint: Optional[str] = None
    model: Optional[str] = None  # pkg.module:factory
    data_dir: Optional[str] = None
    out: str = "runs"
    device: str = "cpu"
    batch_size: int = 8


def make_generator(protocol: Protocol, settings, opts: RunOptions):
    from vdbench.diffusion_generator import DiffusionGenerator
    from vdbench.generator import load_factory

    if (opts.checkpoint is None) == (opts.model is None):
        raise InputError("give exactly one of --checkpoint PATH or --model pkg.module:factory")
    if opts.model is not None:
        gen = load_factory(opts.model, resolution=protocol.resolution, frames=protocol.frames,
                           device=opts.device)
        gen.identity = getattr(gen, "identity", {"name": gen.name, "factory": opts.model})
        return gen
    path = Path(opts.checkpoint)
    if not path.exists():
        raise InputError(f"{path}: no such checkpoint")
    gen = DiffusionGenerator(settings, checkpoint=path, device=opts.device,
                             batch_size=opts.batch_size)
    check_compatible(protocol, gen)
    return gen


def run_variants(protocol: Protocol, variants: list, opts: RunOptions) -> list[dict]:
    """Evaluate each sampler-settings variant on the same clips and seeds; one record each."""
    from metrics.fvd import NETWORK, PREPROCESSING, I3DFeatures
    from vdbench.results import make_record, write_record

    generators = [make_generator(protocol, v, opts) for v in variants]  # fail before work
    clips, truth = open_protocol_data(protocol, opts.data_dir)
    consistency = None
    if protocol.dataset == "shapes":
        from protocols.shapes_consistency import context_consistency as consistency
    extractor = I3DFeatures(device=opts.device)
    t0 = time.perf_counter()
    real = real_stats(truth, extractor, opts.batch_size)
    real_seconds = time.perf_counter() - t0
    real_consistency = _real_consistency(truth, protocol, opts) if consistency else None
    records = []
    for settings, gen in zip(variants, generators):
        t = time.perf_counter()
        ev = evaluate_generator(protocol, clips, gen, extractor, opts.batch_size, consistency)
        metrics = metrics_of(ev, real)
        unavailable = {m: UNAVAILABLE[m] for m in protocol.metrics if m in UNAVAILABLE}
        if consistency is not None:
            metrics["context_consistency_real"] = real_consistency
        wall = time.perf_counter() - t
        record = make_record(
            protocol=protocol.summary(), model=gen.identity,
            sampler=settings.record() if hasattr(settings, "record") else {},
            metrics=metrics,
            counts={"real": real.count, "generated": ev.pooled.count, "clips": len(clips),
                    "samples_per_clip": protocol.samples_per_clip},
            timing={"wall_s": round(wall + real_seconds, 2), "real_features_s": round(
                real_seconds, 2), "generation_s": round(ev.seconds_generation, 2),
                "metrics_s": round(ev.seconds_metrics, 2),
                "samples_per_s": round(ev.pooled.count / max(wall, 1e-9), 4)},
            extra={"data": clips.describe(), "ground_truth": truth.describe(),
                   "metrics_unavailable": unavailable, "feature_network": NETWORK,
                   "preprocessing": PREPROCESSING,
                   "seeds": "sample_seed(protocol.seed, clip, sample) (vdbench.generator)"})
        if ev.examples:
            from vdbench.grid import save_grid

            grid = np.concatenate(ev.examples)[:MAX_EXAMPLES]
            files = save_grid(grid, protocol.context_frames, opts.out,
                              f"samples-{protocol.name}-{_tag(settings) or 'model'}")
            record["sample_grid"] = [str(f) for f in files]
        path = write_record(opts.out, record, tag=_tag(settings))
        record["_path"] = str(path)
        records.append(record)
    return records


def _tag(settings) -> str:
    if not hasattr(settings, "name"):
        return ""
    return f"{settings.name}-{settings.conditioning}-{settings.steps}"


def _real_consistency(clips, protocol: Protocol, opts: RunOptions) -> float:
    from protocols.shapes_consistency import context_consistency

    scores = []
    for real in clips.batches(opts.batch_size):
        scores.extend(context_consistency(real, real, protocol.context_frames))
    return float(np.mean(scores))
