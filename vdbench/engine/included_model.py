"""The included video diffusion model (a checkpoint or the analytic oracle) as a VideoGenerator."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from vdbench.metrics.errors import InputError
from vdbench.engine.generator import GenerationRequest


@dataclass(frozen=True)
class SamplerSettings:
    """How samples are drawn (recorded in every result)."""

    name: str = "ancestral"  # ancestral (eq. 4) | langevin (eq. 4 + eq. 5 corrector)
    steps: int = 256
    gamma: float = 0.1
    conditioning: str = "reconstruction"  # none | replacement | replacement-posterior | ...
    guidance_weight: float = 1.0  # w_r (eq. 7)
    cfg_weight: float = 0.0  # w (eq. 6)
    context_frames: Optional[int] = None  # frames reused per extension block (default: T/2)

    def __post_init__(self) -> None:
        if self.name not in ("ancestral", "langevin"):
            raise InputError(f"unknown sampler {self.name!r}; expected ancestral or langevin")
        if self.steps < 1:
            raise InputError(f"steps must be >= 1, got {self.steps}")
        if self.guidance_weight < 0 or self.cfg_weight < 0:
            raise InputError("guidance weights must be >= 0")

    def record(self) -> dict:
        out = asdict(self)
        out["corrector_steps"] = 1 if self.name == "langevin" else 0
        return out


class DiffusionGenerator:
    """Draws videos with `vdbench.model.generate.generate`; the real context frames are kept."""

    def __init__(self, settings: SamplerSettings, checkpoint: Optional[Path] = None,
                 oracle: bool = False, device: str = "cpu", batch_size: int = 8):
        from vdbench.model.generate import open_model

        self.settings, self.device, self.batch_size = settings, device, batch_size
        self.model = open_model(oracle, checkpoint, device)
        self.denoiser, self.shape = self.model.denoiser, self.model.shape
        self.name = "gaussian-oracle" if checkpoint is None else Path(checkpoint).name
        self.identity = {"name": self.name, "kind": "oracle" if oracle else "checkpoint",
                         "window": list(self.shape)}
        if checkpoint is not None:
            from vdbench.util.hashing import file_sha256

            from vdbench.model.checkpoint import resolve_checkpoint

            # The weights load_model loaded: the latest complete checkpoint of a run dir.
            weights = resolve_checkpoint(checkpoint).with_suffix(".safetensors")
            self.identity.update(path=str(checkpoint), weights=weights.name,
                                 sha256=file_sha256(weights))

    @property
    def resolution(self) -> int:
        return self.shape[2]

    def generate(self, request: GenerationRequest) -> np.ndarray:
        import torch

        from vdbench.model.generate import SampleRequest, generate, to_uint8

        s = self.settings
        given = 0 if request.context is None else request.context.shape[1]
        req = SampleRequest(s.name, s.steps, s.gamma, s.conditioning if given or
                            request.frames > self.shape[1] else "none", s.guidance_weight,
                            s.cfg_weight, request.frames, s.context_frames, None,
                            len(request.seeds), 0, self.batch_size)
        context = None
        if given:
            context = torch.from_numpy(request.context).float().div(127.5).sub(1.0)
            context = context.permute(0, 4, 1, 2, 3).contiguous()
        denoiser, cond = self._text_condition(request)
        with torch.inference_mode(False):
            x = generate(denoiser, self.shape, req, context=context, cond=cond,
                         dtype=torch.float32, device=self.device, seeds=request.seeds)
        videos = to_uint8(x)
        if given:  # the observed frames are the data's own, on both sides of the FVD
            videos[:, :given] = request.context
        return videos

    def _text_condition(self, request: GenerationRequest):
        """(denoiser, cond): for a text-conditional model, the request's caption embeddings as
        [B, L, D] (a pooled [B, D] is one token), with classifier-free guidance (eq. 6, null
        embedding 0) when ``cfg_weight`` > 0; otherwise (denoiser, None)."""
        import torch

        if self.model.cond != "text":
            return self.denoiser, None
        if request.text is None:
            raise InputError(f"model {self.name!r} is text-conditional but the request has no "
                             "caption embeddings (text); the captioned dataset needs "
                             "text_embeddings.npy")
        text = request.text if request.text.ndim == 3 else request.text[:, None]
        if text.shape[-1] != self.model.text_dim:
            raise InputError(f"model {self.name!r} takes caption embeddings of width "
                             f"{self.model.text_dim}, the request's are {text.shape[-1]} wide")
        cond = torch.from_numpy(np.ascontiguousarray(text, dtype=np.float32)).to(self.device)
        if self.settings.cfg_weight > 0:
            from vdbench.model.conditioning import ClassifierFreeGuidance

            return ClassifierFreeGuidance(self.denoiser, self.settings.cfg_weight, 0.0), cond
        return self.denoiser, cond
