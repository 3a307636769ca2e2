"""`vdbench doctor`: what is installed and usable, as one table; exit 3 when something asked
for with --require is not."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import click

# Optional extras (pyproject.toml) → the modules they provide; core readers beside them.
EXTRAS = {
    "tf": ("tensorflow", "tensorflow_hub"),
    "data": ("tensorflow_datasets",),
    "inception": ("torch_fidelity",),
    "plot": ("matplotlib",),
    "av": ("av",),  # video files
    "pillow": ("PIL",),  # frame folders and .zip archives of frames
    "skimage": ("skimage",),  # the test extra's second PSNR/SSIM implementation
}
EXIT_MISSING = 3


@dataclass(frozen=True)
class Check:
    """One row: what, whether it is usable, and the detail that says why."""

    name: str
    ok: bool
    detail: str


def torch_checks() -> list[Check]:
    import torch

    cuda = torch.version.cuda
    devices = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    return [
        Check("torch", True, f"{torch.__version__} ({'CUDA ' + cuda if cuda else 'CPU'} build)"),
        Check("cuda", bool(devices), ", ".join(devices) if devices else "no CUDA device"),
        Check("mps", bool(mps and mps.is_available()), "available" if mps and mps.is_available()
              else "not available"),
        Check("tf32", True, f"matmul {torch.backends.cuda.matmul.allow_tf32}, cudnn "
              f"{torch.backends.cudnn.allow_tf32}, float32 matmul precision "
              f"{torch.get_float32_matmul_precision()}"),
        Check("threads", True, f"torch {torch.get_num_threads()} intra-op, "
              f"{torch.get_num_interop_threads()} inter-op; OMP_NUM_THREADS="
              f"{os.environ.get('OMP_NUM_THREADS', 'unset')}"),
    ]


def weights_status(path: Path) -> tuple[bool, str]:
    """(usable, detail) of one weights file against the sha256 recorded beside it."""
    from vdbench.metrics.hashing import recorded_sha256, weights_sha256

    if not path.is_file():
        return False, f"{path}: missing"
    recorded, digest = recorded_sha256(path), weights_sha256(path)
    if recorded is None:
        return True, f"{path}: present, sha256 {digest[:12]}…, no record yet (made at first use)"
    if recorded != digest:
        return False, f"{path}: sha256 {digest[:12]}… differs from the recorded {recorded[:12]}…"
    return True, f"{path}: verified (sha256 {digest[:12]}…)"


def weights_checks() -> list[Check]:
    from vdbench.metrics.networks import weights_families, weights_files

    out = []
    for family in weights_families():
        found = [weights_status(Path(p)) for p in weights_files(family)]
        out.append(Check(family, bool(found) and all(ok for ok, _ in found),
                         "; ".join(d for _, d in found) or "no weights to check"))
    return out


def extra_checks() -> list[Check]:
    out = []
    for extra, modules in EXTRAS.items():
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        versions = [f"{m} {_version(m)}" for m in modules if m not in missing]
        out.append(Check(extra, not missing, ", ".join(versions + [f"{m} not installed"
                                                                  for m in missing])))
    return out


def _version(module: str) -> str:
    """The installed version of the distribution that provides ``module``."""
    for dist in importlib.metadata.packages_distributions().get(module, []):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "(version unknown)"


def requirable() -> list[str]:
    from vdbench.metrics.networks import weights_families

    return ["cuda", "mps", *weights_families(), *EXTRAS]


def parse_require(text: str) -> list[str]:
    from vdbench.metrics.errors import InputError

    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in requirable()]
    if unknown:
        raise InputError(f"--require: unknown {', '.join(unknown)}; expected names among "
                         f"{', '.join(requirable())}")
    return names


@click.command()
@click.option("--require", default="", metavar="NAMES",
              help="Comma-separated things that must be usable (a network's weights: i3d, c3d, "
                   "inception; an extra: tf, data, inception, plot, av, pillow, skimage; a "
                   f"device: cuda, mps); exit {EXIT_MISSING} if one is not.")
def doctor(require):
    """What is installed and usable: torch build and devices, TF32 and thread settings, each
    network's weights (present, and verified against the sha256 recorded beside them), and the
    optional extras."""
    from tabulate import tabulate

    wanted = parse_require(require)
    sections = (("torch", torch_checks()), ("weights", weights_checks()),
                ("extra", extra_checks()))
    rows, missing = [], []
    for kind, checks in sections:
        for check in checks:
            rows.append([kind, check.name, "ok" if check.ok else "no", check.detail])
            # "inception" names the weights and the extra: both must be usable
            if check.name in wanted and not check.ok:
                missing.append(f"{kind} {check.name}")
    click.echo(tabulate(rows, headers=["kind", "name", "usable", "detail"], tablefmt="github"))
    if missing:
        click.echo(f"missing: {', '.join(missing)}", err=True)
        raise SystemExit(EXIT_MISSING)

