"""Command-line options for every sampling setting, built from the settings object itself.

Each option defaults to None ("not given"): the value then comes from the protocol or the
checkpoint (see ``vdbench.model.settings.resolve``), and an option given where it cannot apply is
refused. Choices come from the sampler and conditioning registries.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable

import click

from vdbench.model.registry import CONDITIONINGS, PRECISIONS, SAMPLERS
from vdbench.model.settings import FIELDS, SamplingSettings

CHOICES = {"sampler": tuple(SAMPLERS), "conditioning": tuple(CONDITIONINGS),
           "precision": PRECISIONS}
# Plain types: ranges are checked by SamplingSettings, whose errors name the option.
TYPES = {"steps": click.INT, "corrector_steps": click.INT, "context_frames": click.INT,
         "gamma": click.FLOAT, "delta": click.FLOAT, "w_r": click.FLOAT,
         "cfg_weight": click.FLOAT, "cfg_null": click.FLOAT}
NAMES = tuple(FIELDS)


def _type(name: str) -> Any:
    if name in CHOICES:
        return click.Choice(CHOICES[name])
    return TYPES[name]


def sampling_options(*, exclude: Iterable[str] = (), lists: Iterable[str] = ()) -> Callable:
    """Decorator adding one option per SamplingSettings field (keyword = the field name).

    ``lists``: fields taken as comma-separated lists (e.g. `compare --sampler a,b`), passed on
    as strings and split by the command.
    """
    exclude, lists = set(exclude), set(lists)

    def decorate(fn: Callable) -> Callable:
        for f in reversed(dataclasses.fields(SamplingSettings)):
            if f.name in exclude:
                continue
            help_text = f.metadata["help"] + " [default: the protocol's, else the checkpoint's]"
            if f.name in lists:
                fn = click.option(f.metadata["option"], f.name, default=None, type=str,
                                  help="Comma-separated. " + help_text)(fn)
            else:
                fn = click.option(f.metadata["option"], f.name, default=None,
                                  type=_type(f.name), help=help_text)(fn)
        return fn

    return decorate


def take(kw: dict) -> dict:
    """Pop the sampling options out of a command's keyword arguments."""
    return {name: kw.pop(name) for name in NAMES if name in kw}


def split_list(name: str, text: str | None) -> list[str | None]:
    """'a,b' → ['a', 'b'], each checked against the registry; None → [None] (the default)."""
    if text is None:
        return [None]
    items = [t.strip() for t in text.split(",") if t.strip()]
    known = CHOICES[name]
    bad = [t for t in items if t not in known]
    if bad or not items:
        from vdbench.metrics.errors import InputError

        what = f"unknown {name} {', '.join(map(repr, bad))}" if bad else "empty list"
        raise InputError(f"{FIELDS[name].metadata['option']} {text!r}: {what}; expected a "
                         f"comma-separated list of {', '.join(known)}")
    return list(dict.fromkeys(items))

