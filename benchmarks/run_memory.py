"""Peak memory of a whole `vdbench run` as the sample count grows (issue 7's memory bound).

    python benchmarks/run_memory.py --samples 512 2048 [--record]

Runs the real CLI (`vdbench run shapes`, quick preset, N/8 clips × 8 samples) with a cheap
seeded-noise generator (tests/fast_generator.py), so the time goes into the runner, the chunk
cache and the real I3D features rather than into a model. Each N runs under its own parent
process, whose RUSAGE_CHILDREN peak is exactly that run's peak RSS. Streaming accumulation means
the peak stays flat as N grows; the ratio printed is peak(N_max) / peak(N_min) measured in the
same invocation. Also reports samples/s and the share of time in generation vs metrics from the
run's own record.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.common import record  # noqa: E402

PER_CLIP = 8
CHILD = """
import resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
if proc.returncode:
    sys.exit(proc.stderr[-1500:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measure(n: int, threads: int, batch_size: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "vdbench", "run", "shapes", "--model",
               "tests.fast_generator:factory", "--preset", "quick", "--clips", str(n // PER_CLIP),
               "--samples-per-clip", str(PER_CLIP), "--batch-size", str(batch_size),
               "--threads", str(threads), "--out", out]
        proc = subprocess.run([sys.executable, "-c", CHILD, *cmd], cwd=ROOT,
                              capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"run with {n} samples failed: {proc.stderr[-1500:]}")
        (rec_path,) = Path(out).glob("*.json")
        rec = json.loads(rec_path.read_text())
        return {"peak_mib": int(proc.stdout.split()[-1]) / 1024, "timing": rec["timing"],
                "counts": rec["counts"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, nargs="+", default=[512, 2048])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    results = {n: measure(n, args.threads, args.batch_size) for n in args.samples}
    low, high = min(results), max(results)
    rows = []
    for n, r in results.items():
        t = r["timing"]
        print(f"{n:6d} samples ({r['counts']['real']} real clips): peak RSS "
              f"{r['peak_mib']:.0f} MiB, {t['samples_per_s']:.2f} samples/s, generation share "
              f"{t['generation_share']:.3f}, wall {t['wall_s']:.0f} s")
        rows.append({"benchmark": "run_memory", "metric": f"peak_rss_{n}_samples",
                     "value": round(r["peak_mib"]), "unit": "MiB"})
        rows.append({"benchmark": "run_memory", "metric": f"samples_per_s_{n}_samples",
                     "value": t["samples_per_s"], "unit": "samples/s"})
    ratio = results[high]["peak_mib"] / results[low]["peak_mib"]
    print(f"peak RSS ratio {high} / {low} samples: {ratio:.3f}")
    rows.append({"benchmark": "run_memory", "metric": f"peak_rss_ratio_{high}_vs_{low}",
                 "value": round(ratio, 3), "unit": "x",
                 "peer": f"same run with {low} samples",
                 "peer_value": round(results[low]["peak_mib"]), "ratio": round(ratio, 3)})
    if args.record:
        record(rows, "python " + " ".join(["benchmarks/run_memory.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
