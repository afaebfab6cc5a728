"""Shot-cut detection: a hard cut between two consecutive frames of an edited video.

A cut replaces the whole picture from one frame to the next. Motion cannot follow anyone across
it: the tracker ends every live track at a cut (``tracker.core``), and a later linking stage
may join the identities of different shots by appearance.

``ShotCutDetector.update(frame) -> bool`` is streaming (it keeps the previous frame's
signature only). Each frame is reduced to a thumbnail (``THUMB_SIZE``, subsampled then area-averaged, so
noise and small motions fade), and two distances to the previous frame's thumbnail are measured:

- ``colour``: 1 - the intersection of the two normalized HSV histograms (joint hue x
  saturation x value bins), in [0, 1]: what the picture is made of, blind to where;
- ``pixels``: the mean absolute grey difference of the thumbnails over 255, in [0, 1]: a pan or
  a person walking across changes it little at this size, a new picture a lot.

A cut needs their geometric mean, ``score = sqrt(colour * pixels)``, at or above
``score_threshold`` and ``pixels`` at or above ``pixel_threshold`` (``ShotCutConfig``): a cut
between two shots of a football pitch keeps the grey layout (pixels ~0.15) but changes the
colours (~0.7), a pan keeps the colours, and a hue that crosses a histogram bin changes the
colours with no change of the picture (pixels ~0.03). The thresholds were chosen by leave-clips-out folds
on real montages and cut-free clips (benchmarks/shot_cuts.py, docs/shot_cuts.md). The first
frame, and a frame whose size differs from the previous one, are never cuts (a size change
is reported by the pipeline on its own).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional

import cv2
import numpy as np

from tracker.config_base import ConfigBase, check_range

SHOT_CUT_METHODS = ("auto", "off")
#: (width, height) of the thumbnail both distances are measured on (pixels; the aspect is not
#: kept: only changes between frames of one video matter)
THUMB_SIZE = (64, 64)
#: before the area-averaging resize, frames are subsampled by a whole step so that their
#: shorter side stays at least this (pixels): a 1920x1080 frame is read every 4th pixel, which
#: makes the thumbnail ~10x faster and changes its values by less than the thresholds' margins
SUBSAMPLE_MIN_SIDE = 256
#: HSV histogram bins (hue, saturation, value); OpenCV's 8-bit hue spans 0..180
HIST_BINS = (8, 4, 4)
HIST_RANGES = (0, 180, 0, 256, 0, 256)
#: default thresholds: the mean of the two leave-clips-out folds' choices (docs/shot_cuts.md)
DEFAULT_SCORE_THRESHOLD = 0.225
DEFAULT_PIXEL_THRESHOLD = 0.08


@dataclass(frozen=True)
class ShotCutConfig(ConfigBase):
    """Settings of the shot-cut detector.

    method: ``auto`` (detect cuts when frames exist) or ``off``.
    score_threshold: the least ``sqrt(colour * pixels)`` of a cut, in [0, 1].
    pixel_threshold: the least mean absolute grey difference of the thumbnails (fraction of
        255) of a cut.
    """

    method: str = "auto"
    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    pixel_threshold: float = DEFAULT_PIXEL_THRESHOLD

    def __post_init__(self) -> None:
        if not isinstance(self.method, str) or self.method not in SHOT_CUT_METHODS:
            raise ValueError(f"ShotCutConfig.method must be one of {SHOT_CUT_METHODS}, got {self.method!r}")
        check_range("ShotCutConfig.score_threshold", self.score_threshold, 0.0, 1.0)
        check_range("ShotCutConfig.pixel_threshold", self.pixel_threshold, 0.0, 1.0)


class Signature(NamedTuple):
    """What a frame is compared by: ``grey`` (THUMB_SIZE[1], THUMB_SIZE[0]) float32 0..255 and
    ``hist`` (prod(HIST_BINS),) float32 summing to 1; ``shape`` the frame's (H, W)."""

    grey: np.ndarray
    hist: np.ndarray
    shape: tuple


class Distances(NamedTuple):
    """Between two consecutive frames: ``colour`` and ``pixels``, both in [0, 1]."""

    colour: float
    pixels: float

    @property
    def score(self) -> float:
        """Their geometric mean, in [0, 1]."""
        return float(np.sqrt(self.colour * self.pixels))


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """frame (H, W, 3) uint8 BGR -> (THUMB_SIZE[1], THUMB_SIZE[0], 3) uint8 BGR thumbnail."""
    step = max(1, min(frame.shape[0], frame.shape[1]) // SUBSAMPLE_MIN_SIDE)
    small = np.ascontiguousarray(frame[::step, ::step]) if step > 1 else frame
    return cv2.resize(small, THUMB_SIZE, interpolation=cv2.INTER_AREA)


def signature(frame: np.ndarray) -> Signature:
    """frame (H, W, 3) uint8 BGR (or its thumbnail) -> its ``Signature`` (about 1 ms for
    1920x1080)."""
    thumb = frame if frame.shape[:2] == (THUMB_SIZE[1], THUMB_SIZE[0]) else thumbnail(frame)
    hsv = cv2.cvtColor(thumb, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, list(HIST_BINS), list(HIST_RANGES)).reshape(-1)
    hist = (hist / max(float(hist.sum()), 1.0)).astype(np.float32)
    grey = cv2.cvtColor(thumb, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return Signature(grey, hist, tuple(frame.shape[:2]))


def distances(previous: Signature, current: Signature) -> Distances:
    """The two distances of ``current`` to ``previous`` (see the module docstring)."""
    colour = 1.0 - float(np.minimum(previous.hist, current.hist).sum())
    pixels = float(np.abs(previous.grey - current.grey).mean()) / 255.0
    return Distances(max(0.0, colour), pixels)


class ShotCutDetector:
    """Streaming: ``update(frame)`` is True when ``frame`` starts a new shot (a hard cut between
    the previous frame given and this one). ``cuts`` counts them, ``shot`` is the 0-based index
    of the current shot, ``last`` the distances of the last frame (None on a first frame)."""

    def __init__(self, config: Optional[ShotCutConfig] = None):
        self.config = config or ShotCutConfig()
        self.enabled = self.config.method != "off"
        self.cuts = 0
        self.last: Optional[Distances] = None
        self._previous: Optional[Signature] = None

    @property
    def shot(self) -> int:
        return self.cuts

    def reset(self) -> None:
        """A new stream: no previous frame, no cuts counted."""
        self.cuts = 0
        self.last = None
        self._previous = None

    def is_cut(self, d: Distances) -> bool:
        """The rule: the score and the pixel distance at or above their thresholds."""
        return d.score >= self.config.score_threshold and d.pixels >= self.config.pixel_threshold

    def update(self, frame: np.ndarray) -> bool:
        """frame (H, W, 3) uint8 BGR, the next frame of the stream -> is there a cut before it."""
        if not self.enabled:
            return False
        current = signature(frame)
        previous, self._previous = self._previous, current
        if previous is None or previous.shape != current.shape:
            self.last = None
            return False
        self.last = distances(previous, current)
        cut = self.is_cut(self.last)
        self.cuts += int(cut)
        return cut
