"""The offline stage under a moving camera: tracklets are linked and gaps filled in scene
coordinates (through the online run's camera motion), so a pan that turns during a gap is
not taken for the person's own motion, and filled boxes land where the person is in the image."""
from __future__ import annotations

import numpy as np

from tracker.camera_motion import CameraMotion
from tracker.offline import OfflineConfig, TrackedFrame, link_frames
from tracker.tracks import Tracks, TrackState

FPS = 10.0
SCENE_BOX = np.array([400.0, 200.0, 440.0, 300.0])  # a person standing still in the scene


def pan_offsets(n: int) -> np.ndarray:
    """Camera x offset (px) per frame: pans right at 30 px/frame for 20 frames, then back left."""
    step = np.where(np.arange(n) < 20, 30.0, -30.0)
    step[0] = 0.0
    return np.cumsum(step)


def frames_with(visible, offsets, camera: bool):
    """One person, track 1 before the gap and track 2 after it (the online tracker lost them);
    image box = scene box shifted by -offset; camera motion = the per-frame shift."""
    out = []
    for i, off in enumerate(offsets):
        motion = None
        if camera:
            shift = -(off - offsets[i - 1]) if i else 0.0
            motion = CameraMotion(np.array([[1.0, 0.0, shift], [0.0, 1.0, 0.0]]), "ok" if i else "first")
        if visible[i]:
            tid = 1 if i < 20 else 2
            box = (SCENE_BOX - [off, 0, off, 0]).astype(np.float32)[None]
            tracks = Tracks(np.array([tid]), box, np.ones(1, np.float32), np.zeros(1, np.int64), np.zeros(1, np.int64),
                            np.ones(1, bool), np.full(1, int(TrackState.CONFIRMED), np.int8), i, i / FPS, motion)
        else:
            tracks = Tracks.empty(i, i / FPS, motion)
        out.append(TrackedFrame(i, i / FPS, tracks))
    return out


def test_a_turning_pan_during_the_gap_is_compensated():
    n = 40
    offsets = pan_offsets(n)
    visible = np.ones(n, bool)
    visible[12:28] = False  # 1.6 s unseen, the pan turns at frame 20
    cfg = OfflineConfig(max_fill_s=2.0, scorer="hand")  # the scene coordinates, with the scorer that links here
    with_cmc = link_frames(frames_with(visible, offsets, camera=True), cfg)
    ids = {int(i) for f in with_cmc.frames for i in f.tracks.track_ids}
    assert ids == {1} and with_cmc.stats.links == 1
    # the filled boxes are where the person is in each image (the scene box seen from there)
    for f in with_cmc.frames[12:28]:
        assert len(f.tracks) == 1 and not f.tracks.observed[0]
        expected = SCENE_BOX - [offsets[f.frame_index], 0, offsets[f.frame_index], 0]
        np.testing.assert_allclose(f.tracks.xyxy[0], expected, atol=1e-3)
    # without the camera's motion the gap is filled in image pixels, a straight line between the
    # two ends (the same image position): up to 240 px off where the person is seen
    without = link_frames(frames_with(visible, offsets, camera=False), cfg)
    errors = [abs(f.tracks.xyxy[0][0] - (SCENE_BOX[0] - offsets[f.frame_index])) for f in without.frames[12:28]
              if len(f.tracks)]
    assert max(errors) > 100


def test_no_camera_motion_leaves_the_output_unchanged():
    n = 40
    offsets = np.zeros(n)
    visible = np.ones(n, bool)
    visible[12:28] = False
    plain = link_frames(frames_with(visible, offsets, camera=False))
    still = link_frames(frames_with(visible, offsets, camera=True))  # identity motions only
    for a, b in zip(plain.frames, still.frames):
        np.testing.assert_array_equal(a.tracks.track_ids, b.tracks.track_ids)
        np.testing.assert_array_equal(a.tracks.xyxy, b.tracks.xyxy)


def test_motion_never_links_across_a_shot_cut():
    """The same still box before and after a short gap: one identity within a shot, two when a
    hard cut lies between them (the online run's ``Tracks.shot``)."""
    def frames(cut_at):
        out = []
        for i in range(30):
            shot = None if cut_at is None else int(i >= cut_at)
            if 10 <= i < 14:
                tracks = Tracks.empty(i, i / FPS, shot=shot, cut=i == cut_at)
            else:
                tracks = Tracks(np.array([1 if i < 10 else 2]), SCENE_BOX.astype(np.float32)[None],
                                np.ones(1, np.float32), np.zeros(1, np.int64), np.zeros(1, np.int64), np.ones(1, bool),
                                np.full(1, int(TrackState.CONFIRMED), np.int8), i, i / FPS, None, shot, i == cut_at)
            out.append(TrackedFrame(i, i / FPS, tracks))
        return out

    hand = OfflineConfig(scorer="hand")  # links the still box within a shot (the learned one: p = 0.78 < 0.9)
    linked = link_frames(frames(None), hand)
    assert {int(i) for f in linked.frames for i in f.tracks.track_ids} == {1}
    for cfg in (hand, OfflineConfig(scorer="learned", threshold=0.05)):
        cut = link_frames(frames(12), cfg)
        assert {int(i) for f in cut.frames for i in f.tracks.track_ids} == {1, 2}
    assert [f.tracks.shot for f in cut.frames[11:14]] == [0, 1, 1] and cut.frames[12].tracks.cut
