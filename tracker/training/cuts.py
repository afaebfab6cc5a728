"""Shot cuts for training data: where a montage (several shots edited together) changes shot.

A montage must never give a positive pair across a cut: the "same tracklet" on both sides of
a cut is two different scenes. The cuts come from the one shot-cut detector of the package
(``tracker.shots.ShotCutDetector``: HSV histogram and thumbnail difference, thresholds chosen
by leave-clips-out folds, docs/shot_cuts.md); this module numbers them for the training data.
Frames are numbered from 1.
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Tuple

import numpy as np

from tracker.shots import ShotCutConfig, ShotCutDetector

#: the settings the training data records with its cached crops
CutConfig = ShotCutConfig


class CutDetector:
    """``push(image)`` per decoded frame, in order; ``cuts`` lists the 1-based frames that
    start a new shot."""

    def __init__(self, config: Optional[ShotCutConfig] = None):
        self.config = config or ShotCutConfig()
        self.cuts: List[int] = []
        self.frame = 0
        self._detector = ShotCutDetector(self.config)

    def push(self, image: np.ndarray) -> bool:
        """One frame -> True when it starts a new shot."""
        self.frame += 1
        cut = self._detector.update(image)
        if cut:
            self.cuts.append(self.frame)
        return cut


def detect_cuts(frames: Iterable[np.ndarray], config: Optional[ShotCutConfig] = None) -> List[int]:
    """Decoded frames (in order) -> 1-based numbers of the frames that start a new shot."""
    detector = CutDetector(config)
    for image in frames:
        detector.push(image)
    return detector.cuts


def shot_index(frames: np.ndarray, cuts: Iterable[int]) -> np.ndarray:
    """(R,) 1-based frame numbers, cut frames -> (R,) int64 shot of each frame (0 before the
    first cut, 1 from it to the next, ...)."""
    return np.searchsorted(np.sort(np.asarray(list(cuts), np.int64)), np.asarray(frames, np.int64), side="right")


def shots(n_frames: int, cuts: Iterable[int]) -> List[Tuple[int, int]]:
    """-> the inclusive (first, last) frame range of every shot of a video of ``n_frames``."""
    starts = [1] + [c for c in sorted(cuts) if 1 < c <= n_frames]
    return [(s, (starts[i + 1] - 1) if i + 1 < len(starts) else n_frames) for i, s in enumerate(starts)]
