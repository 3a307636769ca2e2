import pytest
import torch

from tests.helpers_model import micro_config, randomize
from vdbench.model.configs import PRESETS, preset
from vdbench.model.unet3d import UNet3D, build_on_meta, count_parameters

PAPER = ["ucf101", "bair", "kinetics600", "t2v-small", "t2v-large", "t2v-9x128"]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_forward_shape_on_meta(name):
    cfg = preset(name)
    net = build_on_meta(cfg)
    v = cfg.video
    k = cfg.train.image_frames
    z = torch.empty(2, v.channels, v.frames + k, v.height, v.width, device="meta")
    cond = None
    if cfg.unet.cond == "text":
        cond = torch.empty(2, 7, cfg.unet.text_dim, device="meta")
    mask = torch.arange(v.frames + k, device="meta") >= v.frames
    out = net(z, torch.empty(2, device="meta"), cond, mask)
    assert out.shape == z.shape


@pytest.mark.parametrize("name", PAPER)
def test_paper_structure_at_small_width_runs_for_real(name):
    """Each paper preset's level/block/attention structure, with widths shrunk to run on CPU."""
    cfg = preset(name).replace(**{
        "unet.base_channels": 8, "unet.norm_groups": 8, "unet.head_dim": 8,
        "unet.emb_dim": 16, "unet.text_dim": 16 if preset(name).unet.cond == "text" else 0,
        "video.frames": 3})
    net = UNet3D(cfg).eval()
    z = torch.randn(1, 3, 4, cfg.video.height, cfg.video.width)
    cond = torch.randn(1, 5, 16) if cfg.unet.cond == "text" else None
    with torch.no_grad():
        out = net(z, torch.tensor([1.5]), cond, torch.tensor([False, False, False, True]))
    assert out.shape == z.shape and torch.isfinite(out).all()
    # The number of attention blocks follows the attention resolutions: a stage at each of the
    # levels whose size is listed, in the down (N per level) and up (N+1) paths, plus the middle.
    levels = [cfg.video.height // 2**i for i in range(len(cfg.unet.channel_mults))]
    n = cfg.unet.num_res_blocks
    with_attn = sum(1 for r in levels if r in cfg.unet.attn_resolutions)
    expect = with_attn * (2 * n + 1) + 1
    from vdbench.model.attention import TemporalAttention
    assert sum(isinstance(m, TemporalAttention) for m in net.modules()) == expect


def test_class_conditioning_and_null_label():
    cfg = micro_config(**{"unet.cond": "class", "unet.num_classes": 5})
    net = randomize(UNet3D(cfg).double()).eval()
    z = torch.randn(3, 3, 4, 16, 16, dtype=torch.float64)
    lam = torch.zeros(3, dtype=torch.float64)
    labels = torch.tensor([0, 4, -1])
    out = net(z, lam, labels)
    assert not torch.allclose(out[0], net(z, lam, torch.tensor([1, 4, -1]))[0])
    # No conditioning at all is the null label (−1) for every sample.
    torch.testing.assert_close(net(z, lam, None), net(z, lam, torch.full((3,), -1)))
    with pytest.raises(ValueError, match=r"integer labels \[B\] = \[3\] in \[-1, 4\]"):
        net(z, lam, torch.tensor([0, 5, 0]))  # label out of range
    with pytest.raises(ValueError, match="unconditional"):
        UNet3D(micro_config())(z.float(), lam.float(), labels)


def test_parameter_count_is_real_and_meta_matches():
    cfg = micro_config()
    assert count_parameters(UNet3D(cfg)) == count_parameters(build_on_meta(cfg))
    big = count_parameters(build_on_meta(preset("ucf101")))
    small = count_parameters(build_on_meta(preset("t2v-small")))
    assert big > 3 * small > 0  # base 256 vs 128 (×4 in convs), plus the larger text embedding


@pytest.mark.parametrize("shape, lam, match", [
    ((2, 1, 4, 16, 16), (2,), r"z_t must be \[B, 3, T, H, W\]"),
    ((2, 3, 16, 16), (2,), r"z_t must be \[B, 3, T, H, W\]"),
    ((2, 3, 4, 15, 16), (2,), "divisible by 2"),
    ((2, 3, 4, 16, 16), (3,), r"logsnr must be \[B\] = \[2\]"),
])
def test_bad_input_shapes(shape, lam, match):
    net = UNet3D(micro_config())
    with pytest.raises(ValueError, match=match):
        net(torch.zeros(shape), torch.zeros(lam))


def test_bad_frame_mask_shape():
    net = UNet3D(micro_config())
    with pytest.raises(ValueError, match=r"frame_is_image must be \[T\] = \[4\] or \[B, T\]"):
        net(torch.zeros(2, 3, 4, 16, 16), torch.zeros(2), None, torch.zeros(5, dtype=torch.bool))
