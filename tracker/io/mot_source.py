"""A MOTChallenge sequence as a frame source, for tracking from its detection file: the same
frame loop runs a video and a ``det.txt`` (``tracker.pipeline.TrackingSession``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator, Optional, Union

import numpy as np

from tracker.io.mot import SequenceInfo, read_seqinfo
from tracker.io.sources import Frame, FrameSource, Position, SourceInfo
from tracker.status import SourceEnd


class SequenceFramesSource(FrameSource):
    """MOT frames ``1 .. seqLength`` of a sequence folder (or its ``SequenceInfo``) as
    ``Frame(index=f - 1, timestamp=(f - 1) / frameRate, image)``: the sequence's real frame
    rate sets the timestamps, its ``imWidth x imHeight`` the image size (``info``).

    images: one (H, W, 3) uint8 BGR image or None per MOT frame from frame 1 (e.g. decoded
    from the sequence's video), or None: frames without pixels. start/end/stride: as for any
    ``FrameSource`` (0-based frame indexes).
    """

    def __init__(self, sequence: Union[str, Path, SequenceInfo],
                 images: Optional[Iterable[Optional[np.ndarray]]] = None, start: Optional[Position] = None,
                 end: Optional[Position] = None, stride: int = 1):
        super().__init__(start, end, stride)
        seq = sequence if isinstance(sequence, SequenceInfo) else read_seqinfo(sequence)
        self.sequence = seq
        self._images = None if images is None else iter(images)
        self.info = SourceInfo("detections", seq.name, str(seq.path), Path(seq.path), seq.frame_rate, "seqinfo",
                               seq.width, seq.height, seq.seq_length, [])

    def _frames(self) -> Iterator[Frame]:
        fps = self.info.fps
        first, stop = self._bounds()
        stop = self.info.frame_count if stop is None else min(stop, self.info.frame_count)
        for index in range(stop):
            image = next(self._images, None) if self._images is not None else None
            if index < first or (index - first) % self.stride:
                continue
            if self._closed:
                self.end_reason = SourceEnd.CLOSED
                return
            yield Frame(index, index / fps, image)
        self.end_reason = SourceEnd.END
