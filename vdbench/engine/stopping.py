"""Stop cleanly on SIGINT/SIGTERM: finish (and cache) the current chunk, then stop.

A second SIGINT interrupts at once (KeyboardInterrupt). Preemptible schedulers send SIGTERM;
torchrun forwards it to every worker.
"""

from __future__ import annotations

import signal
import threading
from typing import Optional


class Interrupted(Exception):
    """A run stopped on request after a finished chunk; its cache lets --resume continue."""

    def __init__(self, signal_name: Optional[str], message: str):
        super().__init__(message)
        self.signal_name = signal_name

    @property
    def exit_code(self) -> int:
        number = getattr(signal, self.signal_name or "SIGINT", signal.SIGINT)
        return 128 + int(number)


class GracefulStop:
    """Context manager: records the first SIGINT/SIGTERM instead of dying of it."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signal_name: Optional[str] = None
        self._previous: dict = {}

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def _handle(self, signum, frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(signum).name

    def __enter__(self) -> "GracefulStop":
        if threading.current_thread() is threading.main_thread():
            for s in self.SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()
