"""Drawing tracks on frames: boxes, IDs in stable per-ID colours, short motion trails and a
frame counter. Pure functions of their inputs plus ``Annotator``'s bounded trail memory; the
caller's frame is never modified (a copy is drawn on).
"""
from __future__ import annotations

import colorsys
from collections import deque
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from tracker.tracks import Tracks, TrackState

GOLDEN_RATIO_CONJUGATE = 0.618033988749895
DEFAULT_TRAIL_FRAMES = 20
#: a trail whose track has not been drawn for this many frames is forgotten
TRAIL_FORGET_FRAMES = 30


def id_colour(track_id: int) -> Tuple[int, int, int]:
    """A stable BGR colour for a track ID: hues spaced by the golden ratio, so consecutive IDs
    get clearly different colours; the same ID always gets the same colour."""
    hue = (int(track_id) * GOLDEN_RATIO_CONJUGATE) % 1.0
    sat = 0.75 + 0.2 * ((int(track_id) * 7) % 3) / 2  # 0.75 / 0.85 / 0.95
    r, g, b = colorsys.hsv_to_rgb(hue, sat, 0.95)
    return int(round(b * 255)), int(round(g * 255)), int(round(r * 255))


class Annotator:
    """Draws ``Tracks`` on frames.

    trail_frames: how many past positions (box bottom centres) a trail shows (0: no trails).
    class_names: optional names shown after the ID when there is more than one class.
    thickness: box line width in pixels (None: from the frame size).

    Memory is bounded: at most ``trail_frames`` points per track, and tracks not seen for
    ``TRAIL_FORGET_FRAMES`` drawn frames are dropped.
    """

    def __init__(self, trail_frames: int = DEFAULT_TRAIL_FRAMES, class_names: Optional[Sequence[str]] = None,
                 thickness: Optional[int] = None):
        if isinstance(trail_frames, bool) or not isinstance(trail_frames, (int, np.integer)) or trail_frames < 0:
            raise ValueError(f"trail_frames must be an integer >= 0, got {trail_frames!r}")
        self.trail_frames = int(trail_frames)
        self.class_names = None if class_names is None else tuple(class_names)
        self.thickness = thickness
        self._trails: Dict[int, deque] = {}
        self._last_drawn: Dict[int, int] = {}
        self._count = 0

    @property
    def trail_count(self) -> int:
        """Tracks whose trail is held (bounded)."""
        return len(self._trails)

    def _update_trails(self, tracks: Tracks) -> None:
        self._count += 1
        if self.trail_frames == 0:
            return
        for tid, box in zip(tracks.track_ids, tracks.xyxy):
            tid = int(tid)
            trail = self._trails.get(tid)
            if trail is None:
                trail = self._trails[tid] = deque(maxlen=self.trail_frames)
            trail.append((float(box[0] + box[2]) / 2.0, float(box[3])))
            self._last_drawn[tid] = self._count
        stale = [t for t, last in self._last_drawn.items() if self._count - last > TRAIL_FORGET_FRAMES]
        for t in stale:
            self._trails.pop(t, None)
            self._last_drawn.pop(t, None)

    def draw(self, image: np.ndarray, tracks: Tracks, label: Optional[str] = None) -> np.ndarray:
        """Return a copy of ``image`` (H, W, 3) uint8 BGR with ``tracks`` drawn and ``label``
        (e.g. ``"frame 12"``) in the top-left corner."""
        import cv2

        out = image.copy()
        h, w = out.shape[:2]
        thick = self.thickness or max(1, int(round(min(h, w) / 360)))
        font_scale = max(0.4, min(h, w) / 900)
        self._update_trails(tracks)
        present = {int(t) for t in tracks.track_ids}
        # trails first, so boxes and labels stay readable on top
        for tid, trail in self._trails.items():
            if tid in present and len(trail) >= 2:
                pts = np.round(np.array(trail)).astype(np.int32).reshape(-1, 1, 2)
                cv2.polylines(out, [pts], False, id_colour(tid), thick, cv2.LINE_AA)
        multi_class = self.class_names is not None and len(self.class_names) > 1
        for tid, box, cls, state, obs in zip(tracks.track_ids, tracks.xyxy, tracks.class_ids, tracks.states,
                                             tracks.observed):
            colour = id_colour(int(tid))
            x1, y1, x2, y2 = (int(round(float(v))) for v in box)
            lost = int(state) == int(TrackState.LOST) or not bool(obs)
            if lost:  # predicted box: thin corners only
                _corners(out, (x1, y1, x2, y2), colour, max(1, thick - 1))
            else:
                cv2.rectangle(out, (x1, y1), (x2, y2), colour, thick, cv2.LINE_AA)
            text = f"{int(tid)}"
            if multi_class and 0 <= int(cls) < len(self.class_names):
                text += f" {self.class_names[int(cls)]}"
            _label(out, text, (x1, y1), colour, font_scale)
        if label:
            _label(out, label, (0, 0), (32, 32, 32), font_scale * 1.1, inside=True)
        return out


def _corners(img: np.ndarray, box: Tuple[int, int, int, int], colour, thick: int) -> None:
    import cv2

    x1, y1, x2, y2 = box
    k = max(3, min(x2 - x1, y2 - y1) // 4)
    for (ax, ay), (dx, dy) in (((x1, y1), (1, 1)), ((x2, y1), (-1, 1)), ((x1, y2), (1, -1)), ((x2, y2), (-1, -1))):
        cv2.line(img, (ax, ay), (ax + dx * k, ay), colour, thick, cv2.LINE_AA)
        cv2.line(img, (ax, ay), (ax, ay + dy * k), colour, thick, cv2.LINE_AA)


def _label(img: np.ndarray, text: str, anchor: Tuple[int, int], colour, scale: float, inside: bool = False) -> None:
    """Text on a filled background at ``anchor`` (above the point, or inside from it)."""
    import cv2

    font = cv2.FONT_HERSHEY_SIMPLEX
    (tw, th), base = cv2.getTextSize(text, font, scale, 1)
    x, y = anchor
    pad = 2
    if inside or y - th - base - 2 * pad < 0:
        top = max(0, y)
    else:
        top = y - th - base - 2 * pad
    x = int(np.clip(x, 0, max(0, img.shape[1] - tw - 2 * pad)))
    cv2.rectangle(img, (x, top), (x + tw + 2 * pad, top + th + base + 2 * pad), colour, -1)
    b, g, r = colour
    text_colour = (0, 0, 0) if (0.114 * b + 0.587 * g + 0.299 * r) > 140 else (255, 255, 255)
    cv2.putText(img, text, (x + pad, top + pad + th), font, scale, text_colour, 1, cv2.LINE_AA)
