"""Training at scale on this CPU (gloo): torchrun data parallelism equals one process with
gradient accumulation, checkpoints move between process counts, a dead rank fails the run, bf16,
activation checkpointing and FSDP.

Multi-process runs go through the real entry point (``torchrun -m vdbench train``), one thread
per process (torchrun's default) and in this interpreter's one-process runs. Every tensor of the
state (weights, EMA, optimizer) agrees to 1e-5 relative error ‖a − b‖/‖a‖; where the
micro-batches are the same (2 processes × 2 = 1 process accumulating 2 × 2) also element by
element, since then only the order of the gradient sum differs. Other splits (4 examples in
one forward pass against 2 + 2) and FSDP (weights in another memory layout) round differently.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers_model import micro_config
from vdbench.model import checkpoint as ckpt
from vdbench.model import parallel
from vdbench.model.data import ClipSampler
from vdbench.model.errors import ConfigError
from vdbench.model.parallel import ScaleOptions
from vdbench.model.step_data import BatchLayout, StepExamples, step_loader
from vdbench.model.train import _micro_loss, new_state, train

# micro_config as `--set` overrides of the `tiny` preset, global batch 4.
SETS = {"video.frames": 4, "video.height": 16, "video.width": 16, "unet.base_channels": 8,
        "unet.channel_mults": [1, 2], "unet.num_res_blocks": 1, "unet.attn_resolutions": [8],
        "unet.head_dim": 8, "unet.emb_dim": 16, "unet.norm_groups": 4,
        "unet.max_rel_distance": 3, "train.batch_size": 4, "train.image_frames": 2,
        "train.checkpoint_every": 2, "train.warmup_steps": 2, "unet.dropout": 0.1,
        "train.flip": True}


def _config():
    return micro_config(**SETS)


def _videos():
    return np.random.default_rng(0).integers(0, 256, (6, 8, 16, 16, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "videos.npy"
    np.save(path, _videos())
    return path


def _cli_args(data: Path, out: Path, steps: int, *extra: str) -> list[str]:
    args = ["train", "--config", "tiny", "--data", str(data), "--out", str(out),
            "--steps", str(steps), "--no-progress", "--data-workers", "0"]
    for key, value in SETS.items():
        args += ["--set", f"{key}={json.dumps(value)}"]
    return args + list(extra)


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def _torchrun(nproc: int, args: list[str], **kwargs) -> subprocess.Popen:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={nproc}", "-m", "vdbench", *args]
    return subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kwargs)


def _run_torchrun(nproc: int, args: list[str]) -> str:
    proc = _torchrun(nproc, args)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:]
    return out


def _one_process(out: Path, steps: int, **options) -> None:
    """One process in this interpreter, one thread (as torchrun's ranks)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = _config()
        train(cfg, ClipSampler(_videos(), cfg.video, cfg.train.image_frames, cfg.train.flip),
              out, steps=steps, progress=False, scale=ScaleOptions(**options))
    finally:
        torch.set_num_threads(threads)


def _assert_same_state(a_dir: Path, b_dir: Path, rel: float = 1e-5, exact: bool = False):
    """Weights, EMA and optimizer state of the latest checkpoints agree (each tensor to
    ``rel`` relative error ‖a − b‖/‖a‖; ``exact``: also element by element to 1e-5 of its
    largest entry)."""
    a, meta_a = ckpt.load_checkpoint(a_dir)
    b, meta_b = ckpt.load_checkpoint(b_dir)
    assert meta_a["step"] == meta_b["step"]
    assert sorted(a) == sorted(b)
    assert {k.split("/")[0] for k in a} == {"model", "ema", "optim"}
    for key in a:
        x, y = a[key].double(), b[key].double()
        norm = torch.linalg.vector_norm(x)
        assert torch.linalg.vector_norm(x - y) <= rel * norm + 1e-12, key
        if exact:
            assert (x - y).abs().max() <= 1e-5 * x.abs().max() + 1e-12, key
    return meta_a, meta_b


def _log(run: Path) -> list[dict]:
    return [json.loads(r) for r in (run / "log.jsonl").read_text().splitlines()]


# ----------------------------------------------------------------- the examples of a step

def test_step_examples_do_not_depend_on_world_size():
    cfg = _config()
    sampler = ClipSampler(_videos(), cfg.video, cfg.train.image_frames, cfg.train.flip)
    for step in (0, 7):
        whole = StepExamples(sampler, cfg, BatchLayout(8))[step]
        for world in (2, 4):
            parts = [StepExamples(sampler, cfg, BatchLayout(8, world, r))[step]
                     for r in range(world)]
            for key in ("x", "t", "eps", "drop", "clip_ids"):
                assert torch.equal(torch.cat([p[key] for p in parts]), whole[key]), key
    a, b = (StepExamples(sampler, cfg, BatchLayout(8))[s] for s in (0, 1))
    assert not torch.equal(a["clip_ids"], b["clip_ids"]) and not torch.equal(a["eps"], b["eps"])
    # Worker processes decode the same examples as the main process.
    layout = BatchLayout(4, 2, 1)
    main = list(step_loader(sampler, cfg, layout, 3, 6, workers=0))
    workers = list(step_loader(sampler, cfg, layout, 3, 6, workers=2))
    assert [int(b["step"]) for b in workers] == [3, 4, 5]
    for m, w in zip(main, workers, strict=True):
        assert all(torch.equal(m[k], w[k]) for k in m)


def test_seeded_dropout_does_not_depend_on_the_split():
    from tests.helpers_model import randomize
    from vdbench.model.unet3d import UNet3D

    cfg = micro_config(**{"unet.dropout": 0.5})
    net = randomize(UNet3D(cfg), scale=0.2).train()
    z, logsnr = torch.randn(4, 3, 4, 16, 16), torch.randn(4)
    seeds = torch.tensor([11, 12, 13, 14])
    whole = net(z, logsnr, dropout_seeds=seeds)
    halves = torch.cat([net(z[i:i + 2], logsnr[i:i + 2], dropout_seeds=seeds[i:i + 2])
                        for i in (0, 2)])
    torch.testing.assert_close(halves, whole, rtol=1e-5, atol=1e-5)
    other = net(z, logsnr, dropout_seeds=seeds + 1)  # other seeds, other masks
    assert (other - whole).abs().max() > 1e-2
    assert torch.equal(net.eval()(z, logsnr, dropout_seeds=seeds), net(z, logsnr))


def test_batch_layout_splits_and_refuses():
    layout = BatchLayout(8, 2, 1, micro_batch=2)
    assert (layout.per_rank, layout.accumulation, list(layout.examples())) == (4, 2, [4, 5, 6, 7])
    with pytest.raises(ConfigError, match="multiple of the 3 processes"):
        BatchLayout(8, 3)
    with pytest.raises(ConfigError, match="--micro-batch 3 must divide"):
        BatchLayout(8, 2, 0, micro_batch=3)


def test_cli_refuses_options_that_cannot_apply(data, tmp_path):
    for extra, needle in ((["--micro-batch", "3"], "--micro-batch 3 must divide"),
                          (["--shard", "full"], "launch with torchrun")):
        proc = subprocess.run([sys.executable, "-m", "vdbench",
                               *_cli_args(data, tmp_path / "r", 1, *extra)],
                              capture_output=True, text=True, env=_env(), timeout=120)
        assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")


# ------------------------------------------------------------------- data parallelism

@pytest.mark.slow
def test_two_processes_equal_one_with_accumulation(data, tmp_path):
    """2 processes × micro-batch 2 = 1 process accumulating 2 micro-batches of 2 (global 4)."""
    _run_torchrun(2, _cli_args(data, tmp_path / "ddp", 3, "--micro-batch", "2",
                               "--data-workers", "1"))
    _one_process(tmp_path / "one", 3, micro_batch=2)
    meta_ddp, meta_one = _assert_same_state(tmp_path / "ddp", tmp_path / "one", exact=True)
    assert (meta_ddp["world_size"], meta_ddp["micro_batch"]) == (2, 2)
    assert (meta_one["world_size"], meta_one["micro_batch"]) == (1, 2)
    ddp, one = _log(tmp_path / "ddp"), _log(tmp_path / "one")
    assert [r["loss"] for r in ddp] == pytest.approx([r["loss"] for r in one], rel=1e-6)
    assert {(r["world_size"], r["precision"], r["shard"]) for r in ddp} == {(2, "fp32", "none")}


@pytest.mark.slow
def test_checkpoint_moves_between_process_counts(data, tmp_path):
    _one_process(tmp_path / "reference", 4)
    # Saved by 2 processes after 2 steps, resumed by 1 for 2 more.
    _run_torchrun(2, _cli_args(data, tmp_path / "two_then_one", 2))
    assert json.loads((tmp_path / "two_then_one" / "ckpt-00000002.json").read_text())[
        "world_size"] == 2
    _one_process(tmp_path / "two_then_one", 4)
    _assert_same_state(tmp_path / "reference", tmp_path / "two_then_one")
    # And the reverse: 1 process for 2 steps, 2 processes (micro-batch 1) for 2 more.
    _one_process(tmp_path / "one_then_two", 2)
    _run_torchrun(2, _cli_args(data, tmp_path / "one_then_two", 4, "--micro-batch", "1"))
    _assert_same_state(tmp_path / "reference", tmp_path / "one_then_two")
    rows = _log(tmp_path / "one_then_two")
    assert [(r["step"], r["world_size"]) for r in rows] == [(1, 1), (2, 1), (3, 2), (4, 2)]


def _pid_of_rank(parent: int, rank: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(next(r for r in status.splitlines() if r.startswith("PPid:")).split()[1])
        if ppid == parent and f"RANK={rank}".encode() in env:
            return int(entry.name)
    return None


def _two_ranks_past_a_checkpoint(data: Path, run: Path, dist_timeout: int):
    """(torchrun of a 2-rank training of 1000 steps, rank 1's pid) once a checkpoint exists."""
    proc = _torchrun(2, _cli_args(data, run, 1000, "--dist-timeout", str(dist_timeout)))
    deadline = time.monotonic() + 240
    while ckpt.latest_checkpoint(run) is None:  # any: a given step's is pruned soon after
        assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint written"
        time.sleep(0.2)
    victim = _pid_of_rank(proc.pid, 1)
    assert victim is not None
    return proc, victim


@pytest.mark.slow
def test_a_killed_rank_fails_the_run_and_the_checkpoint_resumes(data, tmp_path):
    run = tmp_path / "run"
    proc, victim = _two_ranks_past_a_checkpoint(data, run, 30)
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    out, _ = proc.communicate(timeout=120)
    assert time.monotonic() - killed < 60  # the process-group timeout is 30 s
    assert proc.returncode != 0
    assert "rank      : 1 (local_rank: 1)" in out and "SIGKILL" in out  # torchrun's summary
    assert "rank 0 of 2" in out and "another rank died" in out  # the survivor's one line
    # Resume from the last complete checkpoint with one process; it completes exactly.
    last = ckpt.latest_checkpoint(run)
    assert last is not None
    steps = int(json.loads(last.read_text())["step"]) + 2
    _one_process(run, steps)
    _one_process(tmp_path / "reference", steps)
    _assert_same_state(tmp_path / "reference", run)


@pytest.mark.slow
def test_a_hung_rank_fails_the_run_within_the_timeout(data, tmp_path):
    """A rank that stops answering (SIGSTOP: alive, so torchrun cannot see it) makes the other
    fail after --dist-timeout; torchrun then ends the run."""
    run = tmp_path / "run"
    proc, victim = _two_ranks_past_a_checkpoint(data, run, 10)
    os.kill(victim, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        out, _ = proc.communicate(timeout=150)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    assert time.monotonic() - stopped < 120  # 10 s timeout + torchrun's 30 s grace to stop
    assert proc.returncode != 0
    assert "rank 0 of 2" in out and "did not answer within 10 s" in out, out[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("nproc", [1, 2])
def test_sigterm_finishes_the_step_and_checkpoints(data, tmp_path, nproc):
    run = tmp_path / "run"
    args = _cli_args(data, run, 1000, "--set", "train.checkpoint_every=1000")
    if nproc == 1:
        proc = subprocess.Popen([sys.executable, "-m", "vdbench", *args], env=_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    else:  # torchrun passes SIGTERM to every rank; the ranks agree on the step to stop after
        proc = _torchrun(nproc, args)
    deadline = time.monotonic() + 240
    while not (run / "log.jsonl").is_file() or len(_log(run)) < 2:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    # One process exits 143 itself; torchrun reports the signal it got (exit code 1).
    assert proc.returncode == (143 if nproc == 1 else 1), out[-2000:]
    last = _log(run)[-1]["step"]
    assert [s for s, _ in ckpt.list_checkpoints(run)] == [last]  # no other checkpoint is due
    assert f"stopped by SIGTERM at step {last}" in out
    assert json.loads(ckpt.latest_checkpoint(run).read_text())["world_size"] == nproc


# ------------------------------------------------------------------ precision and memory

def _one_batch(cfg):
    sampler = ClipSampler(_videos(), cfg.video, cfg.train.image_frames, cfg.train.flip)
    return StepExamples(sampler, cfg, BatchLayout(4))[0]


def test_bf16_step_loss_within_2_percent_of_fp32():
    cfg = micro_config(**{**SETS, "unet.dropout": 0.0})
    batch = _one_batch(cfg)
    fp32 = new_state(cfg)
    bf16 = new_state(cfg, options=ScaleOptions(precision="bf16"))
    from tests.helpers_model import randomize

    for state in (fp32, bf16):  # zero-initialised output layers would make both losses E[ε²]
        randomize(state.net, scale=0.2)
    with torch.no_grad():
        loss32 = _micro_loss(fp32, batch).item()
        loss16 = _micro_loss(bf16, batch).item()
    assert loss32 > 0.1 and abs(loss16 - loss32) <= 0.02 * loss32, (loss32, loss16)
    # A bf16 training step keeps fp32 master weights, optimizer state and EMA.
    from vdbench.model.train import train_step

    loss, _ = train_step(bf16, batch)
    assert np.isfinite(loss)
    assert all(p.dtype == torch.float32 for p in bf16.net.parameters())
    assert all(p.dtype == torch.float32 for p in bf16.ema.parameters())
    assert all(v.dtype == torch.float32 for s in bf16.optimizer.state.values()
               for k, v in s.items() if k != "step")


def test_activation_checkpointing_gives_the_same_gradients():
    cfg = _config()  # dropout 0.1: the recomputed forward must draw the same masks
    batch = _one_batch(cfg)
    grads = []
    for checkpointed in (False, True):
        state = new_state(cfg, options=ScaleOptions(checkpoint_activations=checkpointed))
        from tests.helpers_model import randomize

        randomize(state.net, scale=0.2)
        state.net.train()
        torch.manual_seed(5)
        _micro_loss(state, batch).backward()
        grads.append({n: p.grad.clone() for n, p in state.net.named_parameters()})
    plain, recomputed = grads
    for name, g in plain.items():
        assert g.abs().sum() > 0, name
        torch.testing.assert_close(recomputed[name], g, rtol=1e-6, atol=1e-6)


def test_compile_falls_back_with_a_warning(monkeypatch):
    def unsupported(model):
        raise RuntimeError("Dynamo is not supported on this platform")

    monkeypatch.setattr(torch, "compile", unsupported)
    net = torch.nn.Linear(2, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert parallel.compiled(net) is net
    assert any("running eagerly" in str(w.message) for w in caught)


# ------------------------------------------------------------------------------- FSDP

@pytest.mark.slow
@pytest.mark.parametrize("shard", ["full", "grad"])
def test_fsdp_matches_one_process_and_its_checkpoints_move(data, tmp_path, shard):
    _one_process(tmp_path / "reference", 4)
    # Sharded for 2 steps, resumed by one unsharded process; the reverse into FSDP.
    _run_torchrun(2, _cli_args(data, tmp_path / "fsdp", 2, "--shard", shard))
    meta = json.loads((tmp_path / "fsdp" / "ckpt-00000002.json").read_text())
    assert (meta["shard"], meta["world_size"]) == (shard, 2)
    _one_process(tmp_path / "fsdp", 4)
    _assert_same_state(tmp_path / "reference", tmp_path / "fsdp")
    _one_process(tmp_path / "into_fsdp", 2)
    _run_torchrun(2, _cli_args(data, tmp_path / "into_fsdp", 4, "--shard", shard))
    _assert_same_state(tmp_path / "reference", tmp_path / "into_fsdp")
