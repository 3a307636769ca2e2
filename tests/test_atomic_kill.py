"""Atomic writes under a kill in the middle of the write: the real writers (not test doubles)
run in a subprocess that the kernel kills (SIGXFSZ, no Python cleanup runs, like SIGKILL) once
the file being written reaches a size limit, so the kill lands mid-write by construction, not
by timing. Afterwards the earlier file under the final name is intact, and nothing partial is
visible under the final name (only a hidden temporary file, which the next run removes)."""

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers_run import ROOT

LIMIT = 1 << 20  # bytes: above every earlier (small) file, below every large payload
BIG = 4 << 20

# Each writer, called in a child process as WRITE(path, size) with the real vdbench function.
WRITERS = {
    "atomic_savez": "from vdbench.util.atomic import atomic_savez\n"
                    "def write(path, n):\n"
                    "    atomic_savez(path, x=np.arange(n // 8, dtype=np.float64))\n",
    "atomic_save_npy": "from vdbench.util.atomic import atomic_save_npy\n"
                       "def write(path, n):\n"
                       "    atomic_save_npy(path, np.arange(n // 8, dtype=np.float64))\n",
    "atomic_write_text": "from vdbench.util.atomic import atomic_write_text\n"
                         "def write(path, n):\n"
                         "    atomic_write_text(path, 'x' * n)\n",
    "gaussian_stats": "from vdbench.metrics.frechet import GaussianStats\n"
                      "def write(path, n):\n"
                      "    d = max(2, int((n / 8) ** 0.5))\n"
                      "    GaussianStats.from_features(np.eye(3, d)).save(path)\n",
}


def _child(writer: str, path, size: int, limit: int | None) -> subprocess.CompletedProcess:
    code = ("import numpy as np\n" + ("import tests.fsize_limit\n" if limit else "")
            + WRITERS[writer] + f"write({str(path)!r}, {size})\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1",
           "VDBENCH_TEST_FSIZE": str(limit or 0)}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_killed_mid_write(res: subprocess.CompletedProcess, folder: Path, final: set[str],
                             streamed: bool = True):
    """The child died of the size limit (it was writing past it) and the only names besides
    the final files are hidden temporary files. ``streamed``: the writer writes in order, so
    the partial file holds exactly the first LIMIT bytes (safetensors instead sizes its file
    first, which the limit refuses at once)."""
    assert res.returncode == -signal.SIGXFSZ, (res.returncode, res.stderr[-2000:])
    others = [p for p in folder.iterdir() if p.name not in final]
    assert others, "no temporary file: the writer did not write beside the target"
    for p in others:  # (safetensors writes its own hidden .tmpXXXX inside ours)
        assert p.name.startswith(".") and "tmp" in p.name, p.name
    sizes = [p.stat().st_size for p in others]
    assert max(sizes) == LIMIT if streamed else max(sizes) <= LIMIT, sizes


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_writer_killed_mid_write_leaves_the_earlier_file(tmp_path, writer):
    target = tmp_path / ("out.txt" if writer == "atomic_write_text" else "out.npz")
    if writer == "atomic_save_npy":
        target = tmp_path / "out.npy"
    first = _child(writer, target, 4096, None)
    assert first.returncode == 0, first.stderr
    before = _sha(target)
    res = _child(writer, target, BIG, LIMIT)
    _assert_killed_mid_write(res, tmp_path, {target.name})
    assert _sha(target) == before  # the earlier file, whole, under the final name


CHECKPOINT = """
import torch
from tests.helpers_model import micro_config
from vdbench.model.checkpoint import save_checkpoint
def write(path, n):
    step, size = (int(v) for v in path.rsplit(":", 2)[1:])
    tensors = {"w": torch.arange(size // 4, dtype=torch.float32)}
    save_checkpoint(path.rsplit(":", 2)[0], step, micro_config(), tensors)
"""
WRITERS["checkpoint"] = CHECKPOINT


def test_a_checkpoint_killed_mid_write_leaves_the_earlier_checkpoints(tmp_path):
    """The real `save_checkpoint` (weights, then sidecar) killed while writing the weights:
    re-saving step 1 keeps step 1's earlier files whole; saving step 2 leaves no step-2 file
    under its final name, so the latest checkpoint is still step 1 and it loads."""
    from vdbench.model import checkpoint as ckpt

    run = tmp_path / "run"
    assert _child("checkpoint", f"{run}:1:4096", 0, None).returncode == 0
    files = {p.name: _sha(p) for p in run.iterdir()}
    assert sorted(files) == ["ckpt-00000001.json", "ckpt-00000001.safetensors"]
    for step in (1, 2):
        res = _child("checkpoint", f"{run}:{step}:{BIG}", 0, LIMIT)
        _assert_killed_mid_write(res, run, set(files), streamed=False)
        assert {p.name: _sha(p) for p in run.iterdir() if p.name in files} == files
        assert not [p for p in run.glob("ckpt-00000002*")], "a partial step 2 is visible"
        for tmp in run.glob(".*.tmp"):
            tmp.unlink()
    assert ckpt.latest_checkpoint(run).name == "ckpt-00000001.json"
    tensors, meta = ckpt.load_checkpoint(run / "ckpt-00000001.json")
    assert meta["step"] == 1 and tensors["w"].numel() == 1024
