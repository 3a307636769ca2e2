"""Run a protocol: real clips → per-sample-seeded generation → features → metrics → record.

Every sample's seed is ``sample_seed(protocol.seed, clip, sample)``, so results do not depend on
batch size or on the number of processes, and `compare` evaluates every variant on the same clips
with the same seeds. The work is cut into chunks (`vdbench.engine.chunks`): under torchrun each rank
handles every world-th chunk, rank 0 folds the chunk results in global order and writes the
record; finished chunks are cached on disk (`vdbench.engine.cache`) so that `--resume` continues an
interrupted run with exactly the result an uninterrupted one gives.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
from tqdm.auto import tqdm

from vdbench.metrics.errors import InputError
from vdbench.protocols.base import Protocol
from vdbench.engine import chunks as chunking
from vdbench.engine.distributed import Dist
from vdbench.engine.generator import GenerationRequest, check_output, sample_seed
from vdbench.engine.cache import ChunkCache, key_hash
from vdbench.engine.accumulate import (Accumulator, Design, check_design, infinity_of,
                                       intervals_of, metrics_of)
from vdbench.metrics.uncertainty import DEFAULT_REPLICATES, Bootstrap
from vdbench.engine.features import FeatureSet
from vdbench.engine.protocol_data import (data_fingerprint, open_protocol_data, read_block,
                                          reference_data)
from vdbench.engine.stopping import GracefulStop, Interrupted

log = logging.getLogger(__name__)
MAX_EXAMPLES = 8


@dataclass(frozen=True)
class RunOptions:
    checkpoint: Optional[str] = None
    model: Optional[str] = None  # pkg.module:factory
    data_dir: Optional[str] = None
    out: str = "runs"
    device: str = "cpu"
    batch_size: int = 8
    resume: bool = False
    cache_dir: Optional[str] = None  # default: OUT/cache
    c3d_weights: Optional[str] = None  # folder with the TGANv2 C3D files (default: the cache)
    inception_weights: Optional[str] = None  # FID Inception .pth (default: the cache)
    bootstrap: int = DEFAULT_REPLICATES  # replicates of the intervals (vdbench.metrics.uncertainty)
    bootstrap_seed: int = 0
    lpips_weights: Optional[str] = None  # LPIPS weights file (default: the cache)

    @property
    def cache_root(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir else Path(self.out) / "cache"


@dataclass
class Pass:
    """One chunked pass over a protocol's index space (the real clips, or one variant)."""

    name: str
    chunks: list
    cache: ChunkCache
    compute: Callable  # (chunk, real clips) → {"arrays": ..., "seconds": ...}
    read: Callable  # chunk → real clips


def drive(p: Pass, dist: Dist, stop: GracefulStop, acc: Accumulator, examples: list) -> None:
    """Process this rank's chunks in lock-step rounds; rank 0 folds results in global order."""
    def load(chunk):
        cached = p.cache.load(chunk)
        if cached is not None:
            return {"cached": True, **cached}
        return {"input": p.read(chunk)}

    mine = iter(chunking.prefetch(chunking.owned(p.chunks, dist.rank, dist.world), load))
    total = sum(len(c) for c in p.chunks)
    bar = tqdm(total=total, desc=p.name, unit="video", disable=not dist.is_main, leave=False)
    for r in range(chunking.rounds(p.chunks, dist.world)):
        payload = None
        if r * dist.world + dist.rank < len(p.chunks):
            chunk, got = next(mine)
            if got.get("cached"):
                result = got
            else:
                result = p.compute(chunk, got["input"])
                p.cache.save(chunk, result["arrays"], result["seconds"])
            if chunk.index == 0 and "videos" in result["arrays"]:
                examples.append(result["arrays"]["videos"][:MAX_EXAMPLES])
            shipped = {k: v for k, v in result["arrays"].items() if k != "videos"}
            payload = (chunk, {"arrays": shipped, "seconds": result.get("seconds", {}),
                               "cached": bool(got.get("cached"))})
        gathered = dist.gather(payload)
        if dist.is_main:
            for item in gathered:
                if item is not None:
                    acc.add(*item)
                    bar.update(len(item[0]))
        if dist.any(stop.requested):
            bar.close()
            done = min((r + 1) * dist.world, len(p.chunks))
            raise Interrupted(stop.signal_name, f"{p.name}: stopped after {done} of "
                              f"{len(p.chunks)} chunks; finished chunks are cached in "
                              f"{p.cache.folder} — rerun with --resume to continue")
    bar.close()


def generation_pass(protocol: Protocol, clips, generator, features: FeatureSet, cache: ChunkCache,
                    batch_size: int) -> Pass:
    def compute(chunk, block):
        t = time.perf_counter()
        real = block["clips"]
        context = real[:, :protocol.context_frames] if protocol.context_frames else None
        seeds = tuple(sample_seed(protocol.seed, chunk.start + i, chunk.sample)
                      for i in range(len(chunk)))
        request = GenerationRequest(seeds, protocol.frames, protocol.resolution, context,
                                    captions=block["captions"], text=block["text"])
        videos = check_output(generator.generate(request), request, generator.name)
        t_gen = time.perf_counter() - t
        t = time.perf_counter()
        arrays = {"videos": videos, **features(videos, real)}
        return {"arrays": arrays,
                "seconds": {"generation": t_gen, "metrics": time.perf_counter() - t}}

    return Pass(f"generating ({generator.name})",
                chunking.plan(len(clips), protocol.samples_per_clip, batch_size), cache,
                compute, read_block(clips))


def real_pass(truth, features: FeatureSet, cache: ChunkCache, batch_size: int,
              name: str = "real clips") -> Pass:
    def compute(chunk, block):
        t = time.perf_counter()
        arrays = features(block["clips"])
        return {"arrays": arrays, "seconds": {"metrics": time.perf_counter() - t}}

    return Pass(name, chunking.plan(len(truth), 1, batch_size), cache, compute,
                read_block(truth))


def check_compatible(protocol: Protocol, generator) -> None:
    """A checkpoint must match the protocol's resolution before any expensive work."""
    resolution = getattr(generator, "resolution", None)
    if resolution is not None and resolution != protocol.resolution:
        raise InputError(f"model {generator.name} generates {resolution}×{resolution} frames; "
                         f"protocol {protocol.name} evaluates {protocol.resolution}×"
                         f"{protocol.resolution}")


def make_generators(protocol: Protocol, variants: list[dict[str, Any]], opts: RunOptions
                    ) -> list:
    """One generator per variant (a dict of sampling options, None = not given), before any
    work, so that a bad option or checkpoint fails the run at once."""
    from vdbench.engine.distributed import rank_device
    from vdbench.engine.generator import load_factory
    from vdbench.engine.included_model import DiffusionGenerator
    from vdbench.engine.generator import UserModel
    from vdbench.engine.settings import refuse_for_user_model, run_settings

    if (opts.checkpoint is None) == (opts.model is None):
        raise InputError("give exactly one of --checkpoint PATH or --model pkg.module:factory")
    device = rank_device(opts.device)
    if opts.model is not None:
        for options in variants:
            refuse_for_user_model(options, opts.model)
        if len(variants) > 1:
            raise InputError(f"--model {opts.model}: variants of our sampler do not apply to a "
                             "user generator; compare runs it once")
        gen = load_factory(opts.model, resolution=protocol.resolution, frames=protocol.frames,
                           device=device)
        return [UserModel(gen, opts.model)]
    assert opts.checkpoint is not None  # exactly one of the two, checked above
    path = Path(opts.checkpoint)
    if not path.exists():
        raise InputError(f"{path}: no such checkpoint")
    from vdbench.model.generate import open_model

    model = open_model(False, path, device)  # loaded once, shared by the variants
    generators = []
    for options in variants:
        settings, sources = run_settings(protocol, model, options)
        generators.append(DiffusionGenerator(settings, checkpoint=path, device=device,
                                             batch_size=opts.batch_size, model=model,
                                             sources=sources))
        check_compatible(protocol, generators[-1])
    tags = [g.settings.tag() for g in generators]
    if len(set(tags)) < len(tags):
        raise InputError("two variants resolve to the same sampling settings "
                         f"({', '.join(tags)}); each variant must differ in a setting that "
                         "applies")
    return generators


def _cache(opts: RunOptions, dist: Dist, name: str, key: dict, clips) -> ChunkCache:
    """The run's chunk cache; its manifest also holds the code digest, and each chunk the
    fingerprint of the data files it read, so stale chunks are never reused."""
    from vdbench.reporting.provenance import code_digest

    cache = ChunkCache(opts.cache_root / name, {**key, "code": code_digest()}, opts.resume,
                       data=lambda chunk: data_fingerprint(clips, chunk))
    message = cache.prepare() if dist.is_main else None
    message = dist.broadcast(message)  # also: no rank starts before rank 0 has prepared
    if message and dist.is_main:
        log.warning(message)
    return cache


def run_variants(protocol: Protocol, variants: list[dict[str, Any]], opts: RunOptions,
                 dist: Optional[Dist] = None, extractor=None,
                 baselines: Sequence[str] = ()) -> list[dict]:
    """Evaluate each variant (sampling options; None = the protocol's / checkpoint's value),
    then each named baseline (vdbench.engine.baselines), on the same clips and seeds; one record
    each (on rank 0; other ranks return an empty list)."""
    from vdbench.engine.baselines import check_baselines, make_baselines
    from vdbench.reporting.records import make_record, write_record

    dist = dist or Dist()
    check_baselines(protocol, list(baselines))
    generators = make_generators(protocol, variants, opts) if variants else []  # fail early
    clips, truth = open_protocol_data(protocol, opts.data_dir)
    generators += make_baselines(protocol, list(baselines), clips)
    references = {"": truth, **reference_data(protocol, opts.data_dir)}
    config = Bootstrap(opts.bootstrap, opts.bootstrap_seed)
    design = run_design(protocol, clips, truth)
    check_design(design, len(clips), protocol.samples_per_clip)
    from vdbench.engine.distributed import rank_device

    features = FeatureSet(protocol, rank_device(opts.device), extractor, opts.c3d_weights,
                          opts.inception_weights, opts.lpips_weights)
    chunk_key = {"chunk_size": opts.batch_size, **features.record}
    records = []
    with GracefulStop() as stop:
        t0 = time.perf_counter()
        reals, real_chunks = {}, 0
        for split, data in references.items():
            reals[split] = features.accumulator(bootstrap=True, real=True)
            key = {"kind": "real", "data": data.describe(), "frames": protocol.frames,
                   "context_frames": protocol.context_frames, **chunk_key}
            name = artefact_name(protocol, "real" + ("-" + split if split else ""), key)
            real_p = real_pass(data, features, _cache(opts, dist, name, key, data),
                               opts.batch_size, f"real clips{' (' + split + ')' if split else ''}")
            drive(real_p, dist, stop, reals[split], [])
            real_chunks += len(real_p.chunks)
        real = reals[""]
        real_seconds = time.perf_counter() - t0
        for gen in generators:
            t = time.perf_counter()
            sampler = gen.record()
            # what the samples depend on (not where each setting came from)
            applied = {k: v for k, v in sampler.items() if k != "sources"}
            key = {"kind": "generated", "protocol": protocol.summary(), "model": gen.identity,
                   "sampler": applied, "data": clips.describe(), **chunk_key}
            acc = features.accumulator(protocol.samples_per_clip, bootstrap=True)
            examples: list[np.ndarray] = []
            # named by model and every applied setting: two runs that differ in anything keep
            # their own cache, grid and record
            label = getattr(gen, "label", None) or \
                f"{gen.name}-{gen.settings.tag() if hasattr(gen, 'settings') else 'model'}"
            run_name = artefact_name(protocol, label, key)
            cache = _cache(opts, dist, run_name, key, clips)
            gen_p = generation_pass(protocol, clips, gen, features, cache, opts.batch_size)
            drive(gen_p, dist, stop, acc, examples)
            if not dist.is_main:
                continue
            values = metrics_of(acc, reals, features.metrics)
            t_ci = time.perf_counter()
            intervals = intervals_of(acc, reals, features.metrics, config, design)
            fits = infinity_of(acc, reals, features.metrics, config.seed, design)
            values.update({k: fit["value"] for k, fit in fits.items()
                           if fit["value"] is not None})
            uncertainty = {"bootstrap": {**config.record(), **design.record(),
                                         "seconds": round(time.perf_counter() - t_ci, 2)},
                           "intervals": {k: iv.record() for k, iv in intervals.items()},
                           "frechet_infinity": fits}
            wall = time.perf_counter() - t
            record = make_record(
                protocol=protocol.summary(), model=gen.identity, sampler=sampler,
                metrics=values,
                counts={"real": real.count, "generated": acc.count, "clips": len(clips),
                        "samples_per_clip": protocol.samples_per_clip},
                timing=_timing(acc, real, wall, real_seconds, dist, cache),
                extra={"data": clips.describe(), "ground_truth": truth.describe(),
                       **features.record, "cache": {
                           "folder": str(cache.folder), "chunks": len(gen_p.chunks),
                           "chunks_cached": acc.chunks_cached, "real_chunks": real_chunks,
                           "real_chunks_cached": sum(r.chunks_cached for r in reals.values())},
                       "seeds": "sample_seed(protocol.seed, clip, sample) "
                                "(vdbench.engine.generator)",
                       **uncertainty, **metric_settings(features.metrics)})
            if examples:
                from vdbench.reporting.grid import save_grid

                files = save_grid(np.concatenate(examples)[:MAX_EXAMPLES],
                                  protocol.context_frames, opts.out, f"samples-{run_name}")
                record["sample_grid"] = [str(f) for f in files]
            path = write_record(opts.out, record, tag=_record_tag(protocol, run_name))
            record["_path"] = str(path)
            # for paired comparisons of the variants (engine.accumulate.paired_of); not saved
            record["_paired"] = PairedInputs(acc.stats, real.stats, features.metrics, config,
                                             design)
            records.append(record)
    return records


def metric_settings(metrics: list) -> dict:
    """How metrics that say more than their name were computed (KVD's subsets and seed)."""
    found = {m.name: m.settings() for m in metrics if m.settings()}
    return {"metric_settings": found} if found else {}


@dataclass(frozen=True)
class PairedInputs:
    """What `compare` needs to pair this variant with another: its statistics (rows kept),
    the ground truth's, the metrics, the bootstrap settings and the resampling design."""

    gen: Any
    real: Any
    metrics: list
    bootstrap: Bootstrap
    design: Design


def run_design(protocol: Protocol, clips, truth) -> Design:
    """Clusters are clip indices, each with its samples: where a clip conditions them
    (observed frames, or a caption) they are not independent; in unconditional protocols they
    are, and resampling them together keeps every draw's set (TGANv2's sets of samples) full.
    The real side is paired with them where the ground truth is the conditioning clips."""
    captioned = len(clips) > 0 and clips.captions(range(1)) is not None
    by_clip = protocol.conditional or captioned
    return Design(by_clip=by_clip, paired=by_clip and clips is truth)


def artefact_name(protocol: Protocol, label: str, key: dict) -> str:
    """Cache folder / grid / record name: readable parts plus a hash of the whole key, so that
    runs differing in any setting (counts, frameskip, sampling, model, chunking, networks)
    never share or overwrite an artefact."""
    return f"{protocol.name}-{protocol.preset}-{label}-{key_hash(key)[:8]}"


def _record_tag(protocol: Protocol, run_name: str) -> str:
    return run_name[len(f"{protocol.name}-{protocol.preset}-"):]


def _timing(acc: Accumulator, real: Accumulator, wall: float, real_seconds: float, dist: Dist,
            cache: ChunkCache) -> dict:
    gen_s, met_s = acc.seconds.get("generation", 0.0), acc.seconds.get("metrics", 0.0)
    return {"wall_s": round(wall + real_seconds, 2), "real_features_s": round(real_seconds, 2),
            "generation_s": round(gen_s, 2), "metrics_s": round(met_s, 2),
            "generation_share": round(gen_s / max(gen_s + met_s, 1e-9), 4),
            "samples_per_s": round(acc.count / max(wall, 1e-9), 4),
            "world_size": dist.world, "chunks_cached": acc.chunks_cached,
            "real_chunks_cached": real.chunks_cached}


