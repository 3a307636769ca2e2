"""Checkpoints: safetensors for every tensor, a JSON sidecar for the config and the rest.

A checkpoint of step N in a run directory is two files, each written atomically (temporary file
in the same directory, fsync, ``os.replace``):

    ckpt-0000000N.safetensors   model/…, ema/…, optim/<param>/<key>, rng/…   (no pickle anywhere)
    ckpt-0000000N.json          format, step, resolved config, optimiser hyperparameters and the
                                sha256 of the weights file; written last, so it marks completion

Loading the latest checkpoint of a directory takes the highest step whose sidecar exists and whose
weights file has the recorded sha256, so a run killed mid-write resumes from the one before (a
complete pair that fails the check is reported). Every load goes through :func:`load_checkpoint`,
which reads the weights file once, checks those bytes against the sidecar's sha256 and only then
decodes them: the tensors used are the bytes checked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vdbench.model.configs import ModelConfig
from vdbench.model.errors import CheckpointError, ConfigError
from vdbench.util.atomic import atomic_path, atomic_write_text
from vdbench.util.hashing import file_sha256

log = logging.getLogger(__name__)

FORMAT = "vdbench-checkpoint/1"
_SIDECAR = re.compile(r"^ckpt-(\d{8})\.json$")
# Sections that define the network and its outputs; a checkpoint only loads into a config that
# agrees on all of them.
ARCH_SECTIONS = ("video", "unet", "diffusion")


def optimizer_to_flat(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Optimizer state → (tensors named ``optim/<param>/<key>``, JSON-able rest)."""
    return optimizer_state_to_flat(optimizer.state_dict())


def optimizer_state_to_flat(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """An optimizer ``state_dict()`` (integer parameter ids) → flat tensors and JSON-able rest."""
    tensors, scalars = {}, {}
    for pid, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim/{pid}/{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{pid}/{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def optimizer_from_flat(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optim/"):
            _, pid, key = name.split("/", 2)
            state.setdefault(int(pid), {})[key] = value
    for name, value in meta.get("scalars", {}).items():
        pid, key = name.split("/", 1)
        state.setdefault(int(pid), {})[key] = value
    # In parameter order, whatever order the file listed them in: sharded runs gather the
    # optimizer state entry by entry, and every rank must walk the same order.
    ordered = {pid: dict(sorted(state[pid].items())) for pid in sorted(state)}
    return {"state": ordered, "param_groups": meta["param_groups"]}


def sidecar_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / f"ckpt-{step:08d}.json"


def save_checkpoint(run_dir: str | Path, step: int, config: ModelConfig,
                    tensors: dict[str, torch.Tensor], extra: dict[str, Any] | None = None) -> Path:
    """Write weights then sidecar for ``step``; returns the sidecar path."""
    from safetensors.torch import save_file

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    sidecar = sidecar_path(run_dir, step)
    weights = sidecar.with_suffix(".safetensors")
    flat = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    with atomic_path(weights) as tmp:
        save_file(flat, str(tmp), metadata={"format": FORMAT})
    meta = {"format": FORMAT, "step": step, "config": config.to_dict(),
            "weights": weights.name, "sha256": file_sha256(weights), **(extra or {})}
    atomic_write_text(sidecar, json.dumps(meta, indent=2, sort_keys=True))
    return sidecar


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(step, sidecar) pairs in the directory, oldest first."""
    found = []
    for path in Path(run_dir).glob("ckpt-*.json"):
        match = _SIDECAR.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def prune_checkpoints(run_dir: str | Path, keep: int) -> None:
    for _, sidecar in list_checkpoints(run_dir)[:-keep]:
        sidecar.unlink(missing_ok=True)  # sidecar first: a half-pruned pair is never "valid"
        sidecar.with_suffix(".safetensors").unlink(missing_ok=True)


def _read_sidecar(sidecar: Path) -> dict[str, Any]:
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(f"cannot read checkpoint sidecar {sidecar}: {err}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{sidecar} is not a {FORMAT} sidecar")
    return meta


def _verified(sidecar: Path) -> bool:
    weights = sidecar.with_suffix(".safetensors")
    try:
        return weights.is_file() and _read_sidecar(sidecar).get("sha256") == file_sha256(weights)
    except CheckpointError:
        return False


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """Sidecar of the newest complete, uncorrupted checkpoint in ``run_dir``, or None."""
    for _, sidecar in reversed(list_checkpoints(run_dir)):
        if _verified(sidecar):
            return sidecar
        if sidecar.with_suffix(".safetensors").is_file():  # complete pair: altered, not killed
            log.warning("%s does not match the sha256 in %s; skipped",
                        sidecar.with_suffix(".safetensors"), sidecar.name)
    return None


def resolve_checkpoint(path: str | Path) -> Path:
    """A run directory, a ``.json`` sidecar or a ``.safetensors`` file → the sidecar path."""
    path = Path(path)
    if path.is_dir():
        latest = latest_checkpoint(path)
        if latest is None:
            raise CheckpointError(f"no complete checkpoint (ckpt-*.json + .safetensors) in {path}")
        return latest
    sidecar = path.with_suffix(".json")
    if path.suffix not in (".json", ".safetensors") or not sidecar.is_file():
        raise CheckpointError(
            f"expected a run directory, a ckpt-*.json sidecar or its .safetensors file; "
            f"{path} is neither or has no sidecar")
    return sidecar


def _verified_bytes(weights: Path, sidecar: Path, meta: dict[str, Any]) -> bytes:
    """The weights file's bytes, once, after checking them against the sidecar's sha256."""
    recorded = meta.get("sha256")
    if not isinstance(recorded, str):
        raise CheckpointError(f"{sidecar}: records no sha256 of its weights file")
    try:
        raw = weights.read_bytes()
    except OSError as err:
        raise CheckpointError(f"{weights}: cannot read ({err.strerror or err})") from None
    if hashlib.sha256(raw).hexdigest() != recorded:
        raise CheckpointError(f"{weights}: does not match the sha256 in {sidecar.name} "
                              "(truncated or altered); restore or delete the checkpoint")
    return raw


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, sidecar metadata) of a checkpoint, after checking the weights' sha256."""
    from safetensors.torch import load

    sidecar = resolve_checkpoint(path)
    meta = _read_sidecar(sidecar)
    weights = sidecar.with_suffix(".safetensors")
    raw = _verified_bytes(weights, sidecar, meta)
    try:
        return load(raw), meta
    except Exception as err:  # a recorded but malformed file (safetensors' own error types)
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise CheckpointError(f"{weights}: not a readable safetensors file ({first})") from None


def config_of(meta: dict[str, Any]) -> ModelConfig:
    try:
        return ModelConfig.from_dict(meta["config"])
    except (KeyError, ConfigError) as err:
        raise CheckpointError(f"checkpoint config is unreadable: {err}") from None


def check_compatible(stored: ModelConfig, wanted: ModelConfig) -> None:
    """Raise :class:`CheckpointError` naming every architecture key that differs."""
    a, b = stored.to_dict(), wanted.to_dict()
    diffs = [f"{section}.{key}: checkpoint {a[section][key]!r} vs config {b[section][key]!r}"
             for section in ARCH_SECTIONS for key in a[section]
             if a[section][key] != b[section][key]]
    if diffs:
        raise CheckpointError(f"checkpoint is from another config ({stored.name!r}, wanted "
                              f"{wanted.name!r}): " + "; ".join(diffs))


def subdict(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_module(module: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """Strict ``load_state_dict`` with a one-line :class:`CheckpointError` on mismatch."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        raise CheckpointError(f"{what} weights do not fit the network: "
                              f"{' '.join(s.strip() for s in first[:3])}") from None


def load_network(path: str | Path, device: str | torch.device = "cpu", *,
                 ema: bool | None = None):
    """(UNet3D in eval mode, config) from a checkpoint.

    ``ema=None``: the EMA weights, or the one set a slim export holds (named in its sidecar);
    ``True``/``False``: exactly the EMA/raw weights."""
    from vdbench.model.unet3d import UNet3D

    tensors, meta = load_checkpoint(path)
    config = config_of(meta)
    net = UNet3D(config)
    exported = meta.get("exported_weights")
    if ema is None:
        ema = exported != "model"
    prefix = "ema/" if ema else "model/"
    if exported is not None and f"{exported}/" != prefix:
        # A slim export holds one set, named in its sidecar; say so instead of guessing.
        raise CheckpointError(f"checkpoint {path} was exported with its {exported} weights only; "
                              f"load it with ema={exported == 'ema'}")
    state = subdict(tensors, prefix)
    if not state:
        raise CheckpointError(f"checkpoint {path} holds no {prefix[:-1]} weights")
    load_module(net, state, prefix[:-1])
    return net.to(device).eval(), config


def export_weights(path: str | Path, out_dir: str | Path, which: str = "ema") -> Path:
    """A slim checkpoint for sampling: the ``which`` ('ema' or 'model') weights and a sidecar.

    The sidecar names the exported set (``exported_weights``), and :func:`load_network` loads
    exactly that set; no optimizer or training state is kept.
    """
    if which not in ("ema", "model"):
        raise CheckpointError(f"weights to export must be 'ema' or 'model', got {which!r}")
    tensors, meta = load_checkpoint(path)
    kept = {k: v for k, v in tensors.items() if k.startswith(f"{which}/")}
    if not kept:
        raise CheckpointError(f"checkpoint {path} holds no {which} weights")
    extra = {"exported_from": str(resolve_checkpoint(path)), "source_sha256": meta.get("sha256"),
             "exported_weights": which}
    return save_checkpoint(out_dir, int(meta["step"]), config_of(meta), kept, extra)
