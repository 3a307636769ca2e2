"""Peak memory and time of `vdbench fvd` on N vs N random uint8 clips of 16×64×64.

    python benchmarks/fvd_memory.py --n 512 2048 [--record]

Writes two .npy files per N into a temporary folder, runs the real CLI in a subprocess and reads
the child's peak RSS (ru_maxrss). Streaming means the peak stays flat as N grows; the goal is
< 3 GB at N = 2,048.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import record  # noqa: E402


def write_clips(path: Path, n: int, seed: int) -> None:
    """Random clips written in chunks, so this script's own memory stays small."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, 16, 64, 64, 3))
    rng = np.random.default_rng(seed)
    for start in range(0, n, 256):
        stop = min(n, start + 256)
        out[start:stop] = rng.integers(0, 256, size=(stop - start, 16, 64, 64, 3), dtype=np.uint8)
    out.flush()
    del out


def run_fvd(real: Path, gen: Path, batch_size: int, threads: int) -> tuple[float, float, str]:
    """(peak RSS of the child in MiB, seconds, last output line)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.time()
    proc = subprocess.run([sys.executable, "-m", "vdbench", "fvd", str(real), str(gen),
                           "--batch-size", str(batch_size), "--threads", str(threads)],
                          capture_output=True, text=True)
    seconds = time.time() - t
    if proc.returncode != 0:
        raise SystemExit(f"vdbench fvd failed: {proc.stderr.strip()[-500:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:
        print("note: peak RSS did not exceed an earlier child's; run one N per invocation")
    return peak / 1024, seconds, proc.stdout.strip().splitlines()[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[512, 2048])
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    rows = []
    # ru_maxrss of RUSAGE_CHILDREN is the max over all children: run the smallest N first.
    for n in sorted(args.n):
        with tempfile.TemporaryDirectory() as tmp:
            real, gen = Path(tmp) / "real.npy", Path(tmp) / "gen.npy"
            write_clips(real, n, 1)
            write_clips(gen, n, 2)
            peak, seconds, line = run_fvd(real, gen, args.batch_size, args.threads)
        print(f"N = {n} vs {n}: peak RSS {peak:.0f} MiB, {seconds:.0f} s "
              f"({2 * n / seconds:.2f} videos/s), {line}")
        rows += [
            {"benchmark": "fvd_memory", "metric": f"peak_rss_n{n}", "value": f"{peak:.0f}",
             "unit": "MiB", "peer": "", "peer_value": "", "ratio": ""},
            {"benchmark": "fvd_memory", "metric": f"videos_per_s_n{n}_16x64x64",
             "value": f"{2 * n / seconds:.2f}", "unit": "videos/s", "peer": "", "peer_value": "",
             "ratio": ""},
        ]
    if args.record:
        record(rows, "python " + " ".join(shlex.quote(a) for a in sys.argv)
               + f"  # load avg {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
