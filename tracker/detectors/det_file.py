"""Detections read from a MOTChallenge ``det.txt`` (research, or a user's own detector).

The file is read once (``tracker.io.mot.load_detections``: validation, score rescaling,
duplicates). ``detector(frame, frame_index=i)`` returns the detections of decoded frame ``i``
(0-based: MOT frame ``i + 1``), as every detector is called; without an index, the next frame's
(the first call is MOT frame 1, the second frame 2, ...; frames missing from the file have no
detections); ``at(f)`` returns 1-based MOT frame ``f`` directly. The frame itself is only used to check its type and,
with ``clip=True``, to clip boxes; ``None`` is accepted when there are no images.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import numpy as np

from tracker.detections import Detections
from tracker.detectors.base import BaseDetector, validate_frame
from tracker.io.mot import SCORE_RESCALE_MODES, DetectionSet, load_detections


class DetectionFileDetector(BaseDetector):
    """Replays a MOTChallenge detection file frame by frame.

    path: ``det.txt`` (``frame,id,x,y,w,h[,score[,class,...]]``, 1-based frames), or a
        ``DetectionSet`` already loaded (then ``min_score``, ``score_rescale``, ``seq_length`` were
        applied when it was loaded).
    min_score: drop detections with a (rescaled) score below this (None keeps all).
    score_rescale: ``auto`` | ``none`` | ``minmax`` (see ``tracker.io.mot.rescale_scores``).
    seq_length: frames beyond this are dropped (and counted in ``detection_set``).
    clip: clip boxes to the frame passed in (default False: research files are replayed as
        they are, as TrackEval scores them).
    """

    def __init__(self, path: Union[str, Path, DetectionSet], min_score: Optional[float] = None,
                 score_rescale: str = "auto", seq_length: Optional[int] = None, clip: bool = False):
        if score_rescale not in SCORE_RESCALE_MODES:
            raise ValueError(f"score_rescale must be one of {SCORE_RESCALE_MODES}, got {score_rescale!r}")
        if min_score is not None and not np.isfinite(float(min_score)):
            raise ValueError(f"min_score must be a finite number or None, got {min_score!r}")
        if seq_length is not None and (not isinstance(seq_length, (int, np.integer)) or seq_length < 1):
            raise ValueError(f"seq_length must be None or an integer >= 1, got {seq_length!r}")
        if isinstance(path, DetectionSet):  # already loaded (e.g. shared by several runs)
            self.path, self.detection_set = Path(path.path), path
        else:
            self.path = Path(path)
            self.detection_set = load_detections(self.path, min_score, score_rescale, seq_length)
        self.clip = bool(clip)
        self.next_frame = 1

    @property
    def last_frame(self) -> int:
        """The highest MOT frame number with a detection (0 for an empty file)."""
        return max(self.detection_set.frames, default=0)

    def at(self, mot_frame: int) -> Detections:
        """Detections of 1-based MOT frame ``mot_frame`` (empty when the file has none)."""
        if isinstance(mot_frame, bool) or not isinstance(mot_frame, (int, np.integer)) or mot_frame < 1:
            raise ValueError(f"mot_frame must be an integer >= 1 (MOT frames are 1-based), got {mot_frame!r}")
        return self.detection_set.get(int(mot_frame))

    def __call__(self, frame: Optional[np.ndarray] = None, frame_index: Optional[int] = None) -> Detections:
        """Detections of decoded frame ``frame_index`` (0-based; MOT frame ``frame_index + 1``),
        or of the frame after the previous call when it is None."""
        if frame is not None:
            validate_frame(frame, "DetectionFileDetector")
        mot_frame = self.next_frame if frame_index is None else frame_index + 1
        dets = self.at(mot_frame)
        self.next_frame = int(mot_frame) + 1
        if self.clip and frame is not None and len(dets):
            dets = dets.clip_to(frame.shape[1], frame.shape[0])
        return dets

    def reset(self) -> None:
        """Start again at MOT frame 1."""
        self.next_frame = 1

    def rows_after(self, length: int) -> Optional[str]:
        """A note when the file has rows for frames after ``length`` (the video's frame count:
        a sign of a wrong file or frame rate), else None."""
        if self.last_frame > length:
            return (f"{self.path}: rows up to frame {self.last_frame}, but the video ended at frame {length}; "
                    "the rows after it were not used")
        return None

    def __repr__(self) -> str:
        return f"DetectionFileDetector({str(self.path)!r}, next_frame={self.next_frame})"
