"""`vdbench model info|plan|export`: the included model's presets, their parameter counts and
the per-device memory of training them."""

from __future__ import annotations

import click

from vdbench.model.registry import SHARD_MODES, TRAIN_PRECISIONS


@click.group("model")
def model() -> None:
    """The included video diffusion model: presets and their sizes."""


def _row(name: str) -> dict:
    from vdbench.model.configs import preset
    from vdbench.model.unet3d import parameter_breakdown

    cfg = preset(name)
    u, v = cfg.unet, cfg.video
    parts = parameter_breakdown(cfg)
    return {
        "preset": name,
        "video": f"{v.frames}x{v.height}x{v.width}",
        "base": u.base_channels,
        "mults": ",".join(map(str, u.channel_mults)),
        "blocks": u.num_res_blocks,
        "attn res": ",".join(map(str, u.attn_resolutions)),
        "head dim": u.head_dim,
        "cond": u.cond,
        "pred": cfg.diffusion.prediction,
        "images/video": cfg.train.image_frames,
        "params (M)": round(parts["total"] / 1e6, 2),
        "attention (M)": round(parts["attention"] / 1e6, 2),
        "embedding (M)": round(parts["embedding"] / 1e6, 2),
    }


@model.command("info")
@click.argument("names", nargs=-1)
@click.option("--config", "show_config", is_flag=True,
              help="Also print each preset's full resolved config as JSON.")
def info(names: tuple[str, ...], show_config: bool) -> None:
    """Parameter counts and architecture of presets NAMES (all presets when none are given).

    The networks are built on torch's meta device, so even the billion-parameter paper presets
    take no memory and need no weights.
    """
    from tabulate import tabulate

    from vdbench.model.configs import PRESETS, preset
    names = names or tuple(PRESETS)
    rows = [_row(name) for name in names]
    click.echo(tabulate(rows, headers="keys", tablefmt="github"))
    if show_config:
        for name in names:
            click.echo(f"\n# {name}\n{preset(name).to_json()}")


def _plan_rows(plan) -> list[tuple[str, str]]:
    from vdbench.model.memory import GIB

    labels = {"parameters": "parameters (fp32)", "gradients": "gradients (fp32)",
              "optimizer": "optimizer (AdamW, 2 fp32 moments)", "ema": "EMA (fp32)",
              "gathered": "gathered stage (full sharding)",
              "activations": f"activations (micro-batch {plan.setup.micro_batch})"}
    rows = [(labels[k], f"{v / GIB:.3f}") for k, v in plan.rows.items()
            if k != "gathered" or plan.setup.shard == "full"]
    return rows + [("total", f"{plan.total / GIB:.3f}"),
                   ("available (GPU memory − reserve)", f"{plan.budget / GIB:.3f}")]


@model.command("plan")
@click.argument("name")
@click.option("--gpus", type=click.IntRange(min=1), required=True,
              help="Devices the global batch is split over (data parallel).")
@click.option("--gpu-memory", "gpu_memory", type=click.FloatRange(min=0, min_open=True),
              required=True, help="Memory of one device, GiB (as nvidia-smi reports it).")
@click.option("--micro-batch", type=click.IntRange(min=1), default=None,
              help="Clips per device per forward pass [default: the preset's batch / GPUs].")
@click.option("--precision", type=click.Choice(TRAIN_PRECISIONS), default="fp32", show_default=True,
              help="bf16: autocast activations; weights, gradients, optimizer and EMA stay fp32.")
@click.option("--shard", type=click.Choice(SHARD_MODES), default="none", show_default=True,
              help="none: replicate; grad: shard gradients + optimizer (ZeRO-2); full: also "
                   "weights + EMA (FSDP full sharding).")
@click.option("--checkpoint-activations", is_flag=True,
              help="Recompute each U-Net stage (residual + attention blocks) in the backward.")
@click.option("--reserve", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="GiB per device kept for the CUDA context, cuDNN workspaces and allocator "
                   "fragmentation (not modelled).")
def plan(name: str, gpus: int, gpu_memory: float, micro_batch: int | None, precision: str,
         shard: str, checkpoint_activations: bool, reserve: float) -> None:
    """Per-device training memory of preset NAME on GPUS devices: weights, gradients, AdamW
    state and EMA from the exact parameter count; activations measured on small shapes and
    extrapolated (vdbench/model/memory.py). Says whether it fits and the largest micro-batch
    that does."""
    from tabulate import tabulate

    from vdbench.metrics.errors import InputError
    from vdbench.model.configs import preset
    from vdbench.model.memory import ParallelSetup, plan_memory

    cfg = preset(name)
    if reserve >= gpu_memory:
        raise InputError(f"--reserve: {reserve} GiB leaves nothing of --gpu-memory "
                         f"{gpu_memory} GiB")
    if shard != "none" and gpus == 1:
        raise InputError("--shard: sharding needs --gpus > 1")
    batch = cfg.train.batch_size
    if batch % gpus:
        raise InputError(f"--gpus: the preset's global batch {batch} does not split over "
                         f"{gpus} devices")
    per_device = batch // gpus
    micro = micro_batch or per_device
    if per_device % micro:
        raise InputError(f"--micro-batch: {micro} does not divide the {per_device} clips per "
                         f"device (global batch {batch} / {gpus} devices)")
    setup = ParallelSetup(gpus, micro, precision, shard, checkpoint_activations)
    result = plan_memory(cfg, setup, gpu_memory, reserve)
    v = cfg.video
    click.echo(f"{name}: {result.params / 1e6:.1f}M parameters; global batch {batch} = "
               f"{gpus} devices × {micro} clips × {per_device // micro} accumulation steps; "
               f"clips {v.frames}+{cfg.train.image_frames} frames × {v.height}×{v.width}; "
               f"{precision}, shard {shard}, activation checkpointing "
               f"{'on' if checkpoint_activations else 'off'}")
    click.echo(tabulate(_plan_rows(result), headers=["per device", "GiB"], tablefmt="github"))
    fits = "fits" if result.fits else "does NOT fit"
    click.echo(f"{fits}; largest micro-batch that fits: {result.max_micro_batch} "
               f"(activations {result.per_sample / 2**30:.3f} GiB per clip)")


@model.command("export")
@click.argument("checkpoint")
@click.option("-o", "--out", required=True, help="Folder for the slim checkpoint.")
@click.option("--weights", type=click.Choice(["ema", "model"]), default="ema",
              help="Which weights to keep (EMA needs ~1/(1-decay) steps to forget the init).")
def export(checkpoint: str, out: str, weights: str) -> None:
    """Write CHECKPOINT's weights (no optimizer state) as a slim checkpoint for sampling."""
    from vdbench.model.checkpoint import export_weights

    click.echo(f"wrote {export_weights(checkpoint, out, weights)}")
