"""`vdbench train`: train the included video diffusion model from a preset."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import click

from vdbench.util.atomic import atomic_write_text
from vdbench.cli.common import DEVICE, SEED
from vdbench.model.registry import SHARD_MODES, TRAIN_PRECISIONS

log = logging.getLogger(__name__)


def resolve_config(name_or_path: str, overrides: tuple[str, ...]):
    """A preset name or a config JSON file, then ``section.key=value`` overrides."""
    from vdbench.model.configs import ModelConfig, parse_override, preset
    from vdbench.model.errors import ConfigError

    path = Path(name_or_path)
    if path.suffix == ".json":
        try:
            config = ModelConfig.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError) as err:  # JSONDecodeError, UnicodeDecodeError
            raise ConfigError(f"cannot read config file {path}: {err}") from None
    else:
        config = preset(name_or_path)
    return config.replace(**dict(parse_override(o) for o in overrides))


@click.command("train")
@click.option("--config", "config_name", required=True,
              help="Preset name (see `vdbench model info`) or a config .json file.")
@click.option("--data", required=True, type=click.Path(dir_okay=False),
              help="uint8 videos [N, T, H, W, 3] in a .npy, or .npz with 'videos' (+ 'labels').")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run directory for checkpoints and log.jsonl  [default: runs/CONFIG]")
@click.option("--steps", type=int, default=None,
              help="Total optimiser steps  [default: the preset's train.steps]")
@click.option("--batch-size", type=int, default=None, help="Override train.batch_size.")
@click.option("--lr", type=float, default=None, help="Override train.lr.")
@click.option("--seed", type=SEED, default=None, help="Override train.seed.")
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Override any config value, e.g. --set unet.dropout=0.1 (repeatable).")
@click.option("--device", default="cpu", show_default=True, type=DEVICE,
              help="torch device, e.g. cuda.")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Continue from the latest checkpoint in --out.")
@click.option("--progress/--no-progress", default=True, show_default=True)
@click.option("--micro-batch", type=click.IntRange(min=1), default=None,
              help="Examples per forward pass on each process; the global batch "
                   "(train.batch_size) is split over processes, then accumulated over "
                   "micro-batches  [default: each process's whole share]")
@click.option("--precision", type=click.Choice(TRAIN_PRECISIONS), default="fp32", show_default=True,
              help="bf16: forward pass under bfloat16 autocast (fp32 weights, optimizer, EMA).")
@click.option("--checkpoint-activations", is_flag=True,
              help="Recompute each residual/attention block's activations in backward.")
@click.option("--compile", "compile_", is_flag=True,
              help="torch.compile the U-Net (eager, with a warning, where unsupported).")
@click.option("--shard", type=click.Choice(SHARD_MODES), default="none", show_default=True,
              help="FSDP under torchrun: full = parameters, gradients and optimizer state "
                   "sharded; grad = gradients and optimizer state; none = DDP.")
@click.option("--data-workers", type=click.IntRange(min=0), default=2, show_default=True,
              help="DataLoader worker processes assembling each step's examples.")
@click.option("--dist-timeout", type=click.FloatRange(min=0, min_open=True), default=600.0,
              show_default=True,
              help="Seconds a process waits for the others before the run fails (torchrun).")
def train(config_name, data, out, steps, batch_size, lr, seed, overrides, device, resume,
          progress, micro_batch, precision, checkpoint_activations, compile_, shard,
          data_workers, dist_timeout) -> None:
    """Train (or resume training) the video diffusion model on a video array.

    One process as is; N processes with `torchrun --nproc-per-node N -m vdbench train ...`
    (gloo on CPU, NCCL on CUDA). SIGTERM finishes the current step, checkpoints and exits 143;
    rerun the same command (with any number of processes) to resume.
    """
    from vdbench.model.parallel import ScaleOptions

    extra = [f"train.{k}={v}" for k, v in
             (("batch_size", batch_size), ("lr", lr), ("seed", seed)) if v is not None]
    config = resolve_config(config_name, tuple(overrides) + tuple(extra))
    scale = ScaleOptions(micro_batch, precision, shard, checkpoint_activations, compile_,
                         data_workers, dist_timeout)
    _run(config, data, Path(out or f"runs/{config.name}"), steps, device, resume, progress,
         scale)


def _run(config, data, run_dir, steps, device, resume, progress, scale) -> None:
    from vdbench.model.data import ClipSampler, load_video_array
    from vdbench.model.errors import ConfigError
    from vdbench.model.train import train as train_loop

    videos, labels = load_video_array(data)
    if config.unet.cond == "text":
        raise ConfigError(f"preset {config.name!r} is text-conditioned; --data carries no "
                          f"caption embeddings yet (use an unconditional or class preset)")
    if config.unet.cond == "class" and labels is None:
        raise ConfigError(f"preset {config.name!r} is class-conditional; --data must be an .npz "
                          f"with 'labels'")
    sampler = ClipSampler(videos, config.video, config.train.image_frames, config.train.flip,
                          labels if config.unet.cond == "class" else None)
    main = int(os.environ.get("RANK", "0")) == 0
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / "config.json", config.to_json())
    state = train_loop(config, sampler, run_dir, steps=steps, device=device, resume=resume,
                       progress=progress, scale=scale)
    if state.stopped:
        if main:
            click.echo(f"stopped by SIGTERM at step {state.step}; checkpoint in {run_dir}; "
                       f"rerun to resume", err=True)
        raise SystemExit(143)
    if main:
        click.echo(f"trained {config.name} to step {state.step}; checkpoints in {run_dir}")
