"""The vdbench command line (click), one module per command group."""

from vdbench.cli.main import main

__all__ = ["main"]
