"""Training loop: AdamW with the preset's betas and weight decay, EMA, gradient clipping, joint
image-video batches, atomic checkpoints and exact resume, in one process or many (torchrun).

Exact resume at any scale: every example of every step (clip, t, ε, dropped c, dropout masks) is
a pure function of (seed, step, example index) (:mod:`model.step_data`). So a run stopped after
step k and resumed, with the same or another number of processes or micro-batch size, reaches the
weights an uninterrupted run would have
(``tests/test_train_resume.py``, ``tests/test_train_scale.py``). The preset's ``batch_size`` is
the global batch: split over ranks, then over accumulation steps of ``--micro-batch``, the loss
is weighted so the update is the global-batch mean whatever the split.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vdbench.model import checkpoint as ckpt
from vdbench.model import parallel
from vdbench.model.configs import ModelConfig
from vdbench.model.data import ClipSampler
from vdbench.model.diffusion import apply_drop, loss_given_noise
from vdbench.model.errors import CheckpointError, ConfigError
from vdbench.model.parallel import Group, ScaleOptions
from vdbench.model.step_data import BatchLayout, micro_batches, step_loader
from vdbench.model.unet3d import UNet3D, build_on_meta, count_parameters
from vdbench.util.atomic import atomic_write_text

log = logging.getLogger(__name__)


@dataclass
class TrainState:
    config: ModelConfig
    net: UNet3D  # the network's parameters (sharded in place under FSDP)
    ema: UNet3D
    optimizer: torch.optim.Optimizer
    step: int = 0
    model: nn.Module | None = None  # what runs forward/backward: net, or net in DDP/compile
    options: ScaleOptions = field(default_factory=ScaleOptions)
    group: Group = field(default_factory=Group)
    layout: BatchLayout | None = None
    device: str = "cpu"
    stopped: bool = False  # SIGTERM ended the run after a checkpoint


def make_optimizer(net: nn.Module, config: ModelConfig) -> torch.optim.Optimizer:
    """Adam with decoupled weight decay (AdamW; plain Adam when weight_decay is 0)."""
    train = config.train
    beta1, beta2 = train.adam_betas
    return torch.optim.AdamW(net.parameters(), lr=train.lr, betas=(beta1, beta2),
                             weight_decay=train.weight_decay)


def lr_at(step: int, config: ModelConfig) -> float:
    """Linear warm-up to ``train.lr`` over ``train.warmup_steps``, then constant."""
    warmup = config.train.warmup_steps
    return config.train.lr * min(1.0, (step + 1) / warmup) if warmup else config.train.lr


@torch.no_grad()
def ema_update(ema: nn.Module, net: nn.Module, decay: float) -> None:
    """θ_ema ← decay·θ_ema + (1 − decay)·θ (shard by shard under FSDP)."""
    ema_params = [parallel.local(p) for p in ema.parameters()]
    torch._foreach_lerp_(ema_params, [parallel.local(p).detach() for p in net.parameters()],
                         1.0 - decay)


def new_state(config: ModelConfig, device: str | torch.device = "cpu",
              options: ScaleOptions | None = None, group: Group | None = None) -> TrainState:
    options, group = options or ScaleOptions(), group or Group()
    torch.manual_seed(config.train.seed)  # initial weights: the same on every rank
    net = UNet3D(config).to(device)
    ema = UNet3D(config).to(device)
    ema.load_state_dict(net.state_dict())
    ema.requires_grad_(False).eval()
    model = parallel.wrap(net, ema, options, group, str(device))
    layout = BatchLayout(config.train.batch_size, group.world_size, group.rank,
                         options.micro_batch)
    return TrainState(config, net, ema, make_optimizer(net, config), model=model,
                      options=options, group=group, layout=layout, device=str(device))


def _runner(state: TrainState) -> nn.Module:
    # Not ``state.model or state.net``: a compiled module refuses bool() (it has no len()).
    return state.net if state.model is None else state.model


def _micro_loss(state: TrainState, part: dict[str, torch.Tensor]) -> torch.Tensor:
    device = state.device
    cond = part.get("cond")
    cond = None if cond is None else apply_drop(cond.to(device), part["drop"])
    mask = part.get("frame_is_image")
    with parallel.autocast(state.options, device):
        return loss_given_noise(_runner(state), part["x"].to(device), part["t"],
                                part["eps"].to(device), state.config.diffusion, cond=cond,
                                frame_is_image=None if mask is None else mask.to(device),
                                dropout_seeds=part.get("dropout_seeds"))


def train_step(state: TrainState, batch: dict[str, torch.Tensor],
               stop: bool = False) -> tuple[float, bool]:
    """One optimiser step on this rank's share of the step's global batch.

    Returns (mean loss over the global batch, whether any rank asked to stop)."""
    cfg, layout = state.config, state.layout or BatchLayout(state.config.train.batch_size)
    model = _runner(state)
    for group in state.optimizer.param_groups:
        group["lr"] = lr_at(state.step, cfg)
    model.train()
    state.optimizer.zero_grad(set_to_none=True)
    parts = list(micro_batches(batch, layout))
    # DDP/FSDP average gradients over ranks; this weight turns the sum over micro-batches and
    # ranks into the mean over the global batch.
    weight = layout.micro * layout.world_size / layout.global_batch
    local_loss = 0.0
    for k, (_, part) in enumerate(parts):
        with parallel.no_sync(model, k == len(parts) - 1):
            loss = _micro_loss(state, part)
            (loss * weight).backward()
        local_loss += loss.item() * layout.micro / layout.global_batch
    total, stops = state.group.sum([local_loss, float(stop)], torch.device(state.device))
    if cfg.train.grad_clip > 0:
        nn.utils.clip_grad_norm_(state.net.parameters(), cfg.train.grad_clip)
    state.optimizer.step()
    ema_update(state.ema, state.net, cfg.train.ema_decay)
    state.step += 1
    return total, stops > 0


def scale_record(state: TrainState) -> dict:
    """How the run was executed, for log rows and checkpoint sidecars."""
    layout = state.layout or BatchLayout(state.config.train.batch_size)
    return {"world_size": state.group.world_size, "micro_batch": layout.micro,
            "precision": state.options.precision, "shard": state.options.shard,
            "checkpoint_activations": state.options.checkpoint_activations,
            "compile": state.options.compile}


def _sharded(state: TrainState) -> bool:
    return state.options.shard != "none"


def state_tensors(state: TrainState) -> tuple[dict[str, torch.Tensor], dict]:
    """Every tensor of the state, unsharded (one process or DDP: every rank holds them all)."""
    tensors = {f"model/{k}": v for k, v in state.net.state_dict().items()}
    tensors.update({f"ema/{k}": v for k, v in state.ema.state_dict().items()})
    optim, optim_meta = ckpt.optimizer_to_flat(state.optimizer)
    tensors.update(optim)
    return tensors, {"optimizer": optim_meta, **scale_record(state)}


def _full_state_options():
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, cpu_offload=True)


def _gathered_tensors(state: TrainState) -> tuple[dict[str, torch.Tensor], dict] | None:
    """The full (unsharded) state on rank 0, None on other ranks; a collective under FSDP."""
    if not _sharded(state):
        return state_tensors(state) if state.group.is_main else None
    from torch.distributed.checkpoint.state_dict import (get_model_state_dict,
                                                         get_optimizer_state_dict)

    opts = _full_state_options()
    model: dict[str, Any] = get_model_state_dict(state.net, options=opts)
    ema: dict[str, Any] = get_model_state_dict(state.ema, options=opts)
    optim: Any = get_optimizer_state_dict(state.net, state.optimizer, options=opts)
    if not state.group.is_main:
        return None
    names = [name for name, _ in state.net.named_parameters()]
    index = {name: i for i, name in enumerate(names)}
    # Parameter names → the integer ids a one-process optimizer uses, so the files agree.
    optim = {"state": {index[k]: v for k, v in optim["state"].items()},
             "param_groups": [{**g, "params": [index[k] for k in g["params"]]}
                              for g in optim["param_groups"]]}
    tensors = {f"model/{k}": v for k, v in model.items()}
    tensors.update({f"ema/{k}": v for k, v in ema.items()})
    flat, optim_meta = ckpt.optimizer_state_to_flat(optim)
    tensors.update(flat)
    return tensors, {"optimizer": optim_meta, **scale_record(state)}


def save_state(state: TrainState, run_dir: Path) -> Path | None:
    """Rank 0 writes the checkpoint of ``state.step`` (the same files at any scale)."""
    gathered = _gathered_tensors(state)
    sidecar = None
    if gathered is not None:
        tensors, extra = gathered
        sidecar = ckpt.save_checkpoint(run_dir, state.step, state.config, tensors, extra)
        ckpt.prune_checkpoints(run_dir, state.config.train.keep_checkpoints)
    state.group.barrier()  # no rank runs ahead of a checkpoint that may not exist yet
    return sidecar


def restore_state(state: TrainState, path: str | Path) -> None:
    """Load a training checkpoint into ``state`` (architecture must match the config), whatever
    number of processes and shard mode wrote it."""
    tensors, meta = ckpt.load_checkpoint(path)
    ckpt.check_compatible(ckpt.config_of(meta), state.config)
    model, ema = ckpt.subdict(tensors, "model/"), ckpt.subdict(tensors, "ema/")
    optim = ckpt.optimizer_from_flat(tensors, meta["optimizer"])
    if _sharded(state):
        _restore_sharded(state, model, ema, optim)
    else:
        ckpt.load_module(state.net, model, "model")
        ckpt.load_module(state.ema, ema, "ema")
        state.optimizer.load_state_dict(optim)
    state.step = int(meta["step"])


def _restore_sharded(state: TrainState, model: dict, ema: dict, optim: dict) -> None:
    """Full tensors (every rank read the file) → this rank's shards; no communication."""
    for module, tensors, what in ((state.net, model, "model"), (state.ema, ema, "ema")):
        expected = set(dict(module.named_parameters())) | set(dict(module.named_buffers()))
        if set(tensors) != expected:
            raise CheckpointError(f"{what} weights do not fit the network: "
                                  f"{sorted(set(tensors) ^ expected)[:3]} differ")
        parallel.load_full_state(module, tensors)
    params = list(state.net.parameters())
    sharded = {int(i): {k: parallel.shard_like(v, params[int(i)]) for k, v in entry.items()}
               for i, entry in optim["state"].items()}
    state.optimizer.load_state_dict({"state": sharded, "param_groups": optim["param_groups"]})


def _log_rows(run_dir: Path, keep_until: int) -> None:
    """Drop log rows past the resumed step (they will be recomputed identically)."""
    path = run_dir / "log.jsonl"
    if path.is_file():
        rows = [r for r in path.read_text().splitlines() if json.loads(r)["step"] <= keep_until]
        atomic_write_text(path, "".join(r + "\n" for r in rows))


def train(config: ModelConfig, sampler: ClipSampler, run_dir: str | Path, *,
          steps: int | None = None, device: str | torch.device = "cpu", resume: bool = True,
          progress: bool = True, scale: ScaleOptions | None = None) -> TrainState:
    """Train to ``steps`` total optimiser steps (default ``config.train.steps``), resuming from
    the latest checkpoint in ``run_dir`` when there is one and ``resume`` is set.

    Under torchrun (WORLD_SIZE > 1) every rank calls this; ``run_dir`` must be on a file system
    all ranks see. ``scale`` says how steps are executed (micro-batch, precision, sharding, ...).
    """
    run_dir = Path(run_dir)
    steps = config.train.steps if steps is None else steps
    if steps <= 0:
        raise ConfigError(f"steps must be > 0, got {steps}")
    if not resume and run_dir.is_dir() and ckpt.list_checkpoints(run_dir):
        raise CheckpointError(f"{run_dir} already holds checkpoints; resume from them or "
                              f"choose another run directory")
    options = scale or ScaleOptions()
    group, device = parallel.init_group(str(device), options.timeout_s)
    try:
        parallel.check_options(options, group, device)
        with torch.random.fork_rng(devices=[]):  # the caller's global RNG is left as it was
            return _train(config, sampler, run_dir, steps, device, resume, progress,
                          options, group)
    finally:
        group.close()


def _train(config: ModelConfig, sampler: ClipSampler, run_dir: Path, steps: int, device: str,
           resume: bool, progress: bool, options: ScaleOptions, group: Group) -> TrainState:
    from tqdm.auto import tqdm

    state = new_state(config, device, options, group)
    latest = ckpt.latest_checkpoint(run_dir) if resume and run_dir.is_dir() else None
    if latest is not None:
        restore_state(state, latest)
        log.info("resumed from %s (step %d)", latest.name, state.step)
    if group.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        _log_rows(run_dir, state.step)
        log.info("%s: %.2fM parameters, training to step %d on %d process(es)", config.name,
                 count_parameters(build_on_meta(config)) / 1e6, steps, group.world_size)
    group.barrier()
    loader = step_loader(sampler, config, state.layout or BatchLayout(config.train.batch_size),
                         state.step, steps, options.data_workers)
    bar = tqdm(total=steps, initial=state.step, unit="step", dynamic_ncols=True,
               disable=not (progress and group.is_main))
    try:
        run_loop(state, loader, run_dir, steps, bar)
    except Exception as err:
        if group.world_size > 1 and parallel.is_collective_failure(err):
            raise parallel.rank_failure(group, state.step, err) from err
        raise
    return state


def run_loop(state: TrainState, loader, run_dir: Path, steps: int, bar) -> None:
    every = state.config.train.checkpoint_every
    main = state.group.is_main
    logfile = open(run_dir / "log.jsonl", "a") if main else contextlib.nullcontext()
    with bar, logfile, parallel.StopOnSigterm() as sigterm:
        for batch in loader:
            if state.step >= steps:
                break
            assert int(batch["step"]) == state.step, "the loader is out of step"
            start, cpu = time.perf_counter(), time.process_time()
            loss, stopping = train_step(state, batch, sigterm.requested)
            rate = 1.0 / max(time.perf_counter() - start, 1e-9)
            if main:
                # cpu_s: this process's CPU time (all its threads) for the step.
                row = {"step": state.step, "loss": loss, "steps_per_s": rate,
                       "cpu_s": time.process_time() - cpu,
                       "lr": state.optimizer.param_groups[0]["lr"], **scale_record(state)}
                logfile.write(json.dumps(row) + "\n")  # type: ignore[union-attr]
                logfile.flush()  # type: ignore[union-attr]
            bar.set_postfix(loss=f"{loss:.4f}", steps_per_s=f"{rate:.2f}")
            bar.update(1)
            if state.step % every == 0 or state.step == steps or stopping:
                save_state(state, run_dir)
            if stopping:
                state.stopped = True
                log.warning("stopped by SIGTERM after step %d (checkpoint written)", state.step)
                break
