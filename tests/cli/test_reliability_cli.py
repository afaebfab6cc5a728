"""Reliability of ``track SOURCE``: bad input files, damaged videos, frame folders with gaps or
mixed sizes, streams that drop or stall, outputs that cannot be written, a full disk, and
repeated signals. Each user mistake ends with a one-line message and a documented exit code,
never a traceback; results written so far stay whole (docs/reliability.md lists every case)."""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tracker import cli, exit_codes
from tracker.io import writers
from tracker.io.mot import read_mot_file
from tracker.io.sources import open_source
from tracker.io.writers import OutputError
from tracker.pipeline import FileRun

REPO = Path(__file__).resolve().parents[2]


def run_cli(args, capsys):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def summary_of(folder: Path, stem: str) -> dict:
    return json.loads((folder / f"{stem}.summary.json").read_text())


def assert_clean_error(code, err, message, expected=exit_codes.BAD_INPUT):
    assert code == expected, err
    assert message in err, err
    assert "Traceback" not in err


# ------------------------------------------------------------------------------------ bad files
@pytest.mark.parametrize("case,message", [
    ("empty", "the file is empty"),
    ("garbage", "OpenCV cannot"),
    ("zero_frames", "cannot decode any frame"),
    ("header_only", "OpenCV cannot open"),
    ("folder_without_images", "no images here"),
])
def test_bad_video_inputs_exit_2(tmp_path, capsys, case, message, synth, damaged_videos, det_file):
    det = det_file(tmp_path / "det.txt", 3)
    path = tmp_path / f"{case}.avi"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "garbage":
        path.write_bytes(bytes(range(256)) * 64)
    elif case == "zero_frames":
        synth.write_synthetic_video(path, frames=0)
    elif case == "header_only":
        path = damaged_videos(tmp_path)["header_only"]
    else:
        path = tmp_path / "empty_folder"
        path.mkdir()
        (path / "notes.txt").write_text("no images")
    code, _, err = run_cli([path, "--detections", det, "-o", tmp_path / "out"], capsys)
    assert_clean_error(code, err, message)
    assert not (tmp_path / "out").exists()  # nothing created for an input that never opened


def test_unreadable_file_exit_2(tmp_path, capsys, monkeypatch, synth):
    """Tests run as root, where chmod 000 does not stop reading: the permission check is
    simulated, and a real read error comes from /proc/self/mem (EIO at offset 0)."""
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=3)
    real_access = os.access
    monkeypatch.setattr("tracker.io.sources.os.access",
                        lambda p, mode, **kw: False if Path(p) == video else real_access(p, mode, **kw))
    code, _, err = run_cli([video, "-o", tmp_path / "out"], capsys)
    assert_clean_error(code, err, "not readable (permission denied)")
    monkeypatch.undo()
    if Path("/proc/self/mem").is_file():
        code, _, err = run_cli(["/proc/self/mem", "-o", tmp_path / "out"], capsys)
        assert_clean_error(code, err, "not readable")


@pytest.mark.parametrize("damage", ["cut_half", "zeroed_middle", "noise_middle"])
def test_damaged_video_keeps_what_was_decoded_exit_3(tmp_path, capsys, damage, synth, whole_lines, damaged_videos,
                                                     det_file):
    path = damaged_videos(tmp_path, frames=30)[damage]
    det = det_file(tmp_path / "det.txt", 30)
    out = tmp_path / "out"
    code, _, err = run_cli([path, "--detections", det, "-o", out, "--quiet"], capsys)
    assert code == exit_codes.INCOMPLETE, err
    assert "Traceback" not in err and "stopped decoding" in err
    s = summary_of(out, damage)
    n = s["frames_processed"]
    assert s["status"] == "truncated" and s["completed"] is False and 0 < n < 30
    assert f"decoding stopped at frame {n + 1} of 30" in err  # the frame where it stopped
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{damage}{e}" for e in (".jsonl", ".mp4", ".summary.json",
                                                                                    ".txt"))
    assert len(whole_lines(out / f"{damage}.jsonl")) == n
    assert read_mot_file(out / f"{damage}.txt", "result").frames.max() == n
    assert synth.count_video_frames(out / f"{damage}.mp4") == n  # finished, playable


# ------------------------------------------------------------------------------------ folders
def test_frame_folder_with_a_gap_keeps_the_frame_numbers(tmp_path, capsys, synth, whole_lines, det_file):
    """Rule: numbered images give the frame number; missing numbers are skipped frames, so the
    results and the detection file stay aligned with the files (and time runs on)."""
    seq = synth.write_frame_folder(tmp_path / "SEQ", frames=12, fps=10)
    for n in (5, 6, 7):
        (seq / "img1" / f"{n:06d}.png").unlink()
    det = det_file(tmp_path / "det.txt", 12)
    out = tmp_path / "out"
    code, _, err = run_cli([seq, "--detections", det, "-o", out, "--set", "min_hits=1",
                            "--set", "report_detection_box=true"], capsys)
    assert code == 0, err
    assert "3 frame number(s) missing" in err and "000004.png" in err
    rows = [json.loads(line) for line in whole_lines(out / "SEQ.jsonl")]
    assert [r["frame"] for r in rows] == [1, 2, 3, 4, 8, 9, 10, 11, 12]
    assert [r["time"] for r in rows] == pytest.approx([(f - 1) / 10 for f in (1, 2, 3, 4, 8, 9, 10, 11, 12)])
    for r in rows:  # each frame's boxes are that frame's detections (no shift after the gap)
        got = sorted((t["box"][0], t["box"][1]) for t in r["tracks"])
        assert got == sorted(map(tuple, map(lambda p: (float(p[0]), float(p[1])), synth.square_positions(r["index"]))))
    s = summary_of(out, "SEQ")
    assert s["frames_processed"] == 9 == s["expected_frames"] and s["completed"]
    assert synth.count_video_frames(out / "SEQ.mp4") == 9


def test_frame_folder_numbering_rules(tmp_path, synth):
    folder = tmp_path / "shots"
    folder.mkdir()
    for n in (3, 4, 5, 7):  # frame_0003.png ...: one prefix, one width, dense -> numbered
        cv2.imwrite(str(folder / f"frame_{n:04d}.png"), synth.synthetic_frame(n))
    with open_source(folder, stride=2) as src:
        assert src.indices == [2, 3, 4, 6]
        assert [f.index for f in src] == [2, 4, 6]  # stride on the index, from the first
        assert src.expected_frames() == 3
        assert any("first result is MOT frame 3" in n for n in src.info.notes)
        assert any("1 frame number(s) missing" in n and "after frame_0005.png" in n for n in src.info.notes)
    zero = tmp_path / "zero"
    zero.mkdir()
    for n in (0, 1, 2):  # numbered from 0: index = number
        cv2.imwrite(str(zero / f"{n:03d}.png"), synth.synthetic_frame(n))
    with open_source(zero) as src:
        assert [f.index for f in src] == [0, 1, 2] and not src.info.notes[1:]
    stamps = tmp_path / "stamps"
    stamps.mkdir()
    for n in (1700000000100, 1700000000133, 1700000000166):  # capture times in ms: by position
        cv2.imwrite(str(stamps / f"{n}.png"), synth.synthetic_frame(0))
    with open_source(stamps) as src:
        assert [f.index for f in src] == [0, 1, 2]


def test_frame_folder_of_mixed_sizes_with_the_embedder(tmp_path, capsys, synth, det_file):
    """Rule: every frame is processed at its own size (detections, crops for the appearance
    embedder, boxes in that frame's pixels); the annotated video is resized to the first size.
    Boxes partly or entirely outside the (smaller) frames are replayed from the detection file
    as they are and still get an appearance vector."""
    seq = synth.write_frame_folder(tmp_path / "MIX", frames=10)
    for n in (4, 5, 9):
        big = cv2.resize(synth.synthetic_frame(n - 1), (320, 240))
        cv2.imwrite(str(seq / "img1" / f"{n:06d}.png"), big)
    det = det_file(tmp_path / "det.txt", 10)
    with open(det, "a") as fh:
        fh.write("2,-1,500,400,30,60,0.95\n3,-1,-40,-40,30,30,0.95\n")  # outside every frame
    out = tmp_path / "out"
    code, _, err = run_cli([seq, "--detections", det, "-o", out, "--appearance", "auto"], capsys)
    assert code == 0, err
    assert "frame size changed from 160x120 to 320x240 at frame 4" in err
    s = summary_of(out, "MIX")
    assert s["frame_size_changes"] == 4 and s["frames_processed"] == 10 and s["completed"]
    assert synth.count_video_frames(out / "MIX.mp4") == 10
    cap = cv2.VideoCapture(str(out / "MIX.mp4"))
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (160, 120)
    cap.release()


# ------------------------------------------------------------------------------------ streams
def test_http_video_that_drops_mid_way_resumes_where_it_stopped(tmp_path, synth, serve_file_dropping):
    """A web server closes the connection half-way and is down for 0.5 s: the source
    reconnects (the first attempt after 0.3 s fails, the second after 0.6 s more succeeds) and
    skips the frames it already read, so every frame comes exactly once and in order."""
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=40)
    with serve_file_dropping(video, drop_fraction=0.5, down_s=0.5) as server:
        with open_source(server.url("clip.avi"), timeout_s=5, retry_backoff_s=0.3) as src:
            frames = list(src)
    assert src.end_reason == "stream ended" and src.reconnects == 1
    assert [f.index for f in frames] == list(range(40))
    note = next(n for n in src.info.notes if "reconnected (attempt 2 of 3)" in n)
    resumed = int(note.split("stopped after ")[1].split()[0])
    assert 0 < resumed < 40
    # after the reconnection each index has its own image: no replay from the start (what
    # FFmpeg decodes from the damaged data before it is its own business)
    for f in frames[resumed:]:
        boxes = synth.square_detector(f.image).xyxy[:, :2].tolist()
        assert sorted(map(tuple, boxes)) == sorted((float(x), float(y)) for x, y in synth.square_positions(f.index))


def test_live_stream_drops_reconnects_then_is_lost_exit_3(tmp_path, capsys, synth, whole_lines, serve_mjpeg_camera,
                                                          det_file):
    """An IP camera hangs up after 10 frames, answers once more, then refuses: one
    reconnection, then --retries attempts with doubling waits, then a clean stop: files
    finished (final names, playable), status 'stream lost', exit 3."""
    out = tmp_path / "out"
    with serve_mjpeg_camera(frames_per_connection=10, connections=2) as camera:
        t0 = time.monotonic()
        code, _, err = run_cli([camera.url("cam.mjpg"), "-o", out, "--timeout", "3", "--retries", "3",
                                "--retry-backoff", "0.2", "--detections", det_file(tmp_path / "det.txt", 20),
                                "--quiet"], capsys)
        elapsed = time.monotonic() - t0
        connections = list(camera.connections)
    assert_clean_error(code, err, "the stream stopped and did not come back", exit_codes.INCOMPLETE)
    assert "did not come back (3 reconnection attempt(s)" in err
    s = summary_of(out, "cam")
    assert s["status"] == "stream lost" and s["completed"] is False and s["exit_code"] == 3
    assert s["frames_processed"] == 20 and s["reconnects"] == 1
    assert sorted(p.name for p in out.iterdir()) == ["cam.jsonl", "cam.mp4", "cam.summary.json", "cam.txt"]
    assert len(whole_lines(out / "cam.jsonl")) == 20 and synth.count_video_frames(out / "cam.mp4") == 20
    # 1 open + 1 reconnection + 3 refused attempts; waits 0.2, then 0.2, 0.4, 0.8 s (backoff)
    assert len(connections) == 5
    gaps = np.diff(connections[2:])
    assert gaps[0] >= 0.35 and gaps[1] >= 0.7 and gaps[1] > gaps[0]
    assert elapsed < 15


def test_stalled_stream_times_out_and_stops_exit_3(tmp_path, capsys, serve_mjpeg_camera, det_file):
    """The camera keeps the connection open but sends nothing: the read times out after
    --timeout, reconnecting fails, the run stops with the frames it had."""
    out = tmp_path / "out"
    with serve_mjpeg_camera(frames_per_connection=6, connections=1, stall_s=30) as camera:
        t0 = time.monotonic()
        code, _, err = run_cli([camera.url("cam.mjpg"), "-o", out, "--timeout", "1", "--retries", "1",
                                "--retry-backoff", "0.1", "--no-video", "--detections",
                                det_file(tmp_path / "det.txt", 6), "--quiet"], capsys)
        elapsed = time.monotonic() - t0
    assert code == exit_codes.INCOMPLETE and "Traceback" not in err
    assert summary_of(out, "cam")["frames_processed"] == 6
    assert elapsed < 10


def test_retry_options_are_checked(tmp_path, capsys, synth):
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=3)
    for args, message in ((["--retries", "-1"], "--retries"), (["--retry-backoff", "nan"], "--retry-backoff")):
        code, _, err = run_cli(["http://127.0.0.1:9/x", *args], capsys)
        assert_clean_error(code, err, message)
    assert video.exists()


# ------------------------------------------------------------------------------------ outputs
def test_output_folder_that_cannot_be_created_exit_2(tmp_path, capsys, synth, det_file):
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=3)
    det = det_file(tmp_path / "det.txt", 3)
    # a parent that is a regular file (works as root too)
    code, _, err = run_cli([video, "--detections", det, "-o", tmp_path / "det.txt" / "sub"], capsys)
    assert_clean_error(code, err, "cannot create the output folder")
    # a folder the OS refuses (sysfs / procfs), when this system has one
    for special in ("/sys/identitrack-test", "/proc/identitrack-test"):
        if Path(special).parent.is_dir() and not Path(special).exists():
            code, _, err = run_cli([video, "--detections", det, "-o", special], capsys)
            assert_clean_error(code, err, "cannot create the output folder")


def test_output_folder_not_writable_exit_2(tmp_path, capsys, monkeypatch, synth, tiny_tmpfs, det_file):
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=3)
    det = det_file(tmp_path / "det.txt", 3)
    out = tmp_path / "out"
    out.mkdir()
    with tiny_tmpfs(tmp_path / "ro", read_only=True) as ro:  # a real read-only file system
        if ro is not None:
            code, _, err = run_cli([video, "--detections", det, "-o", ro / "sub"], capsys)
            assert_clean_error(code, err, "Read-only file system")
            code, _, err = run_cli([video, "--detections", det, "-o", ro], capsys)
            assert_clean_error(code, err, "the output folder is not writable")
    real_access = os.access
    monkeypatch.setattr("tracker.io.writers.os.access",
                        lambda p, mode, **kw: False if Path(p) == out else real_access(p, mode, **kw))
    code, _, err = run_cli([video, "--detections", det, "-o", out], capsys)
    assert_clean_error(code, err, "not writable")
    assert list(out.iterdir()) == []


class FillingDisk:
    """``os.write`` replacement for the writers: after ``budget`` bytes, writes only part of
    what it is given (a short write, as on a filling disk), then fails with ENOSPC."""

    def __init__(self, budget: int):
        self.budget = budget
        self.real = os.write

    def __call__(self, fd, data):
        data = bytes(data)
        if self.budget <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = min(len(data), self.budget)
        if n < len(data):
            n = max(1, n // 2)
        self.budget = 0 if n < len(data) else self.budget - n
        return self.real(fd, data[:n])


def test_disk_full_mid_run_keeps_whole_line_partials(tmp_path, monkeypatch, synth, whole_lines):
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=40)
    monkeypatch.setattr(writers.os, "write", FillingDisk(budget=1500))
    out = tmp_path / "out"
    with pytest.raises(OutputError, match="No space left on device"):
        with FileRun(video, synth.square_detector, output_dir=out, flush_every_s=0.0) as run:
            for _ in run:
                pass
    s = run.summary
    assert s["status"] == "output error" and s["exit_code"] == 2 and s["completed"] is False
    names = sorted(p.name for p in out.iterdir())
    assert names == ["clip.jsonl.partial", "clip.partial.mp4", "clip.summary.json", "clip.txt.partial"]
    for name in ("clip.txt.partial", "clip.jsonl.partial"):
        lines = whole_lines(out / name)
        assert len(lines) < 2 * s["frames_processed"] + 2
    rows = [json.loads(line) for line in whole_lines(out / "clip.jsonl.partial")]
    assert [r["frame"] for r in rows] == list(range(1, len(rows) + 1))  # frames in order, none cut


def test_disk_full_at_finish_exit_2_without_traceback(tmp_path, capsys, monkeypatch, synth, whole_lines, det_file):
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=20)
    det = det_file(tmp_path / "det.txt", 20)
    monkeypatch.setattr(writers.os, "write", FillingDisk(budget=700))
    out = tmp_path / "out"
    code, _, err = run_cli([video, "--detections", det, "-o", out], capsys)
    assert_clean_error(code, err, "No space left on device")
    # the first flush failed: no frame is in the files (the message no longer says they all are)
    assert "20 frames were processed; the results of 0 of them are kept in the .partial files" in err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["clip.jsonl.partial", "clip.partial.mp4", "clip.summary.json", "clip.txt.partial"]
    whole_lines(out / "clip.txt.partial")
    assert summary_of(out, "clip")["status"] == "output error"


def test_really_full_tmpfs_exit_2(tmp_path, capsys, synth, whole_lines, tiny_tmpfs, det_file):
    """A real full file system (a 96 KiB tmpfs; skipped where mounting is not allowed): the
    video fills it (OpenCV does not say so; the container check on finish does), so no file
    gets its final name."""
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=200)
    det = det_file(tmp_path / "det.txt", 200)
    with tiny_tmpfs(tmp_path / "small", size="96k") as small:
        if small is None:
            pytest.skip("cannot mount a tmpfs here (needs root with mount rights)")
        code, _, err = run_cli([video, "--detections", det, "-o", small / "out"], capsys)
        assert_clean_error(code, err, "track: error: ")
        assert "No space left on device" in err or "the disk may be full" in err
        names = sorted(p.name for p in (small / "out").iterdir())
        assert not {"clip.txt", "clip.jsonl", "clip.mp4"} & set(names), names
        for name in ("clip.txt.partial", "clip.jsonl.partial"):
            if name in names:
                whole_lines(small / "out" / name)


def test_incomplete_video_is_not_given_its_final_name(tmp_path, monkeypatch, synth):
    """OpenCV does not report failed video writes: the container is checked on finish."""
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=12)
    out = tmp_path / "out"
    real_release = cv2.VideoWriter.release

    class Truncating:
        def __init__(self, writer):
            self.writer = writer

        def write(self, image):
            self.writer.write(image)

        def release(self):
            real_release(self.writer)
            path = out / "clip.partial.mp4"
            path.write_bytes(path.read_bytes()[:200])  # what a full disk leaves

        def isOpened(self):
            return self.writer.isOpened()

    real_init = writers.VideoWriter.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self._writer = Truncating(self._writer)

    monkeypatch.setattr(writers.VideoWriter, "__init__", init)
    with FileRun(video, synth.square_detector, output_dir=out) as run:
        list(run)
    s = run.summary
    assert s["status"] == "output error" and "video is incomplete" in s["error"] and not s["completed"]
    assert sorted(p.name for p in out.iterdir()) == ["clip.jsonl.partial", "clip.partial.mp4", "clip.summary.json",
                                                     "clip.txt.partial"]


def test_summary_that_cannot_be_written_is_still_reported(tmp_path, capsys, monkeypatch, synth, det_file):
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=5)
    det = det_file(tmp_path / "det.txt", 5)

    def no_space(path, summary):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("tracker.pipeline.write_summary", no_space)
    code, out, err = run_cli([video, "--detections", det, "-o", tmp_path / "out"], capsys)
    assert code == 0 and "Traceback" not in err and "done: 5 frames" in out


def test_atomic_text_files_use_partial_temporaries(tmp_path, monkeypatch):
    """Files written at once (summaries, reports, ``track mot`` results) go through a temporary
    ``<name>.<random>.partial``: a killed process leaves only .partial files."""
    from tracker.io import mot

    seen = []
    real_replace = os.replace
    monkeypatch.setattr(mot.os, "replace", lambda a, b: (seen.append(Path(a).name), real_replace(a, b)))
    mot.write_mot_results(tmp_path / "res.txt", [(1, 1, [0, 0, 5, 5], 1.0)])
    assert len(seen) == 1 and seen[0].startswith("res.txt.") and seen[0].endswith(".partial")


# ------------------------------------------------------------------------------------ signals
def test_repeated_signals_still_finish_valid_files(tmp_path, synth, shared_data, whole_lines, wait_for):
    """Three quick Ctrl-C: the first asks to stop after the frame, the others arrive while the
    run writes or finishes its files and do not cut them short."""
    video = shared_data.require(shared_data.video / "vtest.avi")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "tracker.cli", str(video), "-o", str(out), "--threads", "1",
                             "--quiet"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = out / "vtest.jsonl.partial"
    if not wait_for(lambda: proc.poll() is not None or (partial.exists() and partial.read_text().count("\n") >= 3),
                    timeout=120):
        proc.kill()
        pytest.fail("no progress in time")
    for _ in range(3):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.02)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["vtest.jsonl", "vtest.mp4", "vtest.summary.json", "vtest.txt"]
    n = summary_of(out, "vtest")["frames_processed"]
    assert len(whole_lines(out / "vtest.jsonl")) == n
    assert synth.count_video_frames(out / "vtest.mp4") == n
    whole_lines(out / "vtest.txt")


def test_stop_signals_defer_a_second_signal_while_busy():
    from tracker.pipeline import Interrupted, StopSignals

    busy = [True]
    stop = StopSignals(hold=lambda: busy[0])
    stop._handle(signal.SIGINT, None)
    assert stop.requested and stop.reason == "SIGINT"
    stop._handle(signal.SIGINT, None)  # while busy: ignored (the loop stops after the frame anyway)
    busy[0] = False
    with pytest.raises(Interrupted):
        stop._handle(signal.SIGTERM, None)


# ------------------------------------------------------------------------------------ exit codes
def test_exit_codes_are_distinct_and_documented(capsys):
    codes = {name: getattr(exit_codes, name) for name in dir(exit_codes) if name.isupper()}
    assert len(set(codes.values())) == len(codes)
    assert codes == {"OK": 0, "INTERNAL_ERROR": 1, "BAD_INPUT": 2, "INCOMPLETE": 3, "INTERRUPTED_SIGINT": 130,
                     "INTERRUPTED_SIGTERM": 143}
    code, out, _ = run_cli(["--help"], capsys)
    doc = (REPO / "docs" / "reliability.md").read_text()
    for value in codes.values():
        assert f" {value} " in out.replace(",", " ")
        assert f"| {value} |" in doc or f"`{value}`" in doc
    from tracker.status import RunStatus

    assert {status.exit_code for status in RunStatus} <= set(codes.values())
    for status in RunStatus:  # every status of a run summary is documented with its code
        assert f"`{status.value}`" in doc


def test_internal_errors_show_the_traceback_and_exit_1(tmp_path, capsys, monkeypatch, synth, det_file):
    """A bug (not a user mistake) is reported with its traceback and exit code 1; the files
    written so far stay .partial with whole lines."""
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=10)
    det = det_file(tmp_path / "det.txt", 10)

    def broken(self, *args, **kwargs):
        raise RuntimeError("a bug in the tracker")

    monkeypatch.setattr("tracker.core.Tracker.update", broken)
    code, _, err = run_cli([video, "--detections", det, "-o", tmp_path / "out"], capsys)
    assert code == exit_codes.INTERNAL_ERROR
    assert "Traceback" in err and "internal error" in err
    s = summary_of(tmp_path / "out", "clip")
    assert s["status"] == "crashed" and s["exit_code"] == 1


def test_detection_rows_beyond_the_video_are_noted(tmp_path, capsys, synth, det_file):
    """Rule: rows for frames after the end of the video are not used; a note says so."""
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=8)
    det = det_file(tmp_path / "det.txt", 12)
    code, _, err = run_cli([video, "--detections", det, "-o", tmp_path / "out", "--no-video"], capsys)
    assert code == 0, err
    assert "rows up to frame 12, but the video ended at frame 8" in err
    code, _, err = run_cli([video, "--detections", det, "-o", tmp_path / "out", "--end", "5"], capsys)
    assert code == 0 and "rows up to frame" not in err  # --end: expected
    code, _, err = run_cli([video, "--detections", det_file(tmp_path / "det8.txt", 8), "-o", tmp_path / "out",
                            "--stride", "3"], capsys)
    assert code == 0 and "rows up to frame" not in err  # the last frame skipped by the stride is no reason
