"""Factorized space-time attention (Section 3, Fig. 1) and attention pooling of captions.

Activations inside the U-Net are frames folded into the batch: ``[B·T, C, H, W]``. Spatial
attention treats frames as batch; temporal attention treats every spatial position as batch and
attends over the T frames with relative position embeddings (Shaw et al. 2018), so only frame
offsets matter. Joint image-video training masks temporal attention so that each independent
image frame attends only to itself (Section 3, 4.3.1).

All attention runs through ``torch.nn.functional.scaled_dot_product_attention``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def num_heads(channels: int, head_dim: int) -> int:
    """Heads of width ``head_dim`` (one narrower head when the layer is thinner than that)."""
    if channels <= head_dim:
        return 1
    if channels % head_dim:
        raise ValueError(f"attention width {channels} is not a multiple of head_dim {head_dim}")
    return channels // head_dim


def _split_heads(qkv: torch.Tensor, heads: int) -> tuple[torch.Tensor, ...]:
    """[N, L, 3·C] → three [N, heads, L, C/heads] (chunk, not indexing: a cheap backward)."""
    return tuple(x.unflatten(-1, (heads, -1)).transpose(1, 2) for x in qkv.chunk(3, dim=-1))


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    """[N, heads, L, d] → [N, L, heads·d]."""
    n, heads, length, d = x.shape
    return x.transpose(1, 2).reshape(n, length, heads * d)


def to_tokens(h: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] → [N, H, W, C]; free for the channels-last activations the U-Net uses."""
    return h.permute(0, 2, 3, 1)


def from_tokens(x: torch.Tensor) -> torch.Tensor:
    """[N, H, W, C] → [N, C, H, W] in channels-last memory (free when ``x`` is contiguous)."""
    return x.permute(0, 3, 1, 2)


def temporal_mask(frame_is_image: torch.Tensor) -> torch.Tensor:
    """Allowed (query i, key j) pairs for joint image-video training, ``[B, T, T]`` bool.

    Video frames attend to all video frames; an independent image frame attends only to itself
    and no video frame attends to it (Section 3: the attention matrix of an image is fixed to the
    identity).
    """
    is_video = ~frame_is_image
    eye = torch.eye(frame_is_image.shape[-1], dtype=torch.bool, device=frame_is_image.device)
    return eye | (is_video[:, :, None] & is_video[:, None, :])


class SpatialAttention(nn.Module):
    """Self-attention over the H·W positions of each frame; frames are batch."""

    def __init__(self, channels: int, head_dim: int, groups: int):
        super().__init__()
        self.heads = num_heads(channels, head_dim)
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)
        nn.init.zeros_(self.proj.weight)  # the block starts as the identity
        nn.init.zeros_(self.proj.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        n, c, height, width = h.shape
        x = to_tokens(self.norm(h)).reshape(n, height * width, c)
        q, k, v = _split_heads(self.qkv(x), self.heads)
        out = self.proj(_merge_heads(F.scaled_dot_product_attention(q, k, v)))
        return h + from_tokens(out.view(n, height, width, c))


class TemporalAttention(nn.Module):
    """Self-attention over frames at each spatial position, with Shaw et al. relative keys.

    Logits e_ij = q_i·(k_j + r_{clip(p_j − p_i, ±K)}) / √d with a learned r per head and offset.
    Shaw et al. also add relative embeddings to the values; their ablation found no gain, and the
    key term alone is what lets the network tell frame order, so we keep only that.
    """

    def __init__(self, channels: int, head_dim: int, groups: int, max_distance: int):
        super().__init__()
        self.heads = num_heads(channels, head_dim)
        self.max_distance = max_distance
        d = channels // self.heads
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.rel_key = nn.Parameter(torch.randn(self.heads, 2 * max_distance + 1, d) * d**-0.5)
        self.proj = nn.Linear(channels, channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def relative_logits(self, q: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """q_i·r_{clip(p_j − p_i)}/√d for q ``[N, heads, T, d]`` → ``[N, heads, T, T]``."""
        offset = positions[None, :] - positions[:, None]  # [i, j] = p_j − p_i
        index = offset.clamp(-self.max_distance, self.max_distance) + self.max_distance
        rel = self.rel_key[:, index]  # [heads, T(i), T(j), d]
        n, heads, t, d = q.shape
        logits = torch.matmul(q.permute(1, 2, 0, 3), rel.transpose(-1, -2))  # [heads, i, N, j]
        return logits.permute(2, 0, 1, 3) / math.sqrt(d)

    def forward(self, h: torch.Tensor, frames: int, allowed: torch.Tensor | None = None,
                positions: torch.Tensor | None = None) -> torch.Tensor:
        """h ``[B·T, C, H, W]``; allowed ``[B, T, T]`` bool or None; positions ``[T]`` or None."""
        bt, c, height, width = h.shape
        b, hw = bt // frames, height * width
        x = to_tokens(self.norm(h)).reshape(b, frames, hw, c).transpose(1, 2)
        x = x.reshape(b * hw, frames, c)
        q, k, v = _split_heads(self.qkv(x), self.heads)
        if positions is None:
            positions = torch.arange(frames, device=h.device)
        bias = self.relative_logits(q, positions)  # [B·HW, heads, T, T]
        if allowed is not None:
            bias = bias.view(b, hw, self.heads, frames, frames)
            bias = bias.masked_fill(~allowed[:, None, None], float("-inf"))
            bias = bias.view(b * hw, self.heads, frames, frames)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        out = self.proj(_merge_heads(out))  # [B·HW, T, C]
        out = out.view(b, height, width, frames, c).permute(0, 3, 1, 2, 4)
        return h + from_tokens(out.reshape(bt, height, width, c))


class AttentionPool(nn.Module):
    """Pools a caption embedding sequence ``[B, L, D]`` into one vector ``[B, out_dim]``.

    The query is the mean token (as in CLIP's attention pooling); an all-zero sequence is the
    "no caption" input of classifier-free guidance (Section 2: c = 0).
    """

    def __init__(self, text_dim: int, out_dim: int, head_dim: int):
        super().__init__()
        self.heads = num_heads(text_dim, head_dim)
        self.q = nn.Linear(text_dim, text_dim)
        self.kv = nn.Linear(text_dim, 2 * text_dim)
        self.out = nn.Linear(text_dim, out_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        b, length, d = tokens.shape
        query = self.q(tokens.mean(dim=1, keepdim=True))  # [B, 1, D]
        k, v = self.kv(tokens).chunk(2, dim=-1)

        def heads(x: torch.Tensor) -> torch.Tensor:
            return x.view(b, x.shape[1], self.heads, d // self.heads).transpose(1, 2)

        pooled = F.scaled_dot_product_attention(heads(query), heads(k), heads(v))
        return self.out(_merge_heads(pooled)[:, 0])
