"""Property tests: random detection streams never break the tracker's invariants -- plain box
streams (objects appearing, disappearing, crossing, duplicated boxes, empty frames), and streams
*with appearance* (so the identity memory revives, evicts and forgets IDs), repeated and jumping
timestamps, predicted (lost) rows in the output, both associators, and the written files.

Invariants checked at every frame (all of them by ``Checker`` on the streams with appearance;
the plain streams check uniqueness, positivity, reuse, rows and states): the tracker never
crashes; confirmed IDs are unique and positive; a new ID is larger than every earlier one; an ID
never comes back once it is neither live nor in the identity memory; every row refers to an
existing input detection (its box, with ``report_detection_box``) or is marked predicted
(``observed`` false, state LOST, no detection); live tracks and memory entries stay bounded."""
from __future__ import annotations

import functools
import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker import Detections, Tracker, TrackerConfig, TrackState
from tracker.memory import MemoryConfig

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


DIM = 8
STEPS = [0.0, 0.05, 0.1, 0.1, 0.1, 0.5, 2.5]  # repeated timestamps, normal steps, gaps


@st.composite
def appearance_streams(draw):
    """People entering and leaving, crossing, duplicated, hidden for a while, with noisy
    appearance vectors (some people look alike), timestamps that repeat or jump, empty frames."""
    n_frames = draw(st.integers(1, 30))
    n_people = draw(st.integers(0, 6))
    looks = np.random.default_rng(draw(st.integers(0, 2**16))).normal(size=(max(1, n_people), DIM))
    people = []
    for k in range(n_people):
        x, y = draw(st.floats(0, 500)), draw(st.floats(0, 300))
        w, h = draw(st.floats(5, 80)), draw(st.floats(10, 160))
        vx, vy = draw(st.floats(-25, 25)), draw(st.floats(-25, 25))
        enter = draw(st.integers(0, n_frames - 1))
        leave = draw(st.integers(enter, n_frames))
        look = draw(st.integers(0, max(0, n_people - 1)))  # two people may share a look
        people.append((x, y, w, h, vx, vy, enter, leave, look))
    t = 0.0
    frames = []
    for f in range(n_frames):
        t += draw(st.sampled_from(STEPS)) if f else 0.0
        rows, scores, embs = [], [], []
        for x, y, w, h, vx, vy, enter, leave, look in people:
            if not enter <= f < leave or draw(st.integers(0, 5)) == 0:  # absent, or missed
                continue
            rows.append([x + vx * f, y + vy * f, x + vx * f + w, y + vy * f + h])
            scores.append(draw(st.sampled_from([0.05, 0.3, 0.6, 0.9, 1.0])))
            e = looks[look] + 0.1 * np.random.default_rng(f * 31 + look).normal(size=DIM)
            embs.append(e / np.linalg.norm(e))
        if rows and draw(st.integers(0, 4)) == 0:  # a duplicated detection
            rows.append(list(rows[-1]))
            scores.append(scores[-1])
            embs.append(embs[-1])
        frames.append((t, np.array(rows, float).reshape(-1, 4), np.array(scores, float),
                       np.array(embs, np.float32).reshape(-1, DIM)))
    return frames


configs = st.builds(
    lambda min_hits, horizon, lost_out, weight, max_entries, mem_horizon, det_box, associator: TrackerConfig(
        min_hits=min_hits, lost_horizon_s=horizon, output_lost_s=lost_out, appearance_weight=weight,
        report_detection_box=det_box, frame_rate=10.0, associator=associator,
        memory=MemoryConfig(max_entries=max_entries, horizon_s=mem_horizon, min_similarity=0.5)),
    st.integers(1, 3), st.sampled_from([0.0, 0.3, 1.0]), st.sampled_from([0.0, 0.3, 2.0]),
    st.sampled_from([0.0, 0.65]), st.integers(1, 3), st.sampled_from([0.5, 5.0]), st.booleans(),
    st.sampled_from(["iou", "iou", "transformer", "learned", "learned"]),
)


@functools.lru_cache(maxsize=None)
def _associator(name: str):
    from tracker.association import make_associator

    return make_associator(TrackerConfig(associator=name))  # weights loaded once


class Checker:
    """Follows a tracker frame by frame and asserts the invariants."""

    def __init__(self, tracker: Tracker):
        self.tracker = tracker
        self.issued: set = set()
        self.gone: set = set()  # neither live nor remembered: may never come back

    def step(self, dets: Detections, out) -> None:
        ids = out.track_ids.tolist()
        assert len(ids) == len(set(ids)) and all(i > 0 for i in ids), ids
        assert not set(ids) & self.gone, f"ID(s) {set(ids) & self.gone} reused after removal"
        new = set(ids) - self.issued
        assert not self.issued or not new or min(new) > max(self.issued), "new IDs only count up"
        self.issued |= set(ids)
        n = len(out)
        for arr in (out.xyxy, out.scores, out.class_ids, out.det_index, out.observed, out.states):
            assert len(arr) == n
        assert np.isfinite(out.xyxy).all()
        observed = out.observed
        rows = out.det_index[observed]
        assert ((0 <= rows) & (rows < len(dets))).all() and len(set(rows.tolist())) == len(rows)
        if self.tracker.config.report_detection_box and len(rows):
            np.testing.assert_allclose(out.xyxy[observed], dets.xyxy[rows], atol=1e-3)
        assert (out.det_index[~observed] == -1).all()
        assert all(TrackState(s) == TrackState.LOST for s in out.states[~observed].tolist())
        live = {t.track_id for t in self.tracker._tracks if t.track_id > 0}
        remembered = set(self.tracker.memory.ids())
        self.issued |= live
        self.gone |= self.issued - live - remembered
        assert len(remembered) <= self.tracker.config.memory.max_entries


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=appearance_streams(), config=configs)
def test_streams_with_appearance_memory_and_lost_rows(stream, config):
    tracker = Tracker(config, associator=_associator(config.associator))
    check = Checker(tracker)
    most = 0
    for t, boxes, scores, embs in stream:
        dets = Detections(boxes, scores, embeddings=embs)
        out = tracker.update(dets, timestamp=t, image_size=(800, 600))
        check.step(dets, out)
        most = max(most, len(boxes))
    assert tracker.live_track_count <= most * (config.min_hits + 1) + 2 * len(stream)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=appearance_streams(), config=configs)
def test_the_same_stream_gives_the_same_ids(stream, config):
    """Determinism: two trackers on one stream agree frame by frame (no hidden global state)."""
    a = Tracker(config, associator=_associator(config.associator))
    b = Tracker(config, associator=_associator(config.associator))
    for t, boxes, scores, embs in stream:
        dets = Detections(boxes, scores, embeddings=embs)
        ra, rb = a.update(dets, timestamp=t), b.update(dets, timestamp=t)
        assert ra.track_ids.tolist() == rb.track_ids.tolist()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(stream=appearance_streams())
def test_written_rows_refer_to_detections_or_are_predicted(tmp_path_factory, stream):
    """Through ``FileRun``: each JSON line's tracks are either one of that frame's detections
    (observed, box equal) or predicted (observed false, state lost); the MOT file has one row per
    track of each frame."""
    from tracker.io.mot import read_mot_file
    from tracker.pipeline import FileRun

    frames = [(t, np.zeros((60, 80, 3), np.uint8)) for t, *_ in stream]
    calls = {"i": 0}

    def detector(image):  # boxes outside the 80x60 frame are clipped or dropped by the pipeline
        boxes, scores = stream[calls["i"]][1], stream[calls["i"]][2]
        calls["i"] += 1
        return Detections(boxes, scores)

    out = tmp_path_factory.mktemp("run")
    config = TrackerConfig(min_hits=1, output_lost_s=1.0, report_detection_box=True)
    received = []
    with FileRun(frames, detector, output_dir=out, video=False, config=config, flush_every_s=0.0) as run:
        for result in run:
            received.append(result.detections.xyxy.copy())
    lines = [json.loads(x) for x in (out / "frames.jsonl").read_text().splitlines()]
    assert len(lines) == len(stream) == len(received)
    total = 0
    for line, boxes in zip(lines, received):
        for tr in line["tracks"]:
            if tr["observed"]:
                assert len(boxes) and np.abs(boxes - np.array(tr["box"])).max(axis=1).min() <= 0.01, (tr, boxes)
            else:
                assert tr["state"] == "lost"
        total += len(line["tracks"])
    assert len(read_mot_file(out / "frames.txt", "result")) == total
