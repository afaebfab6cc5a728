"""Work ahead of the consumer on one background thread, in order, a bounded number of items
ahead: used by the frame loop to decode and detect frame i+1 while frame i is embedded,
tracked and written (``tracker.pipeline.TrackingSession``).

Order and results are those of the plain loop: one producer thread takes the items one by one
and applies the same function to each, so a detector is still called once per frame, in frame
order, from a single thread. Memory is bounded: at most ``depth`` finished items wait in the
queue (plus the one being worked on). An exception raised while producing an item is raised
again to the consumer at that item's place in the stream, after every item before it.

The heavy calls (OpenCV decoding, onnxruntime runs) release the GIL, so on two cores the
producer and the consumer really run at the same time.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Tuple

#: how long the producer waits on a full queue before checking whether it should stop (s)
POLL_S = 0.05
#: items produced ahead of the consumer by default (frames: each holds one decoded image)
DEFAULT_DEPTH = 2
MAX_DEPTH = 64


@dataclass(frozen=True)
class _Failure:
    error: BaseException


_END = object()


def check_depth(depth: int, field: str = "prefetch") -> int:
    """``depth`` as an int in 0..``MAX_DEPTH`` (0: no background thread), else ``ValueError``."""
    if isinstance(depth, bool) or not isinstance(depth, int) or not (0 <= depth <= MAX_DEPTH):
        raise ValueError(f"{field} must be an integer in 0..{MAX_DEPTH} (0: no background thread), got {depth!r}")
    return depth


class Prefetcher:
    """Iterate ``(item, result, seconds_getting_item, seconds_in_work)`` for each ``item`` of
    ``items`` with ``result = work(item)``, computed on one background thread at most ``depth``
    (>= 1) items ahead. ``close()`` stops the thread (and must be called, e.g. in a
    ``finally``) before the iterator's resources are released."""

    def __init__(self, items: Iterator, work: Callable[[Any], Any], depth: int = DEFAULT_DEPTH,
                 name: str = "identitrack-prefetch"):
        if check_depth(depth) < 1:
            raise ValueError("Prefetcher needs depth >= 1")
        self._items = items
        self._work = work
        self._queue: "queue.Queue" = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name=name, daemon=True)
        self._thread.start()

    def _put(self, entry: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        clock = time.perf_counter
        try:
            while not self._stop.is_set():
                t0 = clock()
                try:
                    item = next(self._items)
                except StopIteration:
                    self._put(_END)
                    return
                t1 = clock()
                result = self._work(item)
                t2 = clock()
                if not self._put((item, result, t1 - t0, t2 - t1)):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            self._put(_Failure(exc))

    def __iter__(self) -> Iterator[Tuple[Any, Any, float, float]]:
        while True:
            entry = self._queue.get()
            if entry is _END:
                return
            if isinstance(entry, _Failure):
                raise entry.error
            yield entry

    def close(self) -> None:
        """Stop producing and wait for the thread (it finishes the item in hand first). An
        exception raised meanwhile in this thread (a signal handler's ``KeyboardInterrupt``)
        is raised again only once the producer has stopped: no thread is left running inside
        the detector or the decoder when the caller goes on to release them."""
        self._stop.set()
        pending: Optional[BaseException] = None
        while self._thread.is_alive():
            try:
                try:
                    self._queue.get(timeout=POLL_S)
                except queue.Empty:
                    pass
            except BaseException as exc:  # noqa: BLE001 - re-raised below, after the join
                pending = pending or exc
        self._thread.join()
        if pending is not None:
            raise pending
