"""Direction consistency of track/detection pairs (the idea of OC-SORT's observation-centric
momentum): a detection that continues a track's recent direction of motion is a likelier
match than one that would make it turn back.

Directions come from observed boxes only (the track's ``history`` rows), never from the Kalman
velocity, so they do not drift while a track is unseen.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from tracker.association.base import TrackLike

#: a displacement shorter than this (pixels) has no direction (the pair's term is 0)
MIN_DISPLACEMENT_PX = 1e-6


def _centre(row) -> np.ndarray:
    """(2,) centre of a history row ``(time s, x1, y1, x2, y2, score)``."""
    return np.array([(row[1] + row[3]) / 2.0, (row[2] + row[4]) / 2.0], np.float64)


def track_direction(history: Sequence, lag_s: float) -> Optional[np.ndarray]:
    """(2,) unit vector from the observation at least ``lag_s`` seconds before the last one
    (the oldest kept when none is that old) to the last; None with fewer than two rows or no
    displacement."""
    if len(history) < 2:
        return None
    last = history[-1]
    start = history[0]
    for row in reversed(list(history)[:-1]):
        start = row
        if last[0] - row[0] >= lag_s:
            break
    step = _centre(last) - _centre(start)
    norm = float(np.hypot(*step))
    return None if norm < MIN_DISPLACEMENT_PX else step / norm


def direction_consistency(tracks: Sequence[TrackLike], det_xyxy: np.ndarray, lag_s: float) -> np.ndarray:
    """(T, N) ``(pi/2 - angle) / pi`` in [-0.5, 0.5]: 0.5 when the detection lies straight
    ahead of the track's last observation along its direction, 0 at a right angle, -0.5 straight
    behind; 0 where the track has no direction or the detection sits on its last observation.

    det_xyxy: (N, 4) pixels."""
    det_xyxy = np.asarray(det_xyxy, np.float64).reshape(-1, 4)
    out = np.zeros((len(tracks), len(det_xyxy)))
    if len(det_xyxy) == 0:
        return out
    det_c = (det_xyxy[:, :2] + det_xyxy[:, 2:]) / 2.0
    for i, t in enumerate(tracks):
        direction = track_direction(t.history, lag_s)
        if direction is None:
            continue
        step = det_c - _centre(t.history[-1])  # (N, 2)
        norm = np.hypot(step[:, 0], step[:, 1])
        ok = norm >= MIN_DISPLACEMENT_PX
        cos = np.clip(step @ direction / np.where(ok, norm, 1.0), -1.0, 1.0)
        out[i] = np.where(ok, (np.pi / 2 - np.arccos(cos)) / np.pi, 0.0)
    return out
