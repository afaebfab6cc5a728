"""Bad input that used to end in a traceback, a wrong success or a misleading message
(issue #21, sections 3-5): each case must be one line ``track: error: ...`` with exit 2 (or a
warning with exit 3), and each API case a ``ValueError`` subclass (``InputError``) naming the
argument. ``docs/reliability.md`` lists every case with its rule and the test here."""
from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

import tracker
from tracker import Detections, Tracker, TrackerConfig, cli, exit_codes
from tracker.errors import FileFormatError, InputError
from tracker.io.mot import read_mot_file, read_seqinfo
from tracker.io.sources import open_source

REPO = Path(__file__).resolve().parents[2]
FPS = 20.0


def run_cli(args, capsys):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *needles):
    assert code == exit_codes.BAD_INPUT, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "error:" in lines[0], err
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def video(tmp_path, synth):
    return synth.write_synthetic_video(tmp_path / "v.avi", frames=5, fps=FPS)


@pytest.fixture
def dets(tmp_path, det_file):
    return det_file(tmp_path / "det.txt", 5)


def mot_sequence(folder: Path, length, rate="25", width="640", height="480", gt_rows=None) -> Path:
    """A MOTChallenge sequence folder with seqinfo.ini, det/det.txt and gt/gt.txt (frames 1-3)."""
    (folder / "det").mkdir(parents=True)
    (folder / "gt").mkdir()
    (folder / "seqinfo.ini").write_text(f"[Sequence]\nname={folder.name}\nimDir=img1\nframeRate={rate}\n"
                                        f"seqLength={length}\nimWidth={width}\nimHeight={height}\nimExt=.jpg\n")
    rows = [f"{f},-1,{10 + 5 * f},20,30,60,0.9" for f in (1, 2, 3)]
    (folder / "det" / "det.txt").write_text("\n".join(rows) + "\n")
    gt = gt_rows or [f"{f},1,{10 + 5 * f},20,30,60,1,-1,-1,-1" for f in (1, 2, 3)]
    (folder / "gt" / "gt.txt").write_text("\n".join(gt) + "\n")
    return folder


# ---------------------------------------------------------------------------- 3. tracebacks
@pytest.mark.parametrize("option,value", [
    ("--end", "9" * 400),          # float() is inf: OverflowError converting to int
    ("--start", "9" * 308 + "s"),  # finite, but seconds x fps overflow
    ("--end", "9" * 308 + "s"),
])
def test_huge_positions_are_one_line_errors(video, dets, tmp_path, capsys, option, value):
    code, _, err = run_cli([video, "--detections", dets, "-o", tmp_path / "out", "--no-video", option, value], capsys)
    assert_one_line_error(code, err, option, "too large")
    assert not (tmp_path / "out").exists()


def test_webcam_index_too_big_for_opencv(capsys):
    code, _, err = run_cli(["99999999999999999999999"], capsys)
    assert_one_line_error(code, err, "too large for a webcam index")


@pytest.mark.parametrize("value", ["1e300", "1e38"])
def test_detection_coordinates_beyond_float32(video, tmp_path, capsys, value):
    det = tmp_path / "huge.txt"
    det.write_text(f"1,-1,10,10,20,20,0.9\n2,-1,{value},10,20,20,0.9\n")
    with pytest.raises(FileFormatError, match=r"huge.txt:2: box coordinates must be within"):
        read_mot_file(det)
    code, _, err = run_cli([video, "--detections", det, "-o", tmp_path / "out", "--no-video"], capsys)
    assert_one_line_error(code, err, "huge.txt:2", "within")


@pytest.mark.parametrize("key,value,needle", [
    ("rate", "nan", "frameRate"), ("rate", "0", "frameRate"), ("width", "0", "imWidth"),
    ("height", "-480", "imHeight"), ("length", "0", "seqLength"),
])
def test_seqinfo_values_no_sequence_can_have(tmp_path, capsys, key, value, needle):
    seq = mot_sequence(tmp_path / "SEQ", **{"length": "3", key: value})
    with pytest.raises(InputError, match=needle):
        read_seqinfo(seq)
    code, _, err = run_cli(["mot", seq, "--output-dir", tmp_path / "out", "--quiet"], capsys)
    assert_one_line_error(code, err, "seqinfo.ini", needle)
    assert not (tmp_path / "out").exists()


HUGE_LENGTH = 100_000_000_000  # 10^11 frames: 745 GiB of per-frame arrays, days of tracking


BEYOND_THE_DATA = 1_000_000  # a length the option accepts, far beyond 3 frames of data


def test_seq_length_option_far_beyond_the_data(tmp_path, capsys):
    seq = mot_sequence(tmp_path / "SEQ", length=3)
    gt = seq / "gt" / "gt.txt"
    code, _, err = run_cli(["eval", "--gt", gt, "--results", gt, "--seq-length", BEYOND_THE_DATA], capsys)
    assert_one_line_error(code, err, f"--seq-length {BEYOND_THE_DATA} is far beyond the last frame", "(3)",
                          "at most 10003 frames")
    code, _, err = run_cli(["eval", "--gt", gt, "--results", gt, "--seq-length", HUGE_LENGTH], capsys)
    # beyond any option's whole number: argparse's usage, then one error line
    assert code == exit_codes.BAD_INPUT and "Traceback" not in err
    assert "argument --seq-length: too large (at most 2147483647)" in err.strip().splitlines()[-1]


def test_gt_seq_length_far_beyond_the_data(tmp_path, capsys):
    seq = mot_sequence(tmp_path / "SEQ", length=HUGE_LENGTH)
    gt = seq / "gt" / "gt.txt"
    code, _, err = run_cli(["eval", "--gt", gt, "--results", gt], capsys)
    assert_one_line_error(code, err, f"seqLength {HUGE_LENGTH} is far beyond the last frame")
    results = tmp_path / "res"
    results.mkdir()
    (results / "SEQ.txt").write_text(gt.read_text())
    code, _, err = run_cli(["eval", "--gt-root", tmp_path, "--results", results], capsys)
    assert_one_line_error(code, err, f"seqLength {HUGE_LENGTH} is far beyond the last frame")


def test_track_mot_with_a_huge_seq_length_stops_at_once(tmp_path):
    """A subprocess with a time limit: the old code looped over 10^11 frames for days."""
    seq = mot_sequence(tmp_path / "SEQ", length=HUGE_LENGTH)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "tracker.cli", "mot", str(seq), "--output-dir",
                           str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == exit_codes.BAD_INPUT, done.stderr
    assert f"seqLength {HUGE_LENGTH} is far beyond the last frame in" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()


def test_plot_with_an_extension_matplotlib_cannot_write(tmp_path, capsys):
    seq = mot_sequence(tmp_path / "SEQ", length=3)
    gt = seq / "gt" / "gt.txt"
    code, out, err = run_cli(["eval", "--gt", gt, "--results", gt, "--plot", tmp_path / "out.txt"], capsys)
    assert_one_line_error(code, err, "--plot", "matplotlib cannot write .txt", ".png")
    assert out == "" and not (tmp_path / "out.txt").exists()  # refused before the evaluation


SIGNAL_ON_IMPORT = """import signal
signal.raise_signal(signal.SIG{name})
import json  # more loading after the signal, as a C extension's import would go on
DESCRIPTION = "a command whose import is interrupted"
def configure(parser):
    pass
def run(args):
    raise AssertionError("run() must not start after an interrupt during start-up")
"""


@pytest.mark.parametrize("name,expected", [("INT", exit_codes.INTERRUPTED_SIGINT),
                                           ("TERM", exit_codes.INTERRUPTED_SIGTERM)])
def test_interrupt_while_the_command_loads_exits_cleanly(tmp_path, monkeypatch, capsys, name, expected):
    """A real signal delivered while a command's module is being imported (where an interrupt
    inside a pybind11 module aborted with exit 134): a clean exit 130/143, nothing run."""
    module = f"interrupted_on_import_{name.lower()}"
    (tmp_path / f"{module}.py").write_text(SIGNAL_ON_IMPORT.format(name=name))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.SUBCOMMANDS, "interrupted", (module, "test"))
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(SystemExit("SIGTERM reached the default")))
    try:
        code = cli.main(["interrupted"])
    except (KeyboardInterrupt, SystemExit) as exc:  # the old code: the interrupt escapes main()
        code = f"escaped: {type(exc).__name__}"
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.modules.pop(module, None)
    err = capsys.readouterr().err
    assert code == expected, err
    assert "interrupted" in err and "Traceback" not in err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


def test_track_cli_imports_nothing_heavy_before_its_signal_handling():
    """``from tracker.cli import main`` (what the ``track`` script runs first) loads no C
    extension: NumPy, SciPy, OpenCV and torch come after the start-up signal handling."""
    code = ("import sys, tracker.cli; "
            "print(','.join(m for m in ('numpy', 'scipy', 'cv2', 'torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


# ---------------------------------------------------------------------------- 4. wrong behaviour
def test_range_empty_by_construction_is_refused(video, dets, tmp_path, capsys):
    """``--start 1s --end 3`` at 20 frames/s is frames 20 and 3: nothing can be in it."""
    code, _, err = run_cli([video, "--detections", dets, "-o", tmp_path / "out", "--no-video",
                            "--start", "1s", "--end", "3"], capsys)
    assert_one_line_error(code, err, "--end (3) must come after --start (1s)", "frames 3 and 20")
    with pytest.raises(InputError, match="empty range"):
        open_source(video, start="0.5s", end=10)  # frame 10 = 0.5 s at 20 frames/s


def test_no_frame_in_range_is_a_warning_with_exit_3(video, dets, tmp_path, capsys):
    code, _, err = run_cli([video, "--detections", dets, "-o", tmp_path / "out", "--no-video", "-q",
                            "--start", "100"], capsys)
    assert code == exit_codes.INCOMPLETE, err
    assert "warning: 0 frames processed" in err and "Traceback" not in err
    summary = json.loads((tmp_path / "out" / "v.summary.json").read_text())
    assert summary["frames_processed"] == 0


def test_frame_folder_whose_first_image_is_unreadable(tmp_path, capsys, synth, det_file):
    seq = synth.write_frame_folder(tmp_path / "seq", frames=6, fps=FPS)
    (seq / "img1" / "000001.png").write_bytes(b"not a png")
    dets = det_file(tmp_path / "det.txt", 6)
    out = tmp_path / "out"
    code, _, err = run_cli([seq, "--detections", dets, "-o", out, "--no-video"], capsys)
    assert code == exit_codes.OK, err
    assert "000001.png: unreadable image, skipped" in err
    summary = json.loads((out / "seq.summary.json").read_text())
    assert summary["frames_processed"] == 5 and summary["skipped_unreadable"] == 1
    frames = sorted({int(line.split(",")[0]) for line in (out / "seq.txt").read_text().splitlines()})
    assert frames[0] >= 2  # frame numbers stay those of the files: 000001.png is missing


def test_frame_folder_with_no_readable_image(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in (1, 2):
        (folder / f"{i:06d}.png").write_bytes(b"junk")
    with pytest.raises(InputError, match="none of its 2 images can be read"):
        open_source(folder)


def test_embed_eval_refuses_a_gt_without_identities(video, dets, tmp_path, capsys):
    code, out, err = run_cli(["embed-eval", video, "--gt", dets, "--step", "1"], capsys)
    assert_one_line_error(code, err, "0 identities", "at least 2")
    assert "1.000" not in out


# ---------------------------------------------------------------------------- 5. messages
@pytest.fixture
def special_paths(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    loop = tmp_path / "loop"
    os.symlink(tmp_path / "loop2", loop)
    os.symlink(loop, tmp_path / "loop2")
    return {"fifo": (fifo, "named pipe (FIFO)"), "device": (Path("/dev/zero"), "character device"),
            "loop": (loop, "symbolic link loop")}


@pytest.mark.parametrize("kind", ["fifo", "device", "loop"])
def test_special_paths_are_named_not_not_found(special_paths, video, tmp_path, capsys, kind):
    path, what = special_paths[kind]
    code, _, err = run_cli([path], capsys)
    assert_one_line_error(code, err, what)
    assert "not found" not in err
    code, _, err = run_cli([video, "--detections", path, "-o", tmp_path / "out"], capsys)
    assert_one_line_error(code, err, what)
    with pytest.raises(InputError, match=what.replace("(", r"\(").replace(")", r"\)")):
        read_mot_file(path)  # a FIFO or /dev/zero would block or never end


def test_outputs_never_replace_a_named_pipe(tmp_path, capsys):
    """``--json FIFO`` renamed a temporary over the pipe (as root, ``--json /dev/zero`` replaced
    the system's /dev/zero with a JSON file): a FIFO or device is never an output file."""
    from tracker.association.transformer import save_weights

    seq = mot_sequence(tmp_path / "SEQ", length=3)
    gt = seq / "gt" / "gt.txt"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code, _, err = run_cli(["eval", "--gt", gt, "--results", gt, "--json", fifo], capsys)
    assert_one_line_error(code, err, "named pipe (FIFO)", "refusing to replace it")
    with pytest.raises(InputError, match="refusing to replace it"):
        save_weights(fifo, {}, {}, {})
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_tiny_video_is_not_told_to_try_the_codec_that_failed(tmp_path, capsys):
    folder = tmp_path / "tiny"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i + 1:06d}.png"), np.zeros((1, 1, 3), np.uint8))
    empty = tmp_path / "det.txt"
    empty.write_text("")
    code, _, err = run_cli([folder, "--detections", empty, "-o", tmp_path / "out"], capsys)
    assert_one_line_error(code, err, "1x1", "codec 'mp4v'", "--no-video")
    assert "try --codec mp4v" not in err


def test_utf8_bom_in_a_detection_file_is_accepted(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("1,-1,10,20,30,40,0.9\n2,-1,12,20,30,40,0.8\n")
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    a, b = read_mot_file(plain), read_mot_file(bom)
    assert b.frames.tolist() == [1, 2] and np.array_equal(a.xywh, b.xywh) and np.array_equal(a.scores, b.scores)


def test_result_ids_are_parsed_as_integers(tmp_path, capsys):
    big = 2 ** 53  # 2**53 and 2**53 + 1 are the same float64
    res = tmp_path / "res.txt"
    res.write_text(f"1,{big},10,20,30,40,1,-1,-1,-1\n1,{big + 1},100,20,30,40,1,-1,-1,-1\n")
    table = read_mot_file(res, "result")
    assert table.ids.tolist() == [big, big + 1]
    gt = tmp_path / "gt.txt"
    gt.write_text("1,1,10,20,30,40,1,-1,-1,-1\n1,2,100,20,30,40,1,-1,-1,-1\n")
    code, out, err = run_cli(["eval", "--gt", gt, "--results", res], capsys)
    assert code == exit_codes.OK, err
    assert "appears twice" not in err
    over = tmp_path / "over.txt"
    over.write_text(f"1,{2 ** 63},10,20,30,40,1,-1,-1,-1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the old code overflowed with a RuntimeWarning
        with pytest.raises(FileFormatError, match=r"over.txt:1: id must be within \+-9223372036854775807"):
            read_mot_file(over, "result")


def test_garbage_weights_file_is_one_safe_line(video, tmp_path, capsys, synth):
    from tracker.association.transformer import load_weights as load_associator
    from tracker.embedding.inference import load_weights as load_embedder

    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"PK\x03\x04 this is not a weights file" * 8)
    for load in (load_embedder, load_associator):
        with pytest.raises(InputError) as info:
            load(junk)
        message = str(info.value)
        assert "not an identitrack weights file" in message and "\n" not in message
        assert "weights_only" not in message and "pickle" not in message.lower()
    gt = tmp_path / "gt.txt"
    gt.write_text("".join(f"{i + 1},{k + 1},{x},{y},{synth.SQUARE},{synth.SQUARE},1,-1,-1,-1\n"
                          for i in range(5) for k, (x, y) in enumerate(synth.square_positions(i))))
    code, _, err = run_cli(["embed-eval", video, "--gt", gt, "--step", "1", "--weights", junk], capsys)
    assert_one_line_error(code, err, "not an identitrack weights file")
    assert "weights_only" not in err


def test_ftp_in_a_batch_list_uses_the_url_rule_of_track_source(tmp_path, capsys):
    url = "ftp://example.invalid/clip.mp4"
    code, _, err = run_cli([url], capsys)
    assert_one_line_error(code, err, "unsupported URL scheme")
    listing = tmp_path / "list.txt"
    listing.write_text(url + "\n")
    code, out, err = run_cli(["batch", listing, "-o", tmp_path / "out"], capsys)
    assert f"{url}: unsupported URL scheme" in out + err
    assert "not found" not in out + err


# ---------------------------------------------------------------------------- 5. Python API
BOX = np.array([[10.0, 10.0, 50.0, 90.0]])


@pytest.mark.parametrize("size", ["640x480", (640, 480, 3), (640,), b"64", object()])
def test_image_size_of_the_wrong_form(size):
    tracker_ = Tracker()
    with pytest.raises(InputError, match=r"image_size must be \(width, height\)"):
        tracker_.update(Detections(BOX), timestamp=0.0, image_size=size)


@pytest.mark.parametrize("boxes", ["10,10,50,90", [["a", "b", "c", "d"]], np.array([["1", "2", "3", "4"]])])
def test_string_boxes_name_the_array(boxes):
    with pytest.raises(InputError, match=r"Detections\.xyxy must be numbers"):
        Detections(boxes)


def test_boxes_beyond_float32_geometry_are_refused():
    with pytest.raises(InputError, match="row 0: box .* outside"):
        Detections(np.array([[1e38, 0.0, 2e38, 10.0]]))


def test_class_id_beyond_int64():
    with pytest.raises(InputError, match=r"Detections\.class_ids must be within"):
        Detections(BOX, class_ids=[2 ** 70])


@pytest.mark.parametrize("associator", ["learned", "transformer"])
def test_timestamp_jump_of_1e200_seconds(associator):
    tracker_ = Tracker(TrackerConfig(associator=associator))
    dets = Detections(np.array([[10.0, 10.0, 50.0, 90.0], [100.0, 10.0, 140.0, 90.0]]))
    for i in range(4):
        tracker_.update(dets, timestamp=i / 25, image_size=(640, 480))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the old code: overflow, then NaN costs
        with pytest.raises(InputError, match="timestamp must be within"):
            tracker_.update(dets, timestamp=1e200, image_size=(640, 480))
        ids = tracker_.update(dets, timestamp=4 / 25, image_size=(640, 480)).track_ids  # still usable
    assert len(ids) == 2


def test_bytes_path_is_a_path_not_frames(video, synth):
    results = list(tracker.track(os.fsencode(str(video)), detector=synth.square_detector))
    assert [r.frame_index for r in results] == [0, 1, 2, 3, 4]


def test_detector_returning_a_string(video):
    with pytest.raises(InputError, match="returned str"):
        list(tracker.track(video, detector=lambda frame: "boxes"))


@pytest.mark.parametrize("index", [2 ** 80, -1])
def test_webcam_index_out_of_range_in_the_api(index, synth):
    with pytest.raises(InputError, match=r"webcam index must be in \[0, 9999\]"):
        list(tracker.track(index, detector=synth.square_detector))
