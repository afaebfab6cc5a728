"""Hard shot cuts in a video, from the colour histograms of consecutive frames.

A montage (several shots edited together) must never give a positive pair across a cut: the
"same tracklet" on both sides of a cut is two different scenes. Rule, per decoded frame t >= 2::

    h_t = HSV histogram (hue x saturation x value, 16 x 4 x 4 bins) of the frame downscaled to
          64 x 36 pixels, normalized to sum 1
    d_t = 0.5 * sum |h_t - h_{t-1}|                  (total variation, in [0, 1])
    cut at t  <=>  d_t >= min_jump  and  d_t >= ratio * median(d over the previous `window` frames)

so a global change of that size that is also far above the recent frame-to-frame change (camera
motion, people walking) starts a new shot at frame t. Frames are numbered from 1.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable, List, Tuple

import cv2
import numpy as np

from tracker.config_base import ConfigBase
from tracker.errors import parameter_error

#: frames are compared at this (width, height): a cut is a global change, detail is noise
THUMB_SIZE = (64, 36)
#: HSV bins (hue, saturation, value)
HIST_BINS = (16, 4, 4)
#: OpenCV's HSV ranges for 8-bit images (hue 0-180)
HSV_RANGES = [0, 180, 0, 256, 0, 256]


@dataclass(frozen=True)
class CutConfig(ConfigBase):
    """min_jump: smallest histogram distance (total variation, [0, 1]) that can be a cut;
    ratio: how many times the recent median change it must be; window: frames of that median."""

    min_jump: float = 0.35
    ratio: float = 4.0
    window: int = 15

    def __post_init__(self) -> None:
        if not 0.0 < self.min_jump <= 1.0:
            raise parameter_error("min_jump", f"must be in (0, 1], got {self.min_jump}")
        if not self.ratio >= 1.0:
            raise parameter_error("ratio", f"must be >= 1, got {self.ratio}")
        if not isinstance(self.window, int) or self.window < 1:
            raise parameter_error("window", f"must be an integer >= 1, got {self.window!r}")


def frame_histogram(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 BGR -> (16 * 4 * 4,) float64 HSV histogram summing to 1."""
    thumb = cv2.resize(image, THUMB_SIZE, interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(thumb, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, list(HIST_BINS), HSV_RANGES).ravel().astype(np.float64)
    return hist / max(hist.sum(), 1.0)


class CutDetector:
    """Streaming form of the rule in the module docstring: ``push(image)`` per decoded frame,
    in order; ``cuts`` lists the 1-based frames that start a new shot."""

    def __init__(self, config: CutConfig = CutConfig()):
        self.config = config
        self.cuts: List[int] = []
        self.frame = 0
        self._previous = None
        self._recent: deque = deque(maxlen=config.window)

    def push(self, image: np.ndarray) -> bool:
        """One frame -> True when it starts a new shot."""
        self.frame += 1
        hist = frame_histogram(image)
        cut = False
        if self._previous is not None:
            jump = 0.5 * float(np.abs(hist - self._previous).sum())
            median = float(np.median(self._recent)) if self._recent else 0.0
            cut = jump >= self.config.min_jump and jump >= self.config.ratio * median
            if cut:
                self.cuts.append(self.frame)
                self._recent.clear()  # the new shot's own motion level
            else:
                self._recent.append(jump)
        self._previous = hist
        return cut


def detect_cuts(frames: Iterable[np.ndarray], config: CutConfig = CutConfig()) -> List[int]:
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
