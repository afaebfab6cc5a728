"""Camera-motion compensation (CMC): the global image motion between two consecutive frames.

A moving camera moves every box in the image; a Kalman filter that predicts in image pixels
then misses everyone at once. ``CameraMotionEstimator.estimate(frame, exclude_xyxy)`` returns
the affine map from the previous frame's pixels to this frame's pixels, estimated on the
background (detection boxes are masked out), and ``tracker.motion.warp`` moves every track's
state and covariance by it before association.

Transforms are 2x3 ``[[a, b, tx], [c, d, ty]]`` float64 matrices in full-resolution pixels,
``x_now = A @ [x_prev, y_prev, 1]``; they are similarity transforms (rotation, uniform scale,
translation), which is what a panning, tilting or zooming camera produces for far scenes.

Methods (``CameraMotionConfig.method``):

- ``sparse``: corners (``cv2.goodFeaturesToTrack``) on the previous downscaled grey frame,
  tracked by pyramidal Lucas-Kanade flow, fitted by RANSAC (``cv2.estimateAffinePartial2D``);
- ``ecc``: ``cv2.findTransformECC`` (enhanced correlation coefficient) on the downscaled frames;
- ``auto``: ``sparse`` (faster and as accurate on the development videos: docs/camera_motion.md);
- ``off``: no estimation, the identity.

Never raises on image content: a blank frame, noise, a scene cut or a failed fit give the
identity with status ``fallback`` (counted in ``counts``); the first frame and a frame whose
size differs from the previous one give ``first``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, NamedTuple, Optional

import cv2
import numpy as np

from tracker.config_base import ConfigBase, check_int, check_range

CMC_METHODS = ("auto", "sparse", "ecc", "off")
#: what ``auto`` runs (chosen by measurement: benchmarks/camera_motion.py, docs/camera_motion.md)
AUTO_METHOD = "sparse"
STATUSES = ("first", "ok", "fallback", "off")
IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])

#: ``goodFeaturesToTrack``: corner quality relative to the best corner, and the least
#: distance between corners in downscaled pixels
CORNER_QUALITY = 0.01
CORNER_MIN_DISTANCE_PX = 4
#: Lucas-Kanade window (downscaled px) and pyramid levels
FLOW_WINDOW_PX = 15
FLOW_LEVELS = 4
#: ECC: iterations and convergence epsilon
ECC_ITERATIONS = 50
ECC_EPSILON = 1e-4
#: a frame whose grey-level standard deviation is below this has no structure to follow
MIN_TEXTURE_STD = 2.0


@dataclass(frozen=True)
class CameraMotionConfig(ConfigBase):
    """Settings of the camera-motion estimator.

    method: one of ``CMC_METHODS`` (``auto`` = ``AUTO_METHOD``); only used when frames exist.
    max_side: frames are downscaled so that their longer side is at most this (pixels).
    max_features: corners tracked by ``sparse``.
    min_inliers: a ``sparse`` fit needs at least this many RANSAC inliers.
    min_inlier_ratio: ...and at least this share of the tracked corners as inliers.
    ransac_threshold_px: RANSAC reprojection threshold, in downscaled pixels.
    mask_detections: leave detection boxes out of the estimate (people move on their own).
    max_scale_step: a fit whose scale changes by more than this fraction per frame is refused.
    max_shift: a fit that moves the image by more than this fraction of its longer side per
        frame is refused (a cut, not a camera motion).
    """

    method: str = "auto"
    max_side: int = 480
    max_features: int = 400
    min_inliers: int = 12
    min_inlier_ratio: float = 0.3
    ransac_threshold_px: float = 1.0
    mask_detections: bool = True
    max_scale_step: float = 0.15
    max_shift: float = 0.25

    def __post_init__(self) -> None:
        if not isinstance(self.method, str) or self.method not in CMC_METHODS:
            raise ValueError(f"CameraMotionConfig.method must be one of {CMC_METHODS}, got {self.method!r}")
        check_int("CameraMotionConfig.max_side", self.max_side, 32, 10000)
        check_int("CameraMotionConfig.max_features", self.max_features, 8, 100000)
        check_int("CameraMotionConfig.min_inliers", self.min_inliers, 3, 100000)
        check_range("CameraMotionConfig.min_inlier_ratio", self.min_inlier_ratio, 0.0, 1.0)
        check_range("CameraMotionConfig.ransac_threshold_px", self.ransac_threshold_px, 0.0, 100.0,
                    low_inclusive=False)
        check_range("CameraMotionConfig.max_scale_step", self.max_scale_step, 0.0, 1.0, low_inclusive=False)
        check_range("CameraMotionConfig.max_shift", self.max_shift, 0.0, 1.0, low_inclusive=False)
        if not isinstance(self.mask_detections, bool):
            raise ValueError(f"CameraMotionConfig.mask_detections must be true or false, got {self.mask_detections!r}")

    @property
    def resolved_method(self) -> str:
        return AUTO_METHOD if self.method == "auto" else self.method


class CameraMotion(NamedTuple):
    """One frame's estimate: ``matrix`` (2, 3) previous-frame px -> this frame's px;
    ``status`` one of ``STATUSES``; ``inliers`` the points that support it (0 for ECC)."""

    matrix: np.ndarray
    status: str
    inliers: int = 0

    @property
    def is_identity(self) -> bool:
        return bool(np.allclose(self.matrix, IDENTITY))

    def to_dict(self) -> dict:
        """JSON-friendly: ``{"affine": [[a, b, tx], [c, d, ty]], "status": ...}``."""
        return {"affine": [[round(float(v), 6) for v in row] for row in self.matrix], "status": self.status}


def warp_xyxy(xyxy: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Move (N, 4) xyxy boxes by a (2, 3) similarity transform: the centre maps, the sides
    scale (a rotated box's axis-aligned extent is not wanted here). Returns (N, 4) float64."""
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    matrix = np.asarray(matrix, np.float64)
    centre = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2, np.ones(len(boxes))], 1)
    centre = centre @ matrix.T
    half = (boxes[:, 2:4] - boxes[:, 0:2]) * (similarity_scale(matrix) / 2.0)
    return np.concatenate([centre - half, centre + half], axis=1)


def similarity_scale(matrix: np.ndarray) -> float:
    """The uniform scale of a (2, 3) similarity transform: sqrt(|det| of its 2x2 part)."""
    return float(np.sqrt(abs(np.linalg.det(np.asarray(matrix, np.float64)[:, :2]))))


class CameraMotionEstimator:
    """Stateful: keeps the previous downscaled grey frame and its mask. One per stream;
    ``reset()`` starts a new one. ``counts`` tallies statuses since the last reset."""

    def __init__(self, config: Optional[CameraMotionConfig] = None):
        self.config = config or CameraMotionConfig()
        self.method = self.config.resolved_method
        self.counts: Dict[str, int] = {s: 0 for s in STATUSES}
        self._prev_gray: Optional[np.ndarray] = None
        self._prev_mask: Optional[np.ndarray] = None
        self._full_shape = None

    def reset(self) -> None:
        self.counts = {s: 0 for s in STATUSES}
        self.forget_frame()

    def forget_frame(self) -> None:
        """Drop the previous frame (a shot cut: nothing to follow), keeping the counts; the
        next frame is a ``first``."""
        self._prev_gray = self._prev_mask = None
        self._full_shape = None

    def estimate(self, frame: np.ndarray, exclude_xyxy: Optional[np.ndarray] = None) -> CameraMotion:
        """frame (H, W, 3) uint8 BGR; exclude_xyxy (N, 4) px boxes left out of the estimate.
        Returns the motion from the previous frame given to this one."""
        if self.method == "off":
            return self._count(CameraMotion(IDENTITY.copy(), "off"))
        scale = min(1.0, self.config.max_side / max(frame.shape[0], frame.shape[1]))
        gray = _downscaled_gray(frame, scale)
        mask = self._mask(gray.shape, exclude_xyxy, scale)
        prev, prev_mask = self._prev_gray, self._prev_mask
        same_size = self._full_shape == frame.shape[:2]
        self._prev_gray, self._prev_mask = gray, mask
        self._full_shape = frame.shape[:2]
        if prev is None or not same_size:
            return self._count(CameraMotion(IDENTITY.copy(), "first"))
        if gray.std() < MIN_TEXTURE_STD or prev.std() < MIN_TEXTURE_STD:
            return self._count(CameraMotion(IDENTITY.copy(), "fallback"))
        if self.method == "sparse":
            small, inliers = self._sparse(prev, gray, prev_mask)
        else:
            small, inliers = self._ecc(prev, gray, prev_mask), 0
        if small is None or not self._plausible(small, gray.shape):
            return self._count(CameraMotion(IDENTITY.copy(), "fallback", inliers))
        full = small.copy()
        full[:, 2] /= scale  # the 2x2 part is the same at every resolution; translation scales
        return self._count(CameraMotion(full, "ok", inliers))

    # ------------------------------------------------------------------ methods
    def _sparse(self, prev, gray, prev_mask):
        cfg = self.config
        points = cv2.goodFeaturesToTrack(prev, cfg.max_features, CORNER_QUALITY, CORNER_MIN_DISTANCE_PX,
                                         mask=prev_mask)
        if points is None or len(points) < cfg.min_inliers:
            return None, 0
        moved, found, _ = cv2.calcOpticalFlowPyrLK(prev, gray, points, None, winSize=(FLOW_WINDOW_PX,) * 2,
                                                   maxLevel=FLOW_LEVELS)
        found = found.reshape(-1).astype(bool)
        if int(found.sum()) < cfg.min_inliers:
            return None, 0
        src, dst = points.reshape(-1, 2)[found], moved.reshape(-1, 2)[found]
        matrix, inlier_mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC,
                                                          ransacReprojThreshold=cfg.ransac_threshold_px)
        if matrix is None or inlier_mask is None:
            return None, 0
        inliers = int(inlier_mask.sum())
        if inliers < cfg.min_inliers or inliers < cfg.min_inlier_ratio * len(points):
            return None, inliers
        return matrix.astype(np.float64), inliers

    def _ecc(self, prev, gray, prev_mask):
        warp = np.eye(2, 3, dtype=np.float32)
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, ECC_ITERATIONS, ECC_EPSILON)
        try:
            # the warp maps template (previous frame) coordinates to input (this frame) ones
            _, warp = cv2.findTransformECC(prev, gray, warp, cv2.MOTION_AFFINE, criteria, prev_mask, 1)
        except cv2.error:  # no convergence (a blank, noisy or cut frame): fall back
            return None
        return _nearest_similarity(warp.astype(np.float64))

    # ------------------------------------------------------------------ helpers
    def _mask(self, shape, exclude_xyxy, scale) -> Optional[np.ndarray]:
        if not self.config.mask_detections or exclude_xyxy is None or len(exclude_xyxy) == 0:
            return None
        mask = np.full(shape, 255, np.uint8)
        boxes = np.round(np.asarray(exclude_xyxy, np.float64) * scale).astype(np.int64)
        h, w = shape
        for x1, y1, x2, y2 in boxes:
            mask[max(0, y1):max(0, min(h, y2)), max(0, x1):max(0, min(w, x2))] = 0
        return mask

    def _plausible(self, small: np.ndarray, shape) -> bool:
        cfg = self.config
        if not np.all(np.isfinite(small)):
            return False
        if abs(similarity_scale(small) - 1.0) > cfg.max_scale_step:
            return False
        h, w = shape
        centre = np.array([w / 2.0, h / 2.0, 1.0])
        shift = np.linalg.norm(small @ centre - centre[:2])
        return bool(shift <= cfg.max_shift * max(h, w))

    def _count(self, motion: CameraMotion) -> CameraMotion:
        self.counts[motion.status] += 1
        return motion


def _downscaled_gray(frame: np.ndarray, scale: float) -> np.ndarray:
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)  # grey first: a third of the pixels to resize
    if scale < 1.0:
        size = (max(1, int(round(frame.shape[1] * scale))), max(1, int(round(frame.shape[0] * scale))))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return gray


def _nearest_similarity(affine: np.ndarray) -> np.ndarray:
    """The similarity transform nearest to a (2, 3) affine one (its 2x2 part's polar factor
    times the mean singular value), so both methods return the same kind of transform."""
    u, s, vt = np.linalg.svd(affine[:, :2])
    rotation = u @ vt
    if np.linalg.det(rotation) < 0:  # a reflection is no camera motion
        return affine
    out = affine.copy()
    out[:, :2] = rotation * float(np.mean(s))
    return out
