"""The two levers against one-frame takeovers (``recent_first``, ``rematch_hits``), by hand.

docs/takeover_sources.md: most of our one-frame ID switches are a lost (coasting) track taking a
person over in the first association from the track that had them the frame before."""
import numpy as np
import pytest

from tracker import Detections, Tracker, TrackerConfig
from tracker.boxes import iou_matrix

# two people side by side, 40 x 100 px, 10 px apart: IoU = 30*100 / (2*4000 - 3000) = 0.6
B_BOX = [100.0, 100.0, 140.0, 200.0]
A_BOX = [110.0, 100.0, 150.0, 200.0]
# a detection close to B's old box: overlap 38 px with B (IoU 3800/4200), 32 px with A (3200/4800)
D_BOX = [102.0, 100.0, 142.0, 200.0]
SCORE = 0.9


def det(*boxes):
    return Detections(np.array(boxes, float), scores=[SCORE] * len(boxes))


def cfg(**kw):
    base = dict(frame_rate=10.0, min_hits=1, associator="iou", lost_horizon_s=2.0, new_track_score=0.6)
    base.update(kw)
    return TrackerConfig(**base)


def run_takeover(config):
    """Frame 0: B (ID 1) and A (ID 2) born. Frame 1: only A seen, B lost. Frame 2: one
    detection, nearer B's old box: returns that frame's reported IDs."""
    tr = Tracker(config)
    assert tr.update(det(B_BOX, A_BOX)).track_ids.tolist() == [1, 2]
    assert tr.update(det(A_BOX)).track_ids.tolist() == [2]
    return tr, tr.update(det(D_BOX)).track_ids.tolist()


def test_the_hand_computed_overlaps():
    iou = iou_matrix(np.array([B_BOX, A_BOX]), np.array([D_BOX]))[:, 0]
    assert iou == pytest.approx([3800 / 4200, 3200 / 4800])
    assert iou_matrix(np.array([B_BOX]), np.array([A_BOX]))[0, 0] == pytest.approx(0.6)


def test_one_joint_first_association_lets_the_lost_track_take_over():
    # joint costs (1 - IoU * score): lost B 1 - 0.9048 * 0.9 = 0.186 < continuing A 1 - 0.6667 * 0.9 = 0.4
    _, ids = run_takeover(cfg())
    assert ids == [1]


def test_recent_first_gives_the_detection_to_the_track_seen_last_frame():
    # A (observed in frame 1) is matched first: 0.4 <= the ceiling 1 - 0.2; B gets nothing left
    tr, ids = run_takeover(cfg(recent_first=True))
    assert ids == [2]
    # B is still alive (lost): with every track lost, the lost level alone takes the detection
    tr.update(Detections.empty())
    out = tr.update(det(B_BOX))
    assert len(out) == 1 and tr.live_track_count == 2


def test_recent_first_does_not_block_a_lost_track_from_a_free_detection():
    # the lost track B and a far detection of its own: the cascade's second level matches it
    tr = Tracker(cfg(recent_first=True))
    tr.update(det(B_BOX, A_BOX))
    tr.update(det(A_BOX))
    assert sorted(tr.update(det(A_BOX, B_BOX)).track_ids.tolist()) == [1, 2]


def test_rematch_hits_hides_a_found_track_until_its_streak():
    tr = Tracker(cfg(rematch_hits=2))
    assert tr.update(det(B_BOX)).track_ids.tolist() == [1]  # never missed: shown at once
    assert len(tr.update(Detections.empty())) == 0  # lost
    out = tr.update(det(B_BOX))  # found again: streak 1 < 2, matched but not shown
    assert len(out) == 0 and tr.live_track_count == 1
    assert tr.update(det(B_BOX)).track_ids.tolist() == [1]  # streak 2
    assert len(tr.update(Detections.empty())) == 0
    assert len(tr.update(det(B_BOX))) == 0  # the streak starts over after every gap
    # the default reports a found track at once
    tr1 = Tracker(cfg())
    tr1.update(det(B_BOX))
    tr1.update(Detections.empty())
    assert tr1.update(det(B_BOX)).track_ids.tolist() == [1]


def test_rematch_hits_leaves_new_tracks_alone():
    # a new track's hits are all consecutive: shown from its confirmation (min_hits 2), not later
    tr = Tracker(cfg(min_hits=2, rematch_hits=3))
    assert len(tr.update(det(B_BOX))) == 0
    assert tr.update(det(B_BOX)).track_ids.tolist() == [1]


def test_lever_validation():
    with pytest.raises(ValueError, match="rematch_hits"):
        TrackerConfig(rematch_hits=0)
    with pytest.raises(ValueError, match="recent_first"):
        TrackerConfig(recent_first=1)
