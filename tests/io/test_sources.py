"""Frame sources: files, folders, streams, positions, errors."""
from __future__ import annotations

import os
import socket
import threading
import time

import numpy as np
import pytest

from tracker.errors import InputError
from tracker.io.sources import Position, open_source, parse_position


# ------------------------------------------------------------------------------------ positions
@pytest.mark.parametrize("text,value,unit", [
    ("0", 0, "frames"), ("123", 123, "frames"), ("12.5s", 12.5, "seconds"), ("3sec", 3, "seconds"),
    (" 7 s ", 7, "seconds"), (".5s", 0.5, "seconds"), (15, 15, "frames"),
])
def test_parse_position(text, value, unit):
    pos = parse_position(text)
    assert pos == Position(float(value), unit)


@pytest.mark.parametrize("text", ["-1", "1.5", "abc", "", "12m", "1e3", "s"])
def test_parse_position_rejects(text):
    with pytest.raises(InputError, match="--end"):
        parse_position(text, "--end")


def test_position_to_frames():
    assert parse_position("2.5s").to_frames(10) == 25
    assert parse_position("0.25s").to_frames(10) == 3  # the first frame at or after 0.25 s
    assert parse_position("40").to_frames(10) == 40


# ------------------------------------------------------------------------------------ video files
def test_video_file_frames_and_time(tmp_path, synth):
    path = synth.write_synthetic_video(tmp_path / "clip.avi", frames=30, fps=20)
    with open_source(path) as src:
        assert src.info.kind == "video" and src.info.name == "clip"
        assert (src.info.width, src.info.height) == synth.SIZE
        assert src.info.fps == 20 and src.info.fps_origin == "container"
        assert src.info.frame_count == 30 and src.expected_frames() == 30
        frames = list(src)
    assert [f.index for f in frames] == list(range(30))
    assert np.allclose([f.timestamp for f in frames], np.arange(30) / 20)
    assert frames[0].image.shape == (synth.SIZE[1], synth.SIZE[0], 3) and frames[0].image.dtype == np.uint8
    assert src.end_reason == "end"
    assert frames[3].mot_frame == 4


@pytest.mark.parametrize("start,end,stride,expected", [
    (None, "10", 1, list(range(10))),
    ("5", "12", 1, list(range(5, 12))),
    ("5", "12", 3, [5, 8, 11]),
    ("0.5s", "1s", 1, list(range(10, 20))),
    (None, None, 7, [0, 7, 14, 21, 28]),
    ("25", None, 2, [25, 27, 29]),
])
def test_video_start_end_stride(tmp_path, start, end, stride, expected, synth):
    path = synth.write_synthetic_video(tmp_path / "clip.avi", frames=30, fps=20)
    with open_source(path, start=start, end=end, stride=stride) as src:
        got = [f.index for f in src]
        assert src.expected_frames() == len(expected)
    assert got == expected


def test_video_user_fps_overrides(tmp_path, synth):
    path = synth.write_synthetic_video(tmp_path / "clip.avi", frames=5, fps=20)
    with open_source(path, fps=10) as src:
        assert src.info.fps == 10 and src.info.fps_origin == "user"
        assert [f.timestamp for f in src] == pytest.approx([0, 0.1, 0.2, 0.3, 0.4])
        assert any("overrides" in n for n in src.info.notes)


def test_truncated_video_is_reported(tmp_path, synth):
    path = synth.write_synthetic_video(tmp_path / "clip.avi", frames=60)
    data = path.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(len(data) * 0.5)])
    with open_source(cut) as src:
        frames = list(src)
    assert 0 < len(frames) < 60
    assert src.end_reason == "truncated"
    assert any("stopped" in n for n in src.info.notes)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        open_source(tmp_path / "nope.mp4")


def test_text_file_is_not_a_video(tmp_path):
    path = tmp_path / "det.txt"
    path.write_text("1,-1,10,10,20,40,0.9\n")
    with pytest.raises(InputError, match="text file, not a video.*given as detections"):
        open_source(path)


def test_empty_and_garbage_files(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        open_source(empty)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(InputError, match="OpenCV cannot"):
        open_source(junk)


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root reads anything")
def test_unreadable_file(tmp_path, synth):
    path = synth.write_synthetic_video(tmp_path / "clip.avi", frames=3)
    path.chmod(0)
    with pytest.raises(InputError, match="permission"):
        open_source(path)


def test_bad_options_name_the_parameter_not_a_flag(tmp_path, synth):
    """The library speaks to Python callers in parameter names; only the CLI shows flags."""
    path = synth.write_synthetic_video(tmp_path / "clip.avi", frames=3)
    cases = [(dict(stride=0), "stride", "stride must be a whole number >= 1, got 0"),
             (dict(fps=-5), "fps", "fps must be in (0, 1000] frames per second, got -5"),
             (dict(start="10", end="5"), "end", "end (5) must come after start (10)"),
             (dict(timeout_s=0), "timeout_s", "timeout_s must be > 0 seconds, got 0.0"),
             (dict(start="ten"), "start", "start: expected a frame number (123) or seconds (12.5s), got 'ten'")]
    for kwargs, parameter, message in cases:
        with pytest.raises(InputError) as caught:
            open_source(path, **kwargs)
        assert str(caught.value) == message and caught.value.parameter == parameter
        assert "--" not in str(caught.value)
    import tracker

    with pytest.raises(InputError, match=r"^stride must be a whole number >= 1, got 0$"):
        next(iter(tracker.track(path, stride=0)))


# ------------------------------------------------------------------------------------ folders
def test_frame_folder_sequence(tmp_path, synth):
    seq = synth.write_frame_folder(tmp_path / "SEQ-01", frames=12, fps=15)
    for given in (seq, seq / "img1"):
        with open_source(given, start="2", end="8", stride=2) as src:
            assert src.info.kind == "frames" and src.info.name == "SEQ-01"
            assert src.info.fps == 15 and src.info.fps_origin == "seqinfo"
            assert src.info.frame_count == 12
            frames = list(src)
        assert [f.index for f in frames] == [2, 4, 6]
        assert frames[0].timestamp == pytest.approx(2 / 15)


def test_frame_folder_natural_order_default_fps_and_bad_image(tmp_path, synth):
    folder = tmp_path / "shots"
    folder.mkdir()
    src_seq = synth.write_frame_folder(tmp_path / "tmpseq", frames=3, seqinfo=False)
    for i, name in enumerate(["f2.png", "f10.png", "f1.png"]):
        (folder / name).write_bytes((src_seq / "img1" / f"{i + 1:06d}.png").read_bytes())
    (folder / "f3.png").write_bytes(b"not an image")
    (folder / "notes.txt").write_text("ignored")
    with open_source(folder) as src:
        assert src.info.fps == 30 and src.info.fps_origin == "default"
        names = [p.name for p in src.files]
        frames = list(src)
    assert names == ["f1.png", "f2.png", "f3.png", "f10.png"]
    assert [f.index for f in frames] == [0, 1, 3]  # f3.png is unreadable: skipped, counted
    assert src.skipped == 1 and any("unreadable" in n for n in src.info.notes)


def test_empty_folder(tmp_path):
    with pytest.raises(InputError, match="no images"):
        open_source(tmp_path)


# ------------------------------------------------------------------------------------ live
def _silent_server():
    """A TCP server that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    conns = []

    def accept():
        while True:
            try:
                conns.append(srv.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return srv, conns


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_stream_that_does_not_answer_times_out(scheme):
    srv, conns = _silent_server()
    port = srv.getsockname()[1]
    try:
        t0 = time.monotonic()
        with pytest.raises(InputError, match="could not be opened"):
            open_source(f"{scheme}://user:secret@127.0.0.1:{port}/live", timeout_s=1.0)
        assert time.monotonic() - t0 < 8
    finally:
        srv.close()
        for c in conns:
            c.close()


def test_stream_refused_and_password_hidden():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with pytest.raises(InputError) as err:
        open_source(f"rtsp://admin:hunter2@127.0.0.1:{port}/cam", timeout_s=1.0)
    assert "hunter2" not in str(err.value) and "admin:***@" in str(err.value)


def test_unsupported_url_scheme():
    with pytest.raises(InputError, match="unsupported URL scheme"):
        open_source("ftp://example.com/video.mp4")


def test_missing_webcam():
    with pytest.raises(InputError, match="webcam 97"):
        open_source(97, timeout_s=1.0)


def test_http_stream_is_live_and_ends(tmp_path, synth):
    """A video served over HTTP is read as a live stream: wall-clock timestamps, and the end of
    the stream is reported as 'stream ended'."""
    synth.write_synthetic_video(tmp_path / "clip.avi", frames=15)
    server = synth.serve_folder(tmp_path)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/clip.avi"
        with open_source(url, timeout_s=5, end="10", stride=3) as src:
            assert src.info.kind == "stream" and src.info.live and src.info.name == "clip"
            assert src.expected_frames() == 4
            frames = list(src)
        assert [f.index for f in frames] == [0, 3, 6, 9] and src.end_reason == "end"
        assert frames[0].timestamp == 0.0 and all(b.timestamp >= a.timestamp for a, b in zip(frames, frames[1:]))
        with open_source(url, timeout_s=5) as src:
            assert len(list(src)) == 15
        assert src.end_reason == "stream ended"
    finally:
        server.shutdown()
        server.server_close()
