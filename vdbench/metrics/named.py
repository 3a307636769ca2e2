"""The registries' two operations (feature networks, metrics, FVD parity modes): add an entry
under its name once, and look a name up with one clear error."""

from __future__ import annotations

from typing import TypeVar

from vdbench.metrics.errors import InputError

T = TypeVar("T")


def register_named(table: dict[str, T], name: str, entry: T, kind: str) -> T:
    """``table[name] = entry``; a second entry of one name is a programming error."""
    if name in table:
        raise ValueError(f"{kind} {name!r} is registered twice")
    table[name] = entry
    return entry


def get_named(table: dict[str, T], name: str, kind: str, option: str = "") -> T:
    """``table[name]``, or one error line naming the choices (after ``option``, e.g.
    "--compat: ")."""
    try:
        return table[name]
    except KeyError:
        raise InputError(f"{option}unknown {kind} {name!r}; expected one of "
                         f"{', '.join(table)}") from None
