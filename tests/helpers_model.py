"""Shared helpers for the model tests (not a test module)."""

import torch

from vdbench.model.configs import preset


def micro_config(**overrides):
    """A very small network with every feature of the paper's: 2 levels, attention at 8×8,
    joint training with 2 image frames."""
    base = {
        "video.frames": 4, "video.height": 16, "video.width": 16,
        "unet.base_channels": 8, "unet.channel_mults": [1, 2], "unet.num_res_blocks": 1,
        "unet.attn_resolutions": [8], "unet.head_dim": 8, "unet.emb_dim": 16,
        "unet.norm_groups": 4, "unet.max_rel_distance": 3,
        "train.batch_size": 2, "train.image_frames": 2, "train.checkpoint_every": 2,
    }
    base.update(overrides)
    return preset("tiny").replace(**base)


def randomize(module: torch.nn.Module, scale: float = 0.3, seed: int = 0) -> torch.nn.Module:
    """Replace every parameter by noise, so zero-initialised output layers cannot hide a bug."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * scale)
    return module
