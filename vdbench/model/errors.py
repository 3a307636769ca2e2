"""Exceptions whose message a user can act on. ``model`` never imports ``metrics`` or ``vdbench``,
so it has its own; the CLI catches these (ValueError subclasses) and prints one line."""


class ConfigError(ValueError):
    """An unknown preset or key, or a config value outside what the model supports."""


class CheckpointError(ValueError):
    """A checkpoint that is missing, incomplete, corrupt or from another config."""


class DataError(ValueError):
    """Training data with the wrong file type, dtype, shape or resolution."""


class SamplerInputError(ValueError):
    """A sampler setting is out of range (steps < 1, γ outside [0, 1], δ <= 0, bad seeds)."""


class ConditioningInputError(ValueError):
    """Conditioning data or options do not fit the video (shape, resolution, range, frames, w_r)."""


class GenerationError(ValueError):
    """A model produced something that is not a video (NaN or inf samples)."""


class RankFailure(ValueError):
    """Another training process died or did not answer within the process-group timeout."""
