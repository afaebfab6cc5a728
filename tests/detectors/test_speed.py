"""The speed work of issue #20 keeps results identical (docs/detector.md, "Speed"):

* the two tiles of a frame run at the same time give the boxes of each tile run on its own
  (recomputed here from the raw model, on hand-computed windows) and of the one-by-one mode;
* decoding + detecting ahead on a background thread (``prefetch``) and encoding the video on
  another keep frame order and give byte-identical output files;
* the two small threading helpers keep order, stop, bound their queues and hand errors over.

No timing here: speed is measured by benchmarks/end_to_end.py and benchmarks/detector_profile.py.
"""
from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from tracker.detectors import SSDLitePersonDetector
from tracker.detectors._runtime import nms_xyxy, ort_session
from tracker.detectors.ssdlite import INPUT_SIZE, model_path
from tracker.io.background import SerialWorker
from tracker.pipeline import FileRun, track
from tracker.io.prefetch import Prefetcher

REPO_ROOT = Path(__file__).resolve().parents[2]
VTEST = REPO_ROOT / "data" / "vtest.avi"
FRAMES = 12  # vtest frames used (every 25th of the first 300: people at several places)
STEP = 25


def vtest_frames(shared_data, n: int = FRAMES, step: int = STEP) -> list:
    shared_data.require(VTEST)
    cap = cv2.VideoCapture(str(VTEST))
    out = []
    for i in range(n * step):
        ok, frame = cap.read()
        assert ok, f"vtest.avi: frame {i} unreadable"
        if i % step == 0:
            out.append(frame)
    cap.release()
    return out


def reference_boxes(session, frame: np.ndarray, threshold: float) -> np.ndarray:
    """The default detector on a 480x360 frame, recomputed by hand: two halves 267 px wide
    overlapping by 20 % of a tile (480 / (2 - 0.2) = 266.7 px; the second starts at
    0.8 * 266.7 = 213.3 -> 213), each run on its own, merged by NMS at IoU 0.5."""
    assert frame.shape[:2] == (360, 480)
    windows = [(0, 267), (213, 480)]
    boxes, scores = [], []
    for x1, x2 in windows:
        tile = frame[:, x1:x2]
        inp = np.ascontiguousarray(cv2.resize(tile, (INPUT_SIZE, INPUT_SIZE))[:, :, ::-1])[None]
        b, s, k = session.run(["detection_boxes:0", "detection_scores:0", "num_detections:0"],
                              {"image_tensor:0": inp})
        k = int(k[0])
        b, s = b[0, :k].astype(np.float64), s[0, :k].astype(np.float64)
        b, s = b[s >= threshold], s[s >= threshold]
        w = x2 - x1
        boxes.append(np.stack([b[:, 1] * w + x1, b[:, 0] * 360, b[:, 3] * w + x1, b[:, 2] * 360], axis=1))
        scores.append(s)
    boxes, scores = np.concatenate(boxes), np.concatenate(scores)
    keep = nms_xyxy(boxes, scores, None, 0.5)
    out = np.concatenate([boxes[keep], scores[keep, None]], axis=1)
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, 480)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, 360)
    return out


def as_rows(dets) -> np.ndarray:
    return np.concatenate([np.asarray(dets.xyxy, np.float64), np.asarray(dets.scores, np.float64)[:, None]], axis=1)


def test_concurrent_tiles_equal_separate_runs_and_the_one_by_one_mode(shared_data):
    frames = vtest_frames(shared_data)
    concurrent = SSDLitePersonDetector(threads=2)  # the default: both tiles at once, 1 intra-op thread each
    assert concurrent.config.plan(2) == (2, 1)
    one_by_one = SSDLitePersonDetector(threads=2, tile_workers=1)  # the previous mode: in turn, 2 threads each
    assert one_by_one.config.plan(2) == (1, 2)
    session = ort_session(model_path(), 1)
    total = 0
    for frame in frames:
        a, b = as_rows(concurrent(frame)), as_rows(one_by_one(frame))
        ref = reference_boxes(session, frame, concurrent.config.score_threshold)
        assert a.shape == b.shape == ref.shape
        assert np.array_equal(a, b)  # the same runs, in another order and threading: bit-identical
        np.testing.assert_allclose(a, ref, atol=1e-3)  # float32 boxes vs float64 reference
        total += len(a)
    assert total >= 3 * len(frames)  # vtest has 4-8 people in view: the check is not vacuous


def test_prefetch_keeps_frame_order_and_results(shared_data):
    shared_data.require(VTEST)
    calls = []

    class Recording(SSDLitePersonDetector):
        def __call__(self, frame, frame_index=None):
            calls.append((threading.get_ident(), int(frame[::37, ::41].sum())))
            return super().__call__(frame)

    def run(prefetch):
        calls.clear()
        out = []
        for r in track(str(VTEST), Recording(threads=2), embedder="off", end=40, prefetch=prefetch):
            out.append((r.frame_index, as_rows(r.detections), r.tracks.track_ids.copy(), r.tracks.xyxy.copy(),
                        int(r.image[::37, ::41].sum())))
        return out, list(calls)

    plain, plain_calls = run(0)
    ahead, ahead_calls = run(2)
    assert [o[0] for o in ahead] == list(range(40))
    assert len(plain) == len(ahead) == 40
    for p, a in zip(plain, ahead):
        assert p[0] == a[0] and p[4] == a[4]  # same frame, same image
        assert np.array_equal(p[1], a[1]) and np.array_equal(p[2], a[2]) and np.array_equal(p[3], a[3])
    # once per frame, in frame order, from one thread that is not the caller's
    assert [c[1] for c in ahead_calls] == [c[1] for c in plain_calls] == [o[4] for o in plain]
    assert len({c[0] for c in ahead_calls}) == 1 and ahead_calls[0][0] != threading.get_ident()
    assert sum(len(o[2]) for o in plain) > 40  # people were tracked


def read_video(path) -> list:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return frames


def test_filerun_files_identical_with_and_without_background_threads(tmp_path, shared_data):
    video = shared_data.require(shared_data.video / "TUD-Campus.mp4")
    outs = {}
    for name, prefetch, background in (("plain", 0, False), ("threaded", 2, True)):
        with FileRun(str(video), SSDLitePersonDetector(threads=2), output_dir=tmp_path / name, embedder="auto",
                     end=30, prefetch=prefetch, background_video=background) as run:
            for _ in run:
                pass
        assert run.summary["completed"] and run.summary["frames_processed"] == 30
        assert run.summary["prefetch"] == prefetch
        outs[name] = run
    for key in ("mot", "jsonl"):
        a, b = (outs[n].paths[key].read_bytes() for n in ("plain", "threaded"))
        assert a == b and len(a) > 0
    va, vb = (read_video(outs[n].paths["video"]) for n in ("plain", "threaded"))
    assert len(va) == len(vb) == 30
    assert all(np.array_equal(x, y) for x, y in zip(va, vb))


def test_detector_error_reaches_the_caller_at_its_frame(tmp_path, shared_data):
    shared_data.require(VTEST)
    real = SSDLitePersonDetector(threads=1)
    seen = []

    def failing(frame):
        if len(seen) == 5:
            raise RuntimeError("detector broke on the 6th frame")
        seen.append(1)
        return real(frame)

    got = []
    with pytest.raises(RuntimeError, match="6th frame"):
        for r in track(str(VTEST), failing, embedder="off", prefetch=2):
            got.append(r.frame_index)
    assert got == [0, 1, 2, 3, 4]


def test_prefetcher_order_bound_errors_and_close():
    produced = []
    gate = threading.Event()

    def work(x):
        produced.append(x)
        return x * x

    ahead = Prefetcher(iter(range(100)), work, depth=3)
    it = iter(ahead)
    first = next(it)
    assert first[:2] == (0, 0)
    gate.wait(0.2)  # give the producer time to run ahead as far as it may
    assert len(produced) <= 1 + 3 + 1  # consumed + queued (depth) + the one in hand
    rest = [e[:2] for e in it]
    assert [first[:2]] + rest == [(i, i * i) for i in range(100)]
    ahead.close()

    def boom(x):
        if x == 7:
            raise ValueError("item 7")
        return x

    ahead = Prefetcher(iter(range(20)), boom, depth=2)
    seen = []
    with pytest.raises(ValueError, match="item 7"):
        for item, _, _, _ in ahead:
            seen.append(item)
    assert seen == list(range(7))
    ahead.close()

    ahead = Prefetcher(iter(range(10 ** 6)), lambda x: x, depth=2)  # stopped early
    next(iter(ahead))
    ahead.close()
    assert not ahead._thread.is_alive()


def test_serial_worker_order_and_error():
    done = []
    w = SerialWorker(done.append, depth=2)
    for i in range(50):
        w.submit(i)
    w.drain()
    assert done == list(range(50))
    w.close()

    def fail(x):
        if x == 3:
            raise OSError("disk full")
        done.append(x)

    done.clear()
    w = SerialWorker(fail, depth=1)
    with pytest.raises(OSError, match="disk full"):
        for i in range(10):
            w.submit(i)
        w.drain()
    w.close()
    assert done == [0, 1, 2]


def test_side_by_side_helpers_and_generated_blocks_present():
    import sys

    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    try:
        from side_by_side import BEGIN, END, median_ratio, replace_block
    finally:
        sys.path.remove(str(REPO_ROOT / "benchmarks"))
    text = f"intro\n{BEGIN}\nold table\n{END}\noutro\n"
    assert replace_block(text, "new | table\n") == f"intro\n{BEGIN}\nnew | table\n{END}\noutro\n"
    with pytest.raises(ValueError):
        replace_block("no markers", "x")
    # pairs (baseline, current): ratios 2.0, 3.0, 1.0 -> median 2.0
    base = [{"wall": 20.0}, {"wall": 30.0}, {"wall": 10.0}]
    cur = [{"wall": 10.0}, {"wall": 10.0}, {"wall": 10.0}]
    assert median_ratio(base, cur) == 2.0
    for doc in (REPO_ROOT / "README.md", REPO_ROOT / "docs" / "detector.md"):  # where --write-docs writes
        text = doc.read_text(encoding="utf-8")
        assert text.count(BEGIN) == 1 and text.count(END) == 1, doc
