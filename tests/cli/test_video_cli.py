"""``track SOURCE``: options, clear errors (exit 2, no traceback), and handled interrupts in a
real subprocess (SIGINT / SIGTERM finish playable files; SIGKILL leaves only .partial files)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tracker import cli
from tracker.io.mot import read_mot_file

REPO = Path(__file__).resolve().parents[2]


def run_cli(args, capsys):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_detection_file_run_and_summary(tmp_path, capsys, synth, det_file):
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=30, fps=20)
    det = det_file(tmp_path / "det.txt", 30)
    code, out, err = run_cli([video, "--detections", det, "-o", tmp_path / "out", "--end", "1s"], capsys)
    assert code == 0, err
    assert "done: 20 frames, 2 tracks" in out and "clip.txt, clip.jsonl, clip.mp4" in out
    assert "frame/s" in err or "frame" in err  # the progress bar goes to stderr
    table = read_mot_file(tmp_path / "out" / "clip.txt", "result")
    assert table.frames.max() == 20
    summary = json.loads((tmp_path / "out" / "clip.summary.json").read_text())
    assert summary["options"]["end"] == "1s" and summary["frames_processed"] == 20


def test_quiet_prints_nothing(tmp_path, capsys, synth, det_file):
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=5)
    det = det_file(tmp_path / "det.txt", 5)
    code, out, err = run_cli([video, "--detections", det, "-o", tmp_path / "o", "--quiet", "--no-video"], capsys)
    assert code == 0 and out == "" and err == ""
    assert not (tmp_path / "o" / "clip.mp4").exists()


def test_default_detector_short_clip(tmp_path, capsys, synth, shared_data):
    video = shared_data.require(shared_data.video / "vtest.avi")
    code, out, err = run_cli([video, "--end", "15", "-o", tmp_path, "--threads", "1", "--set", "min_hits=3",
                              "--set", "motion.measurement_noise=0.1"], capsys)
    assert code == 0, err
    assert synth.count_video_frames(tmp_path / "vtest.mp4") == 15
    summary = json.loads((tmp_path / "vtest.summary.json").read_text())
    assert "SSDLite" in summary["detector"] and summary["tracker_config"]["min_hits"] == 3
    assert summary["tracker_config"]["motion"]["measurement_noise"] == 0.1


@pytest.mark.parametrize("args,message", [
    (["{tmp}/missing.mp4"], "missing.mp4: not found"),
    (["{tmp}/det.txt"], "text file, not a video"),
    (["{video}", "--detections", "{tmp}/none.txt"], "detection file not found"),
    (["{video}", "--detections", "{tmp}/bad.txt"], "bad.txt:2: non-numeric field"),
    (["{video}", "--onnx", "{tmp}/none.onnx"], "ONNX model not found"),
    (["{video}", "--onnx", "{tmp}/det.txt"], "--onnx"),
    (["{video}", "--classes", "person"], "--classes only applies with an ONNX model"),
    (["{video}", "--end", "ten"], "--end: expected a frame number"),
    (["{video}", "--start", "20", "--end", "10"], "must come after --start"),
    (["{video}", "--stride", "0"], "--stride"),
    (["{video}", "--set", "high_score=7"], "high_score"),
    (["{video}", "--set", "colour=red"], "unknown tracker setting"),
    (["{video}", "--set", "motion.colour=1"], "--set"),
    (["{video}", "--set", "gps.x=1"], "unknown tracker setting"),
    (["{video}", "--tiles", "big"], "--tiles"),
    (["{video}", "--detections", "{tmp}/det.txt", "--tiles", "1x2"], "embedded detector"),
    (["{video}", "-o", "{tmp}/det.txt"], "not a folder"),
    (["{video}", "--appearance", "on", "--detections", "{tmp}/det.txt", "-o", "{tmp}/o"], None),
    (["rtsp://127.0.0.1:9/none", "--timeout", "1"], "could not be opened"),
])
def test_user_mistakes_exit_2_without_traceback(tmp_path, capsys, args, message, synth, det_file):
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=5)
    det_file(tmp_path / "det.txt", 5)
    (tmp_path / "bad.txt").write_text("1,-1,1,1,5,5,0.9\n2,-1,x,1,5,5,0.9\n")
    argv = [a.format(tmp=tmp_path, video=video) for a in args]
    code, out, err = run_cli(argv, capsys)
    if message is None:  # --appearance on: fine when the embedder ships, a clear error when it does not
        assert code in (0, 2), err
        if code == 2:
            assert "appearance" in err
        return
    assert code == 2, (out, err)
    assert message in err and "Traceback" not in err


def test_outputs_never_written_onto_the_input(tmp_path, capsys, synth, det_file):
    video = synth.write_synthetic_video(tmp_path / "clip.mp4", frames=5, codec="mp4v")
    det = det_file(tmp_path / "det.txt", 5)
    before = video.read_bytes()
    code, _, err = run_cli([video, "--detections", det, "-o", tmp_path], capsys)
    assert code == 2 and "overwrite the input" in err
    assert video.read_bytes() == before


# ------------------------------------------------------------------------------------ signals
def _start(args, cwd):
    return subprocess.Popen([sys.executable, "-m", "tracker.cli", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_progress(proc, partial: Path, min_lines: int = 5, timeout: float = 120.0) -> None:
    """Wait until the run has flushed some whole lines to ``partial``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the run ended before the signal (rc {proc.returncode}): {err[-2000:]}")
        if partial.exists() and partial.read_text().count("\n") >= min_lines:
            return
        time.sleep(0.1)
    proc.kill()
    pytest.fail("no progress written in time")


@pytest.mark.parametrize("sig,code,status", [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_interrupt_finishes_valid_playable_files(tmp_path, sig, code, status, synth, shared_data):
    video = shared_data.require(shared_data.video / "vtest.avi")
    out = tmp_path / "out"
    proc = _start([video, "-o", out, "--threads", "1", "--quiet"], cwd=tmp_path)
    _wait_for_progress(proc, out / "vtest.jsonl.partial")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["vtest.jsonl", "vtest.mp4", "vtest.summary.json", "vtest.txt"]
    summary = json.loads((out / "vtest.summary.json").read_text())
    n = summary["frames_processed"]
    assert summary["status"] == status and summary["completed"] is False and 5 <= n < 795
    assert summary["last_frame"] == n
    lines = (out / "vtest.jsonl").read_text().splitlines()
    assert len(lines) == n and json.loads(lines[-1])["frame"] == n
    table = read_mot_file(out / "vtest.txt", "result")
    assert table.frames.max(initial=0) <= n
    assert synth.count_video_frames(out / "vtest.mp4") == n


def test_sigkill_leaves_only_partial_files_of_whole_lines(tmp_path, shared_data):
    video = shared_data.require(shared_data.video / "vtest.avi")
    out = tmp_path / "out"
    proc = _start([video, "-o", out, "--threads", "1", "--quiet"], cwd=tmp_path)
    _wait_for_progress(proc, out / "vtest.txt.partial", min_lines=3)
    proc.kill()
    proc.communicate(timeout=30)
    names = sorted(p.name for p in out.iterdir())
    # the lock file stays, stale (the kernel released the lock): the next run takes it over
    assert names == [".vtest.lock", "vtest.jsonl.partial", "vtest.partial.mp4", "vtest.txt.partial"]
    for name in ("vtest.jsonl.partial", "vtest.txt.partial"):
        text = (out / name).read_text()
        assert text.endswith("\n")
    for line in (out / "vtest.jsonl.partial").read_text().splitlines():
        json.loads(line)
    assert all(line.count(",") == 9 for line in (out / "vtest.txt.partial").read_text().splitlines())


def test_show_without_a_display_is_a_clear_error(tmp_path, capsys, monkeypatch, synth, det_file):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=3)
    det = det_file(tmp_path / "det.txt", 3)
    code, _, err = run_cli([video, "--detections", det, "-o", tmp_path / "o", "--show"], capsys)
    assert code == 2 and "--show needs a display" in err
    assert not (tmp_path / "o").exists()


def _constant_yolov8_model(path: Path) -> Path:
    """A tiny YOLOv8-format ONNX model (input 1x3x128x128) that always outputs two boxes:
    class 0 at input pixels (20, 20)-(40, 60) score 0.9, class 1 at (60, 60)-(100, 90) score 0.8."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx", reason="exporting the test model needs the 'onnx' package (test extra)")

    class Constant(torch.nn.Module):
        def forward(self, x):
            zero = x.mean() * 0.0
            rows = torch.tensor([[30.0, 40.0, 20.0, 40.0, 0.9, 0.0],
                                 [80.0, 75.0, 40.0, 30.0, 0.0, 0.8]] + [[1.0, 1.0, 1.0, 1.0, 0.0, 0.0]] * 30)
            return (rows.t() + zero).unsqueeze(0)  # (1, 4 + 2, 32)

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Constant().eval(), (torch.zeros(1, 3, 128, 128),), str(path), dynamo=False,
                          opset_version=17, input_names=["images"], output_names=["output0"])
    return path


def test_onnx_detector_with_class_names_and_filter(tmp_path, capsys, synth):
    model = _constant_yolov8_model(tmp_path / "tiny.onnx")
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=6)
    out = tmp_path / "out"
    code, _, err = run_cli([video, "--onnx", model, "--class-names", "person,car", "--classes", "car",
                            "--score-threshold", "0.5", "-o", out, "--quiet"], capsys)
    assert code == 0, err
    frames = [json.loads(line) for line in (out / "clip.jsonl").read_text().splitlines()]
    tracks = [t for f in frames for t in f["tracks"]]
    assert tracks and all(t["class"] == 1 and t["class_name"] == "car" for t in tracks)
    summary = json.loads((out / "clip.summary.json").read_text())
    assert "OnnxDetector" in summary["detector"]
    code, _, err = run_cli([video, "--onnx", model, "--classes", "bicycle", "-o", tmp_path / "o2"], capsys)
    assert code == 2 and "bicycle" in err and "Traceback" not in err
