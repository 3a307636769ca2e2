"""`vdbench model info`: the included model's presets and their parameter counts."""

from __future__ import annotations

import click



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


@model.command("export")
@click.argument("checkpoint")
@click.option("-o", "--out", required=True, help="Folder for the slim checkpoint.")
@click.option("--weights", type=click.Choice(["ema", "model"]), default="ema",
              help="Which weights to keep (EMA needs ~1/(1-decay) steps to forget the init).")
def export(checkpoint: str, out: str, weights: str) -> None:
    """Write CHECKPOINT's weights (no optimizer state) as a slim checkpoint for sampling."""
    from vdbench.model.checkpoint import export_weights

    click.echo(f"wrote {export_weights(checkpoint, out, weights)}")
