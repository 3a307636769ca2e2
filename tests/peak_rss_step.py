"""Peak resident memory of one training step of the tiny preset, measured by the OS.

Run as ``python -m tests.peak_rss_step BATCH``; prints the bytes the process's peak RSS (VmHWM)
rose above its RSS before the step. Gradients are freed as they accumulate, as in the planner's
activation term. Run with ``MALLOC_MMAP_THRESHOLD_=65536`` so that every tensor buffer is its
own mapping, returned to the OS when freed (otherwise malloc keeps freed memory and RSS shows
an earlier step's high-water mark)."""

from __future__ import annotations

import sys

import torch

from vdbench.model.configs import preset
from vdbench.model.diffusion import diffusion_loss
from vdbench.model.memory import train_frames
from vdbench.model.unet3d import UNet3D


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return int(line.split()[1]) * 1024


def main(batch: int) -> int:
    torch.set_num_threads(1)
    cfg = preset("tiny")
    frames = train_frames(cfg)
    net = UNet3D(cfg)
    for p in net.parameters():
        p.register_post_accumulate_grad_hook(lambda p: setattr(p, "grad", None))
    x = torch.zeros(batch, cfg.video.channels, frames, cfg.video.height, cfg.video.width)
    mask = torch.arange(frames) == frames - 1

    def step() -> None:
        loss = diffusion_loss(net, x, cfg.diffusion, frame_is_image=mask,
                              generator=torch.Generator().manual_seed(0))
        loss.backward()

    step()  # first call: lazy kernel and library initialisation
    before = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    step()
    return _status("VmHWM") - before


if __name__ == "__main__":
    print(main(int(sys.argv[1])))
