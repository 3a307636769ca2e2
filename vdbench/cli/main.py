"""The `vdbench` command line: a thin click layer over the library."""

from __future__ import annotations

import logging
from typing import Any

import click
from click.exceptions import Exit, NoArgsIsHelpError

from vdbench import __version__
from vdbench.cli.boundary import report


def _passes_through(err: BaseException) -> bool:
    """Exits, help requests and Ctrl-C keep click's own handling."""
    return isinstance(err, (Exit, click.Abort, NoArgsIsHelpError, SystemExit, KeyboardInterrupt))


class Boundary(click.Group):
    """The one error boundary around every command (vdbench.cli.boundary): any failure while
    parsing or running becomes one `error:` line and exit 2 (expected) or 1 (a bug)."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except Exception as err:
            if _passes_through(err):
                raise
            raise Exit(report(err, debug="--debug" in args)) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BaseException as err:
            if _passes_through(err):
                raise
            raise Exit(report(err, debug=bool(ctx.params.get("debug")))) from None


@click.group(cls=Boundary,
             context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="vdbench")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@click.option("--debug", is_flag=True,
              help="On an error, print its traceback above the one error line.")
def main(verbose: bool, debug: bool) -> None:
    """vdbench: benchmarks and metrics for video generative models (Ho et al. 2022).

    Every failure prints one line `error: <file or option>: <problem>` on stderr and exits 2
    (exit 1 for an internal error; rerun with --debug for its traceback).
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s")


# Commands live one module per idea; importing them stays light (heavy imports happen inside).
from vdbench.cli.metrics import features, fvd, kvd, stats, weights  # noqa: E402

main.add_command(fvd)
main.add_command(kvd)
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

from vdbench.cli.doctor import doctor  # noqa: E402

main.add_command(doctor)
