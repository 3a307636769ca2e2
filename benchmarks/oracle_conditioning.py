"""Measure samplers and conditioning methods against the exact Gaussian video oracle.

Writes ``results/oracle_conditioning.csv`` (one row per configuration). Run from the repo root:

    .venv/bin/python benchmarks/oracle_conditioning.py --samples 1024 \
        --out results/oracle_conditioning.csv

Experiments (oracle: 3 channels × 8 frames × 8×8, see model/oracle.py):
- ``unconditional``: error of sample moments against the prior vs steps, ancestral vs Langevin.
- ``extension``: p(x^b | x^a) with frames 0–3 known and 4–7 generated; ``interpolation``: the
  same with frames 0, 2, 4, 6 known and 1, 3, 5, 7 generated. Rows ``exact`` (draws
  from the exact conditional: the Monte Carlo floor), ``exact-denoiser`` (the sampler run on the
  exact conditional oracle: the discretisation floor), ``prior`` (unconditional frames 4–7),
  both replacement variants and reconstruction guidance at several w_r.
- ``super-resolution``: guidance towards a 4×4 version of a prior draw (eq. 8): relative error of
  the downsampled sample against x^a, and of the sample mean against the exact E[x | D x = x^a].
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import torch

from vdbench.model.conditioning import LowResObservation, condition, downsample
from vdbench.model.oracle import GaussianVideoOracle, moment_errors
from vdbench.model.registry import sampler_function
from vdbench.model.samplers import PerSampleNoise
from vdbench.model.settings import SamplingSettings
from vdbench.engine.oracle_protocol import PLANS, conditional_rows, draw

FIELDS = ["experiment", "sampler", "steps", "gamma", "method", "w_r", "samples", "mean_rel",
          "mean_white", "var_bin", "var_rms", "var_mean_log", "cov_fro", "lowres_rel", "seconds"]


def _row(experiment, sampler, steps, method, w_r, n, errors, started, gamma=0.0) -> dict:
    row = {"experiment": experiment, "sampler": sampler, "steps": steps, "gamma": gamma,
           "method": method, "w_r": w_r, "samples": n,
           "seconds": round(time.perf_counter() - started, 1)}
    row.update({k: (f"{v:.4f}" if isinstance(v, float) and not math.isnan(v) else "")
                for k, v in errors.items()})
    print({k: row[k] for k in row if row[k] != ""}, flush=True)
    return row


def unconditional(oracle, n: int, steps_list, seed0: int) -> list[dict]:
    rows = []
    started = time.perf_counter()
    rows.append(_row("unconditional", "exact", 0, "none", "", n,
                     moment_errors(oracle, draw(oracle, seed0, n)), started))
    for name, gamma in (("ancestral", 0.0), ("langevin", 0.0), ("ancestral", 1.0)):
        for steps in steps_list:
            started = time.perf_counter()
            noise = PerSampleNoise(range(seed0, seed0 + n), oracle.shape)
            x = sampler_function(name)(oracle, noise=noise, steps=steps, gamma=gamma)
            rows.append(_row("unconditional", name, steps, "none", "", n,
                             moment_errors(oracle, x), started, gamma))
    return rows


def conditional(plan: str, oracle, n: int, steps: int, samplers, weights,
                seed0: int) -> list[dict]:
    rows = []
    settings = [SamplingSettings(sampler=name, steps=steps) for name in samplers]
    for r in conditional_rows(plan, oracle, n, settings, weights, seed0):
        errors = {k: v for k, v in r.items() if k in FIELDS[7:14]}
        rows.append(_row(plan, r["sampler"], r["steps"], r["method"],
                         "" if r["w_r"] is None else r["w_r"], n, errors,
                         time.perf_counter() - r.get("seconds", 0.0)))
    return rows


def lowres_posterior_mean(oracle, x_low: torch.Tensor) -> torch.Tensor:
    """Exact E[x | D x = x^a] = Σ Dᵀ (D Σ Dᵀ)^{-1} x^a with D the (linear) downsampling."""
    size = tuple(x_low.shape[-2:])
    eye = torch.eye(math.prod(oracle.shape), dtype=torch.float64).reshape(-1, *oracle.shape)
    d = downsample(eye, size).reshape(eye.shape[0], -1).T  # [M, N]
    sigma = oracle.covariance()
    gain = torch.linalg.solve(d @ sigma @ d.T, d @ sigma).T  # Σ Dᵀ (D Σ Dᵀ)^{-1}
    return (gain @ x_low.reshape(-1)).reshape(oracle.shape)


def super_resolution(oracle, n: int, steps: int, weights, seed0: int) -> list[dict]:
    x_low = downsample(draw(oracle, 321), (4, 4))
    mean = lowres_posterior_mean(oracle, x_low[0])
    rows = []
    for w_r in weights:
        started = time.perf_counter()
        denoiser, _ = condition(oracle, method="none", x_a=x_low, frames=[], w_r=w_r,
                                lowres=LowResObservation(x_low))
        noise = PerSampleNoise(range(seed0, seed0 + n), oracle.shape)
        x = sampler_function("ancestral")(denoiser, noise=noise, steps=steps) if w_r > 0 else \
            sampler_function("ancestral")(oracle, noise=noise, steps=steps)
        errors = {
            "mean_rel": float((x.mean(0) - mean).norm() / mean.norm()),
            "lowres_rel": float((downsample(x, (4, 4)) - x_low).norm()
                                / (x_low.norm() * math.sqrt(n))),
        }
        rows.append(_row("super-resolution", "ancestral", steps, "reconstruction", w_r, n,
                         errors, started))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=256, help="steps for the conditional runs")
    parser.add_argument("--out", type=Path, default=Path("results/oracle_conditioning.csv"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    oracle = GaussianVideoOracle.power_law()
    rows = unconditional(oracle, args.samples, [4, 16, 64, 256], seed0=0)
    for plan in PLANS:
        rows += conditional(plan, oracle, args.samples, args.steps, ["ancestral", "langevin"],
                            [1.0, 2.0, 5.0, 10.0, 20.0], seed0=10_000)
    rows += super_resolution(oracle, args.samples // 2, 64, [0.0, 1.0, 2.0, 5.0, 10.0, 20.0],
                             seed0=20_000)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, restval="")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
