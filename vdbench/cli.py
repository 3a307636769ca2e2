"""The `vdbench` command line: a thin click layer over the library."""

from __future__ import annotations

import functools
import logging
import sys

import click

from vdbench import __version__


def _one_line_errors(fn):
    """Turn the library's user-facing errors into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from metrics.errors import InputError, WeightsUnavailableError

        try:
            return fn(*args, **kwargs)
        except (InputError, WeightsUnavailableError, FileNotFoundError) as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(2)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="vdbench")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """vdbench: benchmarks and metrics for video generative models (Ho et al. 2022)."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s")


from vdbench.cmd_model import model as _model_command  # noqa: E402
from vdbench.cmd_train import train as _train_command  # noqa: E402
from vdbench.cmd_sample import sample as _sample_command  # noqa: E402

main.add_command(_model_command)
main.add_command(_train_command)
main.add_command(_sample_command)
