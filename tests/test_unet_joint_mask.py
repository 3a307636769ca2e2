"""Joint image-video training (Sections 3 and 4.3.1): appended images are exactly images."""

import torch

from tests.helpers_model import micro_config, randomize
from vdbench.model.unet3d import UNet3D


def _net(**overrides):
    net = UNet3D(micro_config(**overrides)).double()
    return randomize(net, scale=0.2).eval()  # random everywhere: no zero-initialised shortcut


def test_appended_images_give_exactly_their_outputs_alone():
    net = _net()
    torch.manual_seed(0)
    video = torch.randn(2, 3, 4, 16, 16, dtype=torch.float64)
    images = torch.randn(2, 3, 3, 16, 16, dtype=torch.float64)
    lam = torch.tensor([-5.0, 2.5], dtype=torch.float64)
    joint = torch.cat([video, images], dim=2)
    is_image = torch.arange(7) >= 4
    out = net(joint, lam, frame_is_image=is_image)
    for k in range(3):
        alone = net(images[:, :, k:k + 1], lam)  # a one-frame "video" is an image
        torch.testing.assert_close(out[:, :, 4 + k:5 + k], alone, rtol=0, atol=1e-12)
    # The video frames, in turn, do not see the appended images.
    torch.testing.assert_close(out[:, :, :4], net(video, lam), rtol=0, atol=1e-12)


def test_all_frames_independent_is_an_image_model():
    net = _net()
    frames = torch.randn(1, 3, 5, 16, 16, dtype=torch.float64)
    lam = torch.tensor([0.7], dtype=torch.float64)
    out = net(frames, lam, frame_is_image=torch.ones(5, dtype=torch.bool))
    for k in range(5):
        torch.testing.assert_close(out[:, :, k:k + 1], net(frames[:, :, k:k + 1], lam),
                                   rtol=0, atol=1e-12)


def test_without_the_mask_frames_do_mix():
    """Negative control: the equality above is not automatic."""
    net = _net()
    torch.manual_seed(1)
    joint = torch.randn(1, 3, 6, 16, 16, dtype=torch.float64)
    lam = torch.tensor([1.0], dtype=torch.float64)
    unmasked = net(joint, lam)
    alone = net(joint[:, :, 5:6], lam)
    assert (unmasked[:, :, 5:6] - alone).abs().max() > 1e-4
    masked = net(joint, lam, frame_is_image=torch.arange(6) >= 4)
    assert (masked[:, :, :4] - unmasked[:, :, :4]).abs().max() > 1e-4


def test_per_sample_mask_in_float32():
    """Different numbers of images per sample; float32 agrees to rounding."""
    net = UNet3D(micro_config()).eval()
    randomize(net, scale=0.2)
    net = net.float()
    x = torch.randn(2, 3, 5, 16, 16)
    lam = torch.tensor([0.0, 3.0])
    mask = torch.tensor([[0, 0, 0, 1, 1], [0, 0, 0, 0, 1]], dtype=torch.bool)
    out = net(x, lam, frame_is_image=mask)
    torch.testing.assert_close(out[0:1, :, 3:4], net(x[0:1, :, 3:4], lam[:1]), rtol=1e-4,
                               atol=1e-4)
    torch.testing.assert_close(out[1:2, :, :4], net(x[1:2, :, :4], lam[1:]), rtol=1e-4, atol=1e-4)
