"""The tracker under a virtual pan of real frames: it keeps identities with camera-motion
compensation and loses them without (this test fails if CMC is disabled)."""
from __future__ import annotations

import numpy as np

from tracker import Detections, Tracker, TrackerConfig
from tracker.benchmarking.virtual_camera import (VirtualCameraConfig, camera_path, output_size, transform_boxes,
                                                 warp_frame)
from tracker.camera_motion import CameraMotionConfig

FPS = 7.0  # PETS09-S2L1
#: a fast pan (up to 0.6 view widths per second), no zoom, no shake: up to ~46 px per frame at
#: 7 fps, about a person's width, so a tracker that predicts in image pixels misses them
PAN = VirtualCameraConfig(view_fraction=0.7, max_pan_speed=0.6, zoom_min=1.0, zoom_max=1.0, shake_px=0.0)


def run_tracker(frames, gt, cmc_method: str):
    """Track the panned view; returns {gt id: [track id per frame it was tracked]} and the
    camera-motion statuses."""
    src = (frames[0].shape[1], frames[0].shape[0])
    size = output_size(src, PAN)
    affines = camera_path(len(frames), FPS, src, PAN, seed=3)
    cfg = TrackerConfig(associator="iou", frame_rate=FPS, camera_motion=CameraMotionConfig(method=cmc_method))
    tracker = Tracker(cfg)
    ids_of = {}
    statuses = []
    for i, (frame, affine) in enumerate(zip(frames, affines)):
        gt_ids, gt_xyxy = gt[i + 1]
        keep, boxes = transform_boxes(gt_xyxy, affine, size, min_visible=0.9)
        dets = Detections(boxes, np.ones(len(boxes)))
        tracks = tracker.update(dets, frame=warp_frame(frame, affine, size), timestamp=i / FPS)
        statuses.append(tracks.camera_motion.status)
        for tid, row in zip(tracks.track_ids, tracks.det_index):
            if row >= 0:
                ids_of.setdefault(int(gt_ids[keep[row]]), []).append(int(tid))
    return ids_of, statuses


def kept_share(ids_of) -> float:
    """Share of the tracked (gt person, frame) pairs that carry the person's most common id."""
    total = sum(len(v) for v in ids_of.values())
    kept = sum(np.bincount(v).max() for v in ids_of.values())
    return kept / max(total, 1)


def test_the_pan_is_fast_enough_to_matter(pets_frames):
    src = (pets_frames[0].shape[1], pets_frames[0].shape[0])
    affines = camera_path(len(pets_frames), FPS, src, PAN, seed=3)
    shift = np.abs(np.diff(affines[:, 0, 2]))
    assert np.median(shift) > 20 and shift.max() > 40  # px per frame; people are ~30-50 px wide


def test_cmc_keeps_identities_that_are_lost_without_it(pets_frames, pets_gt):
    with_cmc, statuses = run_tracker(pets_frames, pets_gt, "auto")
    without, _ = run_tracker(pets_frames, pets_gt, "off")
    assert statuses[0] == "first" and statuses[1:].count("ok") >= len(statuses) - 3
    tracked_with = sum(len(v) for v in with_cmc.values())
    tracked_without = sum(len(v) for v in without.values())
    # measured: 128 tracked pairs, all with their person's id; without CMC 47 pairs, 28 % kept
    assert kept_share(with_cmc) > 0.95 and tracked_with > 100
    assert tracked_without < 0.6 * tracked_with and kept_share(without) < 0.6

