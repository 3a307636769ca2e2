"""The sampling engine shared by `vdbench sample` and the runner: load a model (checkpoint or
the analytic oracle), then draw videos window by window with any sampler and conditioning method
(paper Sections 2 and 3.1). Every sample's noise comes from its own seed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from vdbench.model.settings import SamplingSettings

if TYPE_CHECKING:  # torch loads only when sampling starts
    from vdbench.model.denoiser import Denoiser


@dataclass(frozen=True)
class SampleRequest:
    """What to draw: the sampling settings plus the shape of the job, validated once."""

    settings: SamplingSettings
    frames: int
    num_samples: int
    seed: int = 0
    batch_size: int = 8
    interpolate_stride: int | None = None  # keyframes every M frames (interpolation)

    def __post_init__(self) -> None:
        from vdbench.model.errors import ConditioningInputError

        # 0 would read as "off" where the stride is tested for truth: refuse it instead.
        if self.interpolate_stride is not None and self.interpolate_stride < 1:
            raise ConditioningInputError(
                f"--interpolate-stride: must be at least 1, got {self.interpolate_stride} "
                "(leave it out for no interpolation)")


def to_uint8(x, source: str = "the model") -> np.ndarray:
    """[B, C, T, H, W] in [−1, 1] → uint8 [B, T, H, W, C] (clipped, rounded).

    NaN or inf samples are refused, naming ``source`` (the checkpoint): clamping and the uint8
    cast would otherwise turn them into plausible-looking (e.g. all-black) videos."""
    import torch

    from vdbench.model.errors import GenerationError

    finite = torch.isfinite(x)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        raise GenerationError(f"{source}: generated samples contain NaN or inf ({bad} of "
                              f"{x.numel()} values) before quantisation; the weights or the "
                              "sampling settings are broken")
    video = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return video.permute(0, 2, 3, 4, 1).cpu().numpy()


# The analytic oracle's sampler defaults (it has no checkpoint): exact float64 arithmetic.
ORACLE_DEFAULTS = {"sampler": "ancestral", "steps": 256, "gamma": 0.0, "w_r": 1.0,
                   "precision": "fp64"}
# The null condition of classifier-free guidance, as training drops a condition
# (model/diffusion.py drop_cond: class labels → −1, caption embeddings → 0).
CFG_NULL = {"class": -1.0, "text": 0.0}


def checkpoint_defaults(sampling, cond: str) -> dict:
    """SamplingSettings values a checkpoint's ``sampling`` config (Appendix A) provides."""
    out = {"sampler": "langevin" if sampling.langevin else "ancestral",
           "steps": sampling.timesteps, "gamma": sampling.gamma}
    if sampling.recon_guidance_weight:
        out["w_r"] = sampling.recon_guidance_weight
    if cond in CFG_NULL:
        out["cfg_null"] = CFG_NULL[cond]
    return out


def torch_dtype(settings: SamplingSettings):
    """The sampler's arithmetic dtype. With bf16 the sampler state stays float32 and only the
    network runs in bfloat16 autocast (:class:`Bf16Autocast`)."""
    import torch

    return {"fp32": torch.float32, "fp64": torch.float64,
            "bf16": torch.float32}[settings.precision]


class Bf16Autocast:
    """A denoiser whose network runs under bfloat16 autocast; x̂ comes back as float32.

    Autocast keeps the fp32 weights and runs matmuls and convolutions in bfloat16; the sampler
    updates (eqs. 4, 5) and the final quantisation see float32 tensors only.
    """

    def __init__(self, denoiser: Denoiser):
        self.denoiser = denoiser

    def __call__(self, z_t, logsnr, cond: Any = None):
        import torch

        with torch.autocast(device_type=z_t.device.type, dtype=torch.bfloat16):
            out = self.denoiser(z_t, logsnr, cond)
        return out.to(torch.float32)


def with_precision(denoiser: Denoiser, settings: SamplingSettings) -> Denoiser:
    """The denoiser as ``settings.precision`` asks: wrapped in bf16 autocast, else as is."""
    return Bf16Autocast(denoiser) if settings.precision == "bf16" else denoiser


@dataclass(frozen=True)
class LoadedModel:
    """A denoiser with what samplers need to know about it."""

    denoiser: Denoiser
    shape: tuple[int, int, int, int]  # (C, T, H, W) of one model window
    cond: str  # "none" | "class" | "text" (the network's conditioning)
    text_dim: int  # width D of the caption embeddings [B, L, D] (cond == "text"), else 0
    defaults: dict  # SamplingSettings values: the checkpoint's sampling config, or ORACLE_DEFAULTS


def open_model(oracle: bool, checkpoint: Path | None, device: str) -> LoadedModel:
    """The analytic oracle or a checkpoint's denoiser, whatever it is conditioned on."""
    from vdbench.model.errors import SamplerInputError

    if oracle == (checkpoint is not None):
        raise SamplerInputError("give exactly one of --oracle or --checkpoint PATH")
    if checkpoint is None:  # the oracle
        from vdbench.model.oracle import GaussianVideoOracle

        model = GaussianVideoOracle.power_law()
        return LoadedModel(model, model.shape, "none", 0, ORACLE_DEFAULTS)
    if not checkpoint.exists():
        raise FileNotFoundError(f"checkpoint {checkpoint} does not exist")
    try:
        from vdbench.model.diffusion import load_denoiser
    except ImportError as err:
        raise SamplerInputError(f"cannot load checkpoints in this install ({err})") from err

    denoiser, config = load_denoiser(checkpoint, device)
    video, sampling = config.video, config.sampling
    defaults = checkpoint_defaults(sampling, config.unet.cond)
    shape = (video.channels, video.frames, video.height, video.width)
    text_dim = config.unet.text_dim if config.unet.cond == "text" else 0
    return LoadedModel(denoiser, shape, config.unet.cond, text_dim, defaults)


def load_model(oracle: bool, checkpoint: Path | None, device: str) -> LoadedModel:
    """`vdbench sample`'s models: unconditional or class-conditional."""
    from vdbench.model.errors import SamplerInputError

    model = open_model(oracle, checkpoint, device)
    if model.cond not in ("none", "class"):
        raise SamplerInputError(f"vdbench sample supports unconditional and class-conditional "
                                f"checkpoints; this one is conditioned on {model.cond!r}")
    return model


def _check_request(req: SampleRequest, window: int, given: int) -> None:
    from vdbench.model.errors import ConditioningInputError, SamplerInputError

    if req.num_samples < 1 or req.batch_size < 1:
        raise SamplerInputError("--num-samples and --batch-size must be >= 1")
    if req.frames < 1:
        raise SamplerInputError(f"--frames must be >= 1, got {req.frames}")
    needs_conditioning = given > 0 or req.frames > window
    if needs_conditioning and req.settings.conditioning == "none":
        raise ConditioningInputError(
            f"{req.frames} frames with {given} given frames and a {window}-frame model need "
            "--conditioning replacement|replacement-posterior|reconstruction")
    if req.frames < window:
        raise ConditioningInputError(
            f"--frames {req.frames} is shorter than the model's {window}-frame window")


def _windows(req: SampleRequest, window: int, given: int) -> tuple[list[int], list[bool]]:
    """(window starts, initially known frames) for extension or interpolation."""
    from vdbench.model.conditioning import extension_windows, interpolation_windows
    from vdbench.model.errors import ConditioningInputError

    if req.interpolate_stride:
        m = req.interpolate_stride
        positions = [i * m for i in range(given)]
        if not positions or positions[-1] >= req.frames:
            raise ConditioningInputError(
                f"{given} keyframes at stride {m} do not fit {req.frames} frames")
        known = [i in set(positions) for i in range(req.frames)]
        return interpolation_windows(req.frames, window, m), known
    context = req.settings.context_frames
    context = window // 2 if context is None else context
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
    from vdbench.model.conditioning import LowResObservation, condition, window_seeds
    from vdbench.model.samplers import PerSampleNoise

    s = req.settings

    def sample_window(x_a, frames, index, start):
        obs = None if lowres is None else LowResObservation(lowres[:, :, start:start + shape[1]])
        den, replace = denoiser, None
        if frames or obs is not None:
            method = s.conditioning if frames else "none"
            den, replace = condition(denoiser, method=method, x_a=x_a, frames=frames,
                                     w_r=s.w_r, lowres=obs)
        noise = PerSampleNoise(window_seeds(seeds, index), shape, dtype=dtype, device=device)
        return s.draw(den, noise=noise, cond=cond, replace=replace, callback=lambda *_: tick())

    return sample_window


def guided(denoiser, settings: SamplingSettings, cond):
    """The denoiser with classifier-free guidance (eq. 6) when ``cfg_weight`` > 0."""
    from vdbench.model.errors import SamplerInputError

    if settings.cfg_weight == 0:
        return denoiser
    if cond is None:
        raise SamplerInputError("--cfg-weight: classifier-free guidance needs a conditional "
                                "model and a condition (class label or caption)")
    from vdbench.model.conditioning import ClassifierFreeGuidance

    return ClassifierFreeGuidance(denoiser, settings.cfg_weight, settings.cfg_null)


def generate(denoiser, shape, req: SampleRequest, *, context=None, lowres=None, cond=None,
             device="cpu", tick=lambda: None, seeds: Optional[Sequence[int]] = None):
    """All requested samples as float [N, C, frames, H, W]; batch-size independent by seed.

    Sample i draws its noise from ``seeds[i]`` (default: ``req.seed + i``). Every setting of
    ``req.settings`` reaches the sampler: sampler and its parameters, steps, γ, conditioning,
    w_r, classifier-free guidance (weight and null condition), context frames, precision."""
    import torch

    dtype = torch_dtype(req.settings)
    denoiser = guided(with_precision(denoiser, req.settings), req.settings, cond)

    from vdbench.model.conditioning import check_video, fill_video

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
                from vdbench.model.errors import ConditioningInputError

                raise ConditioningInputError(f"{what} has {video.shape[0]} videos; give 1 or "
                                             f"--num-samples ({req.num_samples})")
    if lowres is not None and lowres.shape[2] != req.frames:
        from vdbench.model.errors import ConditioningInputError

        raise ConditioningInputError(f"low-resolution video has {lowres.shape[2]} frames, "
                                     f"expected --frames {req.frames}")
    all_seeds = list(range(req.seed, req.seed + req.num_samples)) if seeds is None else list(seeds)
    if len(all_seeds) != req.num_samples:
        from vdbench.model.errors import SamplerInputError

        raise SamplerInputError(f"{len(all_seeds)} seeds for {req.num_samples} samples")
    out = []
    for lo in range(0, req.num_samples, req.batch_size):
        hi = min(lo + req.batch_size, req.num_samples)
        def pick(v: torch.Tensor, lo: int = lo, hi: int = hi) -> torch.Tensor:
            """Rows lo:hi of a per-sample video (a single row is shared by every sample)."""
            rows = v if v.shape[0] == 1 else v[lo:hi]
            return rows.expand(hi - lo, -1, -1, -1, -1).to(device=device, dtype=dtype)

        video = torch.zeros(hi - lo, channels, req.frames, height, width, dtype=dtype,
                            device=device)
        if context is not None:
            keys = [i * (req.interpolate_stride or 1) for i in range(given)]
            video[:, :, keys] = pick(context)
        batch_cond = None if cond is None else cond[lo:hi]
        batch_lowres = None if lowres is None else pick(lowres)
        sample_window = _window_sampler(
            denoiser, req, shape=(channels, window, height, width),
            seeds=all_seeds[lo:hi], lowres=batch_lowres, cond=batch_cond,
            dtype=dtype, device=device, tick=tick)
        out.append(fill_video(sample_window, video=video, known=known, window=window,
                              starts=starts).cpu())
    return torch.cat(out)


def count_steps(req: SampleRequest, window: int, given: int) -> int:
    """Progress-bar total: denoiser steps over all windows and batches."""
    _check_request(req, window, given)
    starts, _ = _windows(req, window, given)
    batches = -(-req.num_samples // max(req.batch_size, 1))
    return len(starts) * req.settings.steps * batches
