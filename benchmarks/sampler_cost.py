"""Wall time per sampling step for the tiny U-Net on CPU: plain ancestral (eq. 4), Langevin
predictor-corrector (eq. 5, ~2 network evaluations per step), classifier-free guidance (eq. 6,
one batched call) and reconstruction guidance (eq. 7, forward + backward).

Goals (issue 4): a reconstruction-guidance step ≤ 3× a plain step, a CFG step ≤ 2.1×.
Run from the repo root; appends rows to results/benchmarks.csv:

    .venv/bin/python benchmarks/sampler_cost.py --batch-size 2 --steps 5 --repeats 5
"""

from __future__ import annotations

import argparse
import csv
import datetime
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch

from vdbench.model.conditioning import ClassifierFreeGuidance, condition
from vdbench.model.configs import preset
from vdbench.model.diffusion import DiffusionDenoiser
from vdbench.model.samplers import PerSampleNoise, ancestral, predictor_corrector
from vdbench.model.unet3d import UNet3D

MACHINE = "2-core Intel Xeon (Sapphire Rapids, AVX-512), 24 GiB, CPU only, torch 2.13.0+cpu"
HEADER = ["date", "benchmark", "metric", "value", "unit", "peer", "peer_value", "ratio",
          "machine", "command"]


def tiny_denoiser(seed: int = 0) -> tuple[DiffusionDenoiser, tuple[int, int, int, int], str]:
    """The ``tiny`` preset made class-conditional, random weights (timing only); returns the
    denoiser, the (C, T, H, W) window and a descriptor of the network for the results rows."""
    config = preset("tiny").replace(**{"unet.cond": "class", "unet.num_classes": 10})
    torch.manual_seed(seed)
    net = UNet3D(config).eval()
    video, unet = config.video, config.unet
    label = (f"{video.frames}x{video.height}x{video.width}_base{unet.base_channels}"
             f"_mults{''.join(str(m) for m in unet.channel_mults)}")
    return DiffusionDenoiser(net, config.diffusion.prediction), \
        (video.channels, video.frames, video.height, video.width), label


def _methods(denoiser, shape, batch: int):
    """name → (sampler, denoiser, extra sampler kwargs); all use the same conditional network."""
    labels = torch.arange(batch) % 10
    x_a = torch.zeros(batch, shape[0], shape[1] // 2, *shape[2:])
    frames = list(range(shape[1] // 2))
    guided, replace = condition(denoiser, method="reconstruction", x_a=x_a, frames=frames, w_r=2.0)
    return {
        "ancestral_step": (ancestral, denoiser, {"cond": labels}),
        "langevin_step": (predictor_corrector, denoiser, {"cond": labels}),
        "cfg_step": (ancestral, ClassifierFreeGuidance(denoiser, 2.0, null_value=-1),
                     {"cond": labels}),
        "reconstruction_step": (ancestral, guided, {"cond": labels, "replace": replace}),
    }


def step_times(sampler, denoiser, shape, batch: int, steps: int, kwargs) -> list[float]:
    """Wall times of the interior steps of one run (not the first, not the last, not the final
    x̂(z_0) evaluation), from the sampler callback."""
    stamps = []
    noise = PerSampleNoise(range(batch), shape, dtype=torch.float32)
    sampler(denoiser, noise=noise, steps=steps,
            callback=lambda *_: stamps.append(time.perf_counter()), **kwargs)
    return [b - a for a, b in zip(stamps[:-2], stamps[1:-1], strict=True)]


def measure(methods: dict, shape, batch: int, steps: int, repeats: int) -> dict[str, float]:
    """Median interior step time per method; methods run round-robin so that load from other
    processes on a shared machine hits every method alike. One warm-up round first."""
    if steps < 3:
        raise SystemExit("--steps must be >= 3 (interior steps are timed)")
    times = {name: [] for name in methods}
    for r in range(repeats + 1):
        for name, (sampler, den, kwargs) in methods.items():
            run = step_times(sampler, den, shape, batch, steps, kwargs)
            if r:
                times[name] += run
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks.csv"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    denoiser, shape, label = tiny_denoiser()
    methods = _methods(denoiser, shape, args.batch_size)
    seconds = measure(methods, shape, args.batch_size, args.steps, args.repeats)
    for name, value in seconds.items():
        print(f"{name}: {value:.4f} s/step ({value / seconds['ancestral_step']:.2f}× plain)")
    write_rows(args, seconds, label)


def write_rows(args, seconds: dict[str, float], label: str) -> None:
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    today = datetime.date.today().isoformat()
    plain = seconds["ancestral_step"]
    new = not args.out.exists()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(HEADER)
        for name, value in seconds.items():
            peer = "" if name == "ancestral_step" else "plain ancestral step (same network)"
            writer.writerow([today, "sampler_cost",
                             f"{name}_s_tiny_{args.batch_size}x{label}", f"{value:.4f}", "s",
                             peer, f"{plain:.4f}" if peer else "",
                             f"{value / plain:.2f}" if peer else "", MACHINE, command])


if __name__ == "__main__":
    main()
