"""The space-time factorized 3D U-Net of Fig. 1 (Section 3, Appendix A).

Input ``z_t`` is ``[B, C, T, H, W]`` (channels first, like the Denoiser interface), ``logsnr`` is
``[B]``. Inside, frames are folded into the batch (``[B·T, C, H, W]``): every convolution is a
space-only 1×3×3 convolution and GroupNorm normalises each frame on its own, so frames interact
only through temporal attention. That is what makes joint image-video training exact: with the
temporal mask, an appended image frame gets exactly the output it would get alone.

The network predicts ε or v (``DiffusionConfig.prediction``); :mod:`model.diffusion` turns that
into x̂ for the samplers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from vdbench.model.attention import (AttentionPool, SpatialAttention, TemporalAttention,
                                     temporal_mask)
from vdbench.model.configs import ModelConfig, UNetConfig, VideoConfig


def logsnr_embedding(logsnr: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of λ, ``[B] → [B, dim]``, frequencies 10^-2 … 10^1.5 (λ ∈ [−20, 20])."""
    half = dim // 2
    freqs = torch.logspace(-2.0, 1.5, half, device=logsnr.device, dtype=torch.float64)
    angles = logsnr.to(torch.float64)[:, None] * freqs[None, :]
    emb = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    return F.pad(emb, (0, dim - 2 * half)).to(logsnr.dtype if logsnr.is_floating_point()
                                                else torch.float32)


@dataclass
class FrameContext:
    """What blocks need to know about the folded frame axis."""

    frames: int
    allowed: torch.Tensor | None  # [B, T, T] temporal attention mask, None = all frames see all
    positions: torch.Tensor | None  # [T] frame positions for relative embeddings
    dropout_seeds: torch.Tensor | None = None  # [B] int64: per-example dropout masks


class ExampleDropout(nn.Module):
    """Dropout whose mask for example b depends only on (``dropout_seeds[b]``, this block), when
    seeds are given: so a batch split over processes or micro-batches drops the same units.
    Without seeds it is ``nn.Dropout`` (the global RNG)."""

    def __init__(self, p: float):
        super().__init__()
        self.p, self.salt = p, 0  # salt: this block's index, set by UNet3D

    def forward(self, x: torch.Tensor, ctx: FrameContext) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if ctx.dropout_seeds is None:
            return F.dropout(x, self.p, training=True)
        frames = x.reshape(-1, ctx.frames, *x.shape[1:])  # [B, T, C, H, W]
        keep = torch.empty_like(frames, memory_format=torch.contiguous_format)
        for b, seed in enumerate(ctx.dropout_seeds.tolist()):
            gen = torch.Generator(device=x.device).manual_seed(
                (seed + 0x9E3779B97F4A7C15 * (self.salt + 1)) % 2**63)
            keep[b] = torch.rand(keep.shape[1:], generator=gen, device=x.device,
                                 dtype=x.dtype) >= self.p
        return x * keep.reshape(x.shape) / (1.0 - self.p)


class ResBlock(nn.Module):
    """Wide-ResNet style block: GN, SiLU, 1×3×3 conv, + embedding, GN, SiLU, dropout, conv."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, dropout: float, groups: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.dropout = ExampleDropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)  # the residual branch starts at zero
        nn.init.zeros_(self.conv2.get_parameter("bias"))
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, h: torch.Tensor, emb: torch.Tensor, ctx: FrameContext) -> torch.Tensor:
        x = self.conv1(F.silu(self.norm1(h)))
        # The conditioning embedding is added into every residual block (Section 3), per sample.
        x = x.add_(self.emb(emb).repeat_interleave(ctx.frames, dim=0)[:, :, None, None])
        x = self.conv2(self.dropout(F.silu(self.norm2(x)), ctx))
        return self.skip(h) + x


class Stage(nn.Module):
    """One residual block, optionally followed by spatial then temporal attention (Fig. 1)."""

    def __init__(self, c_in: int, c_out: int, cfg: UNetConfig, attention: bool):
        super().__init__()
        self.res = ResBlock(c_in, c_out, cfg.emb_dim, cfg.dropout, cfg.norm_groups)
        self.spatial = SpatialAttention(c_out, cfg.head_dim, cfg.norm_groups) if attention else None
        self.temporal = (TemporalAttention(c_out, cfg.head_dim, cfg.norm_groups,
                                           cfg.max_rel_distance) if attention else None)

    checkpointed = False  # recompute each block's activations in backward (set_checkpointing)

    def forward(self, h: torch.Tensor, emb: torch.Tensor, ctx: FrameContext) -> torch.Tensor:
        h = self._run(self.res, h, emb, ctx)
        if self.spatial is not None and self.temporal is not None:
            h = self._run(self.spatial, h)
            h = self._run(self.temporal, h, ctx.frames, ctx.allowed, ctx.positions)
        return h

    def _run(self, block: nn.Module, *args):
        if self.checkpointed and self.training and torch.is_grad_enabled():
            # Non-reentrant checkpointing restores the RNG state (and seeded dropout is
            # deterministic), so dropout masks and gradients are those of the plain forward.
            return checkpoint(block, *args, use_reentrant=False)
        return block(*args)


class Downsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, h: torch.Tensor, emb: torch.Tensor, ctx: FrameContext) -> torch.Tensor:
        return self.conv(h)


class Upsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, h: torch.Tensor, emb: torch.Tensor, ctx: FrameContext) -> torch.Tensor:
        return self.conv(F.interpolate(h, scale_factor=2.0, mode="nearest"))


class CondEmbedding(nn.Module):
    """λ (sinusoidal) plus c (class or pooled caption) through an MLP (Section 3, Appendix A)."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.sin_dim = cfg.base_channels
        self.cond = cfg.cond
        self.inp = nn.Linear(self.sin_dim, cfg.emb_dim)
        if cfg.cond == "class":
            self.num_classes = cfg.num_classes
            self.label = nn.Embedding(cfg.num_classes + 1, cfg.emb_dim)  # last row: no label
        elif cfg.cond == "text":
            self.text = AttentionPool(cfg.text_dim, cfg.emb_dim, cfg.head_dim)
        layers: list[nn.Module] = []
        for _ in range(cfg.emb_mlp_layers - 1):
            layers += [nn.SiLU(), nn.Linear(cfg.emb_dim, cfg.emb_dim)]
        self.mlp = nn.Sequential(*layers)

    def check_cond(self, cond: torch.Tensor | None, batch: int) -> None:
        if cond is None:
            return
        if self.cond == "none":
            raise ValueError("this network is unconditional; pass cond=None")
        if self.cond == "class" and (cond.shape != (batch,) or torch.is_floating_point(cond)
                                     or bool((cond >= self.num_classes).any())):
            raise ValueError(f"cond must be integer labels [B] = [{batch}] in "
                             f"[-1, {self.num_classes - 1}] (−1 = no label), got "
                             f"{cond.dtype} {tuple(cond.shape)}")
        if self.cond == "text" and (cond.ndim != 3 or cond.shape[0] != batch
                                    or cond.shape[2] != self.text.q.in_features):
            raise ValueError(f"cond must be caption embeddings [B, L, {self.text.q.in_features}]"
                             f" with B = {batch}, got {tuple(cond.shape)}")

    def forward(self, logsnr: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        self.check_cond(cond, logsnr.shape[0])
        emb = self.inp(logsnr_embedding(logsnr, self.sin_dim).to(self.inp.weight.dtype))
        if self.cond == "class":
            if cond is None:
                cond = torch.full_like(logsnr, -1, dtype=torch.long)
            # Label −1 means "no label": the null class of classifier-free guidance.
            emb = emb + self.label(torch.where(cond < 0, self.num_classes, cond))
        elif self.cond == "text" and cond is not None:
            emb = emb + self.text(cond.to(emb.dtype))
        elif self.cond == "text":
            emb = emb + self.text(torch.zeros(1, 1, self.text.q.in_features, dtype=emb.dtype,
                                              device=emb.device)).expand_as(emb)
        return F.silu(self.mlp(emb))


class UNet3D(nn.Module):
    """ε̂ or v̂ = unet(z_t, logsnr, cond, frame_is_image); shapes as in the module docstring."""

    def __init__(self, config: ModelConfig | UNetConfig, video: VideoConfig | None = None):
        super().__init__()
        if isinstance(config, ModelConfig):
            video, config = config.video, config.unet
        video = video or VideoConfig()
        self.config, self.video = config, video
        self.levels = len(config.channel_mults)
        widths = [config.base_channels * m for m in config.channel_mults]
        self.embed = CondEmbedding(config)
        self.conv_in = nn.Conv2d(video.channels, widths[0], 3, padding=1)
        self.down, skips = self._build_down(config, widths, video.height)
        res = video.height // 2 ** (self.levels - 1)
        self.middle = nn.ModuleList([Stage(widths[-1], widths[-1], config, attention=True),
                                     Stage(widths[-1], widths[-1], config, attention=False)])
        self.up = self._build_up(config, widths, skips, res)
        for salt, module in enumerate(m for m in self.modules() if isinstance(m, ExampleDropout)):
            module.salt = salt
        self.norm_out = nn.GroupNorm(config.norm_groups, widths[0])
        self.conv_out = nn.Conv2d(widths[0], video.channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.get_parameter("bias"))
        # Activations are channels-last (see forward); weights too, or every call reorders them.
        # (torch's stub for Module.to lacks the memory_format form that Module.to documents.)
        self.to(memory_format=torch.channels_last)  # type: ignore[call-overload]

    @staticmethod
    def _build_down(cfg: UNetConfig, widths: list[int], res: int):
        blocks, skips, ch = nn.ModuleList(), [widths[0]], widths[0]
        for level, width in enumerate(widths):
            for _ in range(cfg.num_res_blocks):
                blocks.append(Stage(ch, width, cfg, attention=res in cfg.attn_resolutions))
                ch = width
                skips.append(ch)
            if level < len(widths) - 1:
                blocks.append(Downsample(ch))
                skips.append(ch)
                res //= 2
        return blocks, skips

    @staticmethod
    def _build_up(cfg: UNetConfig, widths: list[int], skips: list[int], res: int):
        blocks, ch, skips = nn.ModuleList(), widths[-1], list(skips)
        for level in reversed(range(len(widths))):
            for _ in range(cfg.num_res_blocks + 1):
                # Concatenation skip connections to the downsampling pass (Fig. 1).
                attention = res in cfg.attn_resolutions
                blocks.append(Stage(ch + skips.pop(), widths[level], cfg, attention))
                ch = widths[level]
            if level > 0:
                blocks.append(Upsample(ch))
                res *= 2
        return blocks

    def set_checkpointing(self, enabled: bool) -> None:
        """Activation checkpointing per residual and attention block: activations inside a
        block are recomputed in the backward pass instead of stored (less memory, ~1/3 more
        compute); the gradients are unchanged."""
        for module in self.modules():
            if isinstance(module, Stage):
                module.checkpointed = enabled

    def check_input(self, z_t: torch.Tensor, logsnr: torch.Tensor) -> None:
        factor = 2 ** (self.levels - 1)
        if z_t.ndim != 5 or z_t.shape[1] != self.video.channels:
            raise ValueError(f"z_t must be [B, {self.video.channels}, T, H, W], "
                             f"got shape {tuple(z_t.shape)}")
        if z_t.shape[3] % factor or z_t.shape[4] % factor:
            raise ValueError(f"height and width must be divisible by {factor} for "
                             f"{self.levels} levels, got {tuple(z_t.shape[3:])}")
        if logsnr.shape != (z_t.shape[0],):
            raise ValueError(f"logsnr must be [B] = [{z_t.shape[0]}], got {tuple(logsnr.shape)}")

    @staticmethod
    def check_frame_mask(frame_is_image: torch.Tensor, batch: int, frames: int) -> None:
        if frame_is_image.shape not in ((frames,), (batch, frames)):
            raise ValueError(f"frame_is_image must be [T] = [{frames}] or [B, T] = "
                             f"[{batch}, {frames}], got {tuple(frame_is_image.shape)}")

    def forward(self, z_t: torch.Tensor, logsnr: torch.Tensor, cond: torch.Tensor | None = None,
                frame_is_image: torch.Tensor | None = None,
                positions: torch.Tensor | None = None,
                dropout_seeds: torch.Tensor | None = None) -> torch.Tensor:
        """frame_is_image: ``[B, T]`` or ``[T]`` bool marking appended independent images;
        dropout_seeds: ``[B]`` integers fixing each example's dropout masks (training)."""
        self.check_input(z_t, logsnr)
        b, c, t, height, width = z_t.shape
        allowed = None
        if frame_is_image is not None:
            self.check_frame_mask(frame_is_image, b, t)
            allowed = temporal_mask(frame_is_image.to(torch.bool).expand(b, t))
        ctx = FrameContext(frames=t, allowed=allowed, positions=positions,
                           dropout_seeds=dropout_seeds)
        emb = self.embed(logsnr, cond)
        # Frames folded into the batch, channels-last memory (faster oneDNN convolutions on CPU).
        h = z_t.permute(0, 2, 3, 4, 1).reshape(b * t, height, width, c).permute(0, 3, 1, 2)
        h = self.conv_in(h)
        hs = [h]
        for block in self.down:
            h = block(h, emb, ctx)
            hs.append(h)
        for block in self.middle:
            h = block(h, emb, ctx)
        for block in self.up:
            if isinstance(block, Stage):
                h = torch.cat([h, hs.pop()], dim=1)
            h = block(h, emb, ctx)
        out = self.conv_out(F.silu(self.norm_out(h)))
        return out.reshape(b, t, c, height, width).transpose(1, 2)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def build_on_meta(config: ModelConfig) -> UNet3D:
    """The network without memory (for parameter counts of the paper-sized presets)."""
    with torch.device("meta"):
        return UNet3D(config)


def parameter_breakdown(config: ModelConfig) -> dict[str, int]:
    net = build_on_meta(config)
    parts = {"embedding": count_parameters(net.embed)}
    attn = sum(count_parameters(m) for m in net.modules()
               if isinstance(m, (SpatialAttention, TemporalAttention)))
    parts["attention"] = attn
    parts["total"] = count_parameters(net)
    parts["convolution/other"] = parts["total"] - attn - parts["embedding"]
    return parts
