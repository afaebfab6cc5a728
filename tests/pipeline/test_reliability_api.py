"""Reliability of the Python API: what ``Tracker.update``, ``Detections`` and ``track()`` do with
bad or unusual input (each a ``ValueError`` naming the problem, or a documented rule), a crowd of
10,000 detections, and writers interrupted mid-write. Cases already covered elsewhere are
listed in docs/reliability.md (test_boxes_detections, test_lifecycle, test_detectors, test_scale)."""
from __future__ import annotations

import errno
import os
import resource
import time

import numpy as np
import pytest

from tracker import Detections, Tracker, TrackerConfig
from tracker.io import writers
from tracker.io.writers import MotWriter, OutputError, partial_text_path
from tracker.pipeline import VIDEO_APPEARANCE_WEIGHT, track, video_config
from tracker.tracks import Tracks


@pytest.fixture(scope="module")
def embedder():
    """The shipped appearance embedder (skips when its weights are not installed)."""
    try:
        from tracker.embedding import Embedder

        return Embedder.default(threads=1)
    except Exception as exc:  # noqa: BLE001 - missing weights / import problem
        pytest.skip(f"appearance embedder not available: {exc}")


def boxes(*rows):
    return np.array(rows, np.float64).reshape(-1, 4)


# ------------------------------------------------------------------------------------ bad values
@pytest.mark.parametrize("value,words", [
    (float("nan"), "not finite"), (float("inf"), "not finite"), (-float("inf"), "not finite"),
])
def test_nan_and_inf_boxes_are_value_errors(value, words):
    with pytest.raises(ValueError, match=f"row 1.*{words}"):
        Detections(boxes([0, 0, 10, 10], [value, 0, 10, 10]))


@pytest.mark.parametrize("row", [[10, 0, 5, 10], [0, 10, 10, 5], [5, 5, 5, 9]])
def test_inverted_or_empty_boxes_are_value_errors(row):
    with pytest.raises(ValueError, match=r"row 0.*x2 > x1 and y2 > y1"):
        Detections(boxes(row))


@pytest.mark.parametrize("timestamp,words", [(float("nan"), "finite"), (float("inf"), "finite"), (0.5, "backwards")])
def test_bad_timestamps_leave_the_tracker_usable(timestamp, words):
    tracker = Tracker(TrackerConfig(min_hits=1))
    tracker.update(Detections(boxes([0, 0, 10, 20])), timestamp=1.0)
    with pytest.raises(ValueError, match=words):
        tracker.update(Detections(boxes([1, 0, 11, 20])), timestamp=timestamp)
    assert tracker.frame_index == 0  # the rejected frame did not count
    out = tracker.update(Detections(boxes([1, 0, 11, 20])), timestamp=1.0)  # repeated: dt = 0, allowed
    assert out.track_ids.tolist() == [1] and tracker.frame_index == 1


@pytest.mark.parametrize("frame,words", [
    (np.zeros((20, 30), np.uint8), r"\(H, W, 3\)"),
    (np.zeros((20, 30, 4), np.uint8), r"\(H, W, 3\)"),
    (np.zeros((20, 30, 1), np.uint8), r"\(H, W, 3\)"),
    (np.zeros((20, 30, 3), np.float32), "uint8"),
    (np.zeros((20, 30, 3), np.uint16), "uint8"),
    (np.zeros((0, 30, 3), np.uint8), "empty"),
    ([[1, 2, 3]], "numpy array"),
])
def test_frames_of_the_wrong_dtype_or_channels(frame, words):
    tracker = Tracker()
    with pytest.raises(ValueError, match=words):
        tracker.update(Detections.empty(), frame=frame)


@pytest.mark.parametrize("size", [(0, 10), (10, -1), (float("nan"), 10)])
def test_bad_image_size(size):
    with pytest.raises(ValueError, match="image_size"):
        Tracker().update(Detections.empty(), image_size=size)


def test_bad_frames_through_track_are_value_errors(synth):
    frames = [synth.synthetic_frame(0), np.zeros((120, 160), np.uint8)]
    results = track(frames, detector=synth.square_detector)
    next(results)
    with pytest.raises(ValueError, match="shape"):
        next(results)


# ------------------------------------------------------------------------------------ rules
def test_empty_detections_in_every_form(synth):
    tracker = Tracker(TrackerConfig(min_hits=1, output_lost_s=1.0))
    tracker.update(Detections(boxes([0, 0, 10, 20])), timestamp=0.0)
    for i, empty in enumerate([Detections.empty(), Detections(np.zeros((0, 4))), Detections(np.zeros(0)),
                               Detections([]), Detections.empty(8)]):
        out = tracker.update(empty, frame=synth.synthetic_frame(0), timestamp=0.1 * (i + 1))
        assert isinstance(out, Tracks) and (len(out) == 0 or not out.observed.any())


def test_boxes_outside_the_frame_with_the_embedder(embedder, synth):
    """Rule: ``Tracker.update`` takes any finite box (it does not know the image edges); the
    embedder clips crops to the frame and still answers for a box entirely outside it (a
    one-pixel patch at the edge). The video pipeline clips a callable detector's boxes and
    drops those left empty (``Detections.clip_to``)."""
    tracker = Tracker(video_config(min_hits=1, appearance_weight=VIDEO_APPEARANCE_WEIGHT), embedder=embedder.embed)
    outside = boxes([-50, -80, -10, -5], [400, 300, 480, 460], [150, 100, 200, 200], [20, 20, 60, 100])
    for t in range(4):
        out = tracker.update(Detections(outside + t, np.full(4, 0.9)), frame=synth.synthetic_frame(t), timestamp=t / 10)
        assert len(out) == 4 and len(set(out.track_ids.tolist())) == 4
    emb = embedder.embed(synth.synthetic_frame(0), outside)
    assert emb.shape == (4, embedder.dim) and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-4)
    clipped = Detections(outside).clip_to(160, 120)
    assert clipped.index.tolist() == [2, 3]  # the two boxes entirely outside are dropped


def test_frame_size_changing_mid_stream_with_the_embedder(embedder):
    """Rule: accepted; crops and box normalization use each frame's own size."""
    tracker = Tracker(video_config(min_hits=1, appearance_weight=VIDEO_APPEARANCE_WEIGHT), embedder=embedder.embed)
    sizes = [(160, 120), (160, 120), (640, 480), (320, 240), (160, 120), (1280, 720)]
    ids = set()
    for t, (w, h) in enumerate(sizes):
        frame = np.full((h, w, 3), 40, np.uint8)
        frame[20:80, 30:60] = (0, 0, 255)
        out = tracker.update(Detections(boxes([30 + t, 20, 60 + t, 80]), [0.9]), frame=frame, timestamp=t / 10)
        assert tracker._image_size == (w, h)
        ids |= set(out.track_ids.tolist())
    assert ids == {1}  # one object, one identity through every size change
    from tracker.association import make_associator

    transformer = make_associator(video_config(associator="transformer"))  # normalizes by image size
    tracker = Tracker(video_config(min_hits=1, associator="transformer"), embedder=embedder.embed,
                      associator=transformer)
    for t, (w, h) in enumerate(sizes):
        tracker.update(Detections(boxes([30 + t, 20, 60 + t, 80]), [0.9]), frame=np.zeros((h, w, 3), np.uint8),
                       timestamp=t / 10)


def test_duplicate_boxes_get_one_track_each_or_are_left_unmatched():
    """Rule: duplicated boxes in one frame are separate detections; each can match one track at
    most (assignment is one-to-one), so IDs stay unique and every row has its own det_index."""
    tracker = Tracker(TrackerConfig(min_hits=1))
    for t in range(5):
        dup = boxes([10 + t, 10, 40 + t, 80], [10 + t, 10, 40 + t, 80], [10 + t, 10, 40 + t, 80])
        out = tracker.update(Detections(dup, [0.9, 0.9, 0.9]), timestamp=t / 10)
        assert len(set(out.track_ids.tolist())) == len(out)
        assert len(set(out.det_index.tolist())) == len(out)


# ------------------------------------------------------------------------------------ 10,000
def _crowd(n=10_000, seed=3):
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)[:n].astype(float)
    xy = grid * [40.0, 80.0] + rng.uniform(0, 10, (n, 2))
    return np.concatenate([xy, xy + [20, 50]], 1)


@pytest.mark.parametrize("associator", ["iou", "transformer", "learned"])
def test_ten_thousand_detections_within_ten_seconds_per_frame(associator):
    """The issue's bound: 10,000 detections in one frame finish within 10 s and 2 GB and stay
    correct (every detection keeps its identity), for every associator, with the video
    settings (lost tracks reported) and an empty frame in between."""
    crowd = _crowd()
    n = len(crowd)
    tracker = Tracker(video_config(associator=associator, min_hits=2, output_lost_s=1.0))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    worst = 0.0
    outs = []
    for t, dets in enumerate([crowd, crowd + 2, None, crowd + 6]):
        d = Detections.empty() if dets is None else Detections(dets, np.full(n, 0.9))
        t0 = time.perf_counter()
        outs.append(tracker.update(d, timestamp=t / 10, image_size=(4100, 8100)))
        worst = max(worst, time.perf_counter() - t0)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    print(f"\n{associator}: worst frame {worst:.2f} s, peak RSS +{grown_mb:.0f} MB")
    assert worst < 10.0 and grown_mb < 2048
    second, gap, last = outs[1], outs[2], outs[3]
    assert len(second) == n and len(set(second.track_ids.tolist())) == n
    assert len(gap) == n and not gap.observed.any()  # all lost for one frame, reported as predicted
    assert dict(zip(second.det_index.tolist(), second.track_ids.tolist())) == \
        dict(zip(last.det_index.tolist(), last.track_ids.tolist()))


def test_ten_thousand_detections_with_embeddings_within_ten_seconds():
    crowd = _crowd()
    n = len(crowd)
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(n, 32)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    tracker = Tracker(video_config(min_hits=2, appearance_weight=VIDEO_APPEARANCE_WEIGHT))
    worst = 0.0
    for t in range(2):
        t0 = time.perf_counter()
        out = tracker.update(Detections(crowd + t, np.full(n, 0.9), embeddings=emb), timestamp=t / 10,
                             image_size=(4100, 8100))
        worst = max(worst, time.perf_counter() - t0)
        if worst > 10.0:
            break
    assert worst < 10.0 and len(out) == n


# ------------------------------------------------------------------------------------ writers
def _tracks(i, n=3):
    ids = np.arange(1, n + 1)
    xyxy = np.array([[10 * k, 10, 10 * k + 8, 30] for k in ids], np.float32)
    return Tracks(ids, xyxy, np.full(n, 0.9, np.float32), np.zeros(n, np.int64), np.arange(n), np.ones(n, bool),
                  np.full(n, 1, np.int8), i, i / 10)


def test_interrupted_write_is_cut_back_to_whole_lines_and_retried(tmp_path, monkeypatch, whole_lines):
    """A ``KeyboardInterrupt`` (or any exception) in the middle of a flush: the part of a line
    already written is cut off, the lines stay buffered, and the next flush writes them whole."""
    w = MotWriter(tmp_path / "r.txt", flush_every_s=3600)
    w.write(1, _tracks(1))
    w.flush()
    w.write(2, _tracks(2))
    real = os.write
    calls = {"n": 0}

    def interrupted(fd, data):
        calls["n"] += 1
        if calls["n"] == 1:
            real(fd, bytes(data)[:17])  # part of a line reaches the file...
            raise KeyboardInterrupt  # ...then Ctrl-C
        return real(fd, data)

    monkeypatch.setattr(writers.os, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        w.flush()
    assert len(whole_lines(partial_text_path(w.final))) == 3
    w.finish()
    lines = whole_lines(w.final)
    assert len(lines) == 6 and len(set(lines)) == 6


def test_disk_full_during_a_flush_is_an_output_error_with_whole_lines(tmp_path, monkeypatch, whole_lines):
    w = MotWriter(tmp_path / "r.txt", flush_every_s=0.0)
    w.write(1, _tracks(1))
    real = os.write

    def short_then_full(fd, data):
        real(fd, bytes(data)[:5])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(writers.os, "write", short_then_full)
    with pytest.raises(OutputError, match=r"r\.txt\.partial: cannot write \(No space left on device\)"):
        w.write(2, _tracks(2))
    assert len(whole_lines(w.partial)) == 3
    with pytest.raises(OutputError):
        w.finish()  # still full: not renamed
    assert not w.final.exists() and w.partial.exists()
    with pytest.raises(OutputError, match="incomplete"):
        w.finish()  # a writer that failed never gets its final name
    w.abandon()
    assert len(whole_lines(w.partial)) == 3 and not w.final.exists()
