"""Attention layers against direct, loop-based implementations of their formulas (float64)."""

import math

import torch
import torch.nn.functional as F

from tests.helpers_model import micro_config, randomize
from vdbench.model.attention import (AttentionPool, SpatialAttention, TemporalAttention,
                                     temporal_mask)
from vdbench.model.unet3d import UNet3D


def _heads(x, heads):
    """[L, C] → list of [L, C/heads] per head (head h owns channels h·d … (h+1)·d − 1)."""
    return list(x.chunk(heads, dim=-1))


def naive_temporal(m: TemporalAttention, h, frames, allowed, positions):
    """Shaw et al. relative attention written out pair by pair."""
    bt, c, height, width = h.shape
    b, heads, k_max = bt // frames, m.heads, m.max_distance
    x = m.norm(h).view(b, frames, c, height, width)
    out = torch.empty_like(x)
    for bi in range(b):
        for yi in range(height):
            for xi in range(width):
                seq = x[bi, :, :, yi, xi]  # [T, C]
                q, k, v = (seq @ m.qkv.weight.T + m.qkv.bias).chunk(3, dim=-1)
                merged = []
                for hd, (qh, kh, vh) in enumerate(zip(_heads(q, heads), _heads(k, heads),
                                                      _heads(v, heads), strict=True)):
                    d = qh.shape[-1]
                    logits = torch.empty(frames, frames, dtype=h.dtype)
                    for i in range(frames):
                        for j in range(frames):
                            off = int(positions[j] - positions[i])
                            rel = m.rel_key[hd, max(-k_max, min(k_max, off)) + k_max]
                            logits[i, j] = qh[i] @ (kh[j] + rel) / math.sqrt(d)
                            if allowed is not None and not allowed[bi, i, j]:
                                logits[i, j] = -math.inf
                    merged.append(torch.softmax(logits, dim=-1) @ vh)
                out[bi, :, :, yi, xi] = torch.cat(merged, dim=-1) @ m.proj.weight.T + m.proj.bias
    return h + out.reshape(bt, c, height, width)


def _temporal_setup(seed=0):
    torch.manual_seed(seed)
    m = randomize(TemporalAttention(8, 4, 2, max_distance=3).double(), scale=0.5, seed=seed)
    frames = 6
    h = torch.randn(2 * frames, 8, 2, 3, dtype=torch.float64)
    is_image = torch.tensor([[0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 1]], dtype=torch.bool)
    return m, frames, h, temporal_mask(is_image)


def test_temporal_attention_matches_pairwise_formula_with_mask_and_clipping():
    m, frames, h, allowed = _temporal_setup()
    positions = torch.tensor([0, 1, 2, 7, 8, 9])  # offsets up to 9 > max_distance 3: clipped
    got = m(h, frames, allowed, positions)
    torch.testing.assert_close(got, naive_temporal(m, h, frames, allowed, positions),
                               rtol=1e-10, atol=1e-10)
    got = m(h, frames, None, None)
    torch.testing.assert_close(got, naive_temporal(m, h, frames, None, torch.arange(frames)),
                               rtol=1e-10, atol=1e-10)


def test_temporal_attention_gradients_match_pairwise_formula():
    m, frames, h, allowed = _temporal_setup(1)
    h1 = h.clone().requires_grad_()
    (m(h1, frames, allowed).square().sum()).backward()
    g_h, g_rel = h1.grad.clone(), m.rel_key.grad.clone()
    m.zero_grad()
    h2 = h.clone().requires_grad_()
    naive_temporal(m, h2, frames, allowed, torch.arange(frames)).square().sum().backward()
    torch.testing.assert_close(g_h, h2.grad, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(g_rel, m.rel_key.grad, rtol=1e-9, atol=1e-10)
    assert g_rel.abs().sum() > 0


def test_relative_positions_only_offsets_matter():
    """Shifting every frame's position leaves the output unchanged; stretching them does not."""
    m, frames, h, allowed = _temporal_setup(2)
    base = torch.arange(frames)
    ref = m(h, frames, allowed, base)
    for shift in (1, 5, -17, 1000):
        torch.testing.assert_close(m(h, frames, allowed, base + shift), ref, rtol=0, atol=1e-12)
    stretched = m(h, frames, allowed, 2 * base)
    assert (stretched - ref).abs().max() > 1e-3  # positions do matter: the test can fail


def test_whole_unet_is_invariant_to_shifting_all_frames():
    cfg = micro_config()
    net = randomize(UNet3D(cfg).double(), scale=0.2).eval()
    z = torch.randn(2, 3, 5, 16, 16, dtype=torch.float64)
    lam = torch.tensor([-3.0, 4.0], dtype=torch.float64)
    ref = net(z, lam)
    torch.testing.assert_close(net(z, lam, positions=torch.arange(5) + 11), ref,
                               rtol=0, atol=1e-11)
    assert (net(z, lam, positions=torch.tensor([0, 1, 2, 3, 6])) - ref).abs().max() > 1e-4


def test_spatial_attention_matches_softmax_formula():
    torch.manual_seed(0)
    m = randomize(SpatialAttention(8, 4, 2).double(), scale=0.5)
    h = torch.randn(3, 8, 2, 3, dtype=torch.float64)
    x = m.norm(h).flatten(2).transpose(1, 2)  # [N, HW, C]
    q, k, v = (x @ m.qkv.weight.T + m.qkv.bias).chunk(3, dim=-1)
    outs = []
    for qh, kh, vh in zip(q.chunk(2, -1), k.chunk(2, -1), v.chunk(2, -1), strict=True):
        w = torch.softmax(qh @ kh.transpose(1, 2) / math.sqrt(4), dim=-1)
        outs.append(w @ vh)
    expect = h + (torch.cat(outs, -1) @ m.proj.weight.T + m.proj.bias).transpose(1, 2).reshape(
        h.shape)
    torch.testing.assert_close(m(h), expect, rtol=1e-10, atol=1e-10)


def test_temporal_mask_pattern():
    allowed = temporal_mask(torch.tensor([[False, False, True, True]]))[0]
    expect = [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    assert torch.equal(allowed, torch.tensor(expect, dtype=torch.bool))


def test_attention_pool_uses_mean_query():
    torch.manual_seed(0)
    pool = randomize(AttentionPool(8, 5, 4).double(), scale=0.5)
    tokens = torch.randn(2, 3, 8, dtype=torch.float64)
    q = pool.q(tokens.mean(1))  # [B, D]
    k, v = pool.kv(tokens).chunk(2, -1)
    outs = []
    for h in range(2):
        sl = slice(4 * h, 4 * h + 4)
        w = torch.softmax(torch.einsum("bd,bld->bl", q[:, sl], k[..., sl]) / 2.0, dim=-1)
        outs.append(torch.einsum("bl,bld->bd", w, v[..., sl]))
    torch.testing.assert_close(pool(tokens), pool.out(torch.cat(outs, -1)), rtol=1e-10,
                               atol=1e-10)
    assert F.mse_loss(pool(tokens), pool(tokens.flip(1))) < 1e-20  # order-free pooling
