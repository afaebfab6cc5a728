"""Tracker lifecycle step by step on hand-made detections."""
import numpy as np
import pytest

from tracker import Detections, Tracker, TrackerConfig, TrackState
from tracker.association.base import AssociationContext, Stage

BOX = np.array([[100.0, 100.0, 140.0, 200.0]])


def det(box=BOX, score=0.9):
    return Detections(np.asarray(box, float), scores=[score] * len(box))


def cfg(**kw):
    base = dict(frame_rate=10.0, min_hits=3, lost_horizon_s=0.5, new_track_score=0.6)
    base.update(kw)
    return TrackerConfig(**base)


def test_confirmed_after_min_hits_then_lost_then_removed():
    tr = Tracker(cfg())
    assert len(tr.update(det())) == 0  # hit 1: tentative, no ID yet
    assert len(tr.update(det())) == 0  # hit 2
    out = tr.update(det())  # hit 3: confirmed, ID 1 issued
    assert out.track_ids.tolist() == [1]
    assert out.states.tolist() == [TrackState.CONFIRMED]
    assert out.det_index.tolist() == [0] and out.observed.tolist() == [True]
    # a miss makes it LOST (not reported), still alive
    assert len(tr.update(Detections.empty())) == 0
    assert tr.live_track_count == 1
    # seen again within the horizon: same ID
    assert tr.update(det()).track_ids.tolist() == [1]
    # unseen for longer than 0.5 s (= 5 frames at 10 fps) -> removed, state dropped
    for _ in range(6):
        tr.update(Detections.empty())
    assert tr.live_track_count == 0
    # the same box now starts a new track that gets a new ID (never reused)
    for _ in range(2):
        assert len(tr.update(det())) == 0
    assert tr.update(det()).track_ids.tolist() == [2]


def test_tentative_track_removed_after_one_miss():
    tr = Tracker(cfg())
    tr.update(det())
    tr.update(Detections.empty())
    assert tr.live_track_count == 0


def test_low_score_detection_only_extends_confirmed_tracks():
    tr = Tracker(cfg(min_hits=2, high_score=0.5, low_score=0.1))
    tr.update(det())
    assert tr.update(det()).track_ids.tolist() == [1]
    out = tr.update(det(score=0.3))  # low score: keeps the confirmed track alive
    assert out.track_ids.tolist() == [1] and out.scores[0] == pytest.approx(0.3)
    tr2 = Tracker(cfg(min_hits=1))
    assert len(tr2.update(det(score=0.3))) == 0  # low score never starts a track


def test_ids_are_per_instance_and_horizon_in_seconds():
    a, b = Tracker(cfg(min_hits=1)), Tracker(cfg(min_hits=1))
    assert a.update(det()).track_ids.tolist() == [1]
    assert b.update(det()).track_ids.tolist() == [1]
    # horizon is in seconds: with timestamps 0.2 s apart, 3 missed frames = 0.6 s > 0.5 s
    t = Tracker(cfg(min_hits=1, lost_horizon_s=0.5))
    t.update(det(), timestamp=0.0)
    t.update(Detections.empty(), timestamp=0.2)
    t.update(Detections.empty(), timestamp=0.4)
    assert t.live_track_count == 1
    t.update(Detections.empty(), timestamp=0.6)
    assert t.live_track_count == 0


def test_prediction_uses_real_time_step_over_skipped_frames():
    tr = Tracker(cfg(min_hits=1, lost_horizon_s=5.0))
    for k in range(10):  # moves 10 px per 0.1 s = 100 px/s
        tr.update(det(BOX + [10.0 * k, 0, 10.0 * k, 0]), timestamp=0.1 * k)
    # 1 s later without observations, the object is at +100 px; IoU with the old box would be 0
    out = tr.update(det(BOX + [190.0, 0, 190.0, 0]), timestamp=1.9)
    assert out.track_ids.tolist() == [1]


def test_crossing_tracks_keep_ids():
    tr = Tracker(cfg(min_hits=1))
    ids = None
    for k in range(20):
        a = [100 + 8 * k, 100, 140 + 8 * k, 200]
        b = [300 - 8 * k, 100, 340 - 8 * k, 200]
        out = tr.update(det([a, b]))
        mapping = dict(zip(out.det_index.tolist(), out.track_ids.tolist()))
        if ids is None:
            ids = mapping
        if len(mapping) == 2:
            assert mapping == ids


def test_timestamps_backwards_and_bad_frames_raise():
    tr = Tracker(cfg())
    tr.update(det(), timestamp=1.0)
    tr.update(det(), timestamp=1.0)  # repeated: allowed, dt = 0
    with pytest.raises(ValueError, match="backwards"):
        tr.update(det(), timestamp=0.5)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        tr.update(det(), frame=np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        tr.update(det(), frame=np.zeros((10, 10, 3), np.float32))
    with pytest.raises(ValueError, match="Detections"):
        tr.update(np.zeros((1, 4)))


def test_config_validation_lists_valid_keys():
    with pytest.raises(ValueError, match="valid keys"):
        TrackerConfig.from_dict({"hig_score": 0.5})
    with pytest.raises(ValueError, match=r"high_score must be in \[0.0, 1.0\]"):
        TrackerConfig(high_score=1.5)
    with pytest.raises(ValueError, match="min_hits"):
        TrackerConfig(min_hits=0)
    with pytest.raises(ValueError, match="low_score"):
        TrackerConfig(low_score=0.6, high_score=0.5)
    nested = TrackerConfig.from_dict({"motion": {"velocity_noise": 0.3}})
    assert nested.motion.velocity_noise == 0.3
    with pytest.raises(ValueError, match="valid keys"):
        TrackerConfig.from_dict({"motion": {"speed": 1}})


def stream(n_frames, offset, scale):
    """Two people walking across each other (boxes in pixels x scale)."""
    for f in range(n_frames):
        a = np.array([offset + 8 * f, 100, offset + 8 * f + 40, 190]) * scale
        b = np.array([offset + 300 - 8 * f, 110, offset + 340 - 8 * f, 200]) * scale
        yield Detections(np.stack([a, b]), np.array([0.9, 0.85]))


def run_stream(tracker, frames, fps, **kw):
    return [tracker.update(dets, timestamp=i / fps, **kw) for i, dets in enumerate(frames)]


def test_reset_forgets_everything_a_new_stream_must_not_inherit():
    """After ``reset()`` a tracker behaves on a new stream exactly like a new tracker (only its
    IDs go on counting): the previous stream's image size and the Transformer's box extent are
    forgotten too, so the associator scores the new stream's pairs as a new tracker does."""
    used = Tracker(TrackerConfig())
    first = run_stream(used, list(stream(30, 0, 4.0)), 30, image_size=(3840, 2160))  # a 4K stream
    issued = max(int(t.track_ids.max()) for t in first if len(t))
    used.reset()
    assert used.frame_index == -1 and used.live_track_count == 0
    fresh = Tracker(TrackerConfig())
    b = list(stream(12, 20, 1.0))  # a small stream that states no image size
    got, want = run_stream(used, b[:-1], 30), run_stream(fresh, b[:-1], 30)
    for g, w in zip(got, want):
        assert (g.track_ids - issued).tolist() == w.track_ids.tolist()
        np.testing.assert_array_equal(g.xyxy, w.xyxy)
    rows, ctx = np.arange(2), AssociationContext(11 / 30)
    cost_used = used.associator.cost(used._tracks, b[-1], rows, Stage.FIRST, ctx)
    cost_fresh = fresh.associator.cost(fresh._tracks, b[-1], rows, Stage.FIRST, ctx)
    np.testing.assert_allclose(cost_used.costs, cost_fresh.costs, rtol=0, atol=1e-12)


def test_velocity_refit_after_a_gap_by_hand():
    """A box moving 10 px/frame at 10 fps (100 px/s), unseen for 4 frames while it turns back:
    when found again with the refit on, the centre velocity is the straight path from the last
    observation, (x_new - x_last) / elapsed; with it off, the Kalman velocity is kept."""
    def run(refit):
        tr = Tracker(TrackerConfig(associator="iou", frame_rate=10.0, min_hits=1, first_match_iou=0.01,
                                   refit_velocity_after_gap=refit, lost_horizon_s=5.0))
        for i in range(6):  # x1 = 100, 110, ..., 150
            box = np.array([[100 + 10 * i, 50, 140 + 10 * i, 130]], float)
            tr.update(Detections(box, np.ones(1)), timestamp=i / 10)
        for i in range(6, 10):
            tr.update(Detections.empty(), timestamp=i / 10)
        tr.update(Detections(np.array([[160, 50, 200, 130]], float), np.ones(1)), timestamp=1.0)
        return tr._tracks[0]

    refit = run(True)
    assert refit.state == TrackState.CONFIRMED
    # last seen at t = 0.5 with centre x 170; found at t = 1.0 with centre x 180: 20 px/s
    np.testing.assert_allclose(refit.mean[4:], [20.0, 0.0, 0.0, 0.0], atol=1e-9)
    kept = run(False)
    assert kept.mean[4] > 40.0  # still close to the 100 px/s it had before the gap


def test_reupdate_after_a_gap_by_hand():
    """A box moving 10 px/frame at 10 fps (100 px/s), observed exactly (negligible position and
    measurement noise), unseen for 4 frames and found again at t = 1.0 with centre x 200: with
    the re-update on, the filter ends there with the velocity of the straight path from the last
    observation (centre 170 at t = 0.5), 60 px/s; with it off, one correction leaves it elsewhere."""
    from tracker.motion import MotionConfig

    def run(reupdate):
        exact = MotionConfig(position_noise=1e-6, velocity_noise=1.0, measurement_noise=1e-6)
        tr = Tracker(TrackerConfig(associator="iou", frame_rate=10.0, min_hits=1, motion=exact,
                                   reupdate_after_gap=reupdate, lost_horizon_s=5.0))
        for i in range(6):  # x1 = 100, 110, ..., 150
            tr.update(Detections(np.array([[100 + 10 * i, 50, 140 + 10 * i, 130]], float), np.ones(1)),
                      timestamp=i / 10)
        for i in range(6, 10):
            tr.update(Detections.empty(), timestamp=i / 10)
        assert tr._tracks[0].state == TrackState.LOST and tr._tracks[0].unseen_steps == 4
        out = tr.update(Detections(np.array([[180, 50, 220, 130]], float), np.ones(1)), timestamp=1.0)
        assert out.track_ids.tolist() == [1]
        return tr._tracks[0]

    re = run(True)
    np.testing.assert_allclose(re.mean[:4], [200.0, 90.0, 40.0, 80.0], atol=1e-4)
    np.testing.assert_allclose(re.mean[4:], [60.0, 0.0, 0.0, 0.0], atol=1e-3)
    assert re.unseen_steps == 0 and re.obs_mean is re.mean
    plain = run(False)
    assert abs(plain.mean[4] - 60.0) > 10.0


def test_recovery_by_the_last_observed_box():
    """A box moving 100 px/s stops where it was last seen and is missed for 8 frames: its
    prediction has drifted past it (no overlap), so without recovery it comes back as a new ID;
    with ``recovery_match_iou`` it is found again by its last observed box (IoU 1 >= 0.3)."""
    def run(recovery, max_gap=None):
        tr = Tracker(TrackerConfig(associator="iou", frame_rate=10.0, min_hits=1, lost_horizon_s=5.0,
                                   recovery_match_iou=recovery, recovery_max_gap_s=max_gap))
        for i in range(6):  # x1 = 100, 110, ..., 150
            tr.update(Detections(np.array([[100 + 10 * i, 50, 140 + 10 * i, 130]], float), np.ones(1)),
                      timestamp=i / 10)
        for i in range(6, 14):
            tr.update(Detections.empty(), timestamp=i / 10)
        assert tr._tracks[0].xyxy[0] > 190.0  # the prediction no longer overlaps [150, 190]
        return tr.update(Detections(np.array([[150, 50, 190, 130]], float), np.ones(1)), timestamp=1.4)

    assert run(0.3).track_ids.tolist() == [1]
    assert run(None).track_ids.tolist() == [2]
    # unseen 0.9 s: beyond a 0.5 s recovery horizon, within a 1.0 s one
    assert run(0.3, 0.5).track_ids.tolist() == [2]
    assert run(0.3, 1.0).track_ids.tolist() == [1]
    with pytest.raises(ValueError, match="recovery_match_iou"):
        TrackerConfig(recovery_match_iou=0.0)


def test_lost_tracks_follow_the_scene_velocity_by_hand():
    """Four boxes drift 1 px/frame at 10 fps (10 px/s, a slow pan); box 4 is missed from frame 6
    on, and from frame 8 (0-based) the pan speeds up to 3 px/frame for the three others. Observed exactly
    (negligible position and measurement noise) a track's velocity is its last step: the scene
    velocity (median of the three) goes 10 -> 30 px/s, so with ``lost_follow_scene`` the lost
    track's velocity becomes 10 + 20 = 30 px/s; without it, it keeps 10."""
    from tracker.motion import MotionConfig

    def run(follow):
        exact = MotionConfig(position_noise=1e-6, velocity_noise=1.0, measurement_noise=1e-6)
        tr = Tracker(TrackerConfig(associator="iou", frame_rate=10.0, min_hits=1, motion=exact,
                                   lost_follow_scene=follow, lost_horizon_s=5.0))
        x = 0.0
        for i in range(10):
            x += 1.0 if i <= 7 else 3.0
            n = 4 if i < 6 else 3
            boxes = np.array([[x + 100 * k, 50, x + 100 * k + 40, 130] for k in range(n)], float)
            tr.update(Detections(boxes, np.ones(n)), timestamp=i / 10)
        lost = [t for t in tr._tracks if t.state == TrackState.LOST]
        assert len(lost) == 1 and lost[0].track_id == 4
        seen = [t.mean[4] for t in tr._tracks if t.observed]
        np.testing.assert_allclose(seen, [30.0] * 3, atol=1e-3)
        return lost[0].mean[4]

    assert run(True) == pytest.approx(30.0, abs=1e-3)
    assert run(False) == pytest.approx(10.0, abs=1e-3)


def test_births_start_with_the_scene_velocity():
    """Three boxes observed exactly, moving 20 px/s; a fourth appears in frame 5: with
    ``birth_scene_velocity`` it starts with the scene velocity (20, 0) px/s, else with 0."""
    from tracker.motion import MotionConfig

    def run(birth):
        exact = MotionConfig(position_noise=1e-6, velocity_noise=1.0, measurement_noise=1e-6)
        tr = Tracker(TrackerConfig(associator="iou", frame_rate=10.0, min_hits=1, motion=exact,
                                   birth_scene_velocity=birth))
        for i in range(6):
            n = 3 if i < 5 else 4
            boxes = np.array([[2.0 * i + 100 * k, 50, 2.0 * i + 100 * k + 40, 130] for k in range(n)], float)
            tr.update(Detections(boxes, np.ones(n)), timestamp=i / 10)
        return tr._tracks[-1].mean[4:6]

    np.testing.assert_allclose(run(True), [20.0, 0.0], atol=1e-3)
    np.testing.assert_array_equal(run(False), [0.0, 0.0])
