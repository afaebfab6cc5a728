"""The mean appearance embedding of every track of a source, recomputed from its video."""
from __future__ import annotations

from typing import Callable, Dict

import numpy as np

from tracker.errors import InputError
from tracker.report.results import ResultSource

#: boxes embedded per track, spread evenly over its observed frames
EMBEDDINGS_PER_TRACK = 8


def track_embeddings(source: ResultSource, embed: Callable[[np.ndarray, np.ndarray], np.ndarray],
                     per_track: int = EMBEDDINGS_PER_TRACK) -> Dict[int, np.ndarray]:
    """local track id -> (D,) float32 unit vector: the normalized mean of ``embed(frame, xyxy)``
    over up to ``per_track`` observed boxes of the track, decoded from the source video (one
    pass). Tracks without an observed box are left out."""
    from tracker.io.sources import open_source

    if per_track < 1:
        raise InputError(f"per_track must be >= 1, got {per_track}", "per_track")
    video = source.source_video
    if video is None:
        raise InputError(f"source {source.name}: the source video is not there (needed for embeddings)", "source")
    wanted: Dict[int, list] = {}
    for tid, rows in source.tracks.items():
        seen = np.flatnonzero(rows.observed)
        if len(seen) == 0:
            continue
        for p in np.unique(np.linspace(0, len(seen) - 1, min(per_track, len(seen))).round().astype(int)):
            wanted.setdefault(int(rows.index[seen[p]]), []).append((tid, rows.box[seen[p]]))
    sums: Dict[int, np.ndarray] = {}
    last = max(wanted) if wanted else -1
    with open_source(str(video)) as frames:
        for frame in frames:
            items = wanted.get(frame.index)
            if items:
                vectors = np.asarray(embed(frame.image, np.stack([b for _, b in items])), np.float64)
                for (tid, _), v in zip(items, vectors):
                    sums[tid] = sums.get(tid, 0.0) + v
            if frame.index >= last:
                break
    return {tid: (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32) for tid, v in sums.items()}
