"""Track a MOTChallenge sequence from its detection file (no frames needed)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional

from tracker.config import TrackerConfig
from tracker.core import Tracker
from tracker.io.mot import load_detections, read_seqinfo


@dataclass
class SequenceRun:
    """Result of tracking one sequence: MOT rows ``(frame, id, xywh, score)`` and counts.

    tracker_seconds: time spent inside ``Tracker.update`` only."""

    name: str
    rows: List[tuple]
    frames: int
    detections: int
    tracks: int
    tracker_seconds: float
    notes: List[str]

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.tracker_seconds if self.tracker_seconds > 0 else float("inf")


def track_mot_sequence(seq_dir, config: Optional[TrackerConfig] = None, det_name: str = "det.txt",
                       min_score: Optional[float] = None, score_rescale: str = "auto",
                       tracker_factory: Optional[Callable[[TrackerConfig], Tracker]] = None) -> SequenceRun:
    """Run the tracker over every frame of ``seq_dir`` using ``det/<det_name>``.

    The sequence's real frame rate (``seqinfo.ini``) sets the timestamps ``(frame-1)/fps``;
    its frame size is passed as ``image_size``.
    """
    info = read_seqinfo(seq_dir)
    det_path = Path(seq_dir) / "det" / det_name
    dets = load_detections(det_path, min_score=min_score, score_rescale=score_rescale, seq_length=info.seq_length)
    config = (config or TrackerConfig()).replace(frame_rate=info.frame_rate)
    tracker = tracker_factory(config) if tracker_factory else Tracker(config)
    # the frame size (seqinfo.ini) normalizes boxes for the learned associator; a factory may
    # return another tracker type, which gets the plain call
    size_kw = {"image_size": (info.width, info.height)} if isinstance(tracker, Tracker) else {}
    rows, ids, n_det, spent = [], set(), 0, 0.0
    for frame in range(1, info.seq_length + 1):
        frame_dets = dets.get(frame)
        n_det += len(frame_dets)
        start = time.perf_counter()
        tracks = tracker.update(frame_dets, timestamp=(frame - 1) / info.frame_rate, **size_kw)
        spent += time.perf_counter() - start
        for tid, box, score in zip(tracks.track_ids, tracks.to_xywh(), tracks.scores):
            rows.append((frame, int(tid), box, float(score)))
            ids.add(int(tid))
    return SequenceRun(info.name, rows, info.seq_length, n_det, len(ids), spent, dets.notes())
