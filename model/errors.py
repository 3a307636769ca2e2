"""Model-side errors a user can act on. The CLI prints them on one line and exits with code 2."""


class SamplerInputError(ValueError):
    """A sampler setting is out of range (steps < 1, γ outside [0, 1], δ <= 0, bad seeds)."""


class ConditioningInputError(ValueError):
    """Conditioning data or options do not fit the video (shape, resolution, range, frames, w_r)."""
