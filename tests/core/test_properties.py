"""Property tests: random detection streams never break the tracker's invariants."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker import Detections, Tracker, TrackerConfig, TrackState

box_strategy = st.tuples(
    st.floats(0, 600), st.floats(0, 400), st.floats(1, 120), st.floats(1, 200)
).map(lambda b: [b[0], b[1], b[0] + b[2], b[1] + b[3]])


@st.composite
def detection_streams(draw):
    """Objects appearing, disappearing, crossing, duplicated boxes and empty frames."""
    n_frames = draw(st.integers(1, 40))
    n_objects = draw(st.integers(0, 8))
    starts = [draw(box_strategy) for _ in range(n_objects)]
    velocities = [draw(st.tuples(st.floats(-30, 30), st.floats(-30, 30))) for _ in range(n_objects)]
    frames = []
    for f in range(n_frames):
        boxes, scores = [], []
        for (x1, y1, x2, y2), (vx, vy) in zip(starts, velocities):
            if draw(st.booleans()) or draw(st.booleans()):  # visible ~75 % of frames
                boxes.append([x1 + vx * f, y1 + vy * f, x2 + vx * f, y2 + vy * f])
                scores.append(draw(st.floats(0.0, 1.0)))
        if boxes and draw(st.integers(0, 4)) == 0:  # a duplicated box
            boxes.append(list(boxes[0]))
            scores.append(scores[0])
        frames.append((np.array(boxes, float).reshape(-1, 4), np.array(scores, float)))
    return frames


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=detection_streams(), min_hits=st.integers(1, 3), horizon=st.floats(0.0, 1.0))
def test_random_streams_keep_invariants(stream, min_hits, horizon):
    tracker = Tracker(TrackerConfig(min_hits=min_hits, lost_horizon_s=horizon, frame_rate=10.0))
    retired = set()
    alive_before = set()
    for boxes, scores in stream:
        dets = Detections(boxes, scores)
        out = tracker.update(dets)
        ids = out.track_ids.tolist()
        assert len(ids) == len(set(ids)), "confirmed IDs must be unique within a frame"
        assert all(i > 0 for i in ids)
        assert not (set(ids) & retired), "an ID is never reused after removal"
        for det_index, observed in zip(out.det_index.tolist(), out.observed.tolist()):
            # every row refers to an existing input detection or is marked predicted
            assert (0 <= det_index < len(dets)) if observed else det_index == -1
        assert set(out.det_index[out.observed].tolist()).__len__() == int(out.observed.sum())
        assert all(s in (TrackState.CONFIRMED, TrackState.LOST) for s in out.states.tolist())
        alive_now = {t.track_id for t in tracker._tracks if t.track_id > 0}
        retired |= (alive_before - alive_now) - set(tracker.memory.ids())
        alive_before = alive_now
        assert tracker.live_track_count <= 10 * (len(stream) + 1) * 10  # bounded by births
