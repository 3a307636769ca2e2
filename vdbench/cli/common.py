"""Options and error handling shared by the CLI commands."""

from __future__ import annotations

from typing import Optional

import click

MAX_THREADS = 1024  # more than any machine has; a typo (100000000000) is refused
THREADS = click.IntRange(1, MAX_THREADS)
SEED = click.IntRange(min=0)


class Device(click.ParamType):
    """A torch device this build and machine have: cpu, cuda, cuda:N (N < the GPU count), mps."""

    name = "device"

    def convert(self, value, param, ctx):
        text = str(value).strip()
        if text == "cpu":  # the default: no torch import just to parse the options
            return text
        problem = device_problem(text)
        if problem:
            self.fail(problem, param, ctx)
        return text


def device_problem(text: str) -> Optional[str]:
    """Why torch cannot use device ``text`` here, or None when it can."""
    import torch

    kind, _, index = text.partition(":")
    if kind == "cuda":
        if not torch.cuda.is_available():
            return f"{text!r}: this torch build or machine has no CUDA device; use cpu"
        count = torch.cuda.device_count()
        if index and not (index.isdigit() and int(index) < count):
            return f"{text!r}: this machine has {count} CUDA device(s), cuda:0..cuda:{count - 1}"
        return None
    if kind == "mps" and not index:
        mps = getattr(torch.backends, "mps", None)
        return None if mps is not None and mps.is_available() else \
            "'mps': no Apple GPU (MPS) here; use cpu"
    if kind == "cpu" and not index:
        return None
    return f"{text!r} is not a device; use cpu, cuda, cuda:N or mps (where available)"


DEVICE = Device()


def input_options(fn):
    """Options for reading videos and running a feature network over them."""
    options = [
        click.option("--batch-size", default=8, show_default=True, type=click.IntRange(min=1),
                     help="Videos per network call."),
        click.option("--threads", default=None, type=THREADS,
                     help="CPU threads for torch (default: torch's choice)."),
        click.option("--device", default="cpu", show_default=True, type=DEVICE,
                     help="cpu, cuda, cuda:1, ... (refused when this machine lacks it)."),
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


def count_text(count: Optional[int]) -> str:
    """How many videos a side holds, for a result line (mu/sigma files: unknown, None)."""
    return f"{count} videos" if count else "videos of unknown count (mu/sigma)"


def real_generated(fn):
    """REAL and GENERATED as positional arguments or as --real/--generated (one form per side,
    not both); the command receives them as ``real`` and ``generated``."""
    import functools

    sides = ("real", "generated")

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from vdbench.metrics.errors import InputError

        for side in sides:
            given = [v for v in (kwargs.pop(side), kwargs.pop(f"{side}_option")) if v]
            if len(given) != 1:
                how = "twice: as an argument and as the option" if given else \
                    "missing: give it as an argument or as the option"
                raise InputError(f"--{side}: {side.upper()} {how}")
            kwargs[side] = given[0]
        return fn(*args, **kwargs)

    for side in reversed(sides):
        wrapper = click.option(f"--{side}", f"{side}_option", default=None, metavar="PATH",
                               help=f"{side.upper()} as an option (instead of the argument).")(
            wrapper)
    for side in reversed(sides):
        wrapper = click.argument(side, required=False)(wrapper)
    return wrapper
def bootstrap_options(fn):
    """--bootstrap / --bootstrap-seed of the standalone Fréchet commands (`fvd`, `fid`)."""
    fn = click.option("--bootstrap-seed", type=SEED, default=0, show_default=True,
                      help="Seed of the bootstrap's draws and of FVD∞'s subsets.")(fn)
    return click.option("--bootstrap", type=int, default=1000, show_default=True,
                        help="Replicates of the bootstrap over videos (each video its own "
                             "cluster) giving the 95% interval and standard error; at "
                             "least 2.")(fn)


def bootstrap_config(replicates: int, seed: int):
    from vdbench.metrics.uncertainty import Bootstrap

    return Bootstrap(replicates, seed)
