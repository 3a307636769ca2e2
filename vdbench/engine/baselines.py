"""Trivial generators, by name: the rows a score must rank below a working model, or at the
level of the data itself (`vdbench compare PROTOCOL --baselines NAME,...`).

- ``repeat-last``: every generated frame is the last observed frame (a do-nothing predictor);
- ``random-sprites``: a fresh procedural sprites video per sample, drawn from the sample's seed
  (real-looking motion that ignores the observed frame; shapes protocols only);
- ``ground-truth``: the real continuation of each clip (the protocol's own clips: what a perfect
  predictor of this very clip would return).

Each is a VideoGenerator (vdbench.engine.generator) driven through the same chunks, seeds,
features and records as a model, so its rows carry the same intervals and paired verdicts.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from vdbench.engine.generator import GenerationRequest, sample_seed
from vdbench.metrics.errors import InputError
from vdbench.protocols.base import Protocol


class Baseline(abc.ABC):
    """What the runner needs of a generator, plus a fixed identity for records and caches."""

    def __init__(self, name: str, protocol: Protocol):
        self.name, self.label = f"baseline-{name}", f"baseline-{name}"
        self.identity = {"name": self.name, "kind": "baseline", "baseline": name}
        self.resolution, self.protocol = protocol.resolution, protocol

    def record(self) -> dict:
        return {"name": "baseline", "baseline": self.identity["baseline"],
                "reported_by": "vdbench"}

    @abc.abstractmethod
    def generate(self, request: GenerationRequest) -> np.ndarray:
        """uint8 [len(request.seeds), request.frames, resolution, resolution, 3]."""


class RepeatLast(Baseline):
    def generate(self, request: GenerationRequest) -> np.ndarray:
        assert request.context is not None  # refused for unconditional protocols
        given = request.context.shape[1]
        rest = np.repeat(request.context[:, -1:], request.frames - given, axis=1)
        return np.concatenate([request.context, rest], axis=1)


class RandomSprites(Baseline):
    def generate(self, request: GenerationRequest) -> np.ndarray:
        from vdbench.protocols.datasets.shapes import ShapesDataset, make_sprites, render

        turn_prob = ShapesDataset.turn_prob  # the protocols' data's motion
        videos = np.stack([render(make_sprites(np.random.default_rng(seed), request.frames,
                                               request.resolution, turn_prob),
                                  request.frames, request.resolution)
                           for seed in request.seeds])
        if request.context is not None:  # the observed frames are the data's own
            videos[:, :request.context.shape[1]] = request.context
        return videos


class GroundTruth(Baseline):
    def __init__(self, name: str, protocol: Protocol, clips):
        super().__init__(name, protocol)
        self.clips = clips
        self.clip_of = {sample_seed(protocol.seed, clip, sample): clip
                        for clip in range(len(clips))
                        for sample in range(protocol.samples_per_clip)}

    def generate(self, request: GenerationRequest) -> np.ndarray:
        return np.stack(list(self.clips.iter_clips([self.clip_of[s] for s in request.seeds])))


@dataclass(frozen=True)
class BaselineKind:
    name: str
    help: str
    make: Callable[[str, Protocol, object], Baseline]  # (name, protocol, clips) → generator
    conditional: bool = False  # needs observed frames
    datasets: tuple[str, ...] = ()  # the datasets it applies to (empty: any)


BASELINES: dict[str, BaselineKind] = {b.name: b for b in (
    BaselineKind("repeat-last", "every generated frame repeats the last observed frame",
                 lambda n, p, c: RepeatLast(n, p), conditional=True),
    BaselineKind("random-sprites", "a fresh procedural sprites video per sample (its seed), "
                 "ignoring the observed frames", lambda n, p, c: RandomSprites(n, p),
                 datasets=("shapes",)),
    BaselineKind("ground-truth", "the real continuation of each clip",
                 lambda n, p, c: GroundTruth(n, p, c)),
)}


def parse_baselines(text: Optional[str]) -> list[str]:
    """'a,b' (`--baselines`) → ['a', 'b']; None → []."""
    if text is None:
        return []
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names or len(set(names)) < len(names):
        raise InputError(f"--baselines {text!r}: expected distinct names among "
                         f"{', '.join(BASELINES)}, comma-separated")
    return names


def check_baselines(protocol: Protocol, names: list[str]) -> None:
    """Refuse, before any work, a baseline that cannot apply to ``protocol``."""
    if names and protocol.evaluation != "videos":
        raise InputError(f"--baselines: protocol {protocol.name} evaluates no generated videos")
    for name in names:
        kind = BASELINES.get(name)
        if kind is None:
            raise InputError(f"--baselines: unknown baseline {name!r}; expected one of "
                             f"{', '.join(BASELINES)}")
        if kind.conditional and not protocol.conditional:
            raise InputError(f"--baselines {name}: protocol {protocol.name} observes no frames")
        if kind.datasets and protocol.dataset not in kind.datasets:
            raise InputError(f"--baselines {name}: applies to the {', '.join(kind.datasets)} "
                             f"data; protocol {protocol.name} reads {protocol.dataset}")


def make_baselines(protocol: Protocol, names: list[str], clips) -> list[Baseline]:
    check_baselines(protocol, names)
    return [BASELINES[name].make(name, protocol, clips) for name in names]
