"""Outputs never overwrite inputs, concurrent runs cannot corrupt each other, and a frame's
results reach every text file or none (issue #21, sections 1, 2 and the sink item of 4;
``docs/reliability.md``, "Command line: outputs" and "Output paths and locks").

Data-loss cases compare the input files byte for byte before and after; concurrency cases
run real ``track`` processes (one stopped with SIGSTOP while it holds its lock)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tracker import cli, exit_codes
from tracker.errors import InputError
from tracker.io.writers import JsonlWriter, MotWriter
from tracker.pipeline import FileRun, IterableSource
from tracker.tracks import Tracks

REPO = Path(__file__).resolve().parents[2]
#: frames of the first of two concurrent runs: long enough that it is still running when the
#: test stops it (SIGSTOP) right after its first files appear
FIRST_RUN_FRAMES = 300
PACKAGE_DIR = REPO / "tracker"
# the modules of the rule and of the lock are imported inside the tests that use them, so that
# every other test runs (and fails for its own reason) on code without them


# ------------------------------------------------------------------------------------ helpers
def run_cli(args, capsys):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(code, err, *names):
    """Exit 2, one line ``...: error: ...`` naming every path in ``names``, no traceback."""
    assert code == exit_codes.BAD_INPUT, err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if ": error: " in line]
    assert len(lines) == 1, err
    for name in names:
        assert str(name) in lines[0], (name, err)


def snapshot(*paths) -> dict:
    return {Path(p): Path(p).read_bytes() for p in paths}


def assert_unchanged(before: dict) -> None:
    for path, data in before.items():
        assert path.read_bytes() == data, f"{path} was overwritten"


@pytest.fixture
def det_rows(synth):
    """``det_rows(frames)``: the text of a detection file of the squares' first ``frames`` frames."""

    def rows(frames: int) -> str:
        return "".join(f"{i + 1},-1,{x},{y},{synth.SQUARE},{synth.SQUARE},0.9\n"
                       for i in range(frames) for x, y in synth.square_positions(i))

    return rows


def make_sequence(root: Path, folder: str, name: str = None, frames: int = 6) -> Path:
    """A MOTChallenge sequence folder: seqinfo.ini (``name=``), det/det.txt, gt/gt.txt."""
    seq = root / folder
    (seq / "det").mkdir(parents=True)
    (seq / "gt").mkdir()
    (seq / "seqinfo.ini").write_text(f"[Sequence]\nname={name or folder}\nimDir=img1\nframeRate=10\n"
                                     f"seqLength={frames}\nimWidth=640\nimHeight=480\nimExt=.jpg\n")
    det, gt = [], []
    for f in range(1, frames + 1):
        det.append(f"{f},-1,{100 + 3 * f},100,40,90,0.9,-1,-1,-1\n")
        gt.append(f"{f},1,{100 + 3 * f},100,40,90,1,1,1\n")
    (seq / "det" / "det.txt").write_text("".join(det))
    (seq / "gt" / "gt.txt").write_text("".join(gt))
    return seq


@pytest.fixture
def video_with_detections(synth, det_rows):
    """``video_with_detections(folder, frames)``: ``folder/clip.avi`` and its ``folder/det.txt``."""

    def make(folder: Path, frames: int):
        folder.mkdir(parents=True, exist_ok=True)
        video = synth.write_synthetic_video(folder / "clip.avi", frames=frames)
        det = folder / "det.txt"
        det.write_text(det_rows(frames))
        return video, det

    return make


def track_process(video: Path, det: Path, out: Path, *extra) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-m", "tracker.cli", str(video), "--detections", str(det), "-o", str(out),
                             "-q", "--no-video", *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def hold_lock_process(folder: Path, stem: str) -> subprocess.Popen:
    """A real process that takes the lock of ``stem`` in ``folder`` and holds it until its stdin closes."""
    code = textwrap.dedent(f"""
        import sys
        from tracker.io.output_lock import OutputLock
        lock = OutputLock({str(folder)!r}, {stem!r}).acquire()
        print("locked", flush=True)
        sys.stdin.read()
        lock.release()
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def blocked_on_a_lock() -> bool:
    """True when some process waits for a file lock (Linux lists blocked requests with ``->``
    in /proc/locks)."""
    try:
        return any("->" in line for line in Path("/proc/locks").read_text().splitlines())
    except OSError:
        return True


@pytest.fixture
def jsonl_frames(whole_lines):
    """``jsonl_frames(path)``: the frame numbers of a JSON-lines file (whole lines only)."""
    return lambda path: [json.loads(line)["frame"] for line in whole_lines(path)]


@pytest.fixture
def mot_frames(whole_lines):
    """``mot_frames(path)``: the sorted frame numbers of a MOT file (whole lines only)."""
    return lambda path: sorted({int(line.split(",")[0]) for line in whole_lines(path)})


# ------------------------------------------------------------------------------------ the rule
def test_the_output_path_rule(tmp_path):
    """The library rule: same path, a symbolic link, a hard link, a package file, outside the
    output folder are refused; names from inputs become one path component."""
    from tracker.io.output_paths import OutputGuard, OutputPathError, safe_component

    inp = tmp_path / "gt.txt"
    inp.write_text("1,1,1,1,1,1,1,1,1\n")
    (tmp_path / "link.txt").symlink_to(inp)
    os.link(inp, tmp_path / "hard.txt")
    guard = OutputGuard([inp], root=tmp_path)
    for out in (inp, tmp_path / "sub" / ".." / "gt.txt", tmp_path / "link.txt", tmp_path / "hard.txt"):
        with pytest.raises(OutputPathError, match="would overwrite the input"):
            guard.check(out, "--json")
    with pytest.raises(OutputPathError, match="outside the output folder"):
        guard.check(tmp_path / ".." / "escaped.txt")
    with pytest.raises(OutputPathError, match="installed tracker package"):
        OutputGuard().check(PACKAGE_DIR / "models" / "new.npz")
    assert guard.check(tmp_path / "results.txt") == tmp_path / "results.txt"
    assert isinstance(OutputPathError("x"), InputError)
    for hostile, safe in (("../../escaped", "escaped"), ("a/b\\c", "a_b_c"), ("..", "output"), ("", "output"),
                          (".hidden", "hidden"), ("MOT17-02-FRCNN", "MOT17-02-FRCNN"), ("x" * 300, "x" * 200)):
        assert safe_component(hostile) == safe
        assert os.sep not in safe_component(hostile)


# ------------------------------------------------------------------------------------ 1. eval / embed-eval
@pytest.mark.parametrize("target", ["gt", "results", "seqinfo"])
def test_eval_json_never_overwrites_gt_or_results(tmp_path, capsys, target):
    root = tmp_path / "mot"
    seq = make_sequence(root, "S1")
    results = tmp_path / "res"
    results.mkdir()
    (results / "S1.txt").write_text((seq / "gt" / "gt.txt").read_text())
    path = {"gt": seq / "gt" / "gt.txt", "results": results / "S1.txt", "seqinfo": seq / "seqinfo.ini"}[target]
    before = snapshot(seq / "gt" / "gt.txt", results / "S1.txt", seq / "seqinfo.ini")
    code, _, err = run_cli(["eval", "--gt-root", root, "--results", results, "--json", path], capsys)
    assert_refused(code, err, "--json", path)
    assert_unchanged(before)
    code, _, err = run_cli(["eval", "--gt-root", root, "--results", results, "--plot", path], capsys)
    assert_refused(code, err, "--plot", path)
    assert_unchanged(before)


def test_embed_eval_json_never_overwrites_its_gt(tmp_path, capsys, synth):
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=10)
    gt = tmp_path / "gt.txt"
    gt.write_text("".join(f"{i + 1},{k + 1},{x},{y},{synth.SQUARE},{synth.SQUARE},1,1,1\n"
                          for i in range(10) for k, (x, y) in enumerate(synth.square_positions(i))))
    before = snapshot(gt)
    code, _, err = run_cli(["embed-eval", video, "--gt", gt, "--json", gt, "--no-probe", "--no-random", "--step", "5",
                            "--threads", "1"], capsys)
    assert_refused(code, err, "--json", gt)
    assert_unchanged(before)


def test_embed_eval_record_never_overwrites_an_input_beside_the_weights(tmp_path, capsys, synth):
    """``--record`` updates ``W.pt`` (on purpose) and rewrites ``W.json`` beside it: here the gt."""
    from tracker.embedding.inference import save_weights
    from tracker.embedding.model import EncoderConfig, PatchEncoder

    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=10)
    weights = tmp_path / "w.pt"
    save_weights(weights, PatchEncoder(EncoderConfig()).eval(), {})
    gt = tmp_path / "w.json"
    gt.write_text("".join(f"{i + 1},{k + 1},{x},{y},{synth.SQUARE},{synth.SQUARE},1,1,1\n"
                          for i in range(10) for k, (x, y) in enumerate(synth.square_positions(i))))
    before = snapshot(gt, weights)
    code, _, err = run_cli(["embed-eval", video, "--gt", gt, "--weights", weights, "--record", "--no-probe",
                            "--no-random", "--step", "5", "--threads", "1"], capsys)
    assert_refused(code, err, "--record", gt)
    assert_unchanged(before)


# ------------------------------------------------------------------------------------ 1. batch
def test_batch_list_file_where_a_result_goes_is_not_overwritten(tmp_path, capsys):
    """A list file at DIR/<stem>/<stem>.txt: that source is refused, the list kept."""
    seq = make_sequence(tmp_path / "mot", "S1")
    out = tmp_path / "out"
    listing = out / "S1" / "S1.txt"
    listing.parent.mkdir(parents=True)
    listing.write_text(f"{seq}\n")
    before = snapshot(listing, seq / "det" / "det.txt")
    code, _, err = run_cli(["batch", listing, "-o", out, "-q"], capsys)
    assert code == exit_codes.BAD_INPUT and "Traceback" not in err, err
    assert_unchanged(before)
    report = json.loads((out / "batch.summary.json").read_text())["results"][0]
    assert report["status"] == "failed", report
    assert f"would overwrite the input {os.path.realpath(listing)}" in report["error"], report


def test_batch_list_named_like_the_batch_summary_is_not_overwritten(tmp_path, capsys):
    seq = make_sequence(tmp_path / "mot", "S1")
    out = tmp_path / "out"
    out.mkdir()
    listing = out / "batch.summary.json"
    listing.write_text(f"{seq}\n")
    before = snapshot(listing)
    code, _, err = run_cli(["batch", listing, "-o", out, "-q"], capsys)
    assert_refused(code, err, out / "batch.summary.json")
    assert_unchanged(before)
    assert not (out / "S1").exists()  # refused before anything was written


# ------------------------------------------------------------------------------------ 1. track mot
def test_mot_name_from_seqinfo_cannot_replace_the_detections(tmp_path, capsys):
    """``name=det`` with ``--output-dir SEQ/det`` would write SEQ/det/det.txt."""
    seq = make_sequence(tmp_path / "mot", "S1", name="det")
    before = snapshot(seq / "det" / "det.txt", seq / "seqinfo.ini")
    code, _, err = run_cli(["mot", seq, "--output-dir", seq / "det", "--quiet", "--associator", "iou"], capsys)
    assert_refused(code, err, seq / "det" / "det.txt")
    assert_unchanged(before)


def test_mot_name_from_seqinfo_stays_inside_the_output_folder(tmp_path, capsys):
    """``name=../../escaped`` wrote two folders above --output-dir; now it is one component."""
    seq = make_sequence(tmp_path / "mot", "S1", name="../../escaped")
    out = tmp_path / "a" / "b" / "out"
    code, _, err = run_cli(["mot", seq, "--output-dir", out, "--quiet", "--associator", "iou"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["escaped.txt"]
    assert list(tmp_path.rglob("escaped*")) == [out / "escaped.txt"]


def test_batch_mot_name_from_seqinfo_stays_inside_its_folder(tmp_path, capsys):
    seq = make_sequence(tmp_path / "mot", "S1", name="../../escaped")
    out = tmp_path / "x" / "out"
    code, _, err = run_cli(["batch", seq, "-o", out, "-q"], capsys)
    assert code == 0, err
    assert (out / "S1" / "escaped.txt").is_file() and (out / "S1" / "escaped.summary.json").is_file()
    assert [p for p in tmp_path.rglob("escaped*") if out not in p.parents] == []


def test_bench_seqinfo_name_never_names_a_path(tmp_path, capsys):
    """``track bench`` wrote ``<tracker>/<name=>.txt``: ``../../escaped`` left the output
    folder (and the evaluation, which reads ``<SEQ folder>.txt``, failed with a traceback)."""
    root = tmp_path / "mot"
    make_sequence(root, "S1", name="../../escaped")
    out = tmp_path / "a" / "b" / "out"
    code, _, err = run_cli(["bench", "--mot-root", root, "--trackers", "ours-iou", "--output-dir", out, "--no-docs",
                            "--quiet"], capsys)
    assert code == 0, err
    assert (out / "ours-iou" / "S1.txt").is_file()
    assert list(tmp_path.rglob("escaped*")) == []


# ------------------------------------------------------------------------------------ 1. train
def test_train_metadata_never_overwrites_an_input_json(tmp_path, capsys, synth, det_rows):
    """``--output X.pt`` writes ``X.json`` beside it: a detection file named X.json is an input."""
    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=12)
    det = tmp_path / "w.json"
    det.write_text(det_rows(12))
    before = snapshot(det, video)
    code, _, err = run_cli(["train", video, "--detections", det, "--output", tmp_path / "w.pt", "--steps", "1",
                            "--batch-size", "4", "--queue-size", "8", "--no-progress", "--no-cache",
                            "--threads", "1"], capsys)
    assert_refused(code, err, "--output", det)
    assert_unchanged(before)
    assert not (tmp_path / "w.pt").exists()


def test_train_associator_never_writes_into_the_package_or_onto_an_input(tmp_path, capsys):
    root = tmp_path / "mot"
    make_sequence(root, "S1")
    heldout = tmp_path / "h.json"
    heldout.write_text('{"fold": 1}\n')
    before = snapshot(heldout)
    code, _, err = run_cli(["train-associator", "--mot-root", root, "--output", tmp_path / "h.npz",
                            "--heldout-json", heldout, "--epochs", "1"], capsys)
    assert_refused(code, err, "--output", heldout)
    assert_unchanged(before)
    shipped = PACKAGE_DIR / "models" / "associator" / "associator.npz"
    code, _, err = run_cli(["train-associator", "--mot-root", root, "--output", shipped, "--epochs", "1"], capsys)
    assert_refused(code, err, "--output", "installed tracker package")


# ------------------------------------------------------------------------------------ 2. locks
def test_second_run_into_the_same_folder_is_refused_naming_the_holder(tmp_path, wait_for, video_with_detections,
                                                                       jsonl_frames):
    """A real first run, stopped (SIGSTOP) while it holds its lock: the second run exits 2 with
    the folder and the holder's pid; the first then finishes with its own results."""
    video_a, det_a = video_with_detections(tmp_path / "a", FIRST_RUN_FRAMES)
    video_b, det_b = video_with_detections(tmp_path / "b", 40)
    out = tmp_path / "out"
    first = track_process(video_a, det_a, out)
    try:
        assert wait_for(lambda: (out / "clip.txt.partial").is_file(), timeout=60)  # the lock is taken before
        first.send_signal(signal.SIGSTOP)
        second = track_process(video_b, det_b, out)
        _, err = second.communicate(timeout=120)
        assert second.returncode == exit_codes.BAD_INPUT, err
        assert f"{out}: another track run (pid {first.pid})" in err and "--wait" in err and "Traceback" not in err
    finally:
        first.send_signal(signal.SIGCONT)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert jsonl_frames(out / "clip.jsonl") == list(range(1, FIRST_RUN_FRAMES + 1))
    summary = json.loads((out / "clip.summary.json").read_text())
    assert summary["frames_processed"] == FIRST_RUN_FRAMES and summary["completed"]
    assert not (out / ".clip.lock").exists()


def test_wait_runs_after_the_first_and_each_file_is_whole(tmp_path, wait_for, video_with_detections, jsonl_frames,
                                                          mot_frames):
    """The case of the issue (a long and a 40-frame run into one folder), with --wait: the
    second waits for the first; the final files are the second run's, whole."""
    video_a, det_a = video_with_detections(tmp_path / "a", FIRST_RUN_FRAMES)
    video_b, det_b = video_with_detections(tmp_path / "b", 40)
    out = tmp_path / "out"
    first = track_process(video_a, det_a, out)
    try:
        assert wait_for(lambda: (out / "clip.txt.partial").is_file(), timeout=60)  # the lock is taken before
        first.send_signal(signal.SIGSTOP)
        second = track_process(video_b, det_b, out, "--wait")
        assert wait_for(blocked_on_a_lock, timeout=60)  # the second is waiting for the first's lock
        assert second.poll() is None
    finally:
        first.send_signal(signal.SIGCONT)
    _, err_first = first.communicate(timeout=120)
    _, err_second = second.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, (err_first, err_second)
    assert jsonl_frames(out / "clip.jsonl") == list(range(1, 41))
    assert set(mot_frames(out / "clip.txt")) <= set(range(1, 41)) and mot_frames(out / "clip.txt")[-1] == 40
    summary = json.loads((out / "clip.summary.json").read_text())
    assert summary["frames_processed"] == 40 and summary["completed"]
    assert all((out / name).is_file() for name in summary["files"].values())
    assert not list(out.glob("*.partial"))


def test_lock_of_a_killed_run_is_taken_over(tmp_path, capsys, wait_for, video_with_detections, jsonl_frames):
    """SIGKILL leaves the lock file behind; the kernel released the flock: the next run goes on."""
    video, det = video_with_detections(tmp_path / "a", FIRST_RUN_FRAMES)
    out = tmp_path / "out"
    first = track_process(video, det, out)
    assert wait_for(lambda: (out / "clip.txt.partial").is_file(), timeout=60)
    first.send_signal(signal.SIGSTOP)
    first.kill()
    first.communicate(timeout=60)
    assert (out / ".clip.lock").read_text().strip() == str(first.pid)  # stale: its holder is dead
    code, _, err = run_cli([video, "--detections", det, "-o", out, "-q", "--no-video"], capsys)
    assert code == 0, err
    assert jsonl_frames(out / "clip.jsonl") == list(range(1, FIRST_RUN_FRAMES + 1))


def test_file_run_api_refuses_or_waits(tmp_path, synth, jsonl_frames):
    """The Python API: ``FileRun`` raises ``OutputBusyError`` (an ``InputError``) while another
    process holds the stem's lock, before creating any file."""
    from tracker.io.output_lock import OutputBusyError

    out = tmp_path / "out"
    out.mkdir()
    holder = hold_lock_process(out, "frames")
    try:
        frames = (synth.synthetic_frame(i) for i in range(5))
        with pytest.raises(OutputBusyError, match=rf"another track run \(pid {holder.pid}\)"):
            FileRun(IterableSource(frames, fps=10), synth.square_detector, output_dir=out, video=False)
        assert sorted(p.name for p in out.iterdir()) == [".frames.lock"]
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    frames = (synth.synthetic_frame(i) for i in range(5))
    with FileRun(IterableSource(frames, fps=10), synth.square_detector, output_dir=out, video=False, wait=True) as run:
        for _ in run:
            pass
    assert run.summary["completed"] and jsonl_frames(out / "frames.jsonl") == [1, 2, 3, 4, 5]


def test_second_batch_into_the_same_folder_is_refused_or_waits(tmp_path, capsys):
    seq = make_sequence(tmp_path / "mot", "S1")
    out = tmp_path / "out"
    out.mkdir()
    holder = hold_lock_process(out, "batch")
    try:
        code, _, err = run_cli(["batch", seq, "-o", out, "-q"], capsys)
        assert_refused(code, err, out, f"pid {holder.pid}")
        assert not (out / "S1").exists() and not (out / "batch.summary.json").exists()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
        waiting = subprocess.Popen([sys.executable, "-m", "tracker.cli", "batch", str(seq), "-o", str(out), "-q",
                                    "--wait"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    _, err = waiting.communicate(timeout=180)
    assert waiting.returncode == 0, err
    assert json.loads((out / "batch.summary.json").read_text())["counts"]["done"] == 1


# ------------------------------------------------------------------------------------ 4. sinks
def _tracks(i: int, n: int = 2) -> Tracks:
    ids = np.arange(1, n + 1)
    xyxy = np.array([[10 * k, 10, 10 * k + 8, 30] for k in ids], np.float32)
    return Tracks(ids, xyxy, np.full(n, 0.9, np.float32), np.zeros(n, np.int64), np.arange(n), np.ones(n, bool),
                  np.full(n, 1, np.int8), i, i / 10)


def test_a_frame_goes_to_every_text_file_or_to_none(tmp_path, jsonl_frames, mot_frames):
    """Writer level: the JSONL file starts failing (its descriptor now points at /dev/full, a
    real ENOSPC); the frame whose JSONL write failed is not left in the MOT file either."""
    from tracker.io.writers import FrameSinks

    mot = MotWriter(tmp_path / "r.txt")
    jsonl = JsonlWriter(tmp_path / "r.jsonl")
    sinks = FrameSinks([mot, jsonl], flush_every_s=0.0)
    for frame in range(3):
        tracks = _tracks(frame)
        sinks.write_frame([mot.encode(frame + 1, tracks), jsonl.encode(frame, frame / 10, tracks)])
    full = os.open("/dev/full", os.O_WRONLY)
    os.dup2(full, jsonl._fd)
    os.close(full)
    with pytest.raises(InputError, match="No space left on device"):
        sinks.write_frame([mot.encode(4, _tracks(3)), jsonl.encode(3, 0.3, _tracks(3))])
    sinks.close()
    assert mot_frames(mot.partial) == [1, 2, 3] and jsonl_frames(jsonl.partial) == [1, 2, 3]
    assert sinks.frames_in_files == 3


def test_output_error_leaves_partials_and_summary_agreeing(tmp_path, synth, jsonl_frames, mot_frames):
    """FileRun: after an output error the .txt.partial, the .jsonl.partial and the summary
    agree on the frames written (the .txt used to hold one frame more)."""
    out = tmp_path / "out"
    frames = (synth.synthetic_frame(i) for i in range(20))
    run = FileRun(IterableSource(frames, fps=10), synth.square_detector, output_dir=out, video=False, flush_every_s=0.0)
    with pytest.raises(InputError, match="No space left on device"):
        with run:
            for result in run:
                if result.frame_index == 5:
                    full = os.open("/dev/full", os.O_WRONLY)
                    os.dup2(full, run.jsonl._fd)
                    os.close(full)
    summary = json.loads((out / "frames.summary.json").read_text())
    assert summary["status"] == "output error"
    written = jsonl_frames(out / "frames.jsonl.partial")
    assert written == list(range(1, 7))
    assert mot_frames(out / "frames.txt.partial")[-1] == 6  # frame 1 has no confirmed track yet
    assert summary["frames_processed"] == summary["frames_in_files"] == len(written)


def test_really_full_disk_leaves_partials_and_summary_agreeing(tmp_path, capsys, tiny_tmpfs, video_with_detections,
                                                               jsonl_frames, mot_frames):
    """The same through ``track`` on a real full tmpfs (skipped where mounting is not allowed)."""
    video, det = video_with_detections(tmp_path / "in", 400)
    with tiny_tmpfs(tmp_path / "small", size="64k") as small:
        if small is None:
            pytest.skip("cannot mount a tmpfs here (needs root with mount rights)")
        out = small / "out"
        code, _, err = run_cli([video, "--detections", det, "-o", out, "--no-video"], capsys)
        assert code == exit_codes.BAD_INPUT and "Traceback" not in err, err
        written = jsonl_frames(out / "clip.jsonl.partial")
        assert written == list(range(1, len(written) + 1))
        assert mot_frames(out / "clip.txt.partial")[-1:] == written[-1:]  # the same last frame
        if (out / "clip.summary.json").is_file():
            assert json.loads((out / "clip.summary.json").read_text())["frames_in_files"] == len(written)
        assert f"the results of {len(written)} of them are kept" in err or \
            f"{len(written)} frames were processed; their results are kept" in err


def test_a_fifo_where_an_output_goes_is_never_replaced(tmp_path, capsys):
    """The rule of every writing command: an output path that is a FIFO (or device) is refused,
    never renamed over (a `track` run into a folder holding a FIFO named like its results)."""
    import os

    from tracker.io.output_paths import OutputGuard, OutputPathError

    fifo = tmp_path / "out" / "clip.txt"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    with pytest.raises(OutputPathError, match="named pipe"):
        OutputGuard([], root=tmp_path / "out").check(fifo, "output_dir")
    assert fifo.is_fifo()
