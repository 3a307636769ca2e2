"""Training loop: AdamW with the preset's betas and weight decay, EMA, gradient clipping, joint
image-video batches, atomic checkpoints and exact resume.

Exact resume: everything random (clip choice, t, ε, dropped c, dropout) is drawn from RNGs whose
states are saved in every checkpoint, so a run stopped after step k and resumed reaches the same
weights as one that never stopped (``tests/test_train_resume.py``).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from vdbench.model import checkpoint as ckpt
from vdbench.model.configs import ModelConfig
from vdbench.model.data import ClipSampler
from vdbench.model.diffusion import diffusion_loss
from vdbench.model.errors import CheckpointError, ConfigError
from vdbench.model.unet3d import UNet3D, count_parameters
from vdbench.util.atomic import atomic_write_text

log = logging.getLogger(__name__)


@dataclass
class TrainState:
    config: ModelConfig
    net: UNet3D
    ema: UNet3D
    optimizer: torch.optim.Optimizer
    generator: torch.Generator  # data, t, ε and c-dropout draws
    step: int = 0


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
    """θ_ema ← decay·θ_ema + (1 − decay)·θ."""
    ema_params: list[torch.Tensor] = list(ema.parameters())
    torch._foreach_lerp_(ema_params, [p.detach() for p in net.parameters()], 1.0 - decay)


def new_state(config: ModelConfig, device: str | torch.device = "cpu") -> TrainState:
    generator = torch.Generator().manual_seed(config.train.seed)
    torch.manual_seed(config.train.seed)  # initial weights and dropout
    net = UNet3D(config).to(device)
    ema = UNet3D(config).to(device)
    ema.load_state_dict(net.state_dict())
    ema.requires_grad_(False).eval()
    return TrainState(config, net, ema, make_optimizer(net, config), generator)


def train_step(state: TrainState, sampler: ClipSampler, device: str | torch.device) -> float:
    """One optimiser step on one batch; returns the loss."""
    cfg = state.config
    batch = sampler.sample(cfg.train.batch_size, state.generator)
    for group in state.optimizer.param_groups:
        group["lr"] = lr_at(state.step, cfg)
    state.net.train()
    cond = None if batch.cond is None else batch.cond.to(device)
    mask = None if batch.frame_is_image is None else batch.frame_is_image.to(device)
    loss = diffusion_loss(state.net, batch.x.to(device), cfg.diffusion, cond=cond,
                          frame_is_image=mask, generator=state.generator)
    state.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.train.grad_clip > 0:
        nn.utils.clip_grad_norm_(state.net.parameters(), cfg.train.grad_clip)
    state.optimizer.step()
    ema_update(state.ema, state.net, cfg.train.ema_decay)
    state.step += 1
    return loss.item()


def state_tensors(state: TrainState) -> tuple[dict[str, torch.Tensor], dict]:
    tensors = {f"model/{k}": v for k, v in state.net.state_dict().items()}
    tensors.update({f"ema/{k}": v for k, v in state.ema.state_dict().items()})
    optim, optim_meta = ckpt.optimizer_to_flat(state.optimizer)
    tensors.update(optim)
    tensors["rng/generator"] = state.generator.get_state()
    tensors["rng/torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        tensors["rng/cuda"] = torch.cuda.get_rng_state()
    return tensors, {"optimizer": optim_meta}


def save_state(state: TrainState, run_dir: Path) -> Path:
    tensors, extra = state_tensors(state)
    sidecar = ckpt.save_checkpoint(run_dir, state.step, state.config, tensors, extra)
    ckpt.prune_checkpoints(run_dir, state.config.train.keep_checkpoints)
    return sidecar


def restore_state(state: TrainState, path: str | Path) -> None:
    """Load a training checkpoint into ``state`` (architecture must match the config)."""
    tensors, meta = ckpt.load_checkpoint(path)
    ckpt.check_compatible(ckpt.config_of(meta), state.config)
    ckpt.load_module(state.net, ckpt.subdict(tensors, "model/"), "model")
    ckpt.load_module(state.ema, ckpt.subdict(tensors, "ema/"), "ema")
    state.optimizer.load_state_dict(ckpt.optimizer_from_flat(tensors, meta["optimizer"]))
    state.generator.set_state(tensors["rng/generator"])
    torch.set_rng_state(tensors["rng/torch"])
    if "rng/cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng/cuda"])
    state.step = int(meta["step"])


def _log_rows(run_dir: Path, keep_until: int) -> None:
    """Drop log rows past the resumed step (they will be recomputed identically)."""
    path = run_dir / "log.jsonl"
    if path.is_file():
        rows = [r for r in path.read_text().splitlines() if json.loads(r)["step"] <= keep_until]
        atomic_write_text(path, "".join(r + "\n" for r in rows))


def train(config: ModelConfig, sampler: ClipSampler, run_dir: str | Path, *,
          steps: int | None = None, device: str | torch.device = "cpu", resume: bool = True,
          progress: bool = True) -> TrainState:
    """Train to ``steps`` total optimiser steps (default ``config.train.steps``), resuming from
    the latest checkpoint in ``run_dir`` when there is one and ``resume`` is set."""
    from tqdm.auto import tqdm

    run_dir = Path(run_dir)
    steps = config.train.steps if steps is None else steps
    if steps <= 0:
        raise ConfigError(f"steps must be > 0, got {steps}")
    if not resume and run_dir.is_dir() and ckpt.list_checkpoints(run_dir):
        raise CheckpointError(f"{run_dir} already holds checkpoints; resume from them or "
                              f"choose another run directory")
    with torch.random.fork_rng(devices=[]):  # the caller's global RNG is left as it was
        state = new_state(config, device)
        latest = ckpt.latest_checkpoint(run_dir) if resume and run_dir.is_dir() else None
        if latest is not None:
            restore_state(state, latest)
            log.info("resumed from %s (step %d)", latest.name, state.step)
        if run_dir.is_dir():
            _log_rows(run_dir, state.step)
        log.info("%s: %.2fM parameters, training to step %d", config.name,
                 count_parameters(state.net) / 1e6, steps)
        run_loop(state, sampler, run_dir, steps, device, tqdm(
            total=steps, initial=state.step, unit="step", disable=not progress,
            dynamic_ncols=True))
    return state


def run_loop(state: TrainState, sampler: ClipSampler, run_dir: Path, steps: int,
             device: str | torch.device, bar) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    every = state.config.train.checkpoint_every
    with bar, open(run_dir / "log.jsonl", "a") as logfile:
        while state.step < steps:
            start = time.perf_counter()
            loss = train_step(state, sampler, device)
            rate = 1.0 / max(time.perf_counter() - start, 1e-9)
            logfile.write(json.dumps({"step": state.step, "loss": loss, "steps_per_s": rate,
                                      "lr": state.optimizer.param_groups[0]["lr"]}) + "\n")
            bar.set_postfix(loss=f"{loss:.4f}", steps_per_s=f"{rate:.2f}")
            bar.update(1)
            if state.step % every == 0 or state.step == steps:
                logfile.flush()
                save_state(state, run_dir)
