"""`vdbench sample`: draw videos from the analytic oracle or a checkpoint with any sampler and
conditioning method (paper Sections 2 and 3.1). torch and the model are imported lazily."""

from __future__ import annotations

import logging
from pathlib import Path

import click
import numpy as np

from vdbench.cli.common import one_line_errors
from vdbench.reporting.grid import write_video
from vdbench.model.generate import (SampleRequest, count_steps, generate, load_model,  # noqa: F401
                              to_uint8)

log = logging.getLogger(__name__)


def load_video(path: Path, *, what: str):
    """uint8 [T, H, W, 3] or [B, T, H, W, 3] (or float in [−1, 1]) → float64 [B, 3, T, H, W]."""
    import torch

    from vdbench.model.errors import ConditioningInputError

    array = np.load(path, allow_pickle=False)
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
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, samples)
        written, folder = [out], out.parent
    else:
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / "samples.npy", samples)
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
              "(3×8×8×8, exact denoiser; model/oracle.py).")
@click.option("--checkpoint", type=click.Path(path_type=Path), default=None,
              help="Model checkpoint (loaded with model.diffusion.load_denoiser).")
@click.option("--sampler", type=click.Choice(["ancestral", "langevin"]), default=None,
              help="Ancestral (eq. 4) or predictor-corrector with Langevin (eq. 5) "
                   "[default: the checkpoint's sampling config; ancestral for --oracle].")
@click.option("--steps", type=int, default=None,
              help="Sampling steps, uniform in t from 1 to 0 [default: checkpoint's; 256].")
@click.option("--gamma", type=float, default=None,
              help="Log-variance interpolation γ of eq. 4 (0: σ̃²_{s|t}, 1: σ²_{t|s}) "
                   "[default: checkpoint's; 0].")
@click.option("--conditioning", type=click.Choice(["none", "replacement",
              "replacement-posterior", "reconstruction"]), default="none",
              help="How to condition on known frames (Section 3.1).")
@click.option("--guidance-weight", "w_r", type=float, default=None,
              help="Reconstruction guidance weight w_r (eqs. 7, 8) [default: checkpoint's "
                   "if set; 1].")
@click.option("--cfg-weight", type=float, default=0.0,
              help="Classifier-free guidance weight w (eq. 6); needs --label.")
@click.option("--label", type=int, default=None, help="Class label for conditional models.")
@click.option("--frames", type=int, default=None,
              help="Output frames; more than the model window extends autoregressively.")
@click.option("--context", "context_path", type=click.Path(path_type=Path), default=None,
              help=".npy uint8 [T,H,W,3] or [B,T,H,W,3]: known first frames (or keyframes).")
@click.option("--context-frames", type=int, default=None,
              help="Frames of context per extension block [default: window // 2].")
@click.option("--interpolate-stride", type=int, default=None,
              help="Treat --context as keyframes every M frames and fill the rest.")
@click.option("--lowres", "lowres_path", type=click.Path(path_type=Path), default=None,
              help=".npy low-resolution video for super-resolution guidance (eq. 8).")
@click.option("--num-samples", "-n", type=int, default=8)
@click.option("--batch-size", type=int, default=8)
@click.option("--seed", type=int, default=0, help="Sample i uses seed + i.")
@click.option("--device", default="cpu")
@click.option("--video-format", type=click.Choice(["gif", "mp4"]), default=None,
              help="Also write one video file per sample.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="samples.npy, or a directory to hold samples.npy (+ videos).")
@one_line_errors
def sample(oracle, checkpoint, sampler, steps, gamma, conditioning, w_r, cfg_weight, label,
           frames, context_path, context_frames, interpolate_stride, lowres_path, num_samples,
           batch_size, seed, device, video_format, out):
    """Draw videos with a sampler and conditioning method; save them as uint8 arrays."""
    import torch
    from tqdm import tqdm

    denoiser, shape, null_label, defaults = load_model(oracle, checkpoint, device)
    sampler, steps, gamma, w_r = (defaults[k] if v is None else v for k, v in zip(
        ("sampler", "steps", "gamma", "w_r"), (sampler, steps, gamma, w_r), strict=True))
    cond = _class_condition(denoiser, null_label, cfg_weight, label, num_samples, device)
    if isinstance(cond, tuple):
        denoiser, cond = cond
    req = SampleRequest(sampler, steps, gamma, conditioning, w_r, cfg_weight,
                        frames or shape[1], context_frames, interpolate_stride, num_samples,
                        seed, batch_size)
    context = None if context_path is None else load_video(context_path, what="context video")
    lowres = None if lowres_path is None else load_video(lowres_path, what="low-res video")
    dtype = torch.float64 if oracle else torch.float32
    total = count_steps(req, shape[1], 0 if context is None else context.shape[2])
    with tqdm(total=total, desc="sampling", unit="step", disable=None) as bar:
        x = generate(denoiser, shape, req, context=context, lowres=lowres, cond=cond,
                     dtype=dtype, device=device, tick=lambda: bar.update(1))
    for path in save(to_uint8(x), out, video_format):
        log.info("wrote %s", path)


def _class_condition(denoiser, null_label, cfg_weight: float, label, n: int, device):
    """None, or labels [n], or (CFG-wrapped denoiser, labels) when --cfg-weight > 0."""
    import torch

    from vdbench.model.conditioning import ClassifierFreeGuidance
    from vdbench.model.errors import SamplerInputError

    if cfg_weight < 0:
        raise SamplerInputError(f"--cfg-weight must be >= 0, got {cfg_weight}")
    if label is None and cfg_weight == 0:
        return None
    if null_label is None:
        raise SamplerInputError(
            "--label/--cfg-weight need a class-conditional checkpoint; this model is unconditional")
    if label is None:
        raise SamplerInputError("--cfg-weight needs --label (the class to guide towards)")
    labels = torch.full((n,), label, dtype=torch.long, device=device)
    if cfg_weight == 0:
        return labels
    return ClassifierFreeGuidance(denoiser, cfg_weight, null_label), labels
