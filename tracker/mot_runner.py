"""Track a MOTChallenge sequence from its detection file (no frames needed).

The sequence is a source of frames without pixels (``SequenceFramesSource``: MOT frames
1..seqLength at ``(frame - 1) / frameRate`` seconds, its ``imWidth x imHeight``), the
detection file its detector (``DetectionFileDetector``), and the one frame loop
(``tracker.pipeline.TrackingSession``) runs them, as it runs a video.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional

from tracker.config import TrackerConfig
from tracker.core import Tracker
from tracker.detectors.det_file import DetectionFileDetector
from tracker.io.mot_source import SequenceFramesSource
from tracker.offline import OfflineConfig, OfflineStats, TrackedFrame, link_frames
from tracker.offline.mot_rows import rows_from_frames


@dataclass
class SequenceRun:
    """Result of tracking one sequence: MOT rows ``(frame, id, xywh, score)`` and counts.

    tracker_seconds: time spent inside ``Tracker.update`` only; offline: what the offline
    stage did (``tracker.offline.OfflineStats``), None when the rows are the online tracker's."""

    name: str
    rows: List[tuple]
    frames: int
    detections: int
    tracks: int
    tracker_seconds: float
    notes: List[str]
    offline: Optional[OfflineStats] = None

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.tracker_seconds if self.tracker_seconds > 0 else float("inf")


def track_mot_sequence(seq_dir, config: Optional[TrackerConfig] = None, det_name: str = "det.txt",
                       min_score: Optional[float] = None, score_rescale: str = "auto",
                       tracker_factory: Optional[Callable[[TrackerConfig], Tracker]] = None,
                       offline: Optional[OfflineConfig] = None) -> SequenceRun:
    """Run the tracker over every frame of ``seq_dir`` using ``det/<det_name>``.

    The sequence's real frame rate (``seqinfo.ini``) sets the timestamps ``(frame-1)/fps``;
    its frame size is passed as ``image_size``. tracker_factory: builds the tracker from the
    config (with the sequence's frame rate), e.g. with other associator weights.
    offline: link the tracklets over the whole sequence and fill gaps (``tracker.offline``)
    before the rows are formed; None: the online tracker's rows as they were reported.
    """
    from tracker.pipeline import TrackingSession

    source = SequenceFramesSource(seq_dir)
    seq = source.sequence
    try:
        detector = DetectionFileDetector(Path(seq_dir) / "det" / det_name, min_score=min_score,
                                         score_rescale=score_rescale, seq_length=seq.seq_length)
        config = (config or TrackerConfig()).replace(frame_rate=seq.frame_rate)
        tracker = tracker_factory(config) if tracker_factory else None
    except BaseException:
        source.close()
        raise
    session = TrackingSession(source, detector, config=config, embedder="off", tracker=tracker, prefetch=0)
    frames = [TrackedFrame(r.frame_index, r.timestamp, r.tracks) for r in session]
    stats = None
    if offline is not None:
        linked = link_frames(frames, offline)
        frames, stats = linked.frames, linked.stats
    rows = rows_from_frames(frames)
    ids = {row[1] for row in rows}
    return SequenceRun(seq.name, rows, seq.seq_length, session.detections, len(ids), session.timings["track"],
                       detector.detection_set.notes(), stats)
