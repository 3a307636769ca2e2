"""The included video diffusion model (a checkpoint or the analytic oracle) as a VideoGenerator."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from vdbench.engine.generator import GenerationRequest
from vdbench.metrics.errors import InputError
from vdbench.model.settings import SamplingSettings


class DiffusionGenerator:
    """Draws videos with `vdbench.model.generate.generate`; the real context frames are kept.

    Every field of ``settings`` reaches the sampler; ``sources`` says where each came from
    (protocol, checkpoint, option), for the record. ``model``: an already opened LoadedModel
    (several variants of one run share it)."""

    def __init__(self, settings: SamplingSettings, checkpoint: Optional[Path] = None,
                 oracle: bool = False, device: str = "cpu", batch_size: int = 8,
                 model: Any = None, sources: Optional[dict[str, str]] = None):
        from vdbench.model.generate import open_model

        self.settings, self.device, self.batch_size = settings, device, batch_size
        self.sources = sources or {}
        self.model = model if model is not None else open_model(oracle, checkpoint, device)
        self.denoiser, self.shape = self.model.denoiser, self.model.shape
        self.name = ("gaussian-oracle" if oracle else
                     Path(checkpoint).name if checkpoint is not None else "model")
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

        given = 0 if request.context is None else request.context.shape[1]
        req = SampleRequest(self.settings, request.frames, len(request.seeds),
                            batch_size=self.batch_size)
        context = None
        if given:
            context = torch.from_numpy(request.context).float().div(127.5).sub(1.0)
            context = context.permute(0, 4, 1, 2, 3).contiguous()
        denoiser, cond = self._text_condition(request)
        with torch.inference_mode(False):
            x = generate(denoiser, self.shape, req, context=context, cond=cond,
                         device=self.device, seeds=request.seeds)
        videos = to_uint8(x, f"model {self.identity.get('path', self.name)}")
        if given:  # the observed frames are the data's own, on both sides of the FVD
            videos[:, :given] = request.context
        return videos

    def record(self) -> dict[str, Any]:
        """The applied sampling settings and where each came from."""
        return {**self.settings.record(), "sources": dict(self.sources)}

    def _text_condition(self, request: GenerationRequest):
        """(denoiser, cond): for a text-conditional model, the request's caption embeddings as
        [B, L, D] (a pooled [B, D] is one token); otherwise (denoiser, None). Classifier-free
        guidance (eq. 6) with the settings' weight and null condition is applied by
        `generate`."""
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
        return self.denoiser, cond
