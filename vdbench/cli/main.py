"""The `vdbench` command line: a thin click layer over the library."""

from __future__ import annotations

import logging

import click

from vdbench import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="vdbench")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """vdbench: benchmarks and metrics for video generative models (Ho et al. 2022)."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s")


# Commands live one module per idea; importing them stays light (heavy imports happen inside).
from vdbench.cli.metrics import features, fvd, stats, weights  # noqa: E402

main.add_command(fvd)
main.add_command(features)
main.add_command(stats)
main.add_command(weights)

from vdbench.cli.scores import fid, inception_score_command  # noqa: E402

main.add_command(fid)
main.add_command(inception_score_command)

from vdbench.cli.data import data  # noqa: E402

main.add_command(data)

from vdbench.cli.table import export, protocols, table  # noqa: E402

main.add_command(table)
main.add_command(protocols)
main.add_command(export)

from vdbench.cli.model import model as _model_command  # noqa: E402
from vdbench.cli.train import train as _train_command  # noqa: E402
from vdbench.cli.sample import sample as _sample_command  # noqa: E402

main.add_command(_model_command)
main.add_command(_train_command)
main.add_command(_sample_command)

from vdbench.cli.run import compare, run  # noqa: E402

main.add_command(run)
main.add_command(compare)
