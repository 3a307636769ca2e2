"""Shared pieces of the runner tests: a tiny trained checkpoint and subprocess launchers."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from vdbench.protocols.datasets.shapes import ShapesDataset
from vdbench.cli import main

ROOT = Path(__file__).resolve().parents[1]


def tiny_checkpoint(root: Path) -> Path:
    """A tiny 32×32 model after one training step on 4 sprite videos (seconds)."""
    data = root / "shapes.npy"
    np.save(data, np.stack([ShapesDataset("train", 4).video(i) for i in range(4)]))
    res = CliRunner().invoke(main, [
        "train", "--config", "tiny", "--data", str(data), "--out", str(root / "run"),
        "--steps", "1", "--no-progress", "--set", "unet.base_channels=8",
        "--set", "unet.channel_mults=[1,2]", "--set", "unet.attn_resolutions=[16]",
        "--set", "train.batch_size=2", "--set", "train.image_frames=1"])
    assert res.exit_code == 0, res.output
    return root / "run"


def records(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))]


def env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def vdbench_cmd(*args, nproc: int = 1, prelude: str = "") -> list[str]:
    """`python -m vdbench ARGS`, or under torchrun with ``nproc`` local processes; ``prelude``:
    a module imported first (test shims)."""
    if prelude:
        code = f"import {prelude}, runpy; runpy.run_module('vdbench', run_name='__main__')"
        return [sys.executable, "-c", code, *map(str, args)]
    if nproc == 1:
        return [sys.executable, "-m", "vdbench", *map(str, args)]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc-per-node={nproc}", "-m", "vdbench", *map(str, args)]


def run_vdbench(*args, nproc: int = 1, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(vdbench_cmd(*args, nproc=nproc), cwd=ROOT, env=env(),
                          capture_output=True, text=True, timeout=timeout)
