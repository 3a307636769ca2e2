"""Resumable runs: SIGKILL at many points (one during a write), corrupted chunks, changed
settings and SIGTERM; every resumed run ends with exactly the uninterrupted result."""

import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers_run import ROOT, env, records, run_vdbench, vdbench_cmd

ARGS = ["run", "shapes", "--model", "tests.fast_generator:factory", "--preset", "quick",
        "--clips", "4", "--samples-per-clip", "2", "--batch-size", "1"]
TOTAL_CHUNKS = 4 + 8  # real clips, then 4 clips × 2 samples


@pytest.fixture(scope="module")
def reference(tmp_path_factory, i3d_weights):
    out = tmp_path_factory.mktemp("reference")
    res = run_vdbench(*ARGS, "--out", out)
    assert res.returncode == 0, res.stderr[-2000:]
    (record,) = records(out)
    return record


def _finished(out: Path) -> int:
    return sum(1 for p in (out / "cache").rglob("chunk-*.json"))


def _run_until(out: Path, condition, sig=signal.SIGKILL, timeout=120, prelude: str = ""
               ) -> subprocess.Popen:
    """Start a resumed run and send ``sig`` as soon as ``condition(out)`` holds."""
    proc = subprocess.Popen(vdbench_cmd(*ARGS, "--out", out, "--resume", prelude=prelude),
                            cwd=ROOT, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if (out / "cache").exists() and condition(out):
            proc.send_signal(sig)
            break
        time.sleep(0.002)
    proc.communicate(timeout=timeout)
    return proc


def _same_result(record: dict, reference: dict) -> None:
    assert record["metrics"] == reference["metrics"]  # exactly, not approximately
    assert record["counts"] == reference["counts"]


def test_sigkill_at_many_points_then_resume_gives_the_uninterrupted_result(tmp_path, reference):
    out = tmp_path / "run"
    killed = 0
    # Five points by progress (finished chunks, cumulative over the resumed runs) ...
    for target in (1, 3, 5, 8, 10):
        proc = _run_until(out, lambda o, t=target: _finished(o) >= t)
        killed += proc.returncode == -signal.SIGKILL
        assert not records(out), "a killed run must not leave a result record"
    # ... and one in the middle of the real writer's write of a chunk file: the kernel kills
    # the run (SIGXFSZ) when the file it writes reaches 30,000 bytes (a chunk's npz is ~51 KB).
    proc = _run_until(out, lambda o: False, prelude="tests.fsize_limit")
    assert proc.returncode == -signal.SIGXFSZ, proc.returncode
    killed += 1
    partial = [p for p in (out / "cache").rglob(".chunk-*.tmp")]
    assert [p.stat().st_size for p in partial] == [30000], partial
    for visible in (out / "cache").rglob("chunk-*.npz"):  # nothing partial under a final name
        with np.load(visible) as z:  # every member whole (zip checks each one's CRC)
            assert "__chunk__" in z.files and all(z[k].size for k in z.files), visible
    assert killed >= 5, "the runs finished before they could be killed"
    assert _finished(out) < TOTAL_CHUNKS
    res = run_vdbench(*ARGS, "--out", out, "--resume")
    assert res.returncode == 0, res.stderr[-2000:]
    (record,) = records(out)
    _same_result(record, reference)
    assert record["timing"]["chunks_cached"] + record["timing"]["real_chunks_cached"] > 0
    assert not list((out / "cache").rglob("*.tmp"))


def test_corrupted_chunks_are_detected_and_regenerated(tmp_path, reference):
    out = tmp_path / "run"
    assert run_vdbench(*ARGS, "--out", out).returncode == 0
    for p in out.glob("*.json"):
        p.unlink()
    chunks = sorted((out / "cache").glob("shapes-custom-noise-*/chunk-*.npz"))
    truncated, altered, readable = chunks[1], chunks[4], chunks[6]
    truncated.write_bytes(truncated.read_bytes()[:100])
    data = bytearray(altered.read_bytes())
    data[len(data) // 2] ^= 0xFF
    altered.write_bytes(bytes(data))
    (altered.parent / f".{altered.name}.abc.tmp").write_bytes(b"half a write")
    # A readable corruption zip cannot see: a valid npz, same members and identity, other values.
    with np.load(readable) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["i3d"] = arrays["i3d"] + np.float32(1.0)
    np.savez(readable, **arrays)
    res = run_vdbench(*ARGS, "--out", out, "--resume")
    assert res.returncode == 0, res.stderr[-2000:]
    for name in (truncated.name, altered.name, readable.name):
        assert name in res.stderr, (name, res.stderr[-2000:])
    assert f"{readable.name}: truncated or corrupted (checksum mismatch)" in res.stderr
    (record,) = records(out)
    _same_result(record, reference)
    assert record["timing"]["chunks_cached"] == 8 - 3
    assert record["timing"]["real_chunks_cached"] == 4
    assert not list(altered.parent.glob("*.tmp"))


def test_other_code_invalidates_the_cache_with_a_message(tmp_path, reference):
    """Chunks computed by another version of the code are never reused (the manifest key holds
    the code digest); the message names what changed."""
    import json

    out = tmp_path / "run"
    assert run_vdbench(*ARGS, "--out", out).returncode == 0
    generated = [m for m in (out / "cache").glob("*/manifest.json") if "-real-" not in str(m)]
    (manifest,) = generated
    data = json.loads(manifest.read_text())
    data["key"]["code"], data["hash"] = "0" * 64, "stale"
    manifest.write_text(json.dumps(data))
    res = run_vdbench(*ARGS, "--out", out, "--resume")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "invalidated" in res.stdout + res.stderr
    assert "code: " + "0" * 64 in res.stdout + res.stderr
    resumed = json.loads(max(out.glob("*.json"), key=lambda p: p.stat().st_mtime).read_text())
    assert resumed["cache"]["chunks_cached"] == 0
    assert resumed["cache"]["real_chunks_cached"] == 4  # the real clips' cache was untouched
    assert resumed["metrics"] == reference["metrics"]


def test_changed_settings_never_share_a_cache(tmp_path, reference):
    out = tmp_path / "run"
    assert run_vdbench(*ARGS, "--out", out).returncode == 0
    res = run_vdbench(*ARGS, "--out", out, "--resume", "--frameskip", "2")
    assert res.returncode == 0, res.stderr[-2000:]
    folders = {p.name for p in (out / "cache").iterdir()}
    assert len([f for f in folders if "-real-" not in f]) == 2  # both kept
    assert len(list(out.glob("*.json"))) == 2


def test_sigterm_stops_after_a_chunk_and_resume_completes(tmp_path, reference):
    out = tmp_path / "run"
    proc = _run_until(out, lambda o: _finished(o) >= 6, sig=signal.SIGTERM)
    if proc.returncode == 0:
        pytest.fail("the run finished before SIGTERM arrived")
    assert proc.returncode == 128 + signal.SIGTERM
    done = _finished(out)
    assert 6 <= done < TOTAL_CHUNKS
    res = run_vdbench(*ARGS, "--out", out, "--resume")
    assert res.returncode == 0, res.stderr[-2000:]
    (record,) = records(out)
    _same_result(record, reference)
    assert (record["timing"]["chunks_cached"] + record["timing"]["real_chunks_cached"]
            == done)


def test_samples_are_kept_per_chunk(tmp_path, reference):
    out = tmp_path / "run"
    assert run_vdbench(*ARGS, "--out", out).returncode == 0
    first = sorted((out / "cache").glob("shapes-custom-noise-*/chunk-*.npz"))[0]
    with np.load(first) as z:
        assert z["videos"].dtype == np.uint8 and z["videos"].shape == (1, 16, 32, 32, 3)
        assert z["i3d"].shape == (1, 400)


def test_other_feature_network_weights_never_reuse_the_cache(tmp_path, reference):
    """The cache key holds each feature network's weights sha256 (real and generated chunks):
    features of other weights go to caches of their own, and nothing is reused."""
    # tests/other_weights.py's digest; importing that module would patch this test process
    OTHER = "0" * 64

    out = tmp_path / "run"
    assert run_vdbench(*ARGS, "--out", out).returncode == 0
    res = subprocess.run(vdbench_cmd(*ARGS, "--out", out, "--resume",
                                     prelude="tests.other_weights"),
                         cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert len(list((out / "cache").iterdir())) == 4  # real and generated, for each weights
    sha = reference["feature_networks"]["i3d"]["weights_sha256"]
    assert len(next(iter(sha.values()))) == 64 and OTHER not in sha.values()
    (changed,) = [r for r in records(out)
                  if r["feature_networks"]["i3d"]["weights_sha256"] != sha]
    assert set(changed["feature_networks"]["i3d"]["weights_sha256"].values()) == {OTHER}
    assert changed["timing"]["chunks_cached"] == 0
    assert changed["timing"]["real_chunks_cached"] == 0
