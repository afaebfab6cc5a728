"""The streaming API ``track`` and ``FileRun`` on synthetic video (no model needed)."""
from __future__ import annotations

import json
import types

import numpy as np
import pytest

from tracker import Detections, Tracker, TrackerConfig
from tracker.detectors import DetectionFileDetector
from tracker.errors import InputError
from tracker.io.mot import read_mot_file
from tracker.pipeline import FileRun, FrameResult, default_output_dir, track, video_config


def test_track_yields_frame_results(tmp_path, synth):
    path = synth.write_synthetic_video(tmp_path / "clip.avi", frames=20, fps=20)
    results = list(track(path, detector=synth.square_detector))
    assert len(results) == 20
    r = results[-1]
    assert isinstance(r, FrameResult) and r.frame_index == 19 and r.mot_frame == 20
    assert r.timestamp == pytest.approx(19 / 20)
    assert r.image.shape == (120, 160, 3)
    assert sorted(r.tracks.track_ids.tolist()) == [1, 2]  # two squares, two stable IDs
    assert set(results[5].tracks.track_ids.tolist()) == {1, 2}
    # det_index joins a track back to its detection
    for tid, det in zip(r.tracks.track_ids, r.tracks.det_index):
        assert 0 <= det < len(r.detections)
    assert set(r.timings) >= {"decode", "detect", "embed", "track"}


def test_track_stride_and_end_keep_decoded_indices(tmp_path, synth):
    path = synth.write_synthetic_video(tmp_path / "clip.avi", frames=30, fps=20)
    results = list(track(path, detector=synth.square_detector, start="4", end="1s", stride=5))
    assert [r.frame_index for r in results] == [4, 9, 14, 19]
    assert [r.timestamp for r in results] == pytest.approx([0.2, 0.45, 0.7, 0.95])


def test_track_on_iterables_and_callables(synth):
    frames = [synth.synthetic_frame(i) for i in range(10)]
    results = list(track(frames, detector=synth.square_detector, fps=5))
    assert [r.timestamp for r in results] == pytest.approx(np.arange(10) / 5)
    pairs = [(100.0 + 0.5 * i, f) for i, f in enumerate(frames)]
    results = list(track(iter(pairs), detector=synth.square_detector))
    assert results[-1].timestamp == pytest.approx(104.5)
    assert len(results[-1].tracks) == 2

    # a supervision-like result (duck-typed) is accepted from any callable
    def sv_like(frame):
        d = synth.square_detector(frame)
        return types.SimpleNamespace(xyxy=d.xyxy, confidence=d.scores, class_id=d.class_ids)

    assert len(list(track(frames, detector=sv_like))[-1].tracks) == 2


def test_track_with_own_tracker_and_config(synth):
    frames = [synth.synthetic_frame(i) for i in range(6)]
    tracker = Tracker(TrackerConfig(min_hits=1))
    results = list(track(frames, detector=synth.square_detector, tracker=tracker))
    assert len(results[0].tracks) == 2  # min_hits=1: IDs from the first frame
    assert tracker.frame_index == 5


def test_break_closes_the_source(tmp_path, synth):
    path = synth.write_synthetic_video(tmp_path / "clip.avi", frames=30)
    stream = track(path, detector=synth.square_detector)
    for r in stream:
        if r.frame_index == 3:
            break
    stream.close()  # a generator: closing it releases the capture


def test_bad_source_and_detector(synth):
    with pytest.raises(InputError, match="not found"):
        track("/nonexistent/clip.mp4", detector=synth.square_detector)
    with pytest.raises(InputError, match="callable"):
        track([synth.synthetic_frame(0)], detector="yolo")
    with pytest.raises(InputError, match="start/end/stride"):
        track([synth.synthetic_frame(0)], detector=synth.square_detector, stride=2)


def test_detection_file_frames_follow_the_decoded_index(tmp_path, synth):
    """With --detections, MOT frame f is decoded index f-1 even with start/stride."""
    path = synth.write_synthetic_video(tmp_path / "clip.avi", frames=20)
    det = tmp_path / "det.txt"
    rows = []
    for i in range(20):
        for x, y in synth.square_positions(i):
            rows.append(f"{i + 1},-1,{x},{y},{synth.SQUARE},{synth.SQUARE},0.9")
    det.write_text("\n".join(rows) + "\n")
    cfg = TrackerConfig(min_hits=1, report_detection_box=True)
    results = list(track(path, detector=DetectionFileDetector(det), config=cfg, start="3", stride=4))
    for r in results:
        expected = sorted(synth.square_positions(r.frame_index))
        got = sorted((float(b[0]), float(b[1])) for b in r.detections.xyxy)
        assert got == expected


def test_memory_stays_bounded_on_a_long_stream(synth):
    """Many short-lived objects over a long stream: live tracks and trails stay bounded."""
    rng = np.random.default_rng(0)

    def frames():
        for i in range(400):
            yield synth.synthetic_frame(0)

    def random_boxes(frame):
        xy = rng.uniform(0, 120, size=(3, 2))
        return Detections(np.hstack([xy, xy + 15]), np.full(3, 0.9))

    tracker = Tracker(video_config(frame_rate=20))
    live = []
    for r in track(frames(), detector=random_boxes, tracker=tracker, fps=20):
        live.append(tracker.live_track_count)
    assert max(live[200:]) < 200  # removed tracks are dropped (lost_horizon_s)


# ------------------------------------------------------------------------------------ to files
def test_file_run_writes_three_files_and_summary(tmp_path, synth):
    path = synth.write_synthetic_video(tmp_path / "clip.avi", frames=25, fps=20)
    out = tmp_path / "out"
    with FileRun(path, synth.square_detector, output_dir=out) as run:
        assert run.expected_frames == 25
        n = sum(1 for _ in run)
    assert n == 25
    names = sorted(p.name for p in out.iterdir())
    assert names == ["clip.jsonl", "clip.mp4", "clip.summary.json", "clip.txt"]
    s = json.loads((out / "clip.summary.json").read_text())
    assert s["completed"] is True and s["status"] == "completed" and s["exit_code"] == 0
    assert s["frames_processed"] == 25 and s["first_frame"] == 1 and s["last_frame"] == 25
    assert s["tracks"] == 2 and s["source"]["fps"] == 20
    assert set(s["stage_seconds"]) == {"decode", "detect", "embed", "track", "annotate", "write"}
    assert s["files"] == {"mot": "clip.txt", "jsonl": "clip.jsonl", "video": "clip.mp4",
                          "summary": "clip.summary.json"}
    table = read_mot_file(out / "clip.txt", "result")
    assert set(table.ids.tolist()) == {1, 2} and table.frames.max() == 25
    lines = (out / "clip.jsonl").read_text().splitlines()
    assert len(lines) == 25 and json.loads(lines[0])["frame"] == 1
    assert synth.count_video_frames(out / "clip.mp4") == 25


def test_file_run_default_dir_no_video_and_folder_source(tmp_path, synth):
    seq = synth.write_frame_folder(tmp_path / "SEQ-02", frames=8)
    with FileRun(seq / "img1", synth.square_detector, video=False) as run:
        list(run)
    out = tmp_path / "SEQ-02_tracks"
    assert run.output_dir == out == default_output_dir(run.info)
    assert sorted(p.name for p in out.iterdir()) == ["SEQ-02.jsonl", "SEQ-02.summary.json", "SEQ-02.txt"]


def test_file_run_never_overwrites_the_input(tmp_path, synth):
    path = synth.write_synthetic_video(tmp_path / "clip.mp4", frames=5, codec="mp4v")
    before = path.read_bytes()
    with pytest.raises(InputError, match="overwrite the input"):
        FileRun(path, synth.square_detector, output_dir=tmp_path)
    det = tmp_path / "clip.txt"
    det.write_text("1,-1,1,1,5,5,0.9\n")
    with pytest.raises(InputError, match="overwrite the input"):
        FileRun(path, DetectionFileDetector(det), output_dir=tmp_path, video=False, extra_inputs=[det])
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "clip.txt"]  # nothing else created


def test_crash_leaves_only_partial_files_of_whole_lines(tmp_path, synth):
    path = synth.write_synthetic_video(tmp_path / "clip.avi", frames=30)
    calls = {"n": 0}

    def flaky(frame):
        calls["n"] += 1
        if calls["n"] == 12:
            raise RuntimeError("detector exploded")
        return synth.square_detector(frame)

    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="exploded"):
        with FileRun(path, flaky, output_dir=out, flush_every_s=0.0) as run:
            for _ in run:
                pass
    names = sorted(p.name for p in out.iterdir())
    assert names == ["clip.jsonl.partial", "clip.partial.mp4", "clip.summary.json", "clip.txt.partial"]
    s = json.loads((out / "clip.summary.json").read_text())
    assert s["completed"] is False and s["status"] == "crashed" and "exploded" in s["error"]
    assert s["frames_processed"] == 11
    jsonl = (out / "clip.jsonl.partial").read_text()
    assert jsonl.endswith("\n") and len(jsonl.splitlines()) == 11
    assert all(json.loads(line) for line in jsonl.splitlines())
    txt = (out / "clip.txt.partial").read_text()
    assert txt.endswith("\n") and all(line.count(",") == 9 for line in txt.splitlines())


def test_keyboard_interrupt_finishes_files(tmp_path, synth):
    path = synth.write_synthetic_video(tmp_path / "clip.avi", frames=30)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        with FileRun(path, synth.square_detector, output_dir=out) as run:
            for r in run:
                if r.frame_index == 9:
                    raise KeyboardInterrupt
    s = run.summary
    assert s["status"] == "SIGINT" and s["exit_code"] == 130 and s["completed"] is False
    assert s["frames_processed"] == 10
    assert synth.count_video_frames(out / "clip.mp4") == 10
    assert len((out / "clip.jsonl").read_text().splitlines()) == 10


def test_stop_request_and_rerun_replaces_old_outputs(tmp_path, synth):
    path = synth.write_synthetic_video(tmp_path / "clip.avi", frames=30)
    out = tmp_path / "out"
    with FileRun(path, synth.square_detector, output_dir=out) as run:
        for r in run:
            if r.frame_index == 4:
                run.stop("SIGTERM")
                break
    assert run.summary["status"] == "SIGTERM" and run.summary["exit_code"] == 143
    assert synth.count_video_frames(out / "clip.mp4") == 5
    with FileRun(path, synth.square_detector, output_dir=out, end="12") as run:
        list(run)
    assert run.summary["completed"] and synth.count_video_frames(out / "clip.mp4") == 12
    assert len((out / "clip.jsonl").read_text().splitlines()) == 12


def test_file_run_on_a_stream_that_ends(tmp_path, synth):
    """End of a live stream: finished files, status 'stream ended', exit code 0."""
    synth.write_synthetic_video(tmp_path / "cam.avi", frames=12)
    server = synth.serve_folder(tmp_path)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/cam.avi"
        with FileRun(url, synth.square_detector, output_dir=tmp_path / "out", timeout_s=5) as run:
            assert run.expected_frames is None  # live: unknown length
            list(run)
    finally:
        server.shutdown()
        server.server_close()
    s = run.summary
    assert s["status"] == "stream ended" and s["completed"] and s["exit_code"] == 0
    assert s["source"]["kind"] == "stream" and s["frames_processed"] == 12
    assert synth.count_video_frames(tmp_path / "out" / "cam.mp4") == 12
