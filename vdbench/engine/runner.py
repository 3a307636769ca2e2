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
from typing import Callable, Optional

import numpy as np
from tqdm.auto import tqdm

from vdbench.metrics.errors import InputError
from vdbench.protocols.base import Protocol
from vdbench.engine import chunks as chunking
from vdbench.engine.distributed import Dist
from vdbench.engine.generator import GenerationRequest, check_output, sample_seed
from vdbench.engine.cache import ChunkCache
from vdbench.engine.accumulate import Accumulator, metrics_of
from vdbench.engine.features import FeatureSet
from vdbench.engine.protocol_data import open_protocol_data, read_block, reference_data
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
        arrays = features(block["clips"], block["clips"])
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


def make_generator(protocol: Protocol, settings, opts: RunOptions):
    from vdbench.engine.included_model import DiffusionGenerator
    from vdbench.engine.distributed import rank_device
    from vdbench.engine.generator import load_factory

    if (opts.checkpoint is None) == (opts.model is None):
        raise InputError("give exactly one of --checkpoint PATH or --model pkg.module:factory")
    device = rank_device(opts.device)
    if opts.model is not None:
        gen = load_factory(opts.model, resolution=protocol.resolution, frames=protocol.frames,
                           device=device)
        gen.identity = getattr(gen, "identity", {"name": gen.name, "factory": opts.model})
        return gen
    path = Path(opts.checkpoint)
    if not path.exists():
        raise InputError(f"{path}: no such checkpoint")
    gen = DiffusionGenerator(settings, checkpoint=path, device=device,
                             batch_size=opts.batch_size)
    check_compatible(protocol, gen)
    return gen


def _cache(opts: RunOptions, dist: Dist, name: str, key: dict) -> ChunkCache:
    cache = ChunkCache(opts.cache_root / name, key, opts.resume)
    message = cache.prepare() if dist.is_main else None
    message = dist.broadcast(message)  # also: no rank starts before rank 0 has prepared
    if message and dist.is_main:
        log.warning(message)
        tqdm.write(f"note: {message}")
    return cache


def run_variants(protocol: Protocol, variants: list, opts: RunOptions,
                 dist: Optional[Dist] = None, extractor=None) -> list[dict]:
    """Evaluate each sampler-settings variant on the same clips and seeds; one record each
    (on rank 0; other ranks return an empty list)."""
    from vdbench.reporting.records import make_record, write_record

    dist = dist or Dist()
    generators = [make_generator(protocol, v, opts) for v in variants]  # fail before work
    clips, truth = open_protocol_data(protocol, opts.data_dir)
    references = {"": truth, **reference_data(protocol, opts.data_dir)}
    from vdbench.engine.distributed import rank_device

    features = FeatureSet(protocol, rank_device(opts.device), extractor, opts.c3d_weights,
                          opts.inception_weights)
    chunk_key = {"chunk_size": opts.batch_size, **features.record}
    records = []
    with GracefulStop() as stop:
        t0 = time.perf_counter()
        reals = {}
        for split, data in references.items():
            reals[split] = features.accumulator()
            key = {"kind": "real", "data": data.describe(), "frames": protocol.frames,
                   "context_frames": protocol.context_frames, **chunk_key}
            name = f"{protocol.name}-{protocol.preset}-real{'-' + split if split else ''}"
            drive(real_pass(data, features, _cache(opts, dist, name, key), opts.batch_size,
                            f"real clips{' (' + split + ')' if split else ''}"),
                  dist, stop, reals[split], [])
        real = reals[""]
        real_seconds = time.perf_counter() - t0
        for settings, gen in zip(variants, generators):
            t = time.perf_counter()
            sampler = settings.record() if hasattr(settings, "record") else {}
            key = {"kind": "generated", "protocol": protocol.summary(), "model": gen.identity,
                   "sampler": sampler, "data": clips.describe(), **chunk_key}
            acc, examples = features.accumulator(protocol.samples_per_clip), []
            # named by model too: two checkpoints evaluated into one --out keep their own files
            run_name = f"{protocol.name}-{protocol.preset}-{gen.name}-{_tag(settings) or 'model'}"
            cache = _cache(opts, dist, run_name, key)
            drive(generation_pass(protocol, clips, gen, features, cache, opts.batch_size),
                  dist, stop, acc, examples)
            if not dist.is_main:
                continue
            wall = time.perf_counter() - t
            record = make_record(
                protocol=protocol.summary(), model=gen.identity, sampler=sampler,
                metrics=metrics_of(acc, reals, features.metrics),
                counts={"real": real.count, "generated": acc.count, "clips": len(clips),
                        "samples_per_clip": protocol.samples_per_clip},
                timing=_timing(acc, real, wall, real_seconds, dist, cache),
                extra={"data": clips.describe(), "ground_truth": truth.describe(),
                       **features.record, "cache": str(cache.folder),
                       "seeds": "sample_seed(protocol.seed, clip, sample) (vdbench.engine.generator)"})
            if examples:
                from vdbench.reporting.grid import save_grid

                files = save_grid(np.concatenate(examples)[:MAX_EXAMPLES],
                                  protocol.context_frames, opts.out, f"samples-{run_name}")
                record["sample_grid"] = [str(f) for f in files]
            path = write_record(opts.out, record, tag=_tag(settings))
            record["_path"] = str(path)
            records.append(record)
    return records


def _timing(acc: Accumulator, real: Accumulator, wall: float, real_seconds: float, dist: Dist,
            cache: ChunkCache) -> dict:
    gen_s, met_s = acc.seconds.get("generation", 0.0), acc.seconds.get("metrics", 0.0)
    return {"wall_s": round(wall + real_seconds, 2), "real_features_s": round(real_seconds, 2),
            "generation_s": round(gen_s, 2), "metrics_s": round(met_s, 2),
            "generation_share": round(gen_s / max(gen_s + met_s, 1e-9), 4),
            "samples_per_s": round(acc.count / max(wall, 1e-9), 4),
            "world_size": dist.world, "chunks_cached": acc.chunks_cached,
            "real_chunks_cached": real.chunks_cached}


def _tag(settings) -> str:
    if not hasattr(settings, "name"):
        return ""
    return f"{settings.name}-{settings.conditioning}-{settings.steps}"
