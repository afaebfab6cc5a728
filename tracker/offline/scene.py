"""Scene coordinates for a moving camera: the pixels of the first frame, reached through the
per-frame camera motions of the online run (``Tracks.camera_motion``).

Tracklets are cut, scored and filled in scene coordinates, so that a pan during a gap is not
taken for the person's own motion; filled boxes go back to their frame's pixels. Without any
camera motion (MOT files, ``--cmc off``) scene = image and nothing is converted.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from tracker.camera_motion import warp_xyxy
from tracker.tracks import Tracks


class CameraPath:
    """Feed each frame's camera motion in order (``add``); it returns the frame's (3, 3)
    frame-pixels -> scene-pixels homography, or None while the camera has not moved yet.
    Memory: one 3x3 matrix."""

    def __init__(self) -> None:
        self._to_scene = np.eye(3)
        self.moving = False

    def add(self, camera_motion) -> Optional[np.ndarray]:
        if camera_motion is not None and camera_motion.status == "ok" and not camera_motion.is_identity:
            step = np.vstack([np.asarray(camera_motion.matrix, np.float64), [0.0, 0.0, 1.0]])  # previous -> this
            self._to_scene = self._to_scene @ np.linalg.inv(step)
            self.moving = True
        return self._to_scene.copy() if self.moving else None


def to_scene(tracks: Tracks, matrix: Optional[np.ndarray]) -> Tracks:
    """``tracks`` with their boxes in scene pixels (``matrix``: ``CameraPath.add``'s)."""
    if matrix is None or not len(tracks):
        return tracks
    return dataclasses.replace(tracks, xyxy=warp_xyxy(tracks.xyxy, matrix[:2]).astype(np.float32))


def filled_to_image(filled: list, matrix: Optional[np.ndarray]) -> list:
    """Filled rows ``(identity, box (4,) scene pixels, ...)`` -> the same in the frame's pixels."""
    if matrix is None or not filled:
        return filled
    back = np.linalg.inv(matrix)[:2]
    return [(tid, warp_xyxy(np.asarray([box]), back)[0].tolist(), *rest) for tid, box, *rest in filled]
