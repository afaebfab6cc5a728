"""One background thread that applies a function to items in the order they are handed over
(used to encode the annotated video while the next frame is tracked: ``VideoWriter``'s
``background`` mode).

The queue is bounded (``depth`` items), so a slow consumer makes ``submit`` wait instead of
holding frames without limit. The first exception raised by the function is kept; ``submit``
and ``drain`` raise it in the caller's thread, and no later item is processed.
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Optional

#: items waiting for the thread at most (annotated frames: a few MB each at 1080p)
DEFAULT_DEPTH = 4
#: seconds between checks while waiting for the thread to stop
JOIN_POLL_S = 0.05

_STOP = object()


class SerialWorker:
    """``submit(item)`` -> ``fn(item)`` on one thread, in submission order."""

    def __init__(self, fn: Callable[[Any], None], depth: int = DEFAULT_DEPTH, name: str = "identitrack-worker"):
        self._fn = fn
        self._queue: "queue.Queue" = queue.Queue(maxsize=max(1, int(depth)))
        self.error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                if self.error is None:
                    self._fn(item)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                self.error = exc
            finally:
                self._queue.task_done()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def submit(self, item: Any) -> None:
        """Hand ``item`` over (waits while ``depth`` items are pending); raises the worker's
        first error, if any."""
        self._raise()
        if not self._thread.is_alive():
            raise RuntimeError("SerialWorker: submit after close")
        self._queue.put(item)

    def drain(self) -> None:
        """Wait until every submitted item is processed; raises the worker's first error."""
        if self._thread.is_alive():
            self._queue.join()
        self._raise()

    def close(self) -> None:
        """Process what is pending, then stop the thread (errors are kept in ``error``). An
        exception raised meanwhile in this thread (a signal handler's ``KeyboardInterrupt``)
        is raised again once the thread has stopped."""
        if not self._thread.is_alive():
            return
        pending: Optional[BaseException] = None
        sent = False
        while self._thread.is_alive():
            try:
                if not sent:
                    self._queue.put(_STOP)
                    sent = True
                self._thread.join(JOIN_POLL_S)
            except BaseException as exc:  # noqa: BLE001 - re-raised below, after the join
                pending = pending or exc
        if pending is not None:
            raise pending
