"""Writers (partial-output scheme) and drawing."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tracker.errors import InputError
from tracker.io.mot import read_mot_file
from tracker.io.writers import (
    JsonlWriter,
    MotWriter,
    VideoWriter,
    check_not_input,
    partial_text_path,
    partial_video_path,
    prepare_output_dir,
    write_summary,
)
from tracker.tracks import Tracks, TrackState
from tracker.viz import TRAIL_FORGET_FRAMES, Annotator, id_colour


def make_tracks(ids, frame_index=0, lost=()):
    ids = np.asarray(ids, np.int64)
    n = len(ids)
    xyxy = np.array([[10 + 5 * i, 10, 30 + 5 * i, 50] for i in ids], np.float32).reshape(-1, 4)
    states = np.array([TrackState.LOST if i in lost else TrackState.CONFIRMED for i in ids], np.int8)
    return Tracks(ids, xyxy, np.full(n, 0.75, np.float32), np.zeros(n, np.int64), np.arange(n),
                  np.array([i not in lost for i in ids], bool), states, frame_index, frame_index / 10)


def test_partial_names():
    assert partial_text_path(Path("o/a.txt")) == Path("o/a.txt.partial")
    assert partial_video_path(Path("o/a.mp4")) == Path("o/a.partial.mp4")


def test_mot_writer_partial_then_final(tmp_path):
    final = tmp_path / "clip.txt"
    w = MotWriter(final, flush_every_s=0.0)  # flush at every write
    w.write(1, make_tracks([1, 2]))
    w.write(2, make_tracks([]))
    w.write(3, make_tracks([2]))
    assert not final.exists()
    text = partial_text_path(final).read_text()
    assert text.endswith("\n") and len(text.splitlines()) == 3
    assert w.finish() == final
    assert not partial_text_path(final).exists()
    table = read_mot_file(final, "result")
    assert table.frames.tolist() == [1, 1, 3]
    assert table.ids.tolist() == [1, 2, 2]
    assert np.allclose(table.xywh[0], [15, 10, 20, 40])
    assert final.read_text().splitlines()[0] == "1,1,15.00,10.00,20.00,40.00,0.7500,-1,-1,-1"


def test_text_writer_buffers_whole_lines_and_abandon_keeps_partial(tmp_path):
    final = tmp_path / "clip.txt"
    w = MotWriter(final, flush_every_s=3600)  # nothing flushed until asked
    w.write(1, make_tracks([1, 2, 3]))
    assert partial_text_path(final).read_text() == ""
    w.flush()
    assert len(partial_text_path(final).read_text().splitlines()) == 3
    w.write(2, make_tracks([1]))
    kept = w.abandon()
    assert kept == partial_text_path(final) and not final.exists()
    lines = kept.read_text().splitlines(keepends=True)
    assert len(lines) == 4 and all(line.endswith("\n") and line.count(",") == 9 for line in lines)


def test_jsonl_writer(tmp_path):
    final = tmp_path / "clip.jsonl"
    w = JsonlWriter(final, class_names=["person"])
    w.write(0, 0.0, make_tracks([]))
    w.write(4, 0.4, make_tracks([7, 9], frame_index=4, lost={9}))
    w.finish()
    rows = [json.loads(line) for line in final.read_text().splitlines()]
    assert rows[0] == {"frame": 1, "index": 0, "time": 0.0, "tracks": []}
    assert rows[1]["frame"] == 5 and rows[1]["time"] == 0.4
    t7, t9 = rows[1]["tracks"]
    assert t7 == {"id": 7, "box": [45.0, 10.0, 65.0, 50.0], "score": 0.75, "class": 0, "class_name": "person",
                  "state": "confirmed", "observed": True}
    assert t9["state"] == "lost" and t9["observed"] is False


def test_video_writer_finish_decodes_every_frame(tmp_path, synth):
    final = tmp_path / "clip.mp4"
    w = VideoWriter(final, fps=10, size=(160, 120))
    assert w.partial == tmp_path / "clip.partial.mp4" and w.partial.exists()
    for i in range(12):
        w.write(synth.synthetic_frame(i))
    w.write(np.zeros((60, 80, 3), np.uint8))  # another size: resized to the first
    w.finish()
    assert final.exists() and not w.partial.exists()
    assert synth.count_video_frames(final) == 13


def test_video_writer_bad_codec(tmp_path):
    with pytest.raises(InputError, match="codec"):
        VideoWriter(tmp_path / "clip.mp4", 10, (160, 120), codec="nope!")


def test_check_not_input(tmp_path):
    src = tmp_path / "clip.mp4"
    src.write_bytes(b"x")
    with pytest.raises(InputError, match="overwrite the input"):
        check_not_input([tmp_path / "clip.mp4"], [src])
    with pytest.raises(InputError, match="overwrite the input"):
        check_not_input([tmp_path / "sub" / ".." / "clip.txt"], [tmp_path / "clip.txt"])
    check_not_input([tmp_path / "out" / "clip.mp4", tmp_path / "clip.txt"], [src, None])


def test_prepare_output_dir(tmp_path):
    assert prepare_output_dir(tmp_path / "a" / "b").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        prepare_output_dir(tmp_path / "file")


def test_summary_is_atomic_and_readable(tmp_path):
    path = write_summary(tmp_path / "s.summary.json", {"completed": True, "frames_processed": 3})
    assert json.loads(path.read_text())["completed"] is True
    assert os.stat(path).st_mode & 0o044  # readable by others like any new file (umask permitting)
    assert [p.name for p in tmp_path.iterdir()] == ["s.summary.json"]


# ------------------------------------------------------------------------------------ drawing
def test_id_colours_stable_and_distinct():
    assert id_colour(5) == id_colour(5)
    colours = [id_colour(i) for i in range(1, 30)]
    assert all(0 <= c <= 255 for col in colours for c in col)
    for a, b in zip(colours, colours[1:]):
        assert sum(abs(x - y) for x, y in zip(a, b)) > 60  # neighbours clearly different


def test_annotator_draws_on_a_copy_and_bounds_trails(synth):
    image = synth.synthetic_frame(0)
    before = image.copy()
    ann = Annotator(trail_frames=5)
    out = ann.draw(image, make_tracks([1, 2]), "frame 1")
    assert np.array_equal(image, before)  # the caller's frame is untouched
    assert out.shape == image.shape and not np.array_equal(out, image)
    assert (out[10:50, 15] != image[10:50, 15]).any()  # the box edge of track 1 is drawn
    for i in range(20):
        ann.draw(image, make_tracks([1, 100 + i], frame_index=i))
    assert all(len(t) <= 5 for t in ann._trails.values())
    for i in range(TRAIL_FORGET_FRAMES + 2):
        ann.draw(image, make_tracks([1]))
    assert ann.trail_count == 1  # tracks no longer drawn are forgotten


def test_annotator_draws_lost_tracks_and_no_trails(synth):
    ann = Annotator(trail_frames=0)
    out = ann.draw(synth.synthetic_frame(0), make_tracks([3], lost={3}))
    assert out.dtype == np.uint8 and ann.trail_count == 0


def test_rewrite_replaces_the_content_in_bounded_chunks(tmp_path):
    """The offline stage's rewrite: the online lines go, the new ones (more than one chunk)
    arrive whole and in order; at most ``REWRITE_CHUNK_LINES`` wait in memory at any time."""
    from tracker.io.writers import REWRITE_CHUNK_LINES

    final = tmp_path / "run.txt"
    w = MotWriter(final, flush_every_s=0.0)
    w._add(["online line\n"] * 10)
    w.flush()
    w.begin_rewrite()
    lines = [f"{i},1,0,0,1,1,1,-1,-1,-1\n" for i in range(1, 2 * REWRITE_CHUNK_LINES + 7)]
    most_waiting = 0
    for line in lines:
        w.rewrite([line])
        most_waiting = max(most_waiting, len(w._buffer))
    w.finish()
    assert final.read_text().splitlines(keepends=True) == lines
    assert most_waiting < REWRITE_CHUNK_LINES
    assert w.lines == len(lines)
