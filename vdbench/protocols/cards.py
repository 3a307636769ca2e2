"""A protocol's card: what it samples, how many, which frames, how frames are sized, what it
computes and which code (or paper section) it follows, written from the Protocol's fields alone
(`vdbench protocols --card NAME`)."""

from __future__ import annotations

import textwrap

from vdbench.protocols.base import Protocol
from vdbench.protocols.datasets.base import window_span

CLIP_ORDER_TEXT = {
    "": "chosen by the dataset reader (seeded without replacement; BAIR: its fixed test clips)",
    "first": "the first {n} videos in the dataset's order",
    "cycled": "{n} drawn in seeded shuffled passes over the dataset (a video again in a later "
              "pass where {n} exceeds the videos)",
}
OFFSET_TEXT = {
    "": "as the dataset reader cuts windows (seeded start; BAIR: frame 0)",
    "random": "a random start drawn from the seed, uniform over every start where the window "
              "fits",
    "random-but-last": "a random start drawn from the seed, uniform over every start where the "
                       "window fits except the last",
}


def _frames(p: Protocol) -> str:
    if p.frameskip == 1:
        text = f"{p.frames} consecutive"
    else:
        text = (f"{p.frames}, every {p.frameskip}-th of {window_span(p.frames, p.frameskip)} "
                f"(source frames 0, {p.frameskip}, ..., {(p.frames - 1) * p.frameskip} of the "
                "window)")
    context = (f"; {p.context_frames} conditioning frame(s), {p.generated_frames} generated"
               if p.context_frames else "; unconditional")
    return text + context


def _sizing(p: Protocol) -> str:
    fit = {"": "the reader's default", "squash": "whole frame resized (squash)",
           "crop": "short side resized, centre square (crop)"}[p.fit]
    return f"{p.resolution}x{p.resolution}; {fit}"


def _metrics(p: Protocol) -> list[str]:
    from vdbench.metrics.registry import METRICS

    out = [f"{m}: {METRICS[m].help}" if m in METRICS else m for m in p.metrics]
    if p.fvd_exclude_context:
        out.append("FVD on the frames after the conditioning frames only, on both sides")
    return out


def _generated(p: Protocol) -> str:
    text = f"{p.num_samples} ({p.samples_per_clip} per real clip)"
    if p.follows:
        need = p.generated_min_frames or window_span(p.frames, p.frameskip)
        text += (f"; a given set (`vdbench fvd --protocol`): its first {p.num_samples} videos, "
                 f"each read from frame 0, at least {need} frames long")
    return text


def card_rows(p: Protocol) -> list[tuple[str, list[str]]]:
    """(field, lines) of ``p``'s card, in order."""
    n = p.num_clips
    reference = (f"; {p.reference_clips} real clips as the reference" if p.reference_clips
                 else "")
    rows = [("preset", [p.preset]),
            ("follows" if p.follows else "paper section",
             list(p.follows) if p.follows else [p.paper_section]),
            ("reported in", [p.paper_section] if p.follows else []),
            ("paper table", [p.paper_table or p.mirrors_table and f"mirrors {p.mirrors_table}"]
             if (p.paper_table or p.mirrors_table) else []),
            ("data", [f"{p.dataset}, split {p.split}"]),
            ("real clips", [f"{n}: " + CLIP_ORDER_TEXT[p.clip_order].format(n=n) + reference,
                            "window: " + OFFSET_TEXT[p.real_offsets]]),
            ("generated", [_generated(p)]),
            ("frames", [_frames(p)]),
            ("resolution", [_sizing(p)]),
            ("metrics", _metrics(p)),
            ("seed", [str(p.seed)]),
            ("sampling", [", ".join(f"{k}={v}" for k, v in p.sampling.items())
                          or "the checkpoint's"]),
            ("notes", [p.notes] if p.notes else [])]
    return [(k, v) for k, v in rows if v]


def card(p: Protocol, width: int = 100) -> str:
    """The card as text: ``protocol NAME`` then each field's lines, wrapped to ``width``
    (a wrapped line indented further)."""
    rows = card_rows(p)
    label = max(len(k) for k, _ in rows) + 2
    lines = [f"protocol {p.name}"]
    for key, values in rows:
        for i, value in enumerate(values):
            head = f"  {(key + ':') if i == 0 else '':<{label}}"
            wrapped = textwrap.wrap(_glued(value), width, initial_indent=head,
                                    subsequent_indent=" " * (len(head) + 2),
                                    break_on_hyphens=False)
            lines += [line.replace(NBSP, " ") for line in wrapped]
    return "\n".join(lines)


NBSP = "\u00a0"  # textwrap breaks at ASCII whitespace only
# words a wrapped line must not begin with, so that no line of a card reads as a shell or Python
# command (tests/test_readme.py refuses such lines in untagged README blocks)
KEEP_WITH_PREVIOUS = ("from", "import", "python", "make", "vdbench", "torchrun", "$")


def _glued(text: str) -> str:
    """``text`` with the space before each of KEEP_WITH_PREVIOUS made unbreakable."""
    for word in KEEP_WITH_PREVIOUS:
        text = text.replace(f" {word} ", f"{NBSP}{word} ")
    return text
