"""Camera-motion estimation on real frames: a known transform is recovered, a static scene
gives the identity, and frames without structure fall back cleanly."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tracker.camera_motion import (CMC_METHODS, IDENTITY, CameraMotionConfig, CameraMotionEstimator,
                                   similarity_scale, warp_xyxy)
from tracker.config import TrackerConfig

METHODS = ("sparse", "ecc")


def known_transform(size, angle_deg=0.4, scale=1.02, shift=(12.3, -7.1)):
    """A similarity about the image centre plus a shift, as a (2, 3) matrix."""
    w, h = size
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, scale)
    matrix[:, 2] += shift
    return matrix


@pytest.mark.parametrize("method", METHODS)
def test_recovers_a_known_affine_on_real_frames(pets_frames, method):
    frame = pets_frames[0]
    h, w = frame.shape[:2]
    truth = known_transform((w, h))
    moved = cv2.warpAffine(frame, truth, (w, h), borderMode=cv2.BORDER_REPLICATE)
    est = CameraMotionEstimator(CameraMotionConfig(method=method))
    assert est.estimate(frame).status == "first"
    result = est.estimate(moved)
    assert result.status == "ok"
    # where the estimate sends points of the frame, against where the truth sends them
    grid = np.array([[x, y, 1.0] for x in (0.2 * w, 0.5 * w, 0.8 * w) for y in (0.2 * h, 0.5 * h, 0.8 * h)])
    error = np.linalg.norm(grid @ result.matrix.T - grid @ truth.T, axis=1)
    assert error.max() < 1.0, error
    assert abs(similarity_scale(result.matrix) / 1.02 - 1) < 0.01


@pytest.mark.parametrize("method", METHODS)
def test_a_static_scene_gives_the_identity(pets_frames, pets_gt, method):
    est = CameraMotionEstimator(CameraMotionConfig(method=method))
    est.estimate(pets_frames[0])
    result = est.estimate(pets_frames[0].copy())
    assert result.status == "ok"
    assert np.abs(result.matrix - IDENTITY).max() < 0.05  # < 0.05 px shift, < 5e-2 % scale
    # consecutive real frames of a fixed camera (people walk; they are masked out by the gt)
    est.reset()
    assert est.estimate(pets_frames[5], pets_gt[6][1]).status == "first"
    result = est.estimate(pets_frames[6], pets_gt[7][1])
    assert abs(result.matrix[0, 2]) < 1.0 and abs(result.matrix[1, 2]) < 1.0
    assert abs(similarity_scale(result.matrix) - 1) < 0.005


@pytest.mark.parametrize("method", METHODS)
def test_blank_and_noise_frames_fall_back_to_the_identity(pets_frames, method):
    rng = np.random.default_rng(0)
    shape = pets_frames[0].shape
    est = CameraMotionEstimator(CameraMotionConfig(method=method))
    cases = [np.zeros(shape, np.uint8), np.full(shape, 128, np.uint8),
             rng.integers(0, 256, shape, dtype=np.uint8), rng.integers(0, 256, shape, dtype=np.uint8)]
    est.estimate(pets_frames[0])
    for frame in cases:
        result = est.estimate(frame)
        assert result.status == "fallback", result
        np.testing.assert_array_equal(result.matrix, IDENTITY)
    assert est.counts["fallback"] == len(cases) and est.counts["first"] == 1


def test_a_new_frame_size_restarts_and_off_never_estimates(pets_frames):
    est = CameraMotionEstimator()
    est.estimate(pets_frames[0])
    assert est.estimate(cv2.resize(pets_frames[1], (384, 288))).status == "first"
    off = CameraMotionEstimator(CameraMotionConfig(method="off"))
    assert off.estimate(pets_frames[0]).status == "off" and off.estimate(pets_frames[1]).status == "off"


def test_detections_are_masked_out():
    """A textured background that stays put and one large textured box that moves: with the box
    masked the estimate is the (static) background's, without the mask it is pulled along."""
    rng = np.random.default_rng(1)
    background = cv2.GaussianBlur(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), (5, 5), 0)
    patch = cv2.GaussianBlur(rng.integers(0, 256, (200, 200, 3), dtype=np.uint8), (3, 3), 0)
    a, b = background.copy(), background.copy()
    a[20:220, 20:220] = patch
    b[20:220, 28:228] = patch  # the object moved 8 px right
    boxes = np.array([[20, 20, 228, 220]], float)
    masked = CameraMotionEstimator(CameraMotionConfig(method="sparse"))
    masked.estimate(a, boxes)
    assert abs(masked.estimate(b, boxes).matrix[0, 2]) < 0.5
    unmasked = CameraMotionEstimator(CameraMotionConfig(method="sparse", mask_detections=False,
                                                        min_inlier_ratio=0.0))
    unmasked.estimate(a)
    assert abs(unmasked.estimate(b).matrix[0, 2] - 8) < 1.0


def test_warp_xyxy_by_hand():
    matrix = np.array([[2.0, 0.0, 10.0], [0.0, 2.0, -4.0]])
    np.testing.assert_allclose(warp_xyxy(np.array([[0, 0, 10, 20]]), matrix), [[10, -4, 30, 36]])
    rot90 = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0]])  # centre (5, 10) -> (-10, 5); sides kept
    np.testing.assert_allclose(warp_xyxy(np.array([[0, 0, 10, 20]]), rot90), [[-15, -5, -5, 15]])


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="CameraMotionConfig.method"):
        CameraMotionConfig(method="orb")
    assert set(CMC_METHODS) == {"auto", "sparse", "ecc", "off"}
    cfg = TrackerConfig.from_dict({"camera_motion": {"method": "ecc"}})
    assert cfg.camera_motion.method == "ecc"
    with pytest.raises(ValueError, match="valid keys"):
        TrackerConfig.from_dict({"camera_motion": {"methd": "ecc"}})
