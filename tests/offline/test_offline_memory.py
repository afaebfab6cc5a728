"""The offline stage's memory is O(tracklets), not O(frames), when its frames wait on disk
(``FileSpool``, what file runs use), and the streamed output equals the in-memory one."""
from __future__ import annotations

import tracemalloc

import numpy as np

from tracker.offline import OfflineConfig, OfflineLinker, TrackedFrame, link_frames
from tracker.offline.interpolation import GapFiller
from tracker.offline.spool import FileSpool, MemorySpool
from tracker.tracks import Tracks, TrackState

FPS = 10.0
PEOPLE = 4
#: frames where person k is unseen (a 1 s gap every 10 s): filling must work while streaming
GAP_EVERY, GAP_LENGTH = 100, 10
SPEED_PX = 0.5


def walking_frame(i: int) -> TrackedFrame:
    """Frame ``i`` of ``PEOPLE`` people walking right at ``SPEED_PX`` px/frame on separate rows, person
    ``k`` unseen for ``GAP_LENGTH`` frames in every ``GAP_EVERY`` (offset by ``k``)."""
    rows = [(k + 1, (SPEED_PX * i + 40 * k, 150.0 * k, SPEED_PX * i + 40 * k + 50, 150.0 * k + 100))
            for k in range(PEOPLE) if not (20 * k <= i % GAP_EVERY < 20 * k + GAP_LENGTH)]
    return frame_of(rows, i, FPS)


def frame_of(rows: list, i: int, fps: float) -> TrackedFrame:
    """Frame ``i`` at ``fps`` holding ``[(id, (x1, y1, x2, y2)), ...]``, all observed."""
    n = len(rows)
    tracks = Tracks(np.asarray([r[0] for r in rows], np.int64),
                    np.asarray([r[1] for r in rows], np.float32).reshape(n, 4), np.ones(n, np.float32),
                    np.zeros(n, np.int64), np.arange(n, dtype=np.int64), np.ones(n, bool),
                    np.full(n, int(TrackState.CONFIRMED), np.int8), i, i / fps)
    return TrackedFrame(i, i / fps, tracks)


def peak_bytes(frames: int, spool) -> int:
    """Peak traced allocation of the stage on ``frames`` generated frames (made on the fly and
    dropped, so only the stage holds them), output frames dropped as they are handed over."""
    tracemalloc.start()
    linker = OfflineLinker(OfflineConfig(), spool)
    for i in range(frames):
        linker.add(walking_frame(i))
    linker.finish_into(lambda frame: None)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_file_spool_memory_does_not_grow_with_frames_but_memory_spool_does():
    """4x the frames of the same 4 people: the file-spooled stage's peak grows far less than
    the frames (only its tracklet summaries grow), the in-memory one's about as much as them."""
    short, long = 1000, 4000
    peak_bytes(short, FileSpool())  # the first run loads the learned scorer's weights: not counted
    file_short, file_long = peak_bytes(short, FileSpool()), peak_bytes(long, FileSpool())
    mem_short, mem_long = peak_bytes(short, MemorySpool()), peak_bytes(long, MemorySpool())
    assert mem_long > 3.0 * mem_short  # the frames themselves: O(frames)
    assert file_long < 1.6 * file_short, (file_short, file_long)
    assert file_long < mem_long / 4


def test_streamed_output_equals_the_in_memory_output():
    """Same rows, IDs, boxes and filled rows with either spool; the gaps are filled."""
    frames = [walking_frame(i) for i in range(700)]
    in_memory = link_frames(frames, OfflineConfig()).frames
    linker = OfflineLinker(OfflineConfig(), FileSpool())
    for f in frames:
        linker.add(f)
    streamed: list = []
    stats = linker.finish_into(streamed.append)
    assert stats.filled_rows > 0 and len(streamed) == len(frames) == len(in_memory)
    for a, b in zip(in_memory, streamed):
        assert a.frame_index == b.frame_index and a.timestamp == b.timestamp
        np.testing.assert_array_equal(a.tracks.track_ids, b.tracks.track_ids)
        np.testing.assert_array_equal(a.tracks.xyxy, b.tracks.xyxy)
        np.testing.assert_array_equal(a.tracks.observed, b.tracks.observed)
    # every gap of GAP_LENGTH frames (1 s, under max_fill_s) is filled: all people in every frame
    assert all(len(f.tracks) == PEOPLE for f in streamed[GAP_EVERY:-GAP_EVERY])


def test_gap_filler_hands_over_a_frame_only_when_no_later_observation_can_fill_it():
    """max_fill_s 0.5 at 10 fps: frame 0 is final once frame 6 (0.6 s) is seen, not at frame 5;
    an observation at frame 5 still fills frames 1-4 (hand-computed boxes)."""
    filler = GapFiller(0.5)
    filler.add_frame(0, 0.0)
    filler.observe(7, 0, [0.0, 0.0, 10.0, 10.0], 0)
    for pos in range(1, 5):
        filler.add_frame(pos, pos / FPS)
    filler.add_frame(5, 0.5)
    assert not filler.final(0.0, 0.5)
    filler.observe(7, 5, [50.0, 0.0, 60.0, 10.0], 0)
    assert filler.final(0.0, 0.6)
    assert filler.take(0) == []
    for pos in range(1, 5):
        (identity, box, class_id), = filler.take(pos)
        assert identity == 7 and class_id == 0
        np.testing.assert_allclose(box, [10.0 * pos, 0.0, 10.0 * pos + 10.0, 10.0])
    assert filler.rows == 4


def test_file_spool_reads_back_what_it_wrote_in_order():
    spool = FileSpool()
    linker = OfflineLinker(OfflineConfig(link=False), spool)
    for i in range(30):
        linker.add(walking_frame(i))
    assert len(spool) == 30 and spool.size_bytes > 0
    out: list = []
    linker.finish_into(out.append)
    assert [f.frame_index for f in out] == list(range(30))


#: the busy scene's frame rate and the frames each person stays in view (2 s)
CHURN_FPS, CHURN_LIFE = 30.0, 60


def churn_frame(i: int) -> TrackedFrame:
    """Frame ``i`` of a busy scene at ``CHURN_FPS``: ``PEOPLE`` people at a time, each in view
    for ``CHURN_LIFE`` frames with a new ID, so the tracklets grow with the frames."""
    rows = []
    for k in range(PEOPLE):
        life, age = divmod(i + 15 * k, CHURN_LIFE)
        rows.append((1 + k + PEOPLE * life, (40.0 * k + 2.0 * age, 100.0, 40.0 * k + 2.0 * age + 50, 200.0)))
    return frame_of(rows, i, CHURN_FPS)


def test_memory_per_tracklet_is_a_summary_not_its_observations():
    """About 400 tracklets of 60 rows each: the file-spooled stage holds a summary per tracklet
    (about 4 kB), not the observations of its velocity windows (about 10 kB more per tracklet
    at 30 fps before they are reduced to the fitted velocities)."""
    frames = 6000
    OfflineLinker(OfflineConfig(), FileSpool()).finish_into(lambda f: None)  # weights loaded before tracing
    tracemalloc.start()
    linker = OfflineLinker(OfflineConfig(link=False), FileSpool())
    for i in range(frames):
        linker.add(churn_frame(i))
    stats = linker.finish_into(lambda frame: None)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert stats.tracklets >= 400
    assert peak / stats.tracklets < 6500, peak / stats.tracklets


def test_pack_and_unpack_keep_every_field_and_dtype():
    import dataclasses

    from tracker.camera_motion import CameraMotion
    from tracker.offline.spool import SpooledFrame, pack, unpack

    frame = walking_frame(3)
    motion = CameraMotion(np.array([[1.0, 0.0, 4.5], [0.0, 1.0, -2.0]]), "ok", 37)
    tracks = dataclasses.replace(frame.tracks, camera_motion=motion, shot=2, cut=True)
    frame = TrackedFrame(frame.frame_index, frame.timestamp, tracks)
    item = SpooledFrame(frame, np.arange(len(tracks), dtype=np.int32) - 1, np.diag([2.0, 2.0, 1.0]))
    back = unpack(pack(item))
    for name in ("track_ids", "xyxy", "scores", "class_ids", "det_index", "observed", "states"):
        a, b = getattr(tracks, name), getattr(back.frame.tracks, name)
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), name
    assert back.labels.dtype == np.int32 and list(back.labels) == list(item.labels)
    np.testing.assert_array_equal(back.to_scene, item.to_scene)
    assert (back.frame.frame_index, back.frame.timestamp, back.frame.tracks.shot, back.frame.tracks.cut) == \
        (3, 0.3, 2, True)
    np.testing.assert_array_equal(back.frame.tracks.camera_motion.matrix, motion.matrix)
    assert back.frame.tracks.camera_motion[1:] == ("ok", 37)
