"""What every benchmark protocol shares: a frozen, validated dataclass with named presets.

A protocol fixes everything that makes its numbers comparable (data, split, resolution, frame
counts, sample counts, metrics, seeds) and carries the paper's sampler settings for it
(``sampling``, Appendix A): they are the defaults of a run, the settings a protocol leaves out
come from the checkpoint, and command-line options override both. Presets: `paper` (the exact
published counts) and `quick` (a smoke-size run whose results are labelled and never mixed into
paper tables).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets.spatial import FITS

PRESETS = ("paper", "quick")
CLIP_ORDERS = ("", "first", "cycled")
REAL_OFFSETS = ("", "random", "random-but-last")
# custom: counts, or a data pipeline the paper states, changed by hand; never in paper tables
LABELS = PRESETS + ("custom",)


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
    # The paper's sampling settings (names of vdbench.model.settings.SamplingSettings fields);
    # a setting left out is open: the checkpoint's sampling config decides it.
    sampling: dict[str, Any] = field(default_factory=dict)
    paper_table: str = ""
    # The paper table whose comparison this protocol repeats on other data (shapes: Table 2);
    # `vdbench table N --include-quick` shows its runs there, labelled with the protocol.
    mirrors_table: str = ""
    preset: str = "paper"
    notes: str = ""
    with_replacement: bool = False  # Kinetics variant of [33, 14]: see open_protocol_data
    replacement_variant: bool = False  # whether the with-replacement variant exists for it
    # what evaluates it: "videos" (generate, extract features, score) or "oracle" (the analytic
    # Gaussian oracle against its exact conditionals, vdbench.engine.oracle_protocol)
    evaluation: str = "videos"
    reference_splits: tuple[str, ...] = ()  # further real references (text2video: train)
    frameskip: int = 1  # evaluated clips take every k-th source frame (Section 4.3: 1 and 4)
    # How frames of another shape become resolution x resolution: "squash" or "crop" (see
    # protocols.datasets.spatial); "": the reader's default, or frames stored at that size.
    fit: str = ""
    # FVD on the frames after the conditioning frames, on both sides (FitVid's public
    # evaluation of BAIR: the 15 generated frames); the paper's protocol keeps them.
    fvd_exclude_context: bool = False
    # real clips of the ground truth where they outnumber the clips generated from
    # (unconditional protocols; 0: the same clips)
    reference_clips: int = 0
    # Protocols of other papers' code (vdbench.protocols.literature): the code each follows,
    # "owner/repo path:line: what", shown on its card.
    follows: tuple[str, ...] = ()
    # Which real clips: "" the reader's choice (seeded, or BAIR's fixed test clips); "first":
    # the first num_clips videos in the dataset's order; "cycled": seeded shuffled passes over
    # the dataset, as many as num_clips needs (an epoch-wise data iterator). See CLIP_ORDERS.
    clip_order: str = ""
    # Where a real clip's window starts: "" the reader's choice; "random": seeded, uniform
    # over every start where the window fits; "random-but-last": the same without the last
    # such start (numpy randint's exclusive bound). See REAL_OFFSETS.
    real_offsets: str = ""
    # Frames a generated video must have (standalone `vdbench fvd --protocol`), read from its
    # first frame every frameskip-th; 0: the window's span.
    generated_min_frames: int = 0
    # Frames of each video that data made in code (shapes) makes; 0: the window's span.
    source_frames: int = 0
    quick: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.preset not in LABELS:
            raise InputError(f"unknown preset {self.preset!r}; expected one of {PRESETS}")
        if not 0 <= self.context_frames < self.frames:
            raise InputError(f"{self.name}: context frames {self.context_frames} must be in "
                             f"[0, {self.frames})")
        for key in ("num_clips", "samples_per_clip", "resolution"):
            if getattr(self, key) < 1:
                raise InputError(f"{self.name}: {key} must be ≥ 1")
        if self.fvd_exclude_context:
            self._check_fvd_exclude_context()
        if self.reference_clips and (self.context_frames or self.reference_clips < 2):
            raise InputError(f"{self.name}: reference_clips applies to unconditional protocols "
                             f"and must be ≥ 2, got {self.reference_clips}")
        if isinstance(self.frameskip, bool) or not isinstance(self.frameskip, int) \
                or self.frameskip < 1:
            raise InputError(f"{self.name}: frameskip must be an integer ≥ 1, got "
                             f"{self.frameskip!r}")
        if self.evaluation not in ("videos", "oracle"):
            raise InputError(f"{self.name}: evaluation must be videos or oracle, got "
                             f"{self.evaluation!r}")
        self._check_literature_fields()
        if self.fit and self.fit not in FITS:
            raise InputError(f"{self.name}: unknown fit {self.fit!r}; expected one of {FITS}")

    def _check_literature_fields(self) -> None:
        if self.clip_order not in CLIP_ORDERS:
            raise InputError(f"{self.name}: clip_order must be one of {CLIP_ORDERS}, got "
                             f"{self.clip_order!r}")
        if self.real_offsets not in REAL_OFFSETS:
            raise InputError(f"{self.name}: real_offsets must be one of {REAL_OFFSETS}, got "
                             f"{self.real_offsets!r}")
        from vdbench.protocols.datasets.base import window_span

        span = window_span(self.frames, self.frameskip)
        for key in ("generated_min_frames", "source_frames"):
            value = getattr(self, key)
            if value and value < span:
                raise InputError(f"{self.name}: {key} {value} is shorter than the window "
                                 f"({span} frames)")
        if self.with_replacement and self.clip_order:
            raise InputError(f"{self.name}: with_replacement and clip_order "
                             f"{self.clip_order!r} both choose the clips")

    def _check_fvd_exclude_context(self) -> None:
        from vdbench.metrics.registry import METRICS

        if not self.context_frames:
            raise InputError(f"{self.name}: fvd_exclude_context needs conditioning frames; "
                             "this protocol is unconditional")
        if not any(getattr(METRICS.get(m), "excludable_context", False) for m in self.metrics):
            raise InputError(f"{self.name}: fvd_exclude_context applies to FVD metrics; this "
                             f"protocol computes {', '.join(self.metrics)}")

    def computable_metrics(self) -> tuple[str, ...]:
        """Its metrics, then every other registered metric that reads a feature network they
        already run (kvd beside fvd, kid_avg beside fid_avg), and on prediction protocols the
        prediction metrics (psnr, ssim): what `--metrics` may name."""
        from vdbench.metrics.networks import base_network
        from vdbench.metrics.registry import METRICS

        networks = {METRICS[m].array.network for m in self.metrics if m in METRICS}
        predicts = self.conditional and self.evaluation == "videos"
        # an FVD parity mode (fvd_stylegan_v...) wherever the protocol runs I3D
        return self.metrics + tuple(
            name for name, m in METRICS.items() if name not in self.metrics
            and (base_network(m.array.network) in networks or (m.conditional and predicts)))

    def check_conditional_metrics(self, names: tuple[str, ...]) -> None:
        """Refuse prediction metrics (PSNR, SSIM: generated vs ground-truth frames) where the
        protocol generates from nothing."""
        from vdbench.metrics.registry import METRICS

        found = [m for m in names if getattr(METRICS.get(m), "conditional", False)]
        if found and not self.conditional:
            raise InputError(f"--metrics {','.join(found)}: compares generated frames with the "
                             f"ground-truth continuation; protocol {self.name} is unconditional")

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
        quick = dict(self.quick)
        sampling = {**self.sampling, **quick.pop("sampling", {})}
        return dataclasses.replace(self, preset="quick", sampling=sampling, **quick)

    @property
    def conditional(self) -> bool:
        """Whether generation is conditioned on observed frames (video prediction)."""
        return self.context_frames > 0

    def with_counts(self, num_clips: int | None, samples_per_clip: int | None) -> "Protocol":
        """Hand-set sample counts: the result is labelled preset 'custom'."""
        if num_clips is None and samples_per_clip is None:
            return self
        # hand-set clips also set the real reference (as with every other protocol)
        return dataclasses.replace(
            self, preset="custom", num_clips=num_clips or self.num_clips,
            samples_per_clip=samples_per_clip or self.samples_per_clip,
            reference_clips=0 if num_clips else self.reference_clips)

    def with_fit(self, fit: str | None) -> "Protocol":
        """Frames fitted by ``fit``. Changing the fitting a paper protocol states (UCF101: the
        TFDS squash) leaves the paper's pipeline: the result is labelled preset 'custom'."""
        if not fit or fit == self.fit:
            return self
        from vdbench.protocols.datasets import READERS

        reader = READERS.get(self.dataset)
        if reader is None or fit not in reader.fits:
            offered = ", ".join(reader.fits) if reader and reader.fits else "none: not resized"
            raise InputError(f"fit {fit!r} does not apply to protocol {self.name} ({offered})")
        preset = "custom" if self.fit and self.preset == "paper" else self.preset
        return dataclasses.replace(self, fit=fit, preset=preset)

    def summary(self) -> dict[str, Any]:
        """The protocol's parameters as a flat dict (recorded in every result)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "quick"}
        out["metrics"] = list(self.metrics)
        out["reference_splits"] = list(self.reference_splits)
        out["follows"] = list(self.follows)
        out["sampling"] = dict(self.sampling)
        out["num_samples"] = self.num_samples
        return out
