"""Every setting of how the included model draws samples, in one frozen, validated object.

The same object reaches the sampler, names every artefact (record, sample grid, cache folder),
keys the cache and is written into the record, so what is recorded is what ran. Each field's
metadata carries its command-line option and help text, from which the CLI builds its options.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Optional

from vdbench.model.errors import SamplerInputError
from vdbench.model.registry import CONDITIONINGS, PRECISIONS, SAMPLERS


def _opt(option: str, help: str, default: Any) -> Any:
    return field(default=default, metadata={"option": option, "help": help})


@dataclass(frozen=True)
class SamplingSettings:
    sampler: str = _opt("--sampler", "Sampler: " + "; ".join(
        f"{e.name}: {e.summary}" for e in SAMPLERS.values()), "ancestral")
    steps: int = _opt("--steps", "Sampling steps, uniform in t from 1 to 0 (eq. 4).", 256)
    gamma: float = _opt("--gamma", "Log-variance interpolation γ of eq. 4 (0: σ̃²_{s|t}, "
                        "1: σ²_{t|s}).", 0.0)
    corrector_steps: int = _opt("--corrector-steps", "Langevin corrections after each "
                                "ancestral step (eq. 5; langevin sampler).", 1)
    delta: float = _opt("--delta", "Langevin step size δ of eq. 5 (langevin sampler; the paper "
                        "fixes 0.1).", 0.1)
    conditioning: str = _opt("--conditioning", "How to condition on known frames (Section "
                             "3.1): " + "; ".join(f"{e.name}: {e.summary}"
                                                  for e in CONDITIONINGS.values()), "none")
    w_r: float = _opt("--guidance-weight", "Reconstruction guidance weight w_r (eqs. 7, 8; "
                      "reconstruction conditioning).", 1.0)
    cfg_weight: float = _opt("--cfg-weight", "Classifier-free guidance weight w of eq. 6 "
                             "(0: off).", 0.0)
    cfg_null: float = _opt("--cfg-null", "Null condition of classifier-free guidance (the value "
                           "the model was trained with for a dropped condition: 0 for "
                           "embeddings, −1 for class labels).", 0.0)
    context_frames: Optional[int] = _opt("--context-frames", "Frames of context per "
                                         "autoregressive extension block [window // 2].", None)
    precision: str = _opt("--precision", "Floating-point precision of sampling: "
                          + ", ".join(PRECISIONS) + " (bf16: the network in bfloat16 autocast, "
                          "the sampler and the samples in float32).", "fp32")

    def __post_init__(self) -> None:
        _choice("sampler", self.sampler, SAMPLERS)
        _choice("conditioning", self.conditioning, CONDITIONINGS)
        _choice("precision", self.precision, PRECISIONS)
        _integer("steps", self.steps, 1)
        _integer("corrector_steps", self.corrector_steps, 0)
        if self.context_frames is not None:
            _integer("context_frames", self.context_frames, 1)
        for name in ("gamma", "delta", "w_r", "cfg_weight", "cfg_null"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value):
                raise SamplerInputError(f"{option(name)}: must be a finite number, got {value!r}")
        if not 0.0 <= self.gamma <= 1.0:
            raise SamplerInputError(f"--gamma: must lie in [0, 1], got {self.gamma}")
        if not self.delta > 0:
            raise SamplerInputError(f"--delta: must be > 0, got {self.delta}")
        for name, symbol in (("w_r", "w_r"), ("cfg_weight", "w")):
            if getattr(self, name) < 0:
                raise SamplerInputError(f"{option(name)}: {symbol} must be >= 0, got "
                                        f"{getattr(self, name)}")

    def inapplicable(self, super_resolution: bool = False) -> dict[str, str]:
        """Fields that have no effect with these settings, each with the reason
        (``super_resolution``: a low-resolution video guides the samples, eq. 8, with w_r)."""
        out = {}
        takes = SAMPLERS[self.sampler].parameters()
        for name in ("corrector_steps", "delta"):
            if name not in takes:
                out[name] = f"the {self.sampler} sampler takes no {option(name)}"
        if not CONDITIONINGS[self.conditioning].uses_w_r and not super_resolution:
            out["w_r"] = (f"w_r applies to reconstruction guidance only; conditioning is "
                          f"{self.conditioning!r}")
        if self.cfg_weight == 0:
            out["cfg_null"] = "classifier-free guidance is off (--cfg-weight 0)"
        return out

    def record(self) -> dict[str, Any]:
        """The settings that apply (the ones that do not are left out)."""
        skip = self.inapplicable()
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.record(), sort_keys=True).encode()).hexdigest()

    def tag(self) -> str:
        """Short artefact-name part: readable, plus a hash of every applied setting."""
        return f"{self.sampler}-{self.conditioning}-{self.steps}-{self.digest()[:8]}"

    def replace(self, **changes: Any) -> "SamplingSettings":
        return dataclasses.replace(self, **changes)

    def draw(self, denoiser: Any, *, noise: Any, cond: Any = None, replace: Any = None,
             callback: Any = None) -> Any:
        """Run the chosen sampler with every setting that applies to it: the one place where
        settings reach a sampler (conditioning and guidance wrap ``denoiser`` beforehand)."""
        entry = SAMPLERS[self.sampler]
        extra = {name: getattr(self, name) for name in entry.parameters()}  # e.g. δ of eq. 5
        return entry.function()(denoiser, noise=noise, steps=self.steps, gamma=self.gamma,
                                cond=cond, replace=replace, callback=callback, **extra)


FIELDS = {f.name: f for f in dataclasses.fields(SamplingSettings)}


def option(name: str) -> str:
    """The command-line option of a settings field (``w_r`` → ``--guidance-weight``)."""
    return FIELDS[name].metadata["option"]


def _choice(name: str, value: Any, known: Any) -> None:
    if value not in known:
        raise SamplerInputError(f"{option(name)}: unknown {name} {value!r}; expected one of "
                                f"{', '.join(known)}")


def _integer(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SamplerInputError(f"{option(name)}: must be an integer >= {low}, got {value!r}")


def resolve(*layers: tuple[str, dict[str, Any]], super_resolution: bool = False
            ) -> tuple[SamplingSettings, dict[str, str]]:
    """Settings from ``(source, values)`` layers, later layers overriding earlier ones (e.g.
    protocol → checkpoint → command line); None values leave a field to the earlier layers.

    Returns the settings and, per field, the source it came from ("default" if none set it).
    A value set by the last layer (the user's) that cannot apply is refused, never ignored.
    """
    values: dict[str, Any] = {}
    sources = {name: "default" for name in FIELDS}
    for source, layer in layers:
        for name, value in layer.items():
            if name not in FIELDS:
                raise SamplerInputError(f"{source}: unknown sampling setting {name!r}; expected "
                                        f"one of {', '.join(FIELDS)}")
            if value is not None:
                values[name], sources[name] = value, source
    settings = SamplingSettings(**values)
    given = layers[-1][1] if layers else {}
    for name, why in settings.inapplicable(super_resolution).items():
        if given.get(name) is not None:
            raise SamplerInputError(f"{option(name)}: does not apply here ({why})")
    skip = settings.inapplicable(super_resolution)
    return settings, {k: v for k, v in sources.items() if k not in skip}
