"""The training examples of every step, a pure function of (seed, step, example index).

Example ``i`` of step ``s`` (its clip, flip, joint-training images, t, ε, dropped c and
dropout masks) is drawn from generators seeded with (seed, s, i) alone. So the global batch of a
step is the same set of examples whatever the number of processes: rank ``r`` of ``W`` takes
examples ``[r·B/W, (r+1)·B/W)`` of the step's global batch ``B``, and a resumed run continues
with exactly the examples an uninterrupted one would have seen. A ``DataLoader`` with worker
processes assembles them (decoding, noise draws) ahead of the training step.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from vdbench.model.configs import ModelConfig
from vdbench.model.data import ClipSampler
from vdbench.model.errors import ConfigError

_EXAMPLE, _DROPOUT = 0, 1  # streams of one (seed, step, index)


def stream_seed(seed: int, step: int, index: int, stream: int = _EXAMPLE) -> int:
    """A 63-bit seed mixing (seed, step, index, stream) (numpy's SeedSequence hash)."""
    words = np.random.SeedSequence([seed % 2**63, step, index, stream]).generate_state(2)
    return (int(words[0]) << 32 | int(words[1])) % 2**63


@dataclass(frozen=True)
class BatchLayout:
    """How a step's global batch is split: over ``world_size`` ranks, then over accumulation
    steps of ``micro_batch`` examples."""

    global_batch: int
    world_size: int = 1
    rank: int = 0
    micro_batch: int | None = None  # examples per forward pass; None: the rank's whole share

    def __post_init__(self) -> None:
        per_rank, rest = divmod(self.global_batch, self.world_size)
        if rest or per_rank == 0:
            raise ConfigError(f"train.batch_size={self.global_batch} (the global batch) must be "
                              f"a positive multiple of the {self.world_size} processes")
        if self.micro_batch is not None and (self.micro_batch <= 0 or per_rank % self.micro_batch):
            raise ConfigError(f"--micro-batch {self.micro_batch} must divide each process's "
                              f"share of the batch ({self.global_batch}/{self.world_size} = "
                              f"{per_rank})")

    @property
    def per_rank(self) -> int:
        return self.global_batch // self.world_size

    @property
    def micro(self) -> int:
        return self.per_rank if self.micro_batch is None else self.micro_batch

    @property
    def accumulation(self) -> int:
        return self.per_rank // self.micro

    def examples(self) -> range:
        """Indices, in the step's global batch, of this rank's examples."""
        return range(self.rank * self.per_rank, (self.rank + 1) * self.per_rank)


class StepExamples(Dataset):
    """Item ``s``: this rank's examples of step ``s`` as a dict of tensors."""

    def __init__(self, sampler: ClipSampler, config: ModelConfig, layout: BatchLayout):
        self.sampler, self.config, self.layout = sampler, config, layout

    def __len__(self) -> int:
        return 2**62  # indexed by step number; the loader's sampler says which steps

    def __getitem__(self, step: int) -> dict[str, torch.Tensor]:
        seed = self.config.train.seed
        indices = self.layout.examples()
        gens = [torch.Generator().manual_seed(stream_seed(seed, step, i)) for i in indices]
        batch = self.sampler.sample_examples(gens)
        shape = (1,) + tuple(batch.x.shape[1:])
        # Diffusion draws of eq. 2 per example, after its clip draws, from the same stream.
        t = torch.cat([torch.rand(1, generator=g, dtype=torch.float64) for g in gens])
        eps = torch.cat([torch.randn(shape, generator=g) for g in gens])
        drop = torch.cat([torch.rand(1, generator=g, dtype=torch.float64) for g in gens])
        dropout = torch.tensor([stream_seed(seed, step, i, _DROPOUT) for i in indices])
        out = {"step": torch.tensor(step), "first": torch.tensor(indices.start), "x": batch.x,
               "t": t, "eps": eps, "drop": drop < self.config.diffusion.cond_drop_prob,
               "dropout_seeds": dropout}
        if batch.clip_ids is not None:
            out["clip_ids"] = batch.clip_ids
        if batch.cond is not None:
            out["cond"] = batch.cond
        if batch.frame_is_image is not None:
            out["frame_is_image"] = batch.frame_is_image
        return out


def _quiet_worker(_: int) -> None:
    # A worker exits with its parent; SIGTERM is the training process's to handle (it finishes
    # the step and checkpoints), so a worker must not die of it first.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def step_loader(sampler: ClipSampler, config: ModelConfig, layout: BatchLayout, first: int,
                last: int, workers: int = 0) -> DataLoader:
    """Steps ``first .. last − 1`` of this rank, decoded by ``workers`` processes ahead of use."""
    return DataLoader(StepExamples(sampler, config, layout), batch_size=None,
                      sampler=range(first, last), num_workers=workers,
                      worker_init_fn=_quiet_worker if workers else None,
                      prefetch_factor=2 if workers else None)


def micro_batches(batch: dict[str, torch.Tensor], layout: BatchLayout):
    """(index of the first example in the global batch, micro-batch dict) for each
    accumulation step."""
    first, size = int(batch["first"]), layout.micro
    for k in range(layout.accumulation):
        part = {key: (value[k * size:(k + 1) * size] if key not in ("step", "first",
                                                                    "frame_is_image")
                      else value) for key, value in batch.items()}
        yield first + k * size, part
