"""The FID Inception (TF graph `inception-2015-12-05`) from torch-fidelity, with our weights path.

torch-fidelity's `FeatureExtractorInceptionV3` reproduces the TF graph the FID and IS reference
code use (TF1 bilinear resize to 299, (x − 128)/128, pool3 2048 features, 1008 logits). It
downloads its weights from GitHub unless given a file, and unpickles that file with
``weights_only=False``. We never let it do either: the weights are read here with
``torch.load(weights_only=True)`` from the cache (filled by `fetch_inception_weights`) or a
user's file, and handed to it re-serialised in memory.

Where PyPI's torchvision does not import beside the installed torch (e.g. a CPU-only build),
``import torch_fidelity`` fails in its package ``__init__`` although the Inception module needs
no torchvision; we then import that one module without running the package ``__init__``.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import logging
import sys
from pathlib import Path
from typing import Optional

import torch

from vdbench.metrics import cache
from vdbench.metrics.errors import InputError, WeightsUnavailableError
from vdbench.metrics.hashing import record_sha256, recorded_sha256
from vdbench.metrics.hashing import weights_sha256 as file_weights_sha256
from vdbench.metrics.weights_download import download

log = logging.getLogger(__name__)

WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{WEIGHTS_FILE}"
SHA256_PREFIX = "6726825d"  # torch.hub convention: the file name carries its sha256's prefix
FEATURES = ("2048", "logits_unbiased")
INSTALL_HINT = ("pip install --no-deps 'torch-fidelity>=0.3,<0.5' "
                "(see pyproject.toml, extra inception)")


def weights_path() -> Path:
    return cache.weights_dir() / WEIGHTS_FILE


def cache_files() -> list[Path]:
    """The weights files in the cache (`vdbench doctor` checks them)."""
    return [weights_path()]


def _check_hash(path: Path) -> None:
    """The pinned prefix, then the full sha256 recorded when the cached file was first used (the
    prefix pins 32 bits; the record pins the rest for every later load)."""
    digest = file_weights_sha256(path)
    if not digest.startswith(SHA256_PREFIX):
        raise WeightsUnavailableError(f"{path}: sha256 {digest} does not start with "
                                      f"{SHA256_PREFIX}; delete the file and fetch again")
    recorded = recorded_sha256(path)
    if recorded is None:
        record_sha256(path, f"{URL} (checked against the pinned prefix {SHA256_PREFIX})")
    elif recorded != digest:
        raise WeightsUnavailableError(f"{path}: sha256 {digest} differs from the {recorded} "
                                      "recorded at its first use; delete the file and fetch again")


def fetch_inception_weights(force: bool = False) -> Path:
    out = weights_path()
    if force or not out.exists():
        try:
            download(URL, out, "the FID Inception weights")
        except WeightsUnavailableError as err:
            raise WeightsUnavailableError(
                f"Inception weights not found: run `vdbench weights fetch inception` where the "
                f"internet is reachable, or download {URL} and place it at {out} (or pass the "
                f"file with --weights or, in `vdbench run`, --inception-weights) ({err})") from err
    _check_hash(out)
    return out


def fidelity_inception_class():
    """torch-fidelity's FeatureExtractorInceptionV3 (see the module docstring for the import)."""
    name = "torch_fidelity.feature_extractor_inceptionv3"
    spec = importlib.util.find_spec("torch_fidelity")
    if spec is None:
        raise WeightsUnavailableError(f"the Inception metrics need {INSTALL_HINT}")
    try:
        return importlib.import_module(name).FeatureExtractorInceptionV3
    except Exception as err:  # torchvision missing, or present but unusable with this torch
        log.debug("import torch_fidelity failed (%s); importing its Inception module alone", err)
        for mod in [m for m in sys.modules if m == "torch_fidelity" or
                    m.startswith("torch_fidelity.")]:
            del sys.modules[mod]  # drop what the failed package import left half-initialised
        sys.modules["torch_fidelity"] = importlib.util.module_from_spec(spec)  # __init__ not run
        return importlib.import_module(name).FeatureExtractorInceptionV3


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unreadable, truncated, or a pickle of more than tensors
        raise InputError(f"{path}: cannot read as a torch state dict ({err})") from err
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise InputError(f"{path}: not a state dict of tensors")
    return state


def weights_sha256(path: Optional[Path | str] = None) -> dict[str, str]:
    """File name → sha256 of the weights ``load_inception(path)`` reads (once per process)."""
    path = Path(path) if path else weights_path()
    return {path.name: file_weights_sha256(path)}


def load_inception(path: Optional[Path | str] = None, device: str | torch.device = "cpu"):
    """torch-fidelity's Inception in eval mode, returning (pool3 [N, 2048], logits [N, 1008])."""
    if path is None:
        path = fetch_inception_weights()
    path = Path(path)
    if not path.is_file():
        raise WeightsUnavailableError(f"Inception weights not found at {path}: download {URL}")
    buffer = io.BytesIO()
    torch.save(read_state_dict(path), buffer)
    buffer.seek(0)
    cls = fidelity_inception_class()
    try:
        model = cls("inception-v3-compat", list(FEATURES), feature_extractor_weights_path=buffer)
    except RuntimeError as err:  # load_state_dict: missing/unexpected keys, wrong shapes
        first = str(err).strip().splitlines()
        raise InputError(f"{path}: not the FID Inception weights ({' '.join(first[:2])})") from err
    return model.eval().to(device)
