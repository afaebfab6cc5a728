"""Ctrl-C and SIGTERM while the ``track`` command starts (loading its modules).

An interrupt raised inside the import of a C extension (SciPy's and torch's pybind11 modules)
can abort the process (exit 134) instead of raising ``KeyboardInterrupt``. While a command's
modules load, ``DeferredInterrupts`` only records the signal; the command line then exits
130 (143 for SIGTERM) cleanly before running anything. Nothing has been written at that point.
"""
from __future__ import annotations

import signal
import threading
from typing import Optional

from tracker import exit_codes

#: signals deferred during start-up, and the exit code each one ends the command with
DEFERRED_SIGNALS = {signal.SIGINT: exit_codes.INTERRUPTED_SIGINT, signal.SIGTERM: exit_codes.INTERRUPTED_SIGTERM}


class DeferredInterrupts:
    """Context manager: record SIGINT/SIGTERM instead of acting on them, restore the previous
    handlers on exit (a signal the process ignores stays ignored). ``exit_code`` is None, or the
    code of the first signal received. Does nothing outside the main thread (signal handlers can
    only be set there)."""

    def __init__(self) -> None:
        self.exit_code: Optional[int] = None
        self._previous = {}

    def _record(self, signum, _frame) -> None:
        if self.exit_code is None:
            self.exit_code = DEFERRED_SIGNALS[signum]

    def __enter__(self) -> "DeferredInterrupts":
        if threading.current_thread() is threading.main_thread():
            for sig in DEFERRED_SIGNALS:
                if signal.getsignal(sig) == signal.SIG_IGN:  # ignored by the parent (nohup, a background job)
                    continue
                try:
                    self._previous[sig] = signal.signal(sig, self._record)
                except (OSError, ValueError):  # pragma: no cover - exotic platforms
                    pass
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
