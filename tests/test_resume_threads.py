"""A run killed on one thread and resumed on two (numpy's BLAS and torch both) ends with exactly
the uninterrupted one-thread result, and so does a whole run on two threads: no metric depends on
the thread count. Batches of 2 clips: on one clip per batch oneDNN's thread split of I3D's last
conv happened to agree, on two it did not."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers_run import ROOT, records, vdbench_cmd

ARGS = ["run", "shapes", "--model", "tests.fast_generator:factory", "--preset", "quick",
        "--clips", "4", "--samples-per-clip", "2", "--batch-size", "2"]


def _env(threads: int) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(threads),
            "OPENBLAS_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


def _cmd(out: Path, threads: int, *extra: str) -> list[str]:
    return vdbench_cmd(*ARGS, "--out", out, "--threads", threads, *extra)


def _run(out: Path, threads: int, *extra: str) -> dict:
    res = subprocess.run(_cmd(out, threads, *extra), cwd=ROOT, env=_env(threads),
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    (record,) = records(out)
    return record


def _finished(out: Path) -> int:
    return sum(1 for _ in (out / "cache").rglob("chunk-*.json"))


def _kill_after(out: Path, threads: int, chunks: int, timeout: float = 300) -> int:
    proc = subprocess.Popen(_cmd(out, threads), cwd=ROOT, env=_env(threads),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if (out / "cache").exists() and _finished(out) >= chunks:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    return proc.wait(timeout=timeout)


@pytest.mark.slow
def test_kill_on_one_thread_resume_on_two_gives_the_uninterrupted_result(tmp_path, i3d_weights):
    reference = _run(tmp_path / "reference", 1)
    assert _run(tmp_path / "two", 2)["metrics"] == reference["metrics"]

    out = tmp_path / "resumed"
    assert _kill_after(out, 1, chunks=3) == -signal.SIGKILL, "finished before the kill"
    cached = _finished(out)
    assert 3 <= cached < 2 + 4  # real chunks, then 4 clips x 2 samples in chunks of 2
    assert not records(out)
    record = _run(out, 2, "--resume")
    assert record["metrics"] == reference["metrics"]  # exactly, not approximately
    assert record["counts"] == reference["counts"]
    assert record["timing"]["chunks_cached"] + record["timing"]["real_chunks_cached"] == cached
