"""Gap filling inside one identity: linear interpolation of the box between two consecutive
observations, at the timestamps of the frames in between, for gaps up to ``max_fill_s``.

A filled row is marked as such: ``observed`` False, state ``LOST``, ``det_index`` -1 and
score ``FILLED_SCORE`` (the MOTChallenge score column of a filled row; JSONL ``"observed":
false``). Only the frames strictly between two observations are filled, so a filled box never
lands on a frame where the identity was observed.
"""
from __future__ import annotations

from collections import deque
from itertools import islice
from typing import Deque, Dict, List, Sequence, Tuple

import numpy as np

#: the score written for an interpolated (filled) row: not a detector confidence
FILLED_SCORE = -1.0


class GapFiller:
    """Streaming gap filler. For each frame position in order: ``add_frame(pos, time)``, then
    ``observe`` every identity seen in it. Filled rows of a frame are taken with ``take(pos)``
    once the frame is ``final`` (no later observation can fill it any more).

    max_fill_s: the longest gap filled (0: none). Memory: O(identities) plus the frames and
    filled rows of the last ``max_fill_s`` seconds; a filled row is ``(identity, box (4,) xyxy
    pixels, class_id)``.
    """

    def __init__(self, max_fill_s: float):
        self.max_fill_s = float(max_fill_s)
        self._recent: Deque[Tuple[int, float]] = deque()  # (position, seconds), consecutive positions
        self._last: Dict[int, Tuple[int, float, Sequence[float]]] = {}
        self._filled: Dict[int, List[Tuple[int, np.ndarray, int]]] = {}
        self.rows = 0

    def add_frame(self, pos: int, time: float) -> None:
        """The next frame: position ``pos`` (one more than the previous one) at ``time`` s."""
        if self._recent and pos != self._recent[-1][0] + 1:
            raise ValueError(f"frame positions must follow each other: {self._recent[-1][0]} then {pos}")
        self._recent.append((int(pos), float(time)))
        while self._recent[0][1] < time - self.max_fill_s:
            self._recent.popleft()

    def observe(self, identity: int, pos: int, box: Sequence[float], class_id: int) -> None:
        """``identity`` was observed in the newest frame (position ``pos``) with ``box`` (4,)
        xyxy pixels."""
        t1 = self._recent[-1][1]
        previous = self._last.get(identity)
        self._last[identity] = (pos, t1, box)
        if previous is None or self.max_fill_s <= 0:
            return
        q, t0, old = previous
        if pos - q < 2 or t1 - t0 > self.max_fill_s or t1 <= t0:
            return
        first = self._recent[0][0]  # every frame since q is still recent: t1 - t0 <= max_fill_s
        times = np.asarray([t for _, t in islice(self._recent, q + 1 - first, pos - first)], np.float64)
        boxes = interpolate_boxes(t0, np.asarray(old, np.float64), t1, np.asarray(box, np.float64), times)
        for k, filled_box in zip(range(q + 1, pos), boxes):
            self._filled.setdefault(k, []).append((identity, filled_box, class_id))
        self.rows += len(boxes)

    def final(self, time: float, now: float) -> bool:
        """True when a frame at ``time`` s can get no more filled rows once the frames up to
        ``now`` s have been observed: a later gap starts after ``now - max_fill_s``."""
        return time < now - self.max_fill_s

    def take(self, pos: int) -> List[Tuple[int, np.ndarray, int]]:
        """The filled rows of frame ``pos`` (removed from the filler)."""
        return self._filled.pop(pos, [])


def interpolate_boxes(t0: float, box0: np.ndarray, t1: float, box1: np.ndarray, times: np.ndarray) -> np.ndarray:
    """(K, 4) boxes at ``times`` (K,) s on the straight line from ``box0`` at ``t0`` to
    ``box1`` at ``t1`` (xyxy pixels)."""
    w = (np.asarray(times, np.float64) - t0) / (t1 - t0)
    return np.asarray(box0, np.float64)[None] + (np.asarray(box1, np.float64) - box0)[None] * w[:, None]
