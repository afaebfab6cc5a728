"""Gap filling inside one identity: linear interpolation of the box between two consecutive
observations, at the timestamps of the frames in between, for gaps up to ``max_fill_s``.

A filled row is marked as such: ``observed`` False, state ``LOST``, ``det_index`` -1 and
score ``FILLED_SCORE`` (the MOTChallenge score column of a filled row; JSONL ``"observed":
false``). Only the frames strictly between two observations are filled, so a filled box never
lands on a frame where the identity was observed.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

#: the score written for an interpolated (filled) row: not a detector confidence
FILLED_SCORE = -1.0


class GapFiller:
    """Feed observations in frame order (``observe``); filled rows are collected per frame
    position in ``filled[pos]`` as ``(identity, box (4,), class_id)``.

    times: (F,) timestamps in seconds of the frames (position -> time); max_fill_s: the longest
    gap filled (0: none). Memory O(identities) besides the filled rows themselves.
    """

    def __init__(self, times: Sequence[float], max_fill_s: float):
        self.times = np.asarray(times, np.float64)
        self.max_fill_s = float(max_fill_s)
        self._last: Dict[int, Tuple[int, Sequence[float]]] = {}
        self.filled: Dict[int, List[Tuple[int, np.ndarray, int]]] = {}
        self.rows = 0

    def observe(self, identity: int, pos: int, box: Sequence[float], class_id: int) -> None:
        """``identity`` was observed at frame position ``pos`` with ``box`` (4,) xyxy pixels."""
        previous = self._last.get(identity)
        self._last[identity] = (pos, box)
        if previous is None or self.max_fill_s <= 0:
            return
        q, old = previous
        t0, t1 = self.times[q], self.times[pos]
        if pos - q < 2 or t1 - t0 > self.max_fill_s or t1 <= t0:
            return
        boxes = interpolate_boxes(t0, np.asarray(old, np.float64), t1, np.asarray(box, np.float64),
                                  self.times[q + 1:pos])
        for k, filled_box in zip(range(q + 1, pos), boxes):
            self.filled.setdefault(k, []).append((identity, filled_box, class_id))
        self.rows += len(boxes)


def interpolate_boxes(t0: float, box0: np.ndarray, t1: float, box1: np.ndarray, times: np.ndarray) -> np.ndarray:
    """(K, 4) boxes at ``times`` (K,) s on the straight line from ``box0`` at ``t0`` to
    ``box1`` at ``t1`` (xyxy pixels)."""
    w = (np.asarray(times, np.float64) - t0) / (t1 - t0)
    return np.asarray(box0, np.float64)[None] + (np.asarray(box1, np.float64) - box0)[None] * w[:, None]
