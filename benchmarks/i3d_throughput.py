"""I3D throughput on CPU: our PyTorch I3D vs the i3d-jax (Flax/XLA) port, in the same run.

    python benchmarks/i3d_throughput.py [--peer-python /work/i3djax-venv/bin/python] [--record]

Times the network on fp32 input [B, 3, 16, 224, 224] (preprocessing excluded, as in the peer
script): one warm-up call, then the median of --repeats calls. Also times our network with the
fused conv+ReLU path switched off, to show what the fusion buys. FLOPs are counted with
torch.utils.flop_counter (2 × multiply-adds). The peer runs in its own venv (old jax/flax, see
tests/fixtures/README.md) as a subprocess, right after ours, on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import median_seconds, record  # noqa: E402


def flops_per_video(model, frames: int) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    import vdbench.metrics.i3d as i3d

    fused, i3d._FUSED = i3d._FUSED, False  # the counter sees aten convolutions only
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.zeros(1, 3, frames, 224, 224))
    finally:
        i3d._FUSED = fused
    return counter.get_total_flops()


def ours_videos_per_s(model, batch: int, frames: int, repeats: int, fused: bool) -> float:
    import vdbench.metrics.i3d as i3d

    x = torch.rand(batch, frames, 224, 224, 3).mul_(2).sub_(1).permute(0, 4, 1, 2, 3)
    previous, i3d._FUSED = i3d._FUSED, fused and i3d._FUSED
    try:
        with torch.inference_mode():
            return batch / median_seconds(lambda: model(x), repeats)
    finally:
        i3d._FUSED = previous


def peer_videos_per_s(python: str, batch: int, frames: int, repeats: int) -> float | None:
    script = Path(__file__).with_name("i3d_jax_peer.py")
    if not Path(python).exists():
        print(f"peer: {python} not found; see tests/fixtures/README.md to create it")
        return None
    out = subprocess.run([python, str(script), "--batch", str(batch), "--frames", str(frames),
                          "--repeats", str(repeats)], capture_output=True, text=True)
    if out.returncode != 0:
        print(f"peer failed: {out.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])["videos_per_s"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--peer-python", default="/work/i3djax-venv/bin/python")
    ap.add_argument("--record", action="store_true", help="append to results/benchmarks.csv")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from vdbench.metrics.i3d_weights import load_i3d

    model = load_i3d().to(memory_format=torch.channels_last_3d)
    gflop = flops_per_video(model, args.frames) / 1e9
    ours = ours_videos_per_s(model, args.batch, args.frames, args.repeats, fused=True)
    unfused = ours_videos_per_s(model, args.batch, args.frames, args.repeats, fused=False)
    peer = peer_videos_per_s(args.peer_python, args.batch, args.frames, args.repeats)
    print(f"I3D {args.frames}x224x224 fp32, batch {args.batch}, {args.threads} threads, "
          f"{gflop:.1f} GFLOP/video")
    print(f"  ours (fused conv+ReLU): {ours:.2f} videos/s = {ours * gflop:.0f} GFLOP/s")
    print(f"  ours (unfused)        : {unfused:.2f} videos/s = {unfused * gflop:.0f} GFLOP/s")
    print(f"  (1-minute load average: {os.getloadavg()[0]:.2f}; other processes slow both sides)")
    ratio = None
    if peer is not None:
        ratio = ours / peer
        print(f"  i3d-jax (peer)        : {peer:.2f} videos/s;  ours / peer = {ratio:.2f}x")
    if args.record:
        command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
        record([
            {"benchmark": "i3d_throughput", "metric": "videos_per_s_16x224", "value": f"{ours:.3f}",
             "unit": "videos/s", "peer": "i3d-jax 0.0.1 (jax 0.4.13)",
             "peer_value": "" if peer is None else f"{peer:.3f}",
             "ratio": "" if ratio is None else f"{ratio:.2f}"},
            {"benchmark": "i3d_throughput", "metric": "gflops_achieved",
             "value": f"{ours * gflop:.1f}", "unit": "GFLOP/s", "peer": "", "peer_value": "",
             "ratio": ""},
            {"benchmark": "i3d_throughput", "metric": "videos_per_s_unfused",
             "value": f"{unfused:.3f}", "unit": "videos/s", "peer": "ours fused",
             "peer_value": f"{ours:.3f}", "ratio": f"{unfused / ours:.2f}"},
            {"benchmark": "i3d_throughput", "metric": "load_avg_1m_after", "value":
             f"{os.getloadavg()[0]:.2f}", "unit": "processes", "peer": "", "peer_value": "",
             "ratio": ""},
        ], command)


if __name__ == "__main__":
    main()
