"""One process or many: the collectives the runner needs, over torch.distributed when launched
by torchrun (WORLD_SIZE > 1), and trivially otherwise.

The runner only ever gathers small per-chunk results to rank 0 and agrees on whether to stop, so
three operations suffice. Collectives use gloo on CPU and NCCL on CUDA; every one is bounded by
the process-group timeout, so a rank that dies makes the others fail instead of hanging (torchrun
itself then names the failed rank).
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any, Optional

DEFAULT_TIMEOUT_S = 600


class RankFailure(RuntimeError):
    """A collective failed: another rank died or did not answer within the timeout."""


def _collective(fn):
    """Turn a backend error into one RankFailure line naming this rank and the operation."""
    def wrapper(self, *args):
        try:
            return fn(self, *args)
        except RuntimeError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise RankFailure(
                f"rank {self.rank}/{self.world}: {fn.__name__} failed: another rank died or "
                f"did not answer within the timeout ({first[:200]}); torchrun's summary names "
                "the failed rank") from err

    wrapper.__name__ = fn.__name__
    return wrapper


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    backend: Optional[str] = None  # None: a single process, no process group

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @_collective
    def gather(self, obj: Any) -> Optional[list]:
        """Every rank's ``obj``, in rank order, on rank 0 (None elsewhere)."""
        if self.world == 1:
            return [obj]
        import torch.distributed as dist

        out = [None] * self.world if self.is_main else None
        dist.gather_object(obj, out, dst=0)
        return out

    @_collective
    def any(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is true on any rank."""
        if self.world == 1:
            return bool(flag)
        import torch
        import torch.distributed as dist

        t = torch.tensor([int(bool(flag))], device=self._device())
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    @_collective
    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if self.world == 1:
            return obj
        import torch.distributed as dist

        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def _device(self):
        import torch

        if self.backend == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")

    def close(self) -> None:
        if self.backend is not None:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
            self.backend = None


def from_environment(device: str = "cpu", timeout_s: float = DEFAULT_TIMEOUT_S) -> Dist:
    """The process group torchrun describes in the environment, or a single process.

    torchrun sets WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR and MASTER_PORT. On CUDA, each rank
    uses the GPU LOCAL_RANK (the runner's ``--device cuda`` becomes ``cuda:LOCAL_RANK``).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    import torch
    import torch.distributed as dist

    rank = int(os.environ["RANK"])
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s))
    return Dist(rank, world, backend)


def rank_device(device: str) -> str:
    """``cuda`` → ``cuda:LOCAL_RANK`` under torchrun; anything else unchanged."""
    if device == "cuda" and "LOCAL_RANK" in os.environ:
        return f"cuda:{os.environ['LOCAL_RANK']}"
    return device
