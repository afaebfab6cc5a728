"""Direction consistency of track/detection pairs (``tracker.association.direction``) and its
term in the first association, checked against values computed by hand."""
from collections import deque

import numpy as np
import pytest

from tracker import Detections, TrackerConfig
from tracker.association import AssociationContext, Stage, make_associator
from tracker.boxes import xyxy_to_cxcywh
from tracker.motion import MotionConfig, initiate


class FakeTrack:
    """A ``TrackLike`` from observations (t, x1, y1, x2, y2, score); its prediction is the last box."""

    def __init__(self, rows):
        rows = [tuple(map(float, r)) for r in rows]
        self.history = deque(rows, maxlen=16)
        self.mean, self.cov = initiate(xyxy_to_cxcywh(np.array(rows[-1][1:5]))[0], MotionConfig())
        self.last_seen, self.score, self.class_id, self.embedding = rows[-1][0], rows[-1][5], 0, None

    @property
    def xyxy(self):
        cx, cy, w, h = self.mean[:4]
        return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def make_track(rows):
    return FakeTrack(rows)


def test_track_direction_uses_the_observation_lag_back():
    from tracker.association.direction import track_direction

    rows = [(0.0, 0, 0, 10, 10, 1), (0.25, 100, 0, 110, 10, 1), (0.5, 100, 50, 110, 60, 1),
            (0.75, 100, 100, 110, 110, 1)]
    # lag 0.5 s: from the row at 0.25 s (centre 105, 5) to the last (105, 105): straight down
    np.testing.assert_allclose(track_direction(rows, 0.5), [0.0, 1.0])
    # no row that old: the oldest one (5, 5) -> (105, 105), 45 degrees
    np.testing.assert_allclose(track_direction(rows, 5.0), [np.sqrt(0.5), np.sqrt(0.5)])
    assert track_direction(rows[:1], 0.1) is None
    assert track_direction([rows[0], (0.1, 0, 0, 10, 10, 1)], 0.1) is None  # no displacement


def test_direction_consistency_by_hand():
    from tracker.association.direction import direction_consistency

    moving_right = make_track([(0.0, 0, 0, 10, 20, 0.9), (0.1, 10, 0, 20, 20, 0.9)])  # last centre (15, 10)
    still = make_track([(0.0, 0, 0, 10, 20, 0.9)])
    dets = np.array([[25, 0, 35, 20],    # centre (30, 10): straight ahead -> 0.5
                     [25, 15, 35, 35],   # centre (30, 25): 45 degrees -> (pi/2 - pi/4) / pi = 0.25
                     [10, 20, 20, 40],   # centre (15, 30): right angle -> 0
                     [-10, 0, 0, 20],    # centre (-5, 10): straight behind -> -0.5
                     [10, 0, 20, 20]],   # on the last observation -> 0
                    float)
    got = direction_consistency([moving_right, still], dets, 0.1)
    np.testing.assert_allclose(got[0], [0.5, 0.25, 0.0, -0.5, 0.0], atol=1e-12)
    np.testing.assert_array_equal(got[1], np.zeros(5))


def test_direction_term_in_the_first_association_by_hand():
    """Two detections overlap the (motionless) prediction of a track moving right equally:
    IoU 1/3 each (40 x 100 boxes shifted by 20 px). Fused cost 1 - 0.9 / 3 = 0.7 for both; with
    direction_weight 0.2 the one ahead costs 0.7 - 0.2 * 0.9 * 0.5 = 0.61, the one behind
    0.7 + 0.09 = 0.79, capped at the ceiling 0.8 - a pair the IoU gate refuses stays refused."""
    track = make_track([(0.0, 80, 50, 120, 150, 0.9), (0.1, 100, 50, 140, 150, 0.9)])  # prediction = last box
    dets = Detections(np.array([[120, 50, 160, 150], [80, 50, 120, 150], [400, 50, 440, 150]], float),
                      np.array([0.9, 0.9, 0.9]))
    ctx, rows = AssociationContext(0.1), np.arange(3)
    plain = make_associator(TrackerConfig(associator="iou")).cost([track], dets, rows, Stage.FIRST, ctx)
    np.testing.assert_allclose(plain.costs, [[0.7, 0.7, 1.0]])
    cfg = TrackerConfig(associator="iou", direction_weight=0.2)
    directed = make_associator(cfg).cost([track], dets, rows, Stage.FIRST, ctx)
    np.testing.assert_allclose(directed.costs, [[0.61, 0.79, 1.0]])
    assert directed.max_cost == pytest.approx(0.8)
    behind_only = make_associator(TrackerConfig(associator="iou", direction_weight=1.0)).cost(
        [track], dets, rows, Stage.FIRST, ctx)
    np.testing.assert_allclose(behind_only.costs, [[0.25, 0.8, 1.0]])  # 0.7 + 0.45 capped at 0.8
    second = make_associator(cfg).cost([track], dets, rows, Stage.SECOND, ctx)  # first association only
    np.testing.assert_allclose(second.costs, [[2 / 3, 2 / 3, 1.0]])
    with pytest.raises(ValueError, match="direction_weight"):
        TrackerConfig(direction_weight=1.5)
