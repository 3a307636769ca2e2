"""KVD vs FVD on two sets drawn from one distribution: the mean over replicates, which should be
0, at several sample sizes; and the time of one KVD at the default 100 subsets of 1,000.

    python benchmarks/kvd_bias.py --n 64 256 512 --replicates 200 [--record]

Features: a correlated 400-dimensional Gaussian (the size of I3D's logits), both sets from it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import record  # noqa: E402
from vdbench.metrics.frechet import GaussianStats, frechet_distance  # noqa: E402
from vdbench.metrics.kernel import kvd  # noqa: E402

DIM = 400


def replicate(rng, cov_root: np.ndarray, n: int) -> tuple[float, float]:
    """(KVD, FVD) of two independent sets of ``n`` rows from one Gaussian."""
    x = rng.normal(size=(n, DIM)) @ cov_root + 1.0
    y = rng.normal(size=(n, DIM)) @ cov_root + 1.0
    fvd = frechet_distance(GaussianStats.from_features(x), GaussianStats.from_features(y),
                           warn=False)
    return kvd(x, y).mean, fvd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[64, 256, 512])
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    cov_root = rng.normal(size=(DIM, DIM)) / np.sqrt(DIM)
    rows = []
    print("N      mean KVD ± s.e.            mean FVD ± s.e.")
    for n in args.n:
        kvds, fvds = np.array([replicate(rng, cov_root, n) for _ in range(args.replicates)]).T
        se = lambda v: np.std(v, ddof=1) / np.sqrt(len(v))  # noqa: E731
        print(f"{n:<6} {np.mean(kvds):+.5f} ± {se(kvds):.5f}      "
              f"{np.mean(fvds):.3f} ± {se(fvds):.3f}")
        rows += [{"benchmark": "kvd_bias", "metric": f"mean_kvd_same_dist_n{n}_d{DIM}",
                  "value": f"{np.mean(kvds):.6f}", "unit": f"± {se(kvds):.6f} s.e.",
                  "peer": "mean FVD, same replicates", "peer_value": f"{np.mean(fvds):.4f}"}]
    x, y = rng.normal(size=(2048, DIM)), rng.normal(size=(2048, DIM))
    t = time.perf_counter()
    kvd(x, y)
    seconds = time.perf_counter() - t
    print(f"one KVD, 2,048 vs 2,048, 100 subsets of 1,000: {seconds:.1f} s")
    rows.append({"benchmark": "kvd_bias", "metric": "kvd_seconds_2048_vs_2048",
                 "value": f"{seconds:.2f}", "unit": "s"})
    if args.record:
        record(rows, "python benchmarks/kvd_bias.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
