"""Feature networks by name, for the CLI: i3d (FVD, Kinetics IS), c3d (UCF101), inception."""

from __future__ import annotations

from typing import Optional

NETWORKS = ("i3d", "c3d", "inception")
FRAME_MODES = ("avg", "first")


def network_label(network: str, frame_mode: str = "avg") -> str:
    """The name written into (and checked in) statistics files; loads no weights."""
    if network == "i3d":
        from vdbench.metrics.fvd import NETWORK
        return NETWORK
    if network == "c3d":
        from vdbench.metrics.c3d import NETWORK
        return NETWORK
    from vdbench.metrics.inception import network_name
    return network_name(frame_mode)


def extractor_factory(network: str, device: str, frame_mode: str = "avg",
                      weights: Optional[str] = None):
    """A zero-argument callable making the extractor (weights load only when called)."""
    def make():
        if network == "i3d":
            from vdbench.metrics.fvd import I3DFeatures
            from vdbench.metrics.i3d_weights import load_i3d
            return I3DFeatures(model=load_i3d(weights) if weights else None, device=device)
        if network == "c3d":
            from vdbench.metrics.c3d import C3DFeatures
            return C3DFeatures(device=device, weights_dir=weights)
        from vdbench.metrics.inception import InceptionFeatures
        return InceptionFeatures(frame_mode, device=device, weights=weights)

    return make
