"""Frozen, validated configs with the paper's Appendix A hyperparameters as named presets.

A :class:`ModelConfig` is everything needed to rebuild a network and train it: the video shape,
the U-Net, the diffusion parameterisation, the optimiser and the sampler defaults. It round-trips
through plain dicts (``to_dict`` / ``from_dict``) so it can live in a JSON sidecar next to every
checkpoint; unknown keys and wrongly typed values are :class:`ConfigError`, never ignored.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field
from typing import Any

from vdbench.model.errors import ConfigError


@dataclass(frozen=True)
class VideoConfig:
    """Clip shape the network is trained on: frames × height × width, RGB."""

    frames: int = 16
    height: int = 64
    width: int = 64
    frameskip: int = 1
    channels: int = 3

    def __post_init__(self) -> None:
        for name in ("frames", "height", "width", "frameskip", "channels"):
            _positive(self, name)


@dataclass(frozen=True)
class UNetConfig:
    """The factorized space-time U-Net of Fig. 1 (names follow Appendix A)."""

    base_channels: int = 128
    channel_mults: tuple[int, ...] = (1, 2, 4, 8)
    num_res_blocks: int = 2  # "blocks per resolution"
    attn_resolutions: tuple[int, ...] = (8, 16, 32)  # spatial sizes with attention blocks
    head_dim: int = 64
    emb_dim: int = 1024  # "conditioning embedding dimension"
    emb_mlp_layers: int = 2  # "conditioning embedding MLP layers"
    dropout: float = 0.1
    norm_groups: int = 32
    max_rel_distance: int = 32  # Shaw et al. clip relative frame offsets to [−k, k]
    cond: str = "none"  # "none" | "class" | "text"
    num_classes: int = 0  # for cond="class"
    text_dim: int = 0  # for cond="text": width of the caption embeddings (BERT-large: 1024)

    def __post_init__(self) -> None:
        _finite(self, "unet")
        for name in ("base_channels", "num_res_blocks", "head_dim", "emb_dim", "emb_mlp_layers",
                     "norm_groups", "max_rel_distance"):
            _positive(self, name)
        if not self.channel_mults or any(m <= 0 for m in self.channel_mults):
            raise ConfigError(f"unet.channel_mults must be positive, got {self.channel_mults}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"unet.dropout must be in [0, 1), got {self.dropout}")
        for mult in self.channel_mults:
            if (self.base_channels * mult) % self.norm_groups:
                raise ConfigError(
                    f"unet.norm_groups={self.norm_groups} must divide every level's channel "
                    f"count; {self.base_channels}×{mult} is not divisible")
        _choice(self, "cond", ("none", "class", "text"))
        if self.cond == "class" and self.num_classes <= 0:
            raise ConfigError("unet.cond='class' needs unet.num_classes > 0")
        if self.cond == "text" and self.text_dim <= 0:
            raise ConfigError("unet.cond='text' needs unet.text_dim > 0")


@dataclass(frozen=True)
class DiffusionConfig:
    """Continuous-time diffusion (Section 2): cosine log-SNR schedule and prediction target."""

    prediction: str = "eps"  # "eps" (ε-prediction) or "v" (v-prediction, Salimans & Ho)
    logsnr_min: float = -20.0
    logsnr_max: float = 20.0
    cond_drop_prob: float = 0.0  # classifier-free guidance training: P(c is dropped)

    def __post_init__(self) -> None:
        _finite(self, "diffusion")
        _choice(self, "prediction", ("eps", "v"))
        if not self.logsnr_min < self.logsnr_max:
            raise ConfigError(f"diffusion.logsnr_min ({self.logsnr_min}) must be below "
                              f"diffusion.logsnr_max ({self.logsnr_max})")
        if not 0.0 <= self.cond_drop_prob <= 1.0:
            raise ConfigError(f"diffusion.cond_drop_prob must be in [0, 1], "
                              f"got {self.cond_drop_prob}")


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and loop settings (Appendix A; gradient clipping and warm-up are ours)."""

    lr: float = 2e-4
    adam_betas: tuple[float, ...] = (0.9, 0.99)
    weight_decay: float = 0.0
    ema_decay: float = 0.9999
    batch_size: int = 128
    steps: int = 100_000
    grad_clip: float = 1.0  # global-norm clipping; 0 disables (not stated in the paper)
    warmup_steps: int = 0  # linear lr warm-up (not stated in the paper)
    image_frames: int = 0  # "joint training independent images per video" (Section 4.3.1)
    flip: bool = False  # left-right flip augmentation
    seed: int = 0
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2

    def __post_init__(self) -> None:
        _finite(self, "train")
        for name in ("lr", "batch_size", "steps", "checkpoint_every", "keep_checkpoints"):
            _positive(self, name)
        if len(self.adam_betas) != 2 or not all(0.0 <= b < 1.0 for b in self.adam_betas):
            raise ConfigError(f"train.adam_betas must be two numbers in [0, 1), "
                              f"got {self.adam_betas}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"train.ema_decay must be in [0, 1), got {self.ema_decay}")
        for name in ("weight_decay", "grad_clip", "warmup_steps", "image_frames", "seed"):
            if getattr(self, name) < 0:
                raise ConfigError(f"train.{name} must be >= 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class SamplingConfig:
    """Sampler defaults from Appendix A, for the sampler CLI to pick up from a checkpoint."""

    timesteps: int = 256
    gamma: float = 0.0  # log-variance interpolation γ of eq. (4)
    langevin: bool = False  # predictor-corrector: one Langevin step (eq. 5) per ancestral step
    recon_guidance_weight: float = 0.0  # w_r of eq. (7); 0 when the paper states none

    def __post_init__(self) -> None:
        _finite(self, "sampling")
        _positive(self, "timesteps")
        if not 0.0 <= self.gamma <= 1.0:
            raise ConfigError(f"sampling.gamma must be in [0, 1], got {self.gamma}")


@dataclass(frozen=True)
class ModelConfig:
    name: str = "custom"
    video: VideoConfig = field(default_factory=VideoConfig)
    unet: UNetConfig = field(default_factory=UNetConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)

    def __post_init__(self) -> None:
        levels = len(self.unet.channel_mults)
        factor = 2 ** (levels - 1)
        for axis in ("height", "width"):
            size = getattr(self.video, axis)
            if size % factor:
                raise ConfigError(
                    f"video.{axis}={size} must be divisible by {factor} "
                    f"(2^(levels−1) for {levels} channel multipliers)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        return _build(cls, data, "config")

    def replace(self, **overrides: Any) -> "ModelConfig":
        """Dotted overrides, e.g. ``cfg.replace(**{"train.lr": 1e-3})``; re-validated."""
        data = self.to_dict()
        for dotted, value in overrides.items():
            *parents, leaf = dotted.split(".")
            node = data
            for key in parents:
                if not isinstance(node.get(key), dict):
                    raise ConfigError(f"unknown config section {key!r} in {dotted!r}; "
                                      f"expected one of {sorted(k for k in data if k != 'name')}")
                node = node[key]
            if leaf not in node:
                raise ConfigError(f"unknown config key {dotted!r}; "
                                  f"expected one of {sorted(node)}")
            node[leaf] = value
        return ModelConfig.from_dict(data)


def _finite(section: Any, prefix: str) -> None:
    """Every float of a config section is finite: a NaN or inf learning rate, clip norm or w_r
    passes every range check written as ``value < 0`` and then trains or samples NaN."""
    for f in dataclasses.fields(section):
        value = getattr(section, f.name)
        values = value if isinstance(value, tuple) else (value,)
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            raise ConfigError(f"{prefix}.{f.name} must be finite, got {value}")


def _positive(obj: Any, name: str) -> None:
    value = getattr(obj, name)
    if not value > 0:
        raise ConfigError(f"{type(obj).__name__}.{name} must be > 0, got {value}")


def _choice(obj: Any, name: str, choices: tuple[str, ...]) -> None:
    if getattr(obj, name) not in choices:
        raise ConfigError(f"{name} must be one of {choices}, got {getattr(obj, name)!r}")


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check one JSON value against a field's type hint (ints are accepted for floats)."""
    origin = typing.get_origin(hint)
    if origin is tuple:
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        return tuple(_coerce(v, item, f"{where}[]") for v in value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    ok = {
        bool: lambda v: isinstance(v, bool),
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        str: lambda v: isinstance(v, str),
    }[hint](value)
    if not ok:
        raise ConfigError(f"{where} must be of type {hint.__name__}, got {value!r}")
    return float(value) if hint is float else value


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} in {where}; expected some of {sorted(names)}")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}") for k, v in data.items()}
    return cls(**kwargs)


def _paper(name: str, video: dict, unet: dict, diffusion: dict, train: dict,
           sampling: dict) -> ModelConfig:
    return ModelConfig(name=name, video=VideoConfig(**video), unet=UNetConfig(**unet),
                       diffusion=DiffusionConfig(**diffusion), train=TrainConfig(**train),
                       sampling=SamplingConfig(**sampling))


_PAPER_ARCH = dict(base_channels=256, channel_mults=(1, 2, 4, 8), num_res_blocks=2,
                   attn_resolutions=(8, 16, 32), head_dim=64, emb_dim=1024)
_T2V = dict(cond="text", text_dim=1024)  # BERT-large caption embeddings, attention pooled
_T2V_DROP = 0.1  # P(drop caption) for classifier-free guidance: not stated in the paper

PRESETS: dict[str, ModelConfig] = {
    # Appendix A.1: unconditional UCF101.
    "ucf101": _paper(
        "ucf101", {}, dict(_PAPER_ARCH, emb_mlp_layers=4, dropout=0.1), dict(prediction="eps"),
        dict(lr=3e-4, adam_betas=(0.9, 0.99), batch_size=128, ema_decay=0.9999, steps=60_000,
             image_frames=8),
        dict(timesteps=256, gamma=0.1)),
    # Appendix A.2: BAIR Robot Pushing.
    "bair": _paper(
        "bair", {},
        dict(_PAPER_ARCH, base_channels=128, channel_mults=(1, 2, 3, 4), num_res_blocks=3,
             emb_mlp_layers=2, dropout=0.1),
        dict(prediction="v"),
        dict(lr=2e-4, adam_betas=(0.9, 0.999), weight_decay=0.01, batch_size=128,
             ema_decay=0.999, steps=660_000, image_frames=8, flip=True),
        dict(timesteps=256, gamma=0.0, langevin=True, recon_guidance_weight=50.0)),
    # Appendix A.3: Kinetics-600.
    "kinetics600": _paper(
        "kinetics600", {}, dict(_PAPER_ARCH, emb_mlp_layers=2, dropout=0.1), dict(prediction="v"),
        dict(lr=2e-4, adam_betas=(0.9, 0.99), batch_size=256, ema_decay=0.9999, steps=220_000,
             image_frames=8),
        dict(timesteps=128, gamma=0.0, langevin=True, recon_guidance_weight=9.0)),
    # Appendix A.4, small 16x64x64 text-to-video model (the joint-training ablation used 0, 4
    # and 8 image frames; 8 is the best of Table 4).
    "t2v-small": _paper(
        "t2v-small", {},
        dict(_PAPER_ARCH, base_channels=128, emb_mlp_layers=4, dropout=0.0, **_T2V),
        dict(prediction="eps", cond_drop_prob=_T2V_DROP),
        dict(lr=3e-4, adam_betas=(0.9, 0.99), batch_size=128, ema_decay=0.9999, steps=200_000,
             image_frames=8),
        dict(timesteps=256, gamma=0.3)),
    # Appendix A.4, large 16x64x64 text-to-video model (frameskip 1 and 4).
    "t2v-large": _paper(
        "t2v-large", {}, dict(_PAPER_ARCH, emb_mlp_layers=4, dropout=0.0, **_T2V),
        dict(prediction="eps", cond_drop_prob=_T2V_DROP),
        dict(lr=3e-4, adam_betas=(0.9, 0.99), batch_size=128, ema_decay=0.9999, steps=700_000,
             image_frames=8),
        dict(timesteps=256, gamma=0.3)),
    # Appendix A.4, large 9x128x128 text-to-video model (the super-resolution stage of Fig. 2).
    "t2v-9x128": _paper(
        "t2v-9x128", dict(frames=9, height=128, width=128),
        dict(_PAPER_ARCH, base_channels=128, channel_mults=(1, 2, 4, 8, 16), head_dim=128,
             emb_mlp_layers=4, dropout=0.0, **_T2V),
        dict(prediction="eps", cond_drop_prob=_T2V_DROP),
        dict(lr=2e-4, adam_betas=(0.9, 0.99), batch_size=128, ema_decay=0.9999, steps=800_000,
             image_frames=7),
        dict(timesteps=256, gamma=0.3)),
    # Ours: the paper's architecture at CPU scale (0.85M parameters), joint image-video training
    # on. One training step on 8×16×32×32 clips (+4 image frames each) costs about 3.5
    # CPU-seconds (torch 2.13 on 2 Sapphire Rapids cores); base 32 costs about 1.7× more.
    "tiny": _paper(
        "tiny", dict(frames=16, height=32, width=32),
        dict(base_channels=16, channel_mults=(1, 2, 4), num_res_blocks=1,
             attn_resolutions=(8, 16), head_dim=32, emb_dim=128, emb_mlp_layers=2, dropout=0.0,
             norm_groups=8),
        dict(prediction="eps"),
        dict(lr=1e-3, adam_betas=(0.9, 0.99), batch_size=8, ema_decay=0.999, steps=4000,
             image_frames=4, warmup_steps=100, checkpoint_every=500),
        dict(timesteps=128, gamma=0.1)),
}
# The tiny network with the BAIR/Kinetics choices: v-prediction and left-right flips.
PRESETS["tiny-v"] = PRESETS["tiny"].replace(
    **{"name": "tiny-v", "diffusion.prediction": "v", "train.flip": True})


def preset(name: str) -> ModelConfig:
    """The named preset; :class:`ConfigError` naming the known presets otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}") from None


def parse_override(text: str) -> tuple[str, Any]:
    """``'train.lr=1e-3'`` → ``('train.lr', 0.001)``; values are JSON, else plain strings."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {text!r} must look like section.key=value")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value
