"""Track lifecycle states and ``Tracks``, the per-frame output struct of arrays."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from tracker.boxes import xyxy_to_xywh


class TrackState(enum.IntEnum):
    """TENTATIVE -> CONFIRMED -> LOST -> REMOVED (a LOST track that is matched again is
    CONFIRMED; a TENTATIVE one that misses is REMOVED)."""

    TENTATIVE = 0
    CONFIRMED = 1
    LOST = 2
    REMOVED = 3


@dataclass(frozen=True, eq=False)
class Tracks:
    """Tracks reported for one frame, as parallel arrays.

    track_ids (M,) int64 positive IDs; xyxy (M, 4) float32 pixels; scores (M,) float32 (the
    matched detection's score, or the last one for predicted rows); class_ids (M,) int64;
    det_index (M,) int64 = ``Detections.index`` of the matched input row, -1 when the box is
    predicted; observed (M,) bool (True when matched to a detection this frame);
    states (M,) int8 ``TrackState`` values; frame_index int; timestamp float seconds;
    camera_motion: the frame's ``tracker.camera_motion.CameraMotion`` (previous frame's
    pixels -> this frame's) when the tracker estimated one (frames given), else None;
    shot: the 0-based index of the frame's shot when the tracker looks for shot cuts (frames
    given, ``tracker.shots``), else None; cut: True on the first frame of a new shot (every
    track of the previous shot ended before it).
    """

    track_ids: np.ndarray
    xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    det_index: np.ndarray
    observed: np.ndarray
    states: np.ndarray
    frame_index: int = 0
    timestamp: float = 0.0
    camera_motion: Optional[Any] = None
    shot: Optional[int] = None
    cut: bool = False

    def __len__(self) -> int:
        return len(self.track_ids)

    @classmethod
    def empty(cls, frame_index: int = 0, timestamp: float = 0.0, camera_motion: Optional[Any] = None,
              shot: Optional[int] = None, cut: bool = False) -> "Tracks":
        return cls(np.zeros(0, np.int64), np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                   np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, np.int8),
                   frame_index, timestamp, camera_motion, shot, cut)

    def to_xywh(self) -> np.ndarray:
        """(M, 4) MOTChallenge ``x, y, w, h`` pixels."""
        return xyxy_to_xywh(self.xyxy)

    def to_records(self) -> list:
        """One dict per track (JSON friendly)."""
        return [
            {"id": int(i), "box_xyxy": [round(float(v), 2) for v in b], "score": round(float(s), 4),
             "class_id": int(c), "det_index": int(d), "observed": bool(o), "state": TrackState(int(st)).name.lower()}
            for i, b, s, c, d, o, st in zip(self.track_ids, self.xyxy, self.scores, self.class_ids, self.det_index,
                                             self.observed, self.states)
        ]
