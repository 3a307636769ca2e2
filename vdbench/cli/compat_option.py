"""`--compat MODE` of `vdbench fvd` and `vdbench stats`: an FVD parity mode
(vdbench.metrics.compat; applied by vdbench.engine.compat_sides)."""

from __future__ import annotations

import click

from vdbench.metrics.compat import MODES, mode_names


def compat_option(fn):
    described = "; ".join(f"{m.name}: {m.summary}" for m in MODES.values())
    return click.option(
        "--compat", default="tf", show_default=True, type=click.Choice(mode_names()),
        help=f"FVD parity mode: that implementation's preprocessing and statistics on the "
             f"TF-Hub I3D ({described}). Their own I3D weight files are not used.")(fn)
