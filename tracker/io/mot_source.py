"""A MOTChallenge sequence as a frame source without pixels, for tracking from its detection
file: the same frame loop runs a video and a ``det.txt`` (``tracker.pipeline.TrackingSession``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Union

from tracker.io.mot import SequenceInfo, read_seqinfo
from tracker.io.sources import Frame, FrameSource, SourceInfo
from tracker.status import SourceEnd


class SequenceFramesSource(FrameSource):
    """MOT frames ``1 .. seqLength`` of a sequence folder (or its ``SequenceInfo``) as
    ``Frame(index=f - 1, timestamp=(f - 1) / frameRate, image=None)``: the sequence's real
    frame rate sets the timestamps, its ``imWidth x imHeight`` the image size (``info``)."""

    def __init__(self, sequence: Union[str, Path, SequenceInfo]):
        super().__init__()
        seq = sequence if isinstance(sequence, SequenceInfo) else read_seqinfo(sequence)
        self.sequence = seq
        self.info = SourceInfo("detections", seq.name, str(seq.path), Path(seq.path), seq.frame_rate, "seqinfo",
                               seq.width, seq.height, seq.seq_length, [])

    def _frames(self) -> Iterator[Frame]:
        fps = self.info.fps
        for index in range(self.info.frame_count):
            if self._closed:
                self.end_reason = SourceEnd.CLOSED
                return
            yield Frame(index, index / fps, None)
        self.end_reason = SourceEnd.END
