"""Training-step time and peak memory of the included U-Net on CPU, against a peer.

One training step = forward + MSE loss + backward + AdamW update, on random data, measured in
a fresh subprocess per case (so peak memory is per case). Wall time is the figure; the CPU time
(all threads) is printed too because on a shared machine it varies less with other load. Cases:

  ours-64   our factorized U-Net, the UCF101 structure at base 32: multipliers 1,2,4,8, 2 blocks
            per resolution, spatial+temporal attention at 32/16/8, head dim 64; batch 4 of
            16×64×64 (no appended image frames, to compare like with like)
  peer-64   video-diffusion-pytorch 0.7.0 (lucidrains) ``Unet3D(dim=32, dim_mults=(1,2,4,8))``
            on the same batch
  tiny      the ``tiny`` preset as it trains: batch 8 of 16×32×32 clips + 4 image frames each
  tiny-16   the ``tiny`` preset on batch 8 of 16×32×32 without image frames

The peer is optional (``pip install --no-deps video-diffusion-pytorch==0.7.0 einops einops-exts
rotary-embedding-torch``). Its module imports torchvision at top level, only for its GIF/dataset
helpers; PyPI's torchvision does not import beside the CPU torch build used here, so when
``import torchvision`` fails this script puts an inert stand-in module in ``sys.modules`` before
importing the peer. The peer's U-Net never touches torchvision, so its timing is unaffected;
its Trainer/dataset code would fail loudly if called.

Usage:  python benchmarks/unet_step.py [--repeats 3] [--threads N] [--no-peer] [--record CSV]
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MACHINE = "2-core Intel Xeon (Sapphire Rapids, AVX-512), 24 GiB, CPU only, torch 2.13.0+cpu"
PEER = "video-diffusion-pytorch==0.7.0 Unet3D(dim=32,dim_mults=(1,2,4,8))"
HEADER = ["date", "benchmark", "metric", "value", "unit", "peer", "peer_value", "ratio",
          "machine", "command"]


def _stub_torchvision() -> None:
    """An inert torchvision for the peer's import-time use (see the module docstring)."""
    import types

    class Missing:
        def __init__(self, *args, **kwargs):
            pass

        def __call__(self, *args, **kwargs):
            raise RuntimeError("torchvision is stubbed out in this benchmark")

        def __getattr__(self, name):
            return Missing

    stub = types.ModuleType("torchvision")
    stub.transforms, stub.utils = Missing(), Missing()
    sys.modules["torchvision"] = stub


def build_case(name: str):
    """(network, step function inputs) for one case; imports happen in the child process."""
    import torch

    from vdbench.model.configs import preset
    from vdbench.model.unet3d import UNet3D

    if name == "peer-64":
        try:
            import torchvision  # noqa: F401
        except Exception:
            _stub_torchvision()
        from video_diffusion_pytorch import Unet3D

        net = Unet3D(dim=32, dim_mults=(1, 2, 4, 8))
        return net, (4, 16, 64), None, lambda z, b: net(z, torch.rand(b) * 1000)
    if name == "ours-64":
        cfg = preset("ucf101").replace(**{"unet.base_channels": 32, "unet.emb_dim": 128,
                                          "unet.emb_mlp_layers": 2, "unet.dropout": 0.0})
        net = UNet3D(cfg)
        return net, (4, 16, 64), None, lambda z, b: net(z, torch.rand(b) * 40 - 20)
    cfg = preset("tiny")
    net = UNet3D(cfg)
    k = cfg.train.image_frames if name == "tiny" else 0
    frames = cfg.video.frames + k
    mask = torch.arange(frames) >= cfg.video.frames
    return (net, (8, frames, cfg.video.height), mask,
            lambda z, b: net(z, torch.rand(b) * 40 - 20, None, mask if k else None))


def run_case(name: str, repeats: int, threads: int) -> dict:
    """Child process: time ``repeats`` training steps after one warm-up step."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net, (batch, frames, size), _, forward = build_case(name)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4)
    z = torch.randn(batch, 3, frames, size, size)
    eps = torch.randn_like(z)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times, cpu_times = [], []
    for _ in range(repeats + 1):
        start, cpu_start = time.perf_counter(), time.process_time()
        loss = torch.nn.functional.mse_loss(forward(z, batch), eps)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"case": name, "params": sum(p.numel() for p in net.parameters()),
            "step_s": statistics.median(times[1:]), "all_s": [round(t, 3) for t in times],
            "cpu_s": statistics.median(cpu_times[1:]),
            "peak_rss_mib": peak / 1024, "step_rss_mib": (peak - rss_before) / 1024,
            "shape": [batch, 3, frames, size, size]}


def spawn(name: str, repeats: int, threads: int) -> dict | None:
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); "
            f"sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import unet_step; "
            f"print('RESULT' + json.dumps(unet_step.run_case({name!r}, {repeats}, {threads})))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT"):
            return json.loads(line[len("RESULT"):])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    print(f"  {name}: failed: {' | '.join(tail)}")
    return None


def peer_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("video_diffusion_pytorch") is not None


def csv_rows(results: dict, command: str) -> list[list]:
    date = datetime.date.today().isoformat()
    ours, peer = results.get("ours-64"), results.get("peer-64")
    rows = []

    def row(metric, value, unit, peer_value=None, ratio=None, peer_name=""):
        rows.append([date, "unet_step", metric, f"{value:.4g}", unit, peer_name,
                     "" if peer_value is None else f"{peer_value:.4g}",
                     "" if ratio is None else f"{ratio:.3g}", MACHINE, command])

    if ours:
        pv = peer["step_s"] if peer else None
        row("train_step_s_4x16x64x64_base32_mults1248", ours["step_s"], "s", pv,
            pv / ours["step_s"] if pv else None, PEER if peer else "")
        pv = peer["step_rss_mib"] if peer else None
        row("peak_rss_increase_mib_4x16x64x64", ours["step_rss_mib"], "MiB", pv,
            pv / ours["step_rss_mib"] if pv else None, PEER if peer else "")
        pv = peer["params"] if peer else None
        row("params_base32_mults1248", ours["params"], "count", pv,
            ours["params"] / pv if pv else None, PEER if peer else "")
    for name, metric in (("tiny", "tiny_train_step_s_8x(16+4img)x32x32"),
                         ("tiny-16", "tiny_train_step_s_8x16x32x32")):
        if results.get(name):
            row(metric, results[name]["step_s"], "s")
    return rows


def record(path: Path, rows: list[list]) -> None:
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(HEADER)
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed steps after 1 warm-up")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--cases", default="ours-64,peer-64,tiny,tiny-16")
    parser.add_argument("--record", type=Path, default=None,
                        help="append the figures to this CSV (e.g. results/benchmarks.csv)")
    args = parser.parse_args()
    cases = args.cases.split(",")
    if "peer-64" in cases and (args.no_peer or not peer_available()):
        cases.remove("peer-64")
        if not args.no_peer:
            print("peer not installed: pip install --no-deps video-diffusion-pytorch==0.7.0 "
                  "einops einops-exts rotary-embedding-torch  (skipping it)")
    print(f"load average before: {os.getloadavg()}, threads: {args.threads}")
    results = {}
    for name in cases:
        results[name] = spawn(name, args.repeats, args.threads)
        if results[name]:
            r = results[name]
            print(f"  {name:8s} params {r['params'] / 1e6:7.2f}M  step {r['step_s']:7.2f} s "
                  f"(all {r['all_s']}; {r['cpu_s']:.2f} CPU-s)  "
                  f"peak RSS {r['peak_rss_mib']:7.0f} MiB "
                  f"(+{r['step_rss_mib']:.0f} during steps)", flush=True)
    print(f"load average after: {os.getloadavg()}")
    ours, peer = results.get("ours-64"), results.get("peer-64")
    if ours and peer:
        print(f"speed-up ours vs peer: {peer['step_s'] / ours['step_s']:.2f}x at "
              f"{ours['params'] / peer['params']:.2f}x the parameters")
    if args.record:
        command = "python benchmarks/unet_step.py " + " ".join(sys.argv[1:])
        record(args.record, csv_rows(results, command.strip()))
        print(f"appended to {args.record}")


if __name__ == "__main__":
    main()
