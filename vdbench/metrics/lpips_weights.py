"""The LPIPS weights (vdbench.metrics.lpips): one safetensors file, `lpips_alex_v0.1.safetensors`.

Layout: the tensors of the `lpips` package's ``LPIPS(net='alex', version='0.1').state_dict()``
under its own key names, float32:

- ``net.slice1.0`` [64, 3, 11, 11], ``net.slice2.3`` [192, 64, 5, 5], ``net.slice3.6``
  [384, 192, 3, 3], ``net.slice4.8`` [256, 384, 3, 3], ``net.slice5.10`` [256, 256, 3, 3]
  (``.weight`` and ``.bias``): torchvision's ImageNet AlexNet convolutions;
- ``lin0.model.1.weight`` … ``lin4.model.1.weight`` [1, C, 1, 1]: the learned linear layers.

The state dict's duplicates (``lins.K.model.1.weight``) and its constant buffers
(``scaling_layer.shift`` / ``.scale``) may be present: they are checked against the above and
against lpips.SHIFT / SCALE. Any other key, a missing key, a wrong shape or a non-finite value
is refused, naming the file.

The weights are on no package registry as one file (the lin layers ship inside the `lpips`
package, AlexNet comes from torchvision's download), so vdbench does not fetch them: where the
`lpips` package and the internet are available, ``python -m vdbench.metrics.lpips_weights FILE``
writes the file from ``lpips.LPIPS(net='alex', version='0.1')``. No copy has been verified here,
so no checksum is pinned; as for the C3D weights (vdbench.metrics.c3d_weights), the SHA-256 of
the file loaded is recorded with every result, a file in the cache is recorded at its first use
(``<file>.sha256.json``) and checked at every later load, and a user's file is checked the same
way where such a record lies beside it (nothing is written there).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import torch

from vdbench.metrics import cache
from vdbench.metrics.errors import InputError, WeightsUnavailableError
from vdbench.metrics.hashing import check_first_use_sha256
from vdbench.metrics.hashing import weights_sha256 as file_weights_sha256
from vdbench.metrics.lpips import CONVS, LINS, SCALE, SHIFT, LPIPSNet

WEIGHTS_FILE = "lpips_alex_v0.1.safetensors"
OPTION = "--lpips-weights"


def weights_path() -> Path:
    return cache.weights_dir() / "lpips" / WEIGHTS_FILE


def cache_files() -> list[Path]:
    """The weights file in the cache (`vdbench doctor` checks it)."""
    return [weights_path()]


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Key → shape of the required tensors, e.g. 'net.slice1.0.weight': (64, 3, 11, 11)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for name, cin, cout, k, *_ in CONVS:
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (cout, cin, k, k), (cout,)
    for lin, (_, _, cout, *_) in zip(LINS, CONVS, strict=True):
        shapes[f"{lin}.weight"] = (1, cout, 1, 1)
    return shapes


def _optional(arrays: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """What the optional keys must equal: the lins.K duplicates and the scaling constants."""
    out = {f"lins.{i}.model.1.weight": arrays[f"{lin}.weight"] for i, lin in enumerate(LINS)}
    out["scaling_layer.shift"] = torch.tensor(SHIFT).view(1, 3, 1, 1)
    out["scaling_layer.scale"] = torch.tensor(SCALE).view(1, 3, 1, 1)
    return out


def _read(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as err:  # not safetensors, truncated, a header that lies
        raise InputError(f"{path}: cannot read as a safetensors file ({err})") from err


def read_lpips_file(path: Path) -> dict[str, torch.Tensor]:
    """The required tensors of an LPIPS weights file, float32; refused (naming the file) on a
    missing or unknown key, a wrong shape or dtype, or a non-finite value."""
    found, shapes = _read(path), expected_shapes()
    missing = [k for k in shapes if k not in found]
    if missing:
        raise InputError(f"{path}: not LPIPS v0.1 AlexNet weights (missing {missing[:3]}"
                         f"{' ...' if len(missing) > 3 else ''})")
    arrays = {}
    for key, shape in shapes.items():
        t = found[key]
        if tuple(t.shape) != shape or not t.is_floating_point():
            raise InputError(f"{path}: {key} is {t.dtype} {tuple(t.shape)}, expected float "
                             f"{shape}")
        if not torch.isfinite(t).all():
            raise InputError(f"{path}: {key} contains NaN or inf")
        arrays[key] = t.to(torch.float32)
    optional = _optional(arrays)
    unknown = sorted(set(found) - set(shapes) - set(optional))
    if unknown:
        raise InputError(f"{path}: unexpected keys {unknown[:3]} (expected the state dict of "
                         "lpips.LPIPS(net='alex', version='0.1'))")
    for key, want in optional.items():
        if key in found and (found[key].shape != want.shape or
                             not torch.allclose(found[key].float(), want, rtol=0, atol=1e-6)):
            what = "its lin layer" if key.startswith("lins") else "lpips v0.1's constant"
            raise InputError(f"{path}: {key} differs from {what}, which it must equal")
    return arrays


def _missing_message(path: Path) -> str:
    return (f"LPIPS weights not found: {path} is missing. Where the lpips package (pip install "
            f"lpips) and the internet are available, run `python -m vdbench.metrics.lpips_weights "
            f"{WEIGHTS_FILE}` and place the file at {path} (or pass it with {OPTION})")


def _resolve(path: Optional[Path | str]) -> Path:
    return Path(path) if path else weights_path()


def check_recorded(path: Path, record: bool) -> None:
    """The file against the sha256 recorded at its first use; with ``record``, record it when
    nothing is recorded yet (the cache's file)."""
    check_first_use_sha256(path, record, "write it again with "
                           "`python -m vdbench.metrics.lpips_weights`")


def weights_sha256(path: Optional[Path | str] = None) -> dict[str, str]:
    """File name → sha256 of the file ``load_lpips(path)`` reads (once per process)."""
    resolved = _resolve(path)
    return {resolved.name: file_weights_sha256(resolved)}


def load_lpips(path: Optional[Path | str] = None) -> LPIPSNet:
    """LPIPSNet in eval mode with the weights of ``path`` (a user's file) or the cache's."""
    resolved = _resolve(path)
    if not resolved.is_file():
        raise WeightsUnavailableError(_missing_message(resolved))
    check_recorded(resolved, record=resolved.resolve() == weights_path().resolve())
    return LPIPSNet().load_arrays(read_lpips_file(resolved))


def export_lpips_weights(out: Path, model=None) -> Path:
    """Write ``model`` (an ``lpips.LPIPS(net='alex', version='0.1')``; default: made here, which
    downloads torchvision's AlexNet once) in the layout above, and check it reads back."""
    from safetensors.torch import save_file

    if model is None:
        import lpips  # the user's install; not a vdbench dependency

        model = lpips.LPIPS(net="alex", version="0.1", verbose=False)
    # cloned: the state dict's lins.K duplicates share memory, which safetensors refuses
    state = {k: v.detach().to(torch.float32).clone() for k, v in model.state_dict().items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(out))
    read_lpips_file(out)
    return out


if __name__ == "__main__":  # python -m vdbench.metrics.lpips_weights FILE
    if len(sys.argv) != 2:
        sys.exit("usage: python -m vdbench.metrics.lpips_weights FILE")
    print(export_lpips_weights(Path(sys.argv[1])))
