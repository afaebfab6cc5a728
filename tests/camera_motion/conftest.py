"""Real frames for the camera-motion tests: the first frames of the PETS09-S2L1 video and its gt."""
from __future__ import annotations

from itertools import islice

import numpy as np
import pytest

from tracker.embedding.video import iter_frames
from tracker.io.mot import read_mot_file

PETS = "PETS09-S2L1"


def read_frames(path, count: int) -> list:
    """The first ``count`` decoded frames of a real video."""
    return [image for _, image in islice(iter_frames(path), count)]


@pytest.fixture(scope="session")
def pets_frames(shared_data):
    """The first 40 decoded frames of PETS09-S2L1.mp4 (768x576, 7 fps)."""
    frames = read_frames(shared_data.require(shared_data.video / f"{PETS}.mp4"), 40)
    assert len(frames) == 40
    return frames


@pytest.fixture(scope="session")
def pets_gt(shared_data):
    """PETS09-S2L1 gt as ``{mot frame: (ids (N,), xyxy (N, 4))}``."""
    table = read_mot_file(shared_data.require(shared_data.mot / PETS / "gt" / "gt.txt"), kind="gt")
    out = {}
    for f in np.unique(table.frames):
        rows = table.frames == f
        xywh = table.xywh[rows]
        out[int(f)] = (table.ids[rows].astype(int), np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1))
    return out
