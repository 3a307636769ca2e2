"""The `oracle` protocol: samplers and conditioning methods against exact conditional moments.

No data and no weights: the analytic Gaussian video oracle (model/oracle.py) has an exact
denoiser and an exact p(x^b | x^a), so each method's conditional samples can be compared with
the truth (Section 3.1's claim: replacement is incoherent, reconstruction guidance fixes it).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from vdbench.model.conditioning import condition
from vdbench.model.oracle import GaussianVideoOracle, moment_errors
from vdbench.model.samplers import PerSampleNoise
from vdbench.model.settings import SamplingSettings
from vdbench.engine import chunks as chunking
from vdbench.engine.distributed import Dist

# Samples per chunk: fixed, so that every chunk is the same batch whatever the world size and
# 1, 2 or 3 processes give bit-identical samples (see vdbench.engine.chunks).
CHUNK = 64

# Known and generated frames of the 8-frame oracle: extension (first half given) and
# interpolation (every other frame given).
PLANS = {"extension": ([0, 1, 2, 3], [4, 5, 6, 7]), "interpolation": ([0, 2, 4, 6], [1, 3, 5, 7])}


def draw(oracle: GaussianVideoOracle, seed: int, n: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return oracle.sample(torch.randn(n, *oracle.shape, dtype=torch.float64, generator=g))


def sharded(n: int, dist: Dist, sample: Callable[[int, int], torch.Tensor]
            ) -> Optional[torch.Tensor]:
    """``sample(start, stop)`` over [0, n) in chunks spread over the ranks; the concatenation in
    index order on rank 0, None elsewhere."""
    chunks = chunking.plan(n, 1, CHUNK)
    parts: list[np.ndarray] = []
    for r in range(chunking.rounds(chunks, dist.world)):
        k = r * dist.world + dist.rank
        mine = sample(chunks[k].start, chunks[k].stop).numpy() if k < len(chunks) else None
        gathered = dist.gather(mine)
        if dist.is_main:
            parts.extend(p for p in gathered if p is not None)
    return torch.from_numpy(np.concatenate(parts)) if dist.is_main else None


def _seeded(settings: SamplingSettings, denoiser: Any, shape: tuple[int, ...], seed0: int,
            replace: Any = None) -> Callable[[int, int], torch.Tensor]:
    """``sample(a, b)`` for :func:`sharded`: samples a..b−1, sample i seeded ``seed0 + i``."""
    def sample(a: int, b: int) -> torch.Tensor:
        return settings.draw(denoiser, noise=PerSampleNoise(range(seed0 + a, seed0 + b), shape),
                             replace=replace)
    return sample


def conditional_rows(plan: str, oracle: GaussianVideoOracle, n: int,
                     samplers: Sequence[SamplingSettings] = (SamplingSettings(),),
                     weights=(1.0, 2.0, 5.0), seed0: int = 0, floors: bool = True,
                     dist: Optional[Dist] = None):
    """Yield one dict per (sampler settings, method, w_r): moment errors of x^b against the
    truth. Each settings' sampler, steps, γ and sampler parameters reach the sampler.

    Under torchrun every rank must iterate this generator (the samples are sharded); only rank 0
    yields rows.
    """
    dist = dist or Dist()
    frames_a, frames_b = PLANS[plan]
    x_a = draw(oracle, 123)[:, :, frames_a]
    target = oracle.condition_on_frames(x_a[0], frames_a)
    base = {"plan": plan, "samples": n}
    if floors and dist.is_main:  # Monte Carlo floor (exact draws) and the unconditional prior
        yield {**base, "sampler": "exact", "steps": 0, "method": "exact", "w_r": None,
               **moment_errors(target, draw(target, seed0, n))}
        yield {**base, "sampler": "exact", "steps": 0, "method": "prior", "w_r": None,
               **moment_errors(target, draw(oracle, seed0, n)[:, :, frames_b])}
    configs = [("replacement", 0.0), ("replacement-posterior", 0.0)]
    configs += [("reconstruction", w) for w in weights]
    for s in samplers:
        name, steps = s.sampler, s.steps
        if floors:  # the sampler on the exact conditional oracle: its discretisation floor
            x = sharded(n, dist, _seeded(s, target, target.shape, seed0))
            if x is not None:
                yield {**base, "sampler": name, "steps": steps, "method": "exact-denoiser",
                       "w_r": None, **moment_errors(target, x)}
        for method, w_r in configs:
            started = time.perf_counter()
            denoiser, replace = condition(oracle, method=method, x_a=x_a, frames=frames_a,
                                          w_r=w_r)
            x = sharded(n, dist, _seeded(s, denoiser, oracle.shape, seed0, replace))
            if x is None:
                continue
            yield {**base, "sampler": name, "steps": steps, "method": method, "w_r": w_r,
                   **moment_errors(target, x[:, :, frames_b]),
                   "seconds": round(time.perf_counter() - started, 2)}


def run_oracle(protocol, samplers: Sequence[SamplingSettings], weights, out_dir: str,
               dist: Optional[Dist] = None):
    """Both plans, every method, each sampler settings; one result record. Returns (record,
    rows) on rank 0 and (None, []) on the other ranks of a distributed run."""
    from vdbench.reporting.records import make_record, write_record

    dist = dist or Dist()
    started = time.perf_counter()
    oracle = GaussianVideoOracle.power_law()
    rows = []
    for plan in PLANS:
        rows.extend(conditional_rows(plan, oracle, protocol.samples_per_clip, samplers,
                                     weights, seed0=protocol.seed, dist=dist))
    if not dist.is_main:
        return None, []
    metrics = {f"{r['plan']}/{r['sampler']}/{r['method']}"
               + ("" if r["w_r"] in (None, 0.0) else f"/w_r={r['w_r']:g}"):
               {k: r[k] for k in protocol.metrics if k in r} for r in rows}
    record = make_record(
        protocol=protocol.summary(), model={"name": "gaussian-oracle", "kind": "oracle",
                                            "shape": list(oracle.shape)},
        sampler={"variants": [s.record() for s in samplers], "weights": list(weights)},
        metrics=metrics, counts={"samples": protocol.samples_per_clip},
        timing={"wall_s": round(time.perf_counter() - started, 2), "world_size": dist.world,
                "chunk_size": CHUNK})
    path = write_record(out_dir, record)
    record["_path"] = str(path)
    return record, rows
