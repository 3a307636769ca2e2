"""TGANv2's C3D weights: `conv3d_deepnetA_ucf.npz` (chainer npz) and `mean2.npz`.

They are on no package registry: `fetch_c3d_weights` downloads them from the TGANv2 release
into ``$VDBENCH_CACHE/weights/c3d``, or a user places them in a folder given as
``weights_dir``. Both are read with ``allow_pickle=False`` and checked key by key and shape by
shape before use.

The release: pfnet-research/tgan2's README ("Pre-trained weights") first pointed at a draft
release of a fork (``github.com/mitmul/tgan2/releases/download/untagged-d2d4900c6c1bb09d9f5a``),
which only its author can see; its commit eb07f02 ("Replace URLs with correct ones", August 2020)
replaced it with the published release ``github.com/rezoo/tgan2/releases/download/v1.0``, which
`RELEASE` uses. No copy has been verified here, so no checksum is pinned; instead the SHA-256 of
each file loaded is recorded (`weights_sha256`, on `C3DFeatures`), so every result records
exactly which weights produced its features. Files in the cache are also recorded at their first
load or download (``<file>.sha256.json``, see `metrics.hashing`) and checked at every later load:
a file that changed since is refused, naming the file to delete. A user's folder is checked the
same way where such a record lies beside the files; nothing is written there.

Chainer layouts: `ConvolutionND` W is [out, in, kt, kh, kw] and `Linear` W is [out, in], the
same as torch's Conv3d / Linear, so arrays load without transposes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from vdbench.metrics import cache
from vdbench.metrics.arrays import npz_keys, read_npz
from vdbench.metrics.c3d import C3D, CONVS, LINEARS, crop_mean
from vdbench.metrics.errors import InputError, WeightsUnavailableError
from vdbench.metrics.hashing import check_first_use_sha256, record_sha256
from vdbench.metrics.hashing import weights_sha256 as file_weights_sha256
from vdbench.metrics.weights_download import download

log = logging.getLogger(__name__)

RELEASE = "https://github.com/rezoo/tgan2/releases/download/v1.0"
MODEL_FILE = "conv3d_deepnetA_ucf.npz"
MEAN_FILE = "mean2.npz"
FILES = (MODEL_FILE, MEAN_FILE)


def default_dir() -> Path:
    return cache.weights_dir() / "c3d"


def cache_files() -> list[Path]:
    """The weights files in the cache (`vdbench doctor` checks them)."""
    return [default_dir() / name for name in FILES]


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Chainer npz key → shape, e.g. 'conv1a/W': (64, 3, 3, 3, 3), 'fc8/b': (101,)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for name, cin, cout in CONVS:
        shapes[f"{name}/W"], shapes[f"{name}/b"] = (cout, cin, 3, 3, 3), (cout,)
    for name, cin, cout in LINEARS:
        shapes[f"{name}/W"], shapes[f"{name}/b"] = (cout, cin), (cout,)
    return shapes


def read_c3d_npz(path: Path) -> dict[str, np.ndarray]:
    """The 22 arrays of conv3d_deepnetA_ucf.npz, refused on a missing key or a wrong shape."""
    shapes = expected_shapes()
    data = read_npz(path, shapes)
    missing = [k for k in shapes if k not in data]
    if missing:
        raise InputError(f"{path}: not TGANv2's C3D weights (missing keys {missing[:4]}"
                         f"{' ...' if len(missing) > 4 else ''})")
    arrays = {k: data[k] for k in shapes}
    for key, shape in shapes.items():
        a = arrays[key]
        if a.shape != shape or not np.issubdtype(a.dtype, np.floating):
            raise InputError(f"{path}: {key} is {a.dtype} {a.shape}, expected float {shape}")
        if not np.all(np.isfinite(a)):
            raise InputError(f"{path}: {key} contains NaN or inf")
    return arrays


def read_mean(path: Path) -> torch.Tensor:
    data = read_npz(path, ["mean"])
    if "mean" not in data:
        raise InputError(f"{path}: has no 'mean' array (keys: {npz_keys(path)})")
    return crop_mean(data["mean"], str(path))


def _missing_message(folder: Path, missing: list[str]) -> str:
    urls = ", ".join(f"{RELEASE}/{f}" for f in missing)
    return (f"C3D weights not found: {', '.join(missing)} missing in {folder}. Run `vdbench "
            f"weights fetch c3d` where the internet is reachable, or download {urls} and place "
            f"them in {folder} (or pass a folder holding both with --weights)")


def fetch_c3d_weights(force: bool = False, folder: Optional[Path] = None) -> Path:
    """Download the two files into ``folder`` (default: the cache) unless present; idempotent.

    Offline, the error names each missing file, its URL and the folder to put it in.
    """
    folder = Path(folder or default_dir())
    try:
        for name in FILES:
            if force or not (folder / name).exists():
                download(f"{RELEASE}/{name}", folder / name, f"TGANv2 C3D {name}")
                record_sha256(folder / name, f"downloaded from {RELEASE}/{name}")
    except WeightsUnavailableError as err:
        missing = [f for f in FILES if not (folder / f).is_file()]
        raise WeightsUnavailableError(f"{_missing_message(folder, missing)} ({err})") from err
    read_c3d_npz(folder / MODEL_FILE)  # refuse a wrong file now, not at first use
    read_mean(folder / MEAN_FILE)
    return folder


def _folder(weights_dir: Optional[Path | str]) -> Path:
    return Path(weights_dir) if weights_dir else default_dir()


def check_recorded(folder: Path, record: bool) -> None:
    """Each file against the sha256 recorded at its first use; with ``record``, record the files
    that have none yet."""
    for name in FILES:
        check_first_use_sha256(folder / name, record, "run `vdbench weights fetch c3d`")


def weights_sha256(weights_dir: Optional[Path | str] = None) -> dict[str, str]:
    """File name → sha256 of the two files ``load_c3d(weights_dir)`` reads (once per process)."""
    folder = _folder(weights_dir)
    return {name: file_weights_sha256(folder / name) for name in FILES}


def load_c3d(weights_dir: Optional[Path | str] = None) -> tuple[C3D, torch.Tensor]:
    """(C3D in eval mode with TGANv2's weights, the [3, 16, 112, 112] mean crop).

    ``weights_dir`` (a user's folder) must hold both files; without it the cache is used and
    filled on first use when the internet is reachable.
    """
    folder = _folder(weights_dir)
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing and weights_dir:
        raise WeightsUnavailableError(_missing_message(folder, missing))
    if missing:
        fetch_c3d_weights(folder=folder)
    check_recorded(folder, record=folder.resolve() == default_dir().resolve())
    arrays = read_c3d_npz(folder / MODEL_FILE)
    model = C3D()
    with torch.no_grad():
        for name, module in (*model.convs.items(), *model.fcs.items()):
            weight, bias = module.get_parameter("weight"), module.get_parameter("bias")
            weight.copy_(torch.from_numpy(arrays[f"{name}/W"].astype(np.float32)))
            bias.copy_(torch.from_numpy(arrays[f"{name}/b"].astype(np.float32)))
    return model.eval(), read_mean(folder / MEAN_FILE)
