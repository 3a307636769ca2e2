"""`vdbench sample`: draw videos from the analytic oracle or a checkpoint with any sampler and
conditioning method (paper Sections 2 and 3.1). torch and the model are imported lazily."""

from __future__ import annotations

import logging
from pathlib import Path

import click
import numpy as np

from vdbench.cli.common import DEVICE, SEED
from vdbench.cli.sampling_options import sampling_options, take
from vdbench.model.generate import SampleRequest, count_steps, generate, load_model, to_uint8
from vdbench.reporting.grid import write_video
from vdbench.util.atomic import atomic_save_npy

log = logging.getLogger(__name__)


def load_video(path: Path, *, what: str):
    """uint8 [T, H, W, 3] or [B, T, H, W, 3] (or float in [−1, 1]) → float64 [B, 3, T, H, W]."""
    import torch

    from vdbench.model.errors import ConditioningInputError

    from vdbench.metrics.arrays import read_npy

    array = read_npy(path)
    if array.ndim == 4:
        array = array[None]
    if array.ndim != 5 or array.shape[-1] != 3:
        raise ConditioningInputError(
            f"{what} {path} has shape {array.shape}; expected [T, H, W, 3] or [B, T, H, W, 3]")
    if array.dtype == np.uint8:
        video = torch.from_numpy(array).double() / 127.5 - 1.0
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or array.min() < -1 or array.max() > 1:
            raise ConditioningInputError(
                f"{what} {path} is float but not within [-1, 1]; save uint8 frames instead")
        video = torch.from_numpy(array.astype(np.float64))
    else:
        raise ConditioningInputError(f"{what} {path} has dtype {array.dtype}; expected uint8")
    return video.permute(0, 4, 1, 2, 3).contiguous()


def save(samples: np.ndarray, out: Path, video_format: str | None) -> list[Path]:
    """samples.npy (uint8 [N, T, H, W, 3]) at ``out`` or inside directory ``out``; + videos."""
    if out.suffix == ".npy":
        atomic_save_npy(out, samples)
        written, folder = [out], out.parent
    else:
        out.mkdir(parents=True, exist_ok=True)
        atomic_save_npy(out / "samples.npy", samples)
        written, folder = [out / "samples.npy"], out
    if video_format:
        stem = out.stem if out.suffix == ".npy" else "sample"
        for i, video in enumerate(samples):
            path = folder / f"{stem}_{i:05d}.{video_format}"
            write_video(video, path)
            written.append(path)
    return written


@click.command("sample")
@click.option("--oracle", is_flag=True, help="Sample the analytic Gaussian video oracle "
              "(3×8×8×8, exact denoiser; vdbench/model/oracle.py).")
@click.option("--checkpoint", type=click.Path(path_type=Path), default=None,
              help="Model checkpoint (loaded with vdbench.model.diffusion.load_denoiser).")
@sampling_options()
@click.option("--label", type=int, default=None, help="Class label for conditional models.")
@click.option("--frames", type=int, default=None,
              help="Output frames; more than the model window extends autoregressively.")
@click.option("--context", "context_path", type=click.Path(path_type=Path), default=None,
              help=".npy uint8 [T,H,W,3] or [B,T,H,W,3]: known first frames (or keyframes).")
@click.option("--interpolate-stride", type=int, default=None,
              help="Treat --context as keyframes every M frames and fill the rest.")
@click.option("--lowres", "lowres_path", type=click.Path(path_type=Path), default=None,
              help=".npy low-resolution video for super-resolution guidance (eq. 8).")
@click.option("--num-samples", "-n", type=int, default=8)
@click.option("--batch-size", type=int, default=8)
@click.option("--seed", type=SEED, default=0, help="Sample i uses seed + i.")
@click.option("--device", default="cpu", type=DEVICE)
@click.option("--video-format", type=click.Choice(["gif", "mp4"]), default=None,
              help="Also write one video file per sample.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="samples.npy, or a directory to hold samples.npy (+ videos).")
def sample(oracle, checkpoint, label, frames, context_path, interpolate_stride, lowres_path,
           num_samples, batch_size, seed, device, video_format, out, **kw):
    """Draw videos with a sampler and conditioning method; save them as uint8 arrays.

    Unset sampling options take the checkpoint's sampling config (the oracle's defaults for
    --oracle); an option that cannot apply (e.g. --delta with the ancestral sampler) is refused.
    """
    from tqdm import tqdm

    from vdbench.model.settings import resolve

    model = load_model(oracle, checkpoint, device)
    settings, sources = resolve(("oracle" if oracle else "checkpoint", model.defaults),
                                ("option", take(kw)), super_resolution=lowres_path is not None)
    log.info("sampling settings: %s", ", ".join(f"{k}={getattr(settings, k)} ({source})"
                                                for k, source in sources.items()))
    cond = _class_condition(model, settings.cfg_weight, label, num_samples, device)
    req = SampleRequest(settings, frames or model.shape[1], num_samples, seed, batch_size,
                        interpolate_stride)
    context = None if context_path is None else load_video(context_path, what="context video")
    lowres = None if lowres_path is None else load_video(lowres_path, what="low-res video")
    total = count_steps(req, model.shape[1], 0 if context is None else context.shape[2])
    with tqdm(total=total, desc="sampling", unit="step", disable=None) as bar:
        x = generate(model.denoiser, model.shape, req, context=context, lowres=lowres,
                     cond=cond, device=device, tick=lambda: bar.update(1))
    source = "--oracle" if oracle else f"checkpoint {checkpoint}"
    for path in save(to_uint8(x, source), out, video_format):
        log.info("wrote %s", path)


def _class_condition(model, cfg_weight: float, label, n: int, device):
    """None, or the class labels [n] (classifier-free guidance is applied by `generate`)."""
    import torch

    from vdbench.model.errors import SamplerInputError

    if label is None and cfg_weight == 0:
        return None
    if model.cond != "class":
        raise SamplerInputError(
            "--label/--cfg-weight need a class-conditional checkpoint; this model is unconditional")
    if label is None:
        raise SamplerInputError("--cfg-weight needs --label (the class to guide towards)")
    return torch.full((n,), label, dtype=torch.long, device=device)
