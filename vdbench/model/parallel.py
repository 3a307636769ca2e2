"""Training at scale: the process group torchrun describes, DDP or FSDP around the U-Net, bf16
autocast, activation checkpointing, torch.compile, and a SIGTERM that ends a run cleanly.

One process needs no torchrun. Under ``torchrun --nproc-per-node N`` every rank runs the same
training loop: gloo on CPU, NCCL on CUDA (rank ``r`` on GPU ``LOCAL_RANK``). Every collective is
bounded by the process-group timeout, so a rank that dies makes the others fail with
:class:`RankFailure` instead of hanging, and torchrun's summary names the rank that died.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import signal
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from vdbench.model.errors import ConfigError, RankFailure
from vdbench.model.registry import SHARD_MODES
from vdbench.model.registry import TRAIN_PRECISIONS as PRECISIONS

if TYPE_CHECKING:
    from vdbench.model.unet3d import UNet3D

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class ScaleOptions:
    """How one training step is executed; none of these change what the step computes beyond
    float rounding (bf16 autocast: the forward pass in bfloat16)."""

    micro_batch: int | None = None  # examples per forward pass on each rank
    precision: str = "fp32"
    shard: str = "none"
    checkpoint_activations: bool = False
    compile: bool = False
    data_workers: int = 0
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.shard not in SHARD_MODES:
            raise ConfigError(f"shard must be one of {SHARD_MODES}, got {self.shard!r}")
        if self.data_workers < 0 or not self.timeout_s > 0:
            raise ConfigError("data workers must be >= 0 and the timeout > 0")


@dataclass
class Group:
    """This process's place in the run: rank, world size, backend (None: one process)."""

    rank: int = 0
    world_size: int = 1
    backend: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    owned: bool = False  # this module started the process group (and so ends it)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def sum(self, values: list[float], device: torch.device) -> list[float]:
        """Element-wise sum over ranks."""
        if self.world_size == 1:
            return list(values)
        import torch.distributed as dist

        t = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return t.tolist()

    def barrier(self) -> None:
        if self.world_size > 1:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        if self.owned:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
            self.owned = False


def init_group(device: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> tuple[Group, str]:
    """(group, this rank's device) from torchrun's environment (WORLD_SIZE, RANK, LOCAL_RANK,
    MASTER_ADDR, MASTER_PORT); a single process when WORLD_SIZE is unset or 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Group(timeout_s=timeout_s), device
    import torch.distributed as dist

    cuda = str(device).startswith("cuda")
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    backend = "nccl" if cuda else "gloo"
    owned = not dist.is_initialized()
    if owned:
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s))
    return Group(dist.get_rank(), dist.get_world_size(), backend, timeout_s, owned), device


def is_collective_failure(err: BaseException) -> bool:
    """Whether ``err`` is a failed or timed-out collective (a peer died or stalled)."""
    import torch.distributed as dist

    if isinstance(err, dist.DistError):
        return True
    text = str(err).lower()
    return isinstance(err, RuntimeError) and any(
        word in text for word in ("gloo", "nccl", "connection closed", "connection reset",
                                  "timed out", "broken pipe"))


def rank_failure(group: Group, step: int, err: BaseException) -> RankFailure:
    first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
    return RankFailure(f"rank {group.rank} of {group.world_size}, step {step + 1}: a collective "
                       f"failed because another rank died or did not answer within "
                       f"{group.timeout_s:g} s ({first}); resume from the last checkpoint")


# ------------------------------------------------------------------------- wrapping the model

def check_options(options: ScaleOptions, group: Group, device: str) -> None:
    """Refuse what cannot apply (never silently ignore it)."""
    if options.shard != "none" and group.world_size == 1:
        raise ConfigError(f"--shard {options.shard} shards over processes; launch with torchrun "
                          f"and more than one process, or use --shard none")
    if options.precision == "bf16" and str(device).startswith("cuda") \
            and not torch.cuda.is_bf16_supported():
        raise ConfigError("--precision bf16: this GPU does not support bfloat16")


def autocast(options: ScaleOptions, device: str):
    """bf16 autocast for the forward pass (weights, gradients, optimizer and EMA stay fp32)."""
    if options.precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def shard_modules(net: nn.Module, options: ScaleOptions) -> None:
    """FSDP (``fully_shard``) per U-Net stage and at the root; ``full`` also frees the gathered
    parameters after the forward pass (ZeRO-3), ``grad`` keeps them until backward (ZeRO-2)."""
    from torch.distributed.fsdp import fully_shard

    from vdbench.model.unet3d import Stage

    reshard = options.shard == "full"
    # FSDP shards contiguous parameters only; the U-Net keeps its weights channels-last.
    net.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]
    for module in net.modules():
        if isinstance(module, Stage):
            fully_shard(module, reshard_after_forward=reshard)
    fully_shard(net, reshard_after_forward=reshard)


def wrap(net: UNet3D, ema: UNet3D, options: ScaleOptions, group: Group,
         device: str) -> nn.Module:
    """The module that runs forward and backward: ``net`` itself, under DDP or FSDP, compiled.

    Under FSDP the EMA copy is sharded the same way, so its update stays local to each shard.
    """
    if options.checkpoint_activations:
        net.set_checkpointing(True)
    model: nn.Module = net
    if options.shard != "none":
        shard_modules(net, options)
        shard_modules(ema, options)
    elif group.world_size > 1:
        from torch.nn.parallel import DistributedDataParallel

        ids = [torch.device(device).index] if group.backend == "nccl" else None
        model = DistributedDataParallel(net, device_ids=ids)
    if options.compile:
        model = compiled(model)
    return model


def compiled(model: nn.Module) -> nn.Module:
    """``torch.compile(model)``; eager with a warning where compiling is unsupported."""
    try:
        import torch._dynamo

        # A graph that fails to compile runs eagerly (with dynamo's own warning) instead of
        # ending the run.
        torch._dynamo.config.suppress_errors = True
        return torch.compile(model)  # type: ignore[return-value]
    except Exception as err:  # unsupported Python/platform: torch raises RuntimeError etc.
        warnings.warn(f"--compile: torch.compile is unavailable here ({err}); running eagerly",
                      RuntimeWarning, stacklevel=2)
        return model


def no_sync(model: nn.Module, sync: bool):
    """Skip the gradient all-reduce on all but the last accumulation step."""
    if sync:
        return contextlib.nullcontext()
    inner = getattr(model, "_orig_mod", model)  # under torch.compile
    from torch.nn.parallel import DistributedDataParallel

    if isinstance(inner, DistributedDataParallel):
        return inner.no_sync()
    set_sync = getattr(inner, "set_requires_gradient_sync", None)  # FSDP2
    if set_sync is not None:

        @contextlib.contextmanager
        def paused():
            set_sync(False)
            try:
                yield
            finally:
                set_sync(True)
        return paused()
    return contextlib.nullcontext()


def local(tensor: torch.Tensor) -> torch.Tensor:
    """This rank's shard of an FSDP parameter (a DTensor); any other tensor as it is."""
    return tensor.to_local() if hasattr(tensor, "to_local") else tensor


def shard_like(full: torch.Tensor, param: torch.Tensor) -> torch.Tensor:
    """``full`` split as the FSDP parameter ``param`` is (this rank's shard as a DTensor), when
    it has the parameter's shape; anything else (a scalar step count) unchanged. Every rank
    holds ``full``, so no data moves between ranks."""
    from torch.distributed.tensor import DTensor, distribute_tensor

    if not isinstance(param, DTensor) or tuple(full.shape) != tuple(param.shape):
        return full
    return distribute_tensor(full.to(param.device, param.dtype), param.device_mesh,
                             param.placements, src_data_rank=None)


@torch.no_grad()
def load_full_state(module: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Copy full (unsharded) tensors into a module whose parameters may be FSDP shards."""
    named = {**dict(module.named_parameters()), **dict(module.named_buffers())}
    for name, target in named.items():
        local(target).copy_(local(shard_like(tensors[name], target)))


# --------------------------------------------------------------------------- SIGTERM

class StopOnSigterm:
    """Context in which SIGTERM sets ``requested`` instead of killing the process; the loop
    finishes its step, checkpoints and returns."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum, frame) -> None:
        self.requested = True
        log.warning("SIGTERM: finishing this step, then checkpointing")

    def __enter__(self) -> StopOnSigterm:
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
