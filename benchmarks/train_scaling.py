"""Training-step time of 1 process × 2 threads against 2 processes × 1 thread (torchrun, gloo)
on this CPU, for the same global batch.

Wall time per step is the figure asked for; on a shared machine it depends on the other load
(two OpenMP threads wait for each other at every parallel region, which costs most when the
cores are oversubscribed), so the CPU seconds per step (summed over processes) and the load
average during the run are recorded too.

Both cases run the real command (``vdbench train``; ``torchrun --nproc-per-node 2 -m vdbench
train``) on the same random videos, with the DataLoader in the training process
(``--data-workers 0``) so no extra process competes for the cores. The step time is the median
of ``1/steps_per_s`` in ``log.jsonl`` over the steps after ``--warmup``. Data parallelism pays
a gradient all-reduce per step and gains per-process parallelism over the batch; the ratio says
which wins here.

Usage:  python benchmarks/train_scaling.py [--config tiny] [--steps 8] [--warmup 2] [--record]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import MACHINE, record  # noqa: E402


def step_seconds(nproc: int, threads: int, args: list[str], out: Path,
                 warmup: int) -> tuple[float, float]:
    """(median wall seconds per step, median CPU seconds per step summed over processes)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    launcher = ([sys.executable, "-m", "vdbench"] if nproc == 1 else
                [sys.executable, "-m", "torch.distributed.run", "--standalone",
                 f"--nproc-per-node={nproc}", "-m", "vdbench"])
    subprocess.run(launcher + args + ["--out", str(out)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    rows = [json.loads(r) for r in (out / "log.jsonl").read_text().splitlines()]
    rows = rows[warmup:]
    # log.jsonl holds rank 0's CPU time; every rank does the same work on its share.
    return (statistics.median(1.0 / r["steps_per_s"] for r in rows),
            statistics.median(r["cpu_s"] for r in rows) * nproc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8, help="the global batch")
    parser.add_argument("--record", action="store_true",
                        help="append the result to results/benchmarks.csv")
    opts = parser.parse_args()
    import numpy as np

    from vdbench.model.configs import preset

    video = preset(opts.config).video
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "videos.npy"
        shape = (16, video.frames * video.frameskip + 4, video.height, video.width, 3)
        np.save(data, np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8))
        args = ["train", "--config", opts.config, "--data", str(data), "--steps",
                str(opts.steps), "--batch-size", str(opts.batch_size), "--no-progress",
                "--data-workers", "0", "--set", f"train.checkpoint_every={opts.steps}"]
        load = os.getloadavg()[0]
        one, one_cpu = step_seconds(1, 2, args, Path(tmp) / "one", opts.warmup)
        two, two_cpu = step_seconds(2, 1, args, Path(tmp) / "two", opts.warmup)
        load = max(load, os.getloadavg()[0])
    name = f"{opts.config}_b{opts.batch_size}"
    print(f"1 process x 2 threads: {one:.3f} s/step ({one_cpu:.3f} CPU s); "
          f"2 processes x 1 thread: {two:.3f} s/step ({two_cpu:.3f} CPU s); "
          f"ratio (2 proc / 1 proc) {two / one:.2f} wall, {two_cpu / one_cpu:.2f} CPU; "
          f"1-min load average up to {load:.1f}")
    if opts.record:
        command = "python benchmarks/train_scaling.py " + " ".join(sys.argv[1:])
        machine = f"{MACHINE}; 1-min load average {load:.1f} during the run"
        peer = "1 process x 2 threads"
        record([{"benchmark": "train_scaling", "metric": f"step_s_1proc_2threads_{name}",
                 "value": f"{one:.4f}", "unit": "s"},
                {"benchmark": "train_scaling", "metric": f"step_s_2proc_1thread_{name}",
                 "value": f"{two:.4f}", "unit": "s", "peer": peer,
                 "peer_value": f"{one:.4f}", "ratio": f"{two / one:.2f}"},
                {"benchmark": "train_scaling", "metric": f"step_cpu_s_2proc_1thread_{name}",
                 "value": f"{two_cpu:.4f}", "unit": "CPU s", "peer": peer,
                 "peer_value": f"{one_cpu:.4f}", "ratio": f"{two_cpu / one_cpu:.2f}"}],
               command.strip(), machine)


if __name__ == "__main__":
    main()
