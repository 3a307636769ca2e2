"""`vdbench fvd --protocol NAME`: the options a protocol fixes are refused, the computation is
vdbench.engine.protocol_fvd, and the output names the protocol and what it compared."""

from __future__ import annotations

import json

import click

# fvd's options that the protocol decides (frames, clips) or that its figure does not have
FIXED_BY_PROTOCOL = ("frames", "clips_per_video", "compat")


def refuse_fixed(ctx: click.Context, name: str) -> None:
    from click.core import ParameterSource

    from vdbench.metrics.errors import InputError

    for key in FIXED_BY_PROTOCOL:
        if ctx.get_parameter_source(key) not in (ParameterSource.DEFAULT, None):
            option = "--" + key.replace("_", "-")
            raise InputError(f"{option}: protocol {name} fixes the clips, frames and FVD "
                             "implementation and reports its own figure; drop the option")


def protocol_fvd_command(ctx: click.Context, name: str, real: str, generated: str,
                         data_dir, batch_size: int, device: str, value_range, as_json: bool,
                         config) -> None:
    from vdbench.engine.protocol_fvd import protocol_fvd
    from vdbench.metrics.networks import get_network
    from vdbench.reporting.provenance import environment

    refuse_fixed(ctx, name)
    out = protocol_fvd(name, real, generated, lambda network: get_network(network).make(device),
                       data_dir=data_dir, batch_size=batch_size, value_range=value_range,
                       config=config)
    out["environment"] = environment()
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(f"protocol {out['protocol']}: real {out['n_real']} clips, generated "
               f"{out['n_generated']} videos, {out['frames']} frames every "
               f"{out['frameskip']}-th")
    boot = out["bootstrap"]
    for key, value in out["values"].items():
        found = out["intervals"].get(key)
        ci = "" if found is None else (f"  95% interval [{found['ci'][0]:.4f}, "
                                       f"{found['ci'][1]:.4f}], bootstrap SE {found['se']:.4f}")
        click.echo(f"  {key} {value:.4f}{ci}")
    click.echo(f"  no interval: {boot['not_computed']}" if "not_computed" in boot else
               f"  ({boot['replicates']} bootstrap replicates over videos, seed {boot['seed']})")
    click.echo(f"  card: vdbench protocols --card {out['protocol']}")
