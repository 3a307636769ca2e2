"""`vdbench stats` on N clips: one process vs two torchrun processes, and what the chunk cache
costs and saves.

    python benchmarks/standalone_shard.py [--clips 48] [--record]

Random uint8 clips [N, 16, 64, 64, 3] (I3D resizes them to 224, as any input); wall time of the
whole command (interpreter start and weights loading included), one run per case, each
process with one torch thread unless the case says otherwise. Every case's statistics must be
bit-identical to the first's (checked here).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.common import record  # noqa: E402


def timed(args: list[str], nproc: int = 1) -> tuple[float, str]:
    """(wall seconds, the command's report of cached/computed chunks or "")."""
    launcher = [sys.executable, "-m", "vdbench"] if nproc == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        f"--nproc-per-node={nproc}", "-m", "vdbench"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    res = subprocess.run(launcher + args, env=env, capture_output=True, text=True, cwd=ROOT)
    if res.returncode:
        raise SystemExit(res.stderr[-3000:])
    seconds = time.perf_counter() - t
    said = [x.split(": ")[-1] for x in res.stderr.splitlines() if "chunks from the cache" in x]
    return seconds, (said or [""])[-1]


def arrays(path: Path) -> dict:
    with np.load(path) as z:
        return {k: z[k].tobytes() for k in z.files if k != "meta_source"}


def cases(work: Path, clips: int) -> list[tuple[str, tuple[float, str], Path]]:
    data, cache = work / "clips.npy", work / "cache"
    np.save(data, np.random.default_rng(0).integers(0, 256, (clips, 16, 64, 64, 3), np.uint8))
    base = ["stats", str(data), "--batch-size", "4"]
    chunked = [*base, "--chunk-size", "8"]
    cached = [*chunked, "--cache-dir", str(cache), "--resume"]
    out: list[tuple[str, tuple[float, str], Path]] = []

    def case(name: str, args: list[str], nproc: int = 1) -> None:
        target = work / f"{len(out)}.npz"
        out.append((name, timed([*args, "-o", str(target)], nproc), target))

    case("1 process, 1 thread", [*base, "--threads", "1"])
    case("1 process, 2 threads", [*base, "--threads", "2"])
    case("2 processes (torchrun, gloo), 1 thread each", [*chunked, "--threads", "1"], nproc=2)
    case("1 process, 1 thread, caching every chunk", [*cached, "--threads", "1"])
    case("resumed, every chunk cached", [*cached, "--threads", "1"])
    for i, chunk in enumerate(sorted(cache.rglob("chunk-*.npz"))):
        if i % 2:
            chunk.unlink()  # as if killed: every other chunk missing
    case("resumed, half the chunks cached", [*cached, "--threads", "1"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--record", action="store_true", help="append to results/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        found = cases(Path(tmp), args.clips)
        first = arrays(found[0][2])
        for name, _, path in found:
            assert arrays(path) == first, f"{name}: statistics differ from the first case's"
    rows = [{"case": name, "seconds": round(s, 2), "clips_per_s": round(args.clips / s, 3),
             "chunks": said} for name, (s, said), _ in found]
    print(json.dumps(rows, indent=2))
    if args.record:
        record([{"benchmark": "standalone_shard",
                 "metric": r["case"] + (f" ({r['chunks']})" if r["chunks"] else ""),
                 "value": r["seconds"], "unit": "s"} for r in rows],
               f"python benchmarks/standalone_shard.py --clips {args.clips}")


if __name__ == "__main__":
    main()
