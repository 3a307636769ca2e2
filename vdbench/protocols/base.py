"""What every benchmark protocol shares: a frozen, validated dataclass with named presets.

A protocol fixes everything that makes its numbers comparable (data, split, resolution, frame
counts, sample counts, metrics, seeds); the paper's sampler settings are recorded alongside as
the defaults. Presets: `paper` (the exact published counts) and `quick` (a smoke-size run whose
results are labelled and never mixed into paper tables).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from vdbench.metrics.errors import InputError

PRESETS = ("paper", "quick")
LABELS = PRESETS + ("custom",)  # custom: counts overridden by hand; never in paper tables


@dataclass(frozen=True)
class Protocol:
    name: str
    paper_section: str
    dataset: str
    split: str
    resolution: int
    frames: int  # frames of each evaluated video (conditioning frames included)
    context_frames: int  # frames given to the model (0: unconditional)
    num_clips: int  # evaluation clips (real videos)
    samples_per_clip: int  # generated samples per clip
    metrics: tuple[str, ...]
    seed: int = 0
    sampler: str = "ancestral"
    steps: int = 256
    corrector_steps: int = 0  # Langevin corrections per step when sampler == "langevin"
    guidance_weight: float = 0.0  # w_r of reconstruction guidance (eq. 7)
    conditioning: str = "none"
    paper_table: str = ""
    # The paper table whose comparison this protocol repeats on other data (shapes: Table 2);
    # `vdbench table N --include-quick` shows its runs there, labelled with the protocol.
    mirrors_table: str = ""
    preset: str = "paper"
    notes: str = ""
    with_replacement: bool = False  # Kinetics variant of [33, 14]: see open_protocol_data
    reference_splits: tuple[str, ...] = ()  # further real references (text2video: train)
    frameskip: int = 1  # evaluated clips take every k-th source frame (Section 4.3: 1 and 4)
    quick: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.preset not in LABELS:
            raise InputError(f"unknown preset {self.preset!r}; expected one of {PRESETS}")
        if not 0 <= self.context_frames < self.frames:
            raise InputError(f"{self.name}: context frames {self.context_frames} must be in "
                             f"[0, {self.frames})")
        for key in ("num_clips", "samples_per_clip", "steps", "resolution"):
            if getattr(self, key) < 1:
                raise InputError(f"{self.name}: {key} must be ≥ 1")
        if isinstance(self.frameskip, bool) or not isinstance(self.frameskip, int) \
                or self.frameskip < 1:
            raise InputError(f"{self.name}: frameskip must be an integer ≥ 1, got "
                             f"{self.frameskip!r}")

    @property
    def num_samples(self) -> int:
        return self.num_clips * self.samples_per_clip

    @property
    def generated_frames(self) -> int:
        return self.frames - self.context_frames

    def with_preset(self, preset: str) -> "Protocol":
        if preset not in PRESETS:
            raise InputError(f"unknown preset {preset!r}; expected one of {PRESETS}")
        if preset == "paper":
            return dataclasses.replace(self, preset="paper")
        return dataclasses.replace(self, preset="quick", **self.quick)

    def with_counts(self, num_clips: int | None, samples_per_clip: int | None) -> "Protocol":
        """Hand-set sample counts: the result is labelled preset 'custom'."""
        if num_clips is None and samples_per_clip is None:
            return self
        return dataclasses.replace(
            self, preset="custom", num_clips=num_clips or self.num_clips,
            samples_per_clip=samples_per_clip or self.samples_per_clip)

    def summary(self) -> dict[str, Any]:
        """The protocol's parameters as a flat dict (recorded in every result)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "quick"}
        out["metrics"] = list(self.metrics)
        out["reference_splits"] = list(self.reference_splits)
        out["num_samples"] = self.num_samples
        return out
