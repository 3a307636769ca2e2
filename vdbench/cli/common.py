"""Options and error handling shared by the CLI commands."""

from __future__ import annotations

import functools
import sys
from typing import Optional

import click


def user_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is meant for the user (metrics' and model's own)."""
    from vdbench.model import errors as model_errors_module
    from vdbench.metrics.errors import InputError, WeightsUnavailableError

    model_errors = tuple(v for v in vars(model_errors_module).values()
                         if isinstance(v, type) and issubclass(v, ValueError))
    return (InputError, WeightsUnavailableError, FileNotFoundError, *model_errors)


def one_line_errors(fn):
    """The library's user-facing errors become one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except user_errors() as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(2)

    return wrapper


def input_options(fn):
    """Options for reading videos and running a feature network over them."""
    options = [
        click.option("--batch-size", default=8, show_default=True, type=click.IntRange(min=1),
                     help="Videos per network call."),
        click.option("--threads", default=None, type=click.IntRange(min=1),
                     help="CPU threads for torch (default: torch's choice)."),
        click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1, ..."),
        click.option("--frames", default=None, type=click.IntRange(min=1),
                     help="Frames per clip (default: the whole video / array)."),
        click.option("--clips-per-video", default=1, show_default=True,
                     type=click.IntRange(min=1),
                     help="Consecutive clips of --frames frames cut from each video file."),
        click.option("--value-range", default=None, type=click.Choice(["0-255", "0-1", "-1-1"]),
                     help="Value range of float arrays (required for float input)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def set_threads(threads):
    if threads:
        import torch

        torch.set_num_threads(threads)


def network_options(default: Optional[str] = "i3d", default_help: str = ""):
    """--network and --frame-mode (choices and help from the feature-network registry) and
    --weights. ``default`` None: the command resolves it (``default_help`` says how)."""
    from vdbench.metrics.networks import families, frame_modes, video_networks

    described = "; ".join(dict.fromkeys(f"{n.family}: {n.help}" for n in video_networks()))
    per_frame = ", ".join(dict.fromkeys(n.family for n in video_networks() if n.frame_mode))

    def decorate(fn):
        options = [
            click.option("--network", default=default, show_default=default is not None,
                         type=click.Choice(families()),
                         help=f"{described}.{' ' + default_help if default_help else ''}"),
            click.option("--frame-mode", default="avg", show_default=True,
                         type=click.Choice(frame_modes()),
                         help=f"{per_frame}: average activations over frames, or frame 0."),
            click.option("--weights", default=None, type=click.Path(exists=True),
                         help="Weights to use instead of the cache: the C3D folder holding "
                              "conv3d_deepnetA_ucf.npz and mean2.npz, or the Inception .pth."),
        ]
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate
