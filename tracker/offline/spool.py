"""Where the offline stage keeps the online frames between reading them and writing them linked.

The linker reads every frame twice: as it arrives (to build the tracklet summaries) and after
linking (to relabel its rows and fill its gaps). ``MemorySpool`` keeps the frames in a list:
right for ``link_tracklets``, whose caller holds them anyway. ``FileSpool`` writes each frame to
an anonymous temporary file (removed by the system when closed, even after a crash) and reads
them back in order, so that a file run's memory stays O(tracklets) instead of O(frames); the
disk holds about 60 bytes per reported row.
"""
from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Protocol, Union

import numpy as np

from tracker.offline.tracklets import TrackedFrame
from tracker.tracks import Tracks

#: the temporary file's name prefix (visible only while it is open on systems without
#: anonymous files)
SPOOL_PREFIX = "identitrack-offline-"
#: the per-row arrays of a spooled frame, packed into one byte string in this order:
#: (name, dtype, values per row); ``labels`` is the spooled frame's, the rest its ``Tracks``'
ROW_LAYOUT = (("track_ids", np.int64, 1), ("xyxy", np.float32, 4), ("scores", np.float32, 1),
              ("class_ids", np.int64, 1), ("det_index", np.int64, 1), ("observed", np.bool_, 1),
              ("states", np.int8, 1), ("labels", np.int32, 1))


@dataclass(frozen=True, eq=False)
class SpooledFrame:
    """One online frame as the linker keeps it.

    frame: the ``TrackedFrame`` without embeddings (they are folded into the tracklet
    summaries as the frame arrives); labels: (M,) int32 tracklet index of each row
    (``tracklets.NO_TRACKLET`` for unobserved rows); to_scene: (3, 3) float64 homography from
    this frame's pixels to scene pixels, or None while the camera has not moved.
    """

    frame: TrackedFrame
    labels: np.ndarray
    to_scene: Optional[np.ndarray]


class FrameSpool(Protocol):
    """Append frames in order, then read them back in the same order (any number of times)."""

    def append(self, item: SpooledFrame) -> None: ...

    def __len__(self) -> int: ...

    def read(self) -> Iterator[SpooledFrame]: ...

    def close(self) -> None: ...


class MemorySpool:
    """The frames in a list (memory O(frames))."""

    def __init__(self) -> None:
        self._items: List[SpooledFrame] = []

    def append(self, item: SpooledFrame) -> None:
        self._items.append(item)

    def __len__(self) -> int:
        return len(self._items)

    def read(self) -> Iterator[SpooledFrame]:
        return iter(list(self._items))

    def close(self) -> None:
        self._items = []


class FileSpool:
    """The frames pickled one after another into an anonymous temporary file in ``directory``
    (default: the system's temporary folder). Only this process writes and reads the file.
    ``OSError`` (disk full) propagates from ``append``/``read``; the caller names the file."""

    def __init__(self, directory: Optional[Union[str, Path]] = None):
        self._file = tempfile.TemporaryFile(prefix=SPOOL_PREFIX, dir=None if directory is None else str(directory))
        self._count = 0

    def append(self, item: SpooledFrame) -> None:
        pickle.dump(pack(item), self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._count += 1

    def __len__(self) -> int:
        return self._count

    @property
    def size_bytes(self) -> int:
        """The file's size: bytes written so far."""
        self._file.flush()
        return os.fstat(self._file.fileno()).st_size

    def read(self) -> Iterator[SpooledFrame]:
        self._file.flush()
        self._file.seek(0)
        for _ in range(self._count):
            yield unpack(pickle.load(self._file))  # noqa: S301 - this process's own anonymous file
        self._file.seek(0, 2)

    def close(self) -> None:
        self._file.close()


def pack(item: SpooledFrame) -> tuple:
    """A spooled frame as plain values and one byte string of its rows (``ROW_LAYOUT``): a few
    times faster to pickle than the arrays one by one."""
    frame, tracks = item.frame, item.frame.tracks
    rows = b"".join(np.ascontiguousarray(item.labels if name == "labels" else getattr(tracks, name), dtype).tobytes()
                    for name, dtype, _ in ROW_LAYOUT)
    return (frame.frame_index, frame.timestamp, len(tracks), rows, tracks.frame_index, tracks.timestamp,
            tracks.camera_motion, tracks.shot, tracks.cut, item.to_scene)


def unpack(packed: tuple) -> SpooledFrame:
    """``pack``'s inverse."""
    frame_index, timestamp, n, rows, tracks_index, tracks_time, camera_motion, shot, cut, to_scene = packed
    arrays, offset = {}, 0
    for name, dtype, width in ROW_LAYOUT:
        count = n * width
        values = np.frombuffer(rows, dtype, count, offset).copy()
        arrays[name] = values.reshape(n, width) if width > 1 else values
        offset += count * np.dtype(dtype).itemsize
    labels = arrays.pop("labels")
    tracks = Tracks(**arrays, frame_index=tracks_index, timestamp=tracks_time, camera_motion=camera_motion,
                    shot=shot, cut=cut)
    return SpooledFrame(TrackedFrame(frame_index, timestamp, tracks), labels, to_scene)
