"""Exceptions whose message a user can act on; the CLI prints them on one line and exits 2."""


class InputError(ValueError):
    """Bad user input: a missing or unreadable file, a wrong shape, dtype or range."""


class WeightsUnavailableError(RuntimeError):
    """Network weights are not in the cache and cannot be obtained here."""
