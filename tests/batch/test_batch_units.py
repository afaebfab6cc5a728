"""``track batch`` pieces without models or worker processes: what SOURCES expand to, output
folder names, the resume rule, exit codes, option errors. (The real runs, both engines and
byte-identical results: ``test_batch.py``.)"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracker import cli, exit_codes
from tracker.run import OutputSpec, RunSpec, SourceSpec
from tracker.batch import BatchRun, SourceResult, Worker, WorkerSettings, completed_summary, expand_sources
from tracker.batch import worker as worker_mod
from tracker.batch.engines import Engine
from tracker.batch.sources import SourceTask, assign_folders

VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256))  # binary: a video to the expander


def video(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(VIDEO_BYTES)
    return path


def sequence(root: Path, name: str, frames: int = 4, det: bool = True, img1: bool = False) -> Path:
    seq = root / name
    (seq / "det").mkdir(parents=True)
    (seq / "seqinfo.ini").write_text(f"[Sequence]\nname={name}\nimDir=img1\nframeRate=10\nseqLength={frames}\n"
                                     "imWidth=640\nimHeight=480\nimExt=.jpg\n")
    if det:
        rows = []
        for f in range(1, frames + 1):
            rows.append(f"{f},-1,{100 + 3 * f},100,40,90,0.9,-1,-1,-1")
            rows.append(f"{f},-1,{300 - 2 * f},150,40,90,0.8,-1,-1,-1")
        (seq / "det" / "det.txt").write_text("\n".join(rows) + "\n")
    if img1:
        (seq / "img1").mkdir()
    return seq


def kinds(tasks):
    return [(t.kind, t.folder) for t in tasks]


# ---------------------------------------------------------------------------- expansion
def test_folder_expands_to_its_videos_and_sequences(tmp_path):
    video(tmp_path / "in" / "b.mp4")
    video(tmp_path / "in" / "a.avi")
    (tmp_path / "in" / "notes.md").write_text("not a video")
    sequence(tmp_path / "in", "SEQ-1")
    tasks, notes = expand_sources([str(tmp_path / "in")])
    assert kinds(tasks) == [("video", "a"), ("video", "b"), ("mot-det", "SEQ-1")]  # natural order
    assert all(Path(t.location).is_absolute() for t in tasks) and notes == []


def test_mot_root_and_mot_from_frames(tmp_path):
    sequence(tmp_path, "S1", img1=True)
    sequence(tmp_path, "S2", det=False)
    tasks, _ = expand_sources([str(tmp_path)])
    assert [(t.kind, t.folder) for t in tasks] == [("mot-det", "S1"), ("error", "S2")]
    assert "no det/det.txt" in tasks[1].error and "mot_from frames" in tasks[1].error
    tasks, _ = expand_sources([str(tmp_path)], mot_from="frames")
    assert [t.kind for t in tasks] == ["frames", "error"] and "img1" in tasks[1].error


def test_list_file_comments_relative_paths_urls_nesting(tmp_path):
    video(tmp_path / "cams" / "cam1" / "clip.mp4")
    video(tmp_path / "cams" / "cam2" / "clip.mp4")
    (tmp_path / "cams" / "more.txt").write_text("cam2/clip.mp4\n")
    (tmp_path / "cams" / "list.txt").write_text(
        "# cameras\n\ncam1/clip.mp4\nmore.txt\nrtsp://user:pw@10.0.0.7:554/live/front\n3\nmissing.mp4\n")
    tasks, _ = expand_sources([str(tmp_path / "cams" / "list.txt")])
    assert kinds(tasks) == [("video", "cam1_clip"), ("video", "cam2_clip"), ("stream", "front"),
                            ("webcam", "webcam3"), ("error", "missing")]
    assert "not found" in tasks[-1].error


def test_list_that_is_a_detection_file_or_includes_itself(tmp_path):
    (tmp_path / "det.txt").write_text("1,-1,10,10,5,5,0.9,-1,-1,-1\n")
    (tmp_path / "loop.txt").write_text("loop.txt\n")
    tasks, _ = expand_sources([str(tmp_path / "det.txt"), str(tmp_path / "loop.txt")])
    assert [t.kind for t in tasks] == ["error", "error"]
    assert "detection" in tasks[0].error and "includes itself" in tasks[1].error


def test_same_source_twice_is_tracked_once(tmp_path):
    clip = video(tmp_path / "clip.mp4")
    tasks, notes = expand_sources([str(clip), str(tmp_path / "." / "clip.mp4")])
    assert len(tasks) == 1 and "more than once" in notes[0]


def test_folder_names_are_distinct_and_stable(tmp_path):
    def task(i, path, kind="video"):
        return SourceTask(i, kind, str(path), str(path))

    paths = [tmp_path / "a" / "x" / "clip.mp4", tmp_path / "b" / "x" / "clip.mp4", tmp_path / "c" / "other.mp4",
             tmp_path / "d" / "Other.mkv"]
    names = [t.folder for t in assign_folders([task(i, p) for i, p in enumerate(paths)])]
    assert names == ["a_x_clip", "b_x_clip", "c_other", "d_Other"]
    again = [t.folder for t in assign_folders([task(i, p) for i, p in enumerate(reversed(paths))])]
    assert sorted(again) == sorted(names)
    # no parent tells them apart (streams of one host): numbered
    streams = assign_folders([task(0, "rtsp://h/live", "stream"), task(1, "rtsp://h/live", "stream")])
    assert [t.folder for t in streams] == ["h_live", "h_live_2"]


# ---------------------------------------------------------------------------- resume rule
def write_run(folder: Path, completed=True, files=("clip.txt", "clip.jsonl"), batch=None, make=True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    listed = {f"k{i}": name for i, name in enumerate(files)}
    if make:
        for name in files:
            (folder / name).write_text("1,1,0,0,1,1,1,-1,-1,-1\n")
    options = {} if batch is None else {"batch": batch}
    (folder / "clip.summary.json").write_text(json.dumps(
        {"completed": completed, "status": "completed" if completed else "crashed",
         "files": dict(listed, summary="clip.summary.json"), "options": options}))


def batch_settings(output_dir, threads=1, **source):
    """Batch settings with default options, ``source`` options (``end="30"``) changed."""
    spec = RunSpec(source=SourceSpec(**source), output=OutputSpec(output_dir=str(output_dir)))
    return WorkerSettings(spec=spec, threads=threads)


def test_resume_rule(tmp_path):
    fp = batch_settings(tmp_path).fingerprint("video")
    write_run(tmp_path / "done", batch=fp)
    assert completed_summary(tmp_path / "done", fp)[0] is not None
    write_run(tmp_path / "by_track")  # written by `track` itself: no recorded batch settings
    assert completed_summary(tmp_path / "by_track", fp)[0] is not None
    write_run(tmp_path / "crashed", completed=False)
    assert completed_summary(tmp_path / "crashed", fp)[0] is None
    write_run(tmp_path / "lost_file", batch=fp)
    (tmp_path / "lost_file" / "clip.jsonl").unlink()
    assert completed_summary(tmp_path / "lost_file", fp) == (None, "clip.summary.json: missing clip.jsonl")
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "clip.txt.partial").write_text("1,1,0,0,1,1,1,-1,-1,-1\n")
    assert completed_summary(partial, fp)[0] is None
    other = batch_settings(tmp_path, end="30").fingerprint("video")
    summary, reason = completed_summary(tmp_path / "done", other)
    assert summary is None and "settings changed" in reason
    # thread counts do not decide results: not part of the fingerprint
    assert batch_settings("x", threads=4).fingerprint("video") == batch_settings("y", threads=1).fingerprint("video")


# ---------------------------------------------------------------------------- runs without models
class InProcessEngine(Engine):
    """Runs sources in this process, one Worker: for the bookkeeping, not for speed."""

    name = "inline"

    def run(self, tasks):
        self.workers = 1
        self._reset_counts()
        w = Worker(self.settings)
        for t in tasks:
            if self.stop_reason:
                yield from self._ended_with(SourceResult.for_task(t, "not started"))
                continue
            yield from self._ended_with(w.run(t, lambda i, n: self.stop_reason))


@pytest.fixture
def no_thread_pinning(monkeypatch):
    monkeypatch.setattr(worker_mod, "pin_threads", lambda threads: None)


def test_det_sequence_run_resume_and_exit_codes(tmp_path, no_thread_pinning):
    root = tmp_path / "mot"
    sequence(root, "S1")
    sequence(root, "S2")
    out = tmp_path / "out"
    tasks, _ = expand_sources([str(root), str(tmp_path / "nope.mp4")])
    settings = batch_settings(out)
    run = BatchRun(tasks, settings, InProcessEngine(settings))
    events = list(run)
    assert [r.status for r in run.ordered()] == ["done", "done", "failed"]
    assert run.frames == 8 and sum(v for k, v in events if k == "frames") == 8
    assert run.exit_code() == exit_codes.BAD_INPUT
    assert (out / "S1" / "S1.txt").read_text().count("\n") > 0
    summary = json.loads((out / "S1" / "S1.summary.json").read_text())
    assert summary["completed"] and summary["options"]["batch"] == settings.fingerprint("mot-det")
    # same as `track mot`, byte for byte
    assert cli.main(["mot", str(root / "S1"), "--output-dir", str(tmp_path / "ref"), "--quiet"]) == 0
    assert (out / "S1" / "S1.txt").read_bytes() == (tmp_path / "ref" / "S1.txt").read_bytes()
    # rerun: complete sources are skipped; one whose MOT file went missing is redone
    (out / "S2" / "S2.txt").unlink()
    again = BatchRun(tasks[:2], settings, InProcessEngine(settings))
    list(again)
    assert [r.status for r in again.ordered()] == ["skipped", "done"] and again.exit_code() == 0
    # stopping: what has not started is reported so, and the exit code says interrupted
    stopping = BatchRun(tasks[:2], settings, InProcessEngine(settings), redo=True)
    stopping.request_stop("SIGTERM")
    list(stopping)
    assert [r.status for r in stopping.ordered()] == ["not started", "not started"]
    assert stopping.exit_code() == exit_codes.INTERRUPTED_SIGTERM


def test_cli_option_errors_exit_2(tmp_path, capsys):
    out = str(tmp_path / "out")
    src = str(video(tmp_path / "clip.mp4"))
    for extra, message in ((["--address", "auto"], "--address is for --engine ray"),
                           (["--workers", "0"], "--workers must be >= 1"),
                           (["--set", "bogus=1"], "unknown tracker setting"),
                           (["--onnx", str(tmp_path / "none.onnx")], "ONNX model not found"),
                           (["--end", "5", "--start", "9"], "must come after"),
                           (["--tiles", "9x9"], "--tiles")):
        assert cli.main(["batch", src, "-o", out, *extra]) == exit_codes.BAD_INPUT, extra
        assert message in capsys.readouterr().err, extra


def test_cli_only_unusable_sources(tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["batch", str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4"), "-o", str(out)])
    captured = capsys.readouterr()
    assert code == exit_codes.BAD_INPUT
    assert "2 source(s): 0 done, 2 failed" in captured.out and "a.mp4: not found" in captured.out
    summary = json.loads((out / "batch.summary.json").read_text())
    assert [r["status"] for r in summary["results"]] == ["failed", "failed"]


def test_status_of_a_track_summary():
    from tracker.batch.worker import status_of

    assert status_of({"completed": True, "status": "stream ended"}) == "done"
    assert status_of({"completed": False, "status": "SIGTERM"}) == "stopped"
    assert status_of({"completed": False, "status": "crashed"}) == "failed"
    assert status_of({"completed": False, "status": "truncated"}) == "incomplete"
    assert status_of({"completed": False, "status": "stream lost"}) == "incomplete"  # any other early end


def test_batch_applies_nested_set_overrides_like_track_source(tmp_path, capsys, synth):
    """`track batch --set motion.measurement_noise=0.1` (the example of its --help) works for a
    video and for a MOT sequence, and the video's results are the bytes `track VIDEO --set ...`
    writes with the same setting."""
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=6)
    seq = sequence(tmp_path / "mot", "S1")
    setting = ["--set", "motion.measurement_noise=0.1", "--set", "memory.min_similarity=0.95"]
    out = tmp_path / "batch"
    code = cli.main(["batch", str(video), str(seq), "-o", str(out), "--no-video", "-q", "--workers", "1",
                     "--appearance", "off", *setting])
    assert code == exit_codes.OK, capsys.readouterr().err
    for summary_path in (out / "clip" / "clip.summary.json", out / "S1" / "S1.summary.json"):
        config = json.loads(summary_path.read_text())["tracker_config"]
        assert config["motion"]["measurement_noise"] == 0.1 and config["memory"]["min_similarity"] == 0.95
    alone = tmp_path / "alone"
    assert cli.main([str(video), "-o", str(alone), "--no-video", "-q", "--appearance", "off", *setting]) == 0
    assert (alone / "clip.txt").read_bytes() == (out / "clip" / "clip.txt").read_bytes()
