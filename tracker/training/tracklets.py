"""Tracklets for temporal positives from the tracker itself, kept only where they are confident.

``tracker_tracklets``: the core ``Tracker`` (motion only, IoU association) runs over the
detections of a clip's sampled frames; a detection's tracklet is the ID of the track it was
matched to. The tracker restarts at every shot cut and wherever sampled frames are not
consecutive (a gap between sampling windows), so no tracklet crosses a cut or a gap.

``confident_tracklets`` (used for training data and for adaptation to a user's video): a
tracked identity is trusted only where it is unambiguous, so a tracklet is split

* at every frame where its box overlaps another box of the same frame by IoU >=
  ``overlap_iou`` (two people crossing: where a tracker switches identities); the overlapped
  detection itself becomes a singleton;
* wherever consecutive members are more than ``max_gap`` sampled frames apart (the track was
  lost and found again by motion alone);
* at every shot cut.

Detections of no trusted tracklet get singleton ids (usable as same-crop positives). Ids are
0..T-1 in order of first appearance.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

from tracker.boxes import iou_matrix
from tracker.config import TrackerConfig
from tracker.config_base import ConfigBase, check_int, check_range
from tracker.core import Tracker
from tracker.detections import Detections
from tracker.training.cuts import shot_index

#: the tracker's settings for tracklets: every kept detection (score >= the crop threshold)
#: may start and extend a track, confirmed at once (its first box belongs to it too); tracks
#: end 1 s after their last match
TRACKLET_TRACKER = TrackerConfig(associator="iou", high_score=0.5, new_track_score=0.5, min_hits=1,
                                 lost_horizon_s=1.0)


@dataclass(frozen=True)
class TrackletConfig(ConfigBase):
    """overlap_iou: a box overlapping another this much is ambiguous (splits its tracklet);
    max_gap: most sampled frames between consecutive members of a trusted tracklet."""

    overlap_iou: float = 0.3
    max_gap: int = 1

    def __post_init__(self) -> None:
        check_range("TrackletConfig.overlap_iou", self.overlap_iou, 0.0, 1.0, low_inclusive=False)
        check_int("TrackletConfig.max_gap", self.max_gap, 1)


def sampling_runs(sampled: np.ndarray, stride: int, cuts: Iterable[int]) -> np.ndarray:
    """(S,) sorted sampled frames -> (S,) run id: a new run after a gap or at a cut."""
    sampled = np.asarray(sampled, np.int64)
    if not len(sampled):
        return np.zeros(0, np.int64)
    shot = shot_index(sampled, cuts)
    new = np.ones(len(sampled), bool)
    new[1:] = (np.diff(sampled) > stride) | (np.diff(shot) != 0)
    return np.cumsum(new) - 1


def tracker_tracklets(frames: np.ndarray, xyxy: np.ndarray, scores: np.ndarray, sampled: np.ndarray, stride: int,
                      fps: float, cuts: Iterable[int] = (), config: TrackerConfig = TRACKLET_TRACKER) -> np.ndarray:
    """frames (R,) 1-based, xyxy (R, 4) pixels, scores (R,); sampled (S,) every detected frame
    (also those without boxes), ``stride`` between them, video ``fps`` -> (R,) int64 raw track
    ids (-1: never part of a confirmed track), unique per run (module docstring)."""
    frames = np.asarray(frames, np.int64)
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    scores = np.asarray(scores, np.float32)
    sampled = np.unique(np.asarray(sampled, np.int64))
    out = np.full(len(frames), -1, np.int64)
    runs = sampling_runs(sampled, stride, cuts)
    cfg = config.replace(frame_rate=float(fps) / max(1, stride))
    tracker: Optional[Tracker] = None
    current = -1
    order = np.argsort(frames, kind="stable")
    starts = np.searchsorted(frames[order], sampled, side="left")
    ends = np.searchsorted(frames[order], sampled, side="right")
    for k, fno in enumerate(sampled):
        if runs[k] != current:
            offset = _max_id(out) + 1  # ids of a new run never repeat an earlier run's
            tracker = Tracker(cfg)
            current = runs[k]
        rows = order[starts[k]:ends[k]]
        dets = Detections(xyxy[rows], scores[rows])
        tracks = tracker.update(dets, timestamp=float(fno) / float(fps))
        matched = tracks.det_index >= 0
        out[rows[tracks.det_index[matched]]] = tracks.track_ids[matched] + offset
    return out


def _max_id(ids: np.ndarray) -> int:
    return int(ids.max()) if len(ids) else -1


def confident_tracklets(frames: np.ndarray, xyxy: np.ndarray, track_ids: np.ndarray, sampled: np.ndarray,
                        cuts: Iterable[int] = (), config: TrackletConfig = TrackletConfig()) -> np.ndarray:
    """frames (R,), xyxy (R, 4), track_ids (R,) (-1 = untracked), sampled (S,) the frames
    that were looked at -> (R,) int64 tracklet ids 0..T-1 (module docstring)."""
    frames = np.asarray(frames, np.int64)
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    track_ids = np.asarray(track_ids, np.int64)
    n = len(frames)
    ambiguous = np.zeros(n, bool)
    for f in np.unique(frames):
        rows = np.flatnonzero(frames == f)
        if len(rows) < 2:
            continue
        iou = iou_matrix(xyxy[rows], xyxy[rows])
        np.fill_diagonal(iou, 0.0)
        ambiguous[rows] = iou.max(axis=1) >= config.overlap_iou
    position = np.searchsorted(np.unique(np.asarray(sampled, np.int64)), frames)  # sampled-frame index
    shot = shot_index(frames, cuts)
    key = np.full(n, -1, np.int64)  # piece id before renumbering; -1 = singleton
    piece = 0
    trusted = (track_ids >= 0) & ~ambiguous
    for tid in np.unique(track_ids[trusted]):
        rows = np.flatnonzero((track_ids == tid) & trusted)
        rows = rows[np.argsort(frames[rows], kind="stable")]
        members = np.flatnonzero(track_ids == tid)
        amb_pos = np.sort(position[members[ambiguous[members]]])
        for k, r in enumerate(rows):
            if k > 0:
                prev = rows[k - 1]
                crossed = np.searchsorted(amb_pos, position[prev], side="right") < \
                    np.searchsorted(amb_pos, position[r], side="left")
                if position[r] - position[prev] > config.max_gap or shot[r] != shot[prev] or crossed:
                    piece += 1
            key[r] = piece
        piece += 1
    return _renumber(key, frames)


def _renumber(key: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Piece keys (-1 = singleton) -> ids 0..T-1 in order of first appearance."""
    order = np.argsort(frames, kind="stable")
    remap: dict = {}
    out = np.empty(len(key), np.int64)
    for r in order:
        k = int(key[r])
        if k < 0:
            out[r] = len(remap)
            remap[("single", int(r))] = out[r]
            continue
        if k not in remap:
            remap[k] = len(remap)
        out[r] = remap[k]
    return out
