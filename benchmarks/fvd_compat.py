#!/usr/bin/env python
"""FVD parity modes on the same clips: each mode's FVD, its difference from the TF reference,
and where the difference comes from (preprocessing, statistics, float precision).

    python benchmarks/fvd_compat.py [--clips 64] [--frames 16] [--out results/fvd_compat.csv]

Clips the repository makes itself (vdbench.protocols.datasets.shapes, test split):
- ``random-sprites``: 64×64 real clips vs new draws of the same sprite process (the trivial
  baseline of vdbench.engine.baselines.RandomSprites: other seeds, same motion);
- ``noisy-copy``: the real clips vs themselves plus Gaussian pixel noise (σ = 16, clipped);
- ``random-sprites-48x64``: both sides cropped to rows 8–55 (48×64), where the aspect-keeping
  resize and centre crop of VideoGPT differ from the stretching resizes.

For each parity mode M (vdbench.metrics.compat) and clip set:
    delta            = FVD_M − FVD_tf
    delta_preprocess = FVD(M's preprocessing, TF statistics) − FVD_tf
    delta_statistics = FVD(TF preprocessing, M's statistics) − FVD_tf
    interaction      = delta − delta_preprocess − delta_statistics
    delta_float32    = M's Fréchet distance in torch float32 (as VideoGPT computes it) − float64
The network-port difference (their own I3D weight files) is not measured: those files cannot be
fetched offline. Writes the CSV atomically and prints a markdown table.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vdbench.metrics.compat import MODES  # noqa: E402
from vdbench.metrics.compat_frechet import mode_frechet  # noqa: E402
from vdbench.metrics.frechet import GaussianStats  # noqa: E402
from vdbench.util.atomic import atomic_write_text  # noqa: E402

FIELDS = ["clips", "n_real", "n_generated", "mode", "fvd", "delta", "delta_preprocess",
          "delta_statistics", "interaction", "delta_float32", "network_port", "machine",
          "command"]
PORT = "not measured: weights unavailable offline"


def shapes_clips(n: int, frames: int, seed_offset: int = 0) -> np.ndarray:
    """Real test clips (seed_offset 0), or new draws of the same process (RandomSprites)."""
    from vdbench.protocols.datasets.shapes import ShapesDataset, make_sprites, render

    if seed_offset == 0:
        data = ShapesDataset("test", n, 64, frames=frames)
        return np.stack([data.video(i) for i in range(n)])
    return np.stack([render(make_sprites(np.random.default_rng([seed_offset, i]), frames, 64,
                                         ShapesDataset.turn_prob), frames, 64)
                     for i in range(n)])


def clip_sets(n: int, frames: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    real = shapes_clips(n, frames)
    sprites = shapes_clips(n, frames, seed_offset=1000)
    noise = np.random.default_rng(7).normal(0, 16, real.shape)
    noisy = np.clip(real + noise, 0, 255).astype(np.uint8)
    return {"random-sprites": (real, sprites), "noisy-copy": (real, noisy),
            "random-sprites-48x64": (real[:, :, 8:56], sprites[:, :, 8:56])}


def features(videos: np.ndarray, mode: str, model, batch: int = 8) -> np.ndarray:
    from vdbench.metrics.compat_i3d import CompatI3DFeatures
    from vdbench.metrics.fvd import I3DFeatures

    ext = I3DFeatures(model=model) if mode == "tf" else CompatI3DFeatures(mode, model=model)
    return np.concatenate([ext(videos[i:i + batch]) for i in range(0, len(videos), batch)])


def float32_frechet(real: np.ndarray, gen: np.ndarray) -> float:
    """VideoGPT's `frechet_distance` as it computes: torch float32 rows, centred covariance
    ÷(n − 1), torch.svd square roots (TF-GAN's formula)."""
    x1, x2 = torch.from_numpy(real).float(), torch.from_numpy(gen).float()

    def cov(x):
        xc = x - x.mean(0, keepdim=True)
        return xc.T @ xc / (len(x) - 1)

    def sqrt_svd(m):
        u, s, v = torch.svd(m)
        return u @ torch.diag(torch.where(s < 1e-10, s, s.sqrt())) @ v.T

    s1, s2 = cov(x1), cov(x2)
    r = sqrt_svd(s1)
    trace = torch.trace(s1 + s2) - 2 * torch.trace(sqrt_svd(r @ s2 @ r))
    return float(trace + ((x1.mean(0) - x2.mean(0)) ** 2).sum())


def mode_rows(name: str, feats: dict[str, tuple[np.ndarray, np.ndarray]]) -> list[dict]:
    stats = {m: tuple(GaussianStats.from_features(x) for x in pair) for m, pair in feats.items()}
    tf_st = MODES["tf"].statistics

    def fd(pre: str, st) -> float:
        return mode_frechet(*stats[pre], st.covariance, st.sqrt, warn=False)

    base = fd("tf", tf_st)
    rows = []
    for mode in MODES.values():
        value = fd(mode.name, mode.statistics)
        pre, sta = fd(mode.name, tf_st) - base, fd("tf", mode.statistics) - base
        # only where theirs computes in float32 (VideoGPT); the others compute in float64
        f32 = float32_frechet(*feats[mode.name]) - value if mode.statistics.float32 else None
        real, gen = stats[mode.name]
        rows.append({"clips": name, "n_real": real.count, "n_generated": gen.count,
                     "mode": mode.name, "fvd": value, "delta": value - base,
                     "delta_preprocess": pre, "delta_statistics": sta,
                     "interaction": value - base - pre - sta, "delta_float32": f32,
                     "network_port": "same weights" if mode.name == "tf" else PORT})
    return rows


def machine() -> str:
    import scipy

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"torch {torch.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
            f"threads {torch.get_num_threads()}")


def markdown(rows: list[dict]) -> str:
    head = ("| clips | mode | FVD | Δ vs tf | Δ preprocessing only | Δ statistics only | "
            "interaction | Δ float32 (theirs) | network port |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append(f"| {r['clips']} | {r['mode']} | {r['fvd']:.3f} | {r['delta']:+.3f} | "
                     f"{r['delta_preprocess']:+.3f} | {r['delta_statistics']:+.3f} | "
                     f"{r['interaction']:+.3f} | {_sci(r['delta_float32'])} | "
                     f"{r['network_port']} |")
    return "\n".join(lines)


def _sci(value) -> str:
    return "–" if value is None else f"{value:+.2e}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=64, help="clips per side (≥ 2)")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--out", default="results/fvd_compat.csv")
    args = parser.parse_args()
    if args.clips < 2 or args.frames < 9:
        parser.error("--clips must be ≥ 2 and --frames ≥ 9 (I3D)")
    from vdbench.metrics.i3d_weights import fetch_i3d_weights, load_i3d
    from vdbench.metrics.precision import exact_float32

    exact_float32()
    model = load_i3d(fetch_i3d_weights())
    command = " ".join(["python benchmarks/fvd_compat.py", *sys.argv[1:]])
    rows, start = [], time.perf_counter()
    for name, (real, gen) in clip_sets(args.clips, args.frames).items():
        feats = {m: (features(real, m, model), features(gen, m, model)) for m in MODES}
        rows += mode_rows(name, feats)
        print(f"{name}: done at {time.perf_counter() - start:.0f} s", file=sys.stderr)
    desc = machine()
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, "machine": desc, "command": command})
    atomic_write_text(args.out, buf.getvalue())
    print(markdown(rows))
    print(f"\n{args.clips} clips a side, {args.frames} frames; {desc}; "
          f"{time.perf_counter() - start:.0f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
