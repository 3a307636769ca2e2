"""The sampling settings of a run: the protocol's paper values, then the checkpoint's sampling
config where the protocol leaves a setting open, then the command line (Appendix A gives the
paper's values per protocol). What cannot apply to the protocol or the model is refused."""

from __future__ import annotations

import logging
from typing import Any, Optional

from vdbench.metrics.errors import InputError
from vdbench.model.settings import SamplingSettings, option, resolve
from vdbench.protocols.base import Protocol

log = logging.getLogger(__name__)


def run_settings(protocol: Protocol, model: Any, options: dict[str, Any]
                 ) -> tuple[SamplingSettings, dict[str, str]]:
    """(settings, the source of each) for the included model ``model`` (a LoadedModel) on
    ``protocol``, with the user's ``options`` (None: not given)."""
    window = model.shape[1]
    extends = protocol.frames > window
    conditioned = protocol.conditional or extends
    given = {k: v for k, v in options.items() if v is not None}
    if not conditioned and given.get("conditioning", "none") != "none":
        raise InputError(f"--conditioning {given['conditioning']}: protocol {protocol.name} "
                         f"generates {protocol.frames} frames from noise with a {window}-frame "
                         "model; there is nothing to condition on")
    if "context_frames" in given and not extends:
        raise InputError(f"--context-frames: protocol {protocol.name} needs no autoregressive "
                         f"extension ({protocol.frames} frames, {window}-frame model)")
    paper = dict(protocol.sampling)
    if not conditioned:
        paper["conditioning"] = "none"
    if model.cond == "none":
        _refuse_guidance(protocol, given, paper)
    settings, sources = resolve(("checkpoint", model.defaults), ("protocol", paper),
                                ("option", given))
    if conditioned and settings.conditioning == "none":
        raise InputError(f"--conditioning: protocol {protocol.name} conditions on observed "
                         "frames; choose a conditioning method other than none")
    return settings, sources


def _refuse_guidance(protocol: Protocol, given: dict, paper: dict) -> None:
    """Classifier-free guidance needs a conditional model: refused as an option, and dropped
    (with a warning) where the protocol asks for it."""
    for name in ("cfg_weight", "cfg_null"):
        if given.get(name):
            raise InputError(f"{option(name)}: the model is unconditional (no class or text "
                             "condition); classifier-free guidance does not apply")
    if paper.pop("cfg_weight", 0):
        log.warning("protocol %s samples with classifier-free guidance, which does not apply "
                    "to an unconditional model: sampling without it", protocol.name)


def refuse_for_user_model(options: dict[str, Any], spec: Optional[str]) -> None:
    """A --model generator samples by itself: no sampling option of ours can reach it."""
    for name, value in options.items():
        if value is not None:
            raise InputError(f"{option(name)}: does not apply to --model {spec} (a user "
                             "generator draws its samples itself)")


def generator_report(generator: Any) -> dict[str, Any]:
    """What a --model generator says about how it samples (its ``sampling`` attribute, a dict
    or an object with ``record()``), recorded instead of our sampler's settings."""
    reported = getattr(generator, "sampling", None)
    record = getattr(reported, "record", None)
    if callable(record):
        reported = record()
    if reported is not None and not isinstance(reported, dict):
        raise InputError(f"generator {generator.name!r}: its `sampling` attribute must be a dict "
                         f"or have record(), got {type(reported).__name__}")
    return {"reported_by": "generator", **(reported or {})}
