"""MOTChallenge result rows ``(frame, id, xywh, score)`` <-> ``TrackedFrame``s, for runners
that keep rows (``track mot``, ``track bench``)."""
from __future__ import annotations

from typing import Iterable, List, Sequence

import numpy as np

from tracker.boxes import xywh_to_xyxy
from tracker.offline.tracklets import TrackedFrame
from tracker.tracks import Tracks, TrackState


def frames_from_rows(rows: Iterable[tuple], frame_count: int, frame_rate: float) -> List[TrackedFrame]:
    """``frame_count`` frames (MOT frame ``i`` at ``(i - 1) / frame_rate`` s) holding the rows
    (1-based ``frame``, ``id``, ``(x, y, w, h)`` px, ``score``): every row observed and
    confirmed, class 0, no detection index."""
    by_frame: List[list] = [[] for _ in range(int(frame_count))]
    for frame, tid, xywh, score in rows:
        if 1 <= int(frame) <= frame_count:
            by_frame[int(frame) - 1].append((int(tid), np.asarray(xywh, np.float64), float(score)))
    out = []
    for index, items in enumerate(by_frame):
        n = len(items)
        xyxy = xywh_to_xyxy(np.asarray([b for _, b, _ in items], np.float64).reshape(n, 4)).astype(np.float32)
        ts = index / float(frame_rate)
        tracks = Tracks(np.asarray([t for t, _, _ in items], np.int64), xyxy,
                        np.asarray([s for _, _, s in items], np.float32), np.zeros(n, np.int64),
                        np.full(n, -1, np.int64), np.ones(n, bool), np.full(n, int(TrackState.CONFIRMED), np.int8),
                        index, ts)
        out.append(TrackedFrame(index, ts, tracks))
    return out


def rows_from_frames(frames: Sequence[TrackedFrame]) -> List[tuple]:
    """The MOT rows ``(frame, id, xywh, score)`` of ``frames`` in frame order."""
    rows = []
    for frame in frames:
        tracks = frame.tracks
        for tid, box, score in zip(tracks.track_ids, tracks.to_xywh(), tracks.scores):
            rows.append((frame.mot_frame, int(tid), box, float(score)))
    return rows
