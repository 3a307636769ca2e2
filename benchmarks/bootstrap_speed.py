"""Time of the Fréchet bootstrap: 1,000 replicates of FVD at 2,048 vs 2,048 I3D-sized features.

    python benchmarks/bootstrap_speed.py [--n 2048] [--dim 400] [--replicates 1000]
                                         [--peer-replicates 5] [--threads 2] [--record]

vdbench's path (vdbench.metrics.uncertainty.weighted_frechet): each replicate's moments are
weighted sums of the stored rows and the trace term comes from batched float64
eigendecompositions. The peer, timed in the same run on fewer replicates: the naive bootstrap
that re-stacks the drawn rows, fits both Gaussians again (numpy) and takes the matrix square
root with scipy.linalg.sqrtm (as pytorch-fid / StyleGAN-V compute FID). Both paths compute the
same distances (checked below to 1e-6 relative on the peer's replicates). Goal: ≤ 30 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import MACHINE, record  # noqa: E402


def naive_frechet(x1: np.ndarray, x2: np.ndarray) -> float:
    import scipy.linalg

    mu1, mu2 = x1.mean(0), x2.mean(0)
    s1, s2 = np.cov(x1, rowvar=False), np.cov(x2, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean.real))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--dim", type=int, default=400)
    ap.add_argument("--replicates", type=int, default=1000)
    ap.add_argument("--peer-replicates", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()

    import torch

    from vdbench.metrics.uncertainty import replicate_weights, weighted_frechet

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    real = rng.standard_normal((args.n, args.dim))
    gen = rng.standard_normal((args.n, args.dim)) * 1.1 + 0.2
    ids = np.arange(args.n)
    wg, wr = replicate_weights(ids, ids, False, args.replicates, seed=0)
    load = os.getloadavg()[0]
    t, cpu = time.perf_counter(), time.process_time()
    ours = weighted_frechet(real, wr, gen, wg)
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    load = max(load, os.getloadavg()[0])
    k = args.peer_replicates
    t = time.perf_counter()
    peer = [naive_frechet(np.repeat(real, wr[r], axis=0), np.repeat(gen, wg[r], axis=0))
            for r in range(k)]
    peer_per = (time.perf_counter() - t) / k
    err = float(np.max(np.abs(ours[:k] - peer) / np.abs(peer)))
    peer_total = peer_per * args.replicates
    print(f"vdbench: {args.replicates} replicates of FVD, {args.n} vs {args.n} × {args.dim}: "
          f"{seconds:.1f} s ({1000 * seconds / args.replicates:.1f} ms per replicate); "
          f"CPU time {cpu:.1f} s; load average up to {load:.1f} on {os.cpu_count()} cores")
    print(f"peer (re-stack + scipy sqrtm), {k} replicates: {peer_per:.2f} s per replicate, "
          f"{peer_total:.0f} s for {args.replicates}; ratio {peer_total / seconds:.1f}x; "
          f"largest relative difference {err:.2g}")
    if err > 1e-6:
        raise SystemExit(f"the two paths disagree: {err:.3g} relative")
    if args.record:
        command = "python " + " ".join(["benchmarks/bootstrap_speed.py", *sys.argv[1:]])
        name = f"{args.replicates}rep_{args.n}x{args.n}_d{args.dim}"
        # the wall time depends on how busy the shared machine was: say so in the row
        machine = f"{MACHINE}; load average up to {load:.1f} during the run"
        record([{"benchmark": "bootstrap_speed", "metric": f"fvd_bootstrap_s_{name}",
                 "value": round(seconds, 2), "unit": "s",
                 "peer": f"re-stack + scipy.linalg.sqrtm, {k} replicates extrapolated",
                 "peer_value": round(peer_total, 1),
                 "ratio": round(peer_total / seconds, 2)},
                {"benchmark": "bootstrap_speed", "metric": f"fvd_bootstrap_cpu_s_{name}",
                 "value": round(cpu, 2), "unit": "CPU s"}], command, machine)


if __name__ == "__main__":
    main()
