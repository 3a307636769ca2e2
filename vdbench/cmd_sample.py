"""`vdbench sample`: draw videos from the analytic oracle or a checkpoint with any sampler and
conditioning method (paper Sections 2 and 3.1). torch and the model are imported lazily."""

from __future__ import annotations

import functools
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleRequest:
    """Everything `vdbench sample` was asked for, validated once."""

    sampler: str
    steps: int
    gamma: float
    conditioning: str
    w_r: float
    cfg_weight: float
    frames: int
    context_frames: int | None
    interpolate_stride: int | None
    num_samples: int
    seed: int
    batch_size: int


def _one_line_errors(fn):
    """Model and input errors: `error: ...` on one line, exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import model.errors

        user_errors = tuple(v for v in vars(model.errors).values()
                            if isinstance(v, type) and issubclass(v, ValueError))
        try:
            return fn(*args, **kwargs)
        except (*user_errors, FileNotFoundError) as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(2)

    return wrapper


def load_video(path: Path, *, what: str):
    """uint8 [T, H, W, 3] or [B, T, H, W, 3] (or float in [−1, 1]) → float64 [B, 3, T, H, W]."""
    import torch

    from model.errors import ConditioningInputError

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


def to_uint8(x) -> np.ndarray:
    """[B, C, T, H, W] in [−1, 1] → uint8 [B, T, H, W, C] (clipped, rounded)."""
    import torch

    video = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return video.permute(0, 2, 3, 4, 1).cpu().numpy()


def write_video(frames: np.ndarray, path: Path, fps: int = 8) -> None:
    """Write uint8 [T, H, W, 3] as .gif or .mp4 with PyAV."""
    import av

    codec, pix_fmt = ("gif", "rgb8") if path.suffix == ".gif" else ("mpeg4", "yuv420p")
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        height, width = frames.shape[1:3]
        pad = int(codec != "gif")  # yuv420p needs even sizes
        stream.height, stream.width = height + height % 2 * pad, width + width % 2 * pad
        stream.pix_fmt = pix_fmt
        for frame in frames:
            image = av.VideoFrame.from_ndarray(frame, format="rgb24")
            if (image.width, image.height) != (stream.width, stream.height):
                image = image.reformat(width=stream.width, height=stream.height)
            container.mux(stream.encode(image))
        container.mux(stream.encode())


ORACLE_DEFAULTS = {"sampler": "ancestral", "steps": 256, "gamma": 0.0, "w_r": 1.0}


def load_model(oracle: bool, checkpoint: Path | None, device: str):
    """(denoiser, (C, T, H, W) of one model window, null class label or None if unconditional,
    sampler defaults: the checkpoint's ``sampling`` config or ORACLE_DEFAULTS)."""
    from model.errors import SamplerInputError

    if oracle == (checkpoint is not None):
        raise SamplerInputError("give exactly one of --oracle or --checkpoint PATH")
    if oracle:
        from model.oracle import GaussianVideoOracle

        model = GaussianVideoOracle.power_law()
        return model, model.shape, None, ORACLE_DEFAULTS
    if not checkpoint.exists():
        raise FileNotFoundError(f"checkpoint {checkpoint} does not exist")
    try:
        from model.diffusion import load_denoiser
    except ImportError as err:
        raise SamplerInputError(f"cannot load checkpoints in this install ({err})") from err

    denoiser, config = load_denoiser(checkpoint, device)
    video = config.video
    if config.unet.cond not in ("none", "class"):
        raise SamplerInputError(f"vdbench sample supports unconditional and class-conditional "
                                f"checkpoints; this one is conditioned on {config.unet.cond!r}")
    null = -1 if config.unet.cond == "class" else None  # the null label used in training
    sampling = config.sampling
    defaults = {"sampler": "langevin" if sampling.langevin else "ancestral",
                "steps": sampling.timesteps, "gamma": sampling.gamma,
                "w_r": sampling.recon_guidance_weight or ORACLE_DEFAULTS["w_r"]}
    return denoiser, (video.channels, video.frames, video.height, video.width), null, defaults


def _check_request(req: SampleRequest, window: int, given: int) -> None:
    from model.errors import ConditioningInputError, SamplerInputError

    if req.num_samples < 1 or req.batch_size < 1:
        raise SamplerInputError("--num-samples and --batch-size must be >= 1")
    if req.frames < 1:
        raise SamplerInputError(f"--frames must be >= 1, got {req.frames}")
    needs_conditioning = given > 0 or req.frames > window
    if needs_conditioning and req.conditioning == "none":
        raise ConditioningInputError(
            f"{req.frames} frames with {given} given frames and a {window}-frame model need "
            "--conditioning replacement|replacement-posterior|reconstruction")
    if req.frames < window:
        raise ConditioningInputError(
            f"--frames {req.frames} is shorter than the model's {window}-frame window")


def _windows(req: SampleRequest, window: int, given: int) -> tuple[list[int], list[bool]]:
    """(window starts, initially known frames) for extension or interpolation."""
    from model.conditioning import extension_windows, interpolation_windows
    from model.errors import ConditioningInputError

    if req.interpolate_stride:
        m = req.interpolate_stride
        positions = [i * m for i in range(given)]
        if not positions or positions[-1] >= req.frames:
            raise ConditioningInputError(
                f"{given} keyframes at stride {m} do not fit {req.frames} frames")
        known = [i in set(positions) for i in range(req.frames)]
        return interpolation_windows(req.frames, window, m), known
    context = req.context_frames if req.context_frames is not None else window // 2
    if given > req.frames:
        raise ConditioningInputError(
            f"{given} context frames are longer than the {req.frames}-frame video")
    if req.frames == window and given == 0:
        return [0], [False] * window
    return extension_windows(req.frames, window, context, given), \
        [i < given for i in range(req.frames)]


def _window_sampler(denoiser, req: SampleRequest, *, shape, seeds, lowres, cond, dtype, device,
                    tick):
    """sample_window(x_a, frames, index, start) for one batch of samples (see fill_video)."""
    from model.conditioning import LowResObservation, condition, window_seeds
    from model.samplers import SAMPLERS, PerSampleNoise

    def sample_window(x_a, frames, index, start):
        obs = None if lowres is None else LowResObservation(lowres[:, :, start:start + shape[1]])
        den, replace = denoiser, None
        if frames or obs is not None:
            method = req.conditioning if frames else "none"
            den, replace = condition(denoiser, method=method, x_a=x_a, frames=frames,
                                     w_r=req.w_r, lowres=obs)
        noise = PerSampleNoise(window_seeds(seeds, index), shape, dtype=dtype, device=device)
        return SAMPLERS[req.sampler](den, noise=noise, steps=req.steps, gamma=req.gamma,
                                     cond=cond, replace=replace,
                                     callback=lambda *_: tick())

    return sample_window


def generate(denoiser, shape, req: SampleRequest, *, context=None, lowres=None, cond=None,
             dtype=None, device="cpu", tick=lambda: None):
    """All requested samples as float [N, C, frames, H, W]; batch-size independent by seed."""
    import torch

    from model.conditioning import check_video, fill_video

    channels, window, height, width = shape
    given = 0 if context is None else context.shape[2]
    _check_request(req, window, given)
    starts, known = _windows(req, window, given)
    for what, video, size in (("conditioning video", context, (height, width)),
                              ("low-resolution video", lowres, None)):
        if video is not None:
            check_video(video, what=what, channels=channels, size=size or video.shape[-2:],
                        value_range=(-1.0, 1.0))
            if video.shape[0] not in (1, req.num_samples):
                from model.errors import ConditioningInputError

                raise ConditioningInputError(f"{what} has {video.shape[0]} videos; give 1 or "
                                             f"--num-samples ({req.num_samples})")
    if lowres is not None and lowres.shape[2] != req.frames:
        from model.errors import ConditioningInputError

        raise ConditioningInputError(f"low-resolution video has {lowres.shape[2]} frames, "
                                     f"expected --frames {req.frames}")
    out = []
    for lo in range(0, req.num_samples, req.batch_size):
        hi = min(lo + req.batch_size, req.num_samples)
        pick = (lambda v: None if v is None else (v if v.shape[0] == 1 else v[lo:hi])
                .expand(hi - lo, -1, -1, -1, -1).to(device=device, dtype=dtype))
        video = torch.zeros(hi - lo, channels, req.frames, height, width, dtype=dtype,
                            device=device)
        if context is not None:
            keys = [i * (req.interpolate_stride or 1) for i in range(given)]
            video[:, :, keys] = pick(context)
        batch_cond = None if cond is None else cond[lo:hi]
        sample_window = _window_sampler(
            denoiser, req, shape=(channels, window, height, width),
            seeds=range(req.seed + lo, req.seed + hi), lowres=pick(lowres), cond=batch_cond,
            dtype=dtype, device=device, tick=tick)
        out.append(fill_video(sample_window, video=video, known=known, window=window,
                              starts=starts).cpu())
    return torch.cat(out)


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
@_one_line_errors
def sample(oracle, checkpoint, sampler, steps, gamma, conditioning, w_r, cfg_weight, label,
           frames, context_path, context_frames, interpolate_stride, lowres_path, num_samples,
           batch_size, seed, device, video_format, out):
    """Draw videos with a sampler and conditioning method; save them as uint8 arrays."""
    import torch
    from tqdm import tqdm

    denoiser, shape, null_label, defaults = load_model(oracle, checkpoint, device)
    sampler, steps, gamma, w_r = (defaults[k] if v is None else v for k, v in zip(
        ("sampler", "steps", "gamma", "w_r"), (sampler, steps, gamma, w_r)))
    cond = _class_condition(denoiser, null_label, cfg_weight, label, num_samples, device)
    if isinstance(cond, tuple):
        denoiser, cond = cond
    req = SampleRequest(sampler, steps, gamma, conditioning, w_r, cfg_weight,
                        frames or shape[1], context_frames, interpolate_stride, num_samples,
                        seed, batch_size)
    context = None if context_path is None else load_video(context_path, what="context video")
    lowres = None if lowres_path is None else load_video(lowres_path, what="low-res video")
    dtype = torch.float64 if oracle else torch.float32
    total = _count_steps(req, shape[1], 0 if context is None else context.shape[2])
    with tqdm(total=total, desc="sampling", unit="step", disable=None) as bar:
        x = generate(denoiser, shape, req, context=context, lowres=lowres, cond=cond,
                     dtype=dtype, device=device, tick=lambda: bar.update(1))
    for path in save(to_uint8(x), out, video_format):
        log.info("wrote %s", path)


def _class_condition(denoiser, null_label, cfg_weight: float, label, n: int, device):
    """None, or labels [n], or (CFG-wrapped denoiser, labels) when --cfg-weight > 0."""
    import torch

    from model.conditioning import ClassifierFreeGuidance
    from model.errors import SamplerInputError

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


def _count_steps(req: SampleRequest, window: int, given: int) -> int:
    """Progress-bar total: denoiser steps over all windows and batches."""
    _check_request(req, window, given)
    starts, _ = _windows(req, window, given)
    batches = -(-req.num_samples // max(req.batch_size, 1))
    return len(starts) * req.steps * batches
