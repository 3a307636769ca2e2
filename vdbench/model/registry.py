"""The names of the included model's samplers and conditioning methods, written once.

Light on purpose (no torch import): the CLI builds its choices and help from these entries at
import time; the functions themselves load on first use. Adding a sampler is its function plus
one line below; a parameter it takes beyond the shared signature (see ``vdbench.model.samplers``)
is a field of :class:`vdbench.model.settings.SamplingSettings` of the same name.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Callable

# The keyword arguments every sampler takes (model/samplers.py's shared signature).
SHARED_SAMPLER_ARGS = frozenset({"noise", "steps", "schedule", "gamma", "cond", "replace",
                                 "callback"})


@dataclass(frozen=True)
class SamplerEntry:
    name: str
    target: str  # "module:function", imported on use
    summary: str

    def function(self) -> Callable:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def parameters(self) -> frozenset[str]:
        """The keyword parameters this sampler takes beyond the shared signature."""
        params = inspect.signature(self.function()).parameters.values()
        named = (p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        return frozenset(n for n in named if n not in SHARED_SAMPLER_ARGS and n != "denoiser")


@dataclass(frozen=True)
class ConditioningEntry:
    name: str
    summary: str
    uses_w_r: bool = False  # reconstruction guidance weight w_r (eq. 7) applies


SAMPLERS: dict[str, SamplerEntry] = {e.name: e for e in (
    SamplerEntry("ancestral", "vdbench.model.samplers:ancestral",
                 "ancestral sampler (eq. 4)"),
    SamplerEntry("langevin", "vdbench.model.samplers:predictor_corrector",
                 "predictor-corrector: eq. 4 steps, each followed by Langevin corrections "
                 "(eq. 5)"),
)}

CONDITIONINGS: dict[str, ConditioningEntry] = {e.name: e for e in (
    ConditioningEntry("none", "no temporal conditioning (unconditional blocks)"),
    ConditioningEntry("replacement", "z_s^a drawn from q(z_s^a | x^a) (Section 3.1)"),
    ConditioningEntry("replacement-posterior",
                      "z_s^a drawn from q(z_s^a | x^a, z_t^a) (Section 3.1)"),
    ConditioningEntry("reconstruction", "reconstruction guidance (eq. 7)", uses_w_r=True),
)}

PRECISIONS = ("fp32", "fp64", "bf16")  # the dtype the sampler runs in; bf16: see generate.py
TRAIN_PRECISIONS = ("fp32", "bf16")  # bf16: autocast; weights, gradients, AdamW state stay fp32
# Sharding over data-parallel devices: none replicates; grad shards gradients and optimizer state
# (ZeRO-2); full also shards the weights and the EMA (FSDP full sharding).
SHARD_MODES = ("none", "grad", "full")


def sampler_function(name: str) -> Callable:
    return SAMPLERS[name].function()


def describe(entries: dict) -> str:
    """'name: summary; ...' for help texts."""
    return "; ".join(f"{e.name}: {e.summary}" for e in entries.values())
