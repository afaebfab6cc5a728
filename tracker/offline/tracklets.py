"""Tracklets: pieces of online tracks that the offline linker treats as certain.

``TrackletBuilder`` reads the online results frame by frame (``add``) and keeps, per tracklet,
only its summary (``Tracklet``: time span, boxes and velocities at both ends, class, a
quality-weighted mean embedding): memory O(tracklets), plus one small label array per frame
that says which tracklet each reported row belongs to. An online track is cut into several
tracklets where the online tracker may have guessed (``OfflineConfig.cut_*``): an implausible
jump in position or size between two consecutive observations, or a re-acquisition after a long
unseen stretch. Rows that were not observed (predicted boxes of lost tracks) belong to no
tracklet (label -1).
"""
from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Deque, Dict, List, Optional, Tuple

import numpy as np

from tracker.boxes import iou_matrix
from tracker.offline.config import OfflineConfig
from tracker.tracks import Tracks

#: label of a row that belongs to no tracklet (a predicted, unobserved box)
NO_TRACKLET = -1
#: the shot of frames from a run that did not look for shot cuts
NO_SHOT = -1
#: heights below this (pixels) are treated as this, so that ratios and speeds stay finite
MIN_HEIGHT_PX = 1.0


@dataclass(frozen=True, eq=False)
class TrackedFrame:
    """One frame of online results, as ``link_tracklets`` reads it and returns it.

    frame_index: 0-based decoded index; timestamp: seconds; tracks: the frame's ``Tracks``;
    embeddings: (M, D) float32 unit vectors, one per row of ``tracks`` (rows without one are
    all zeros), or None when the run had no appearance.
    """

    frame_index: int
    timestamp: float
    tracks: Tracks
    embeddings: Optional[np.ndarray] = None

    @property
    def mot_frame(self) -> int:
        return self.frame_index + 1


@dataclass
class Tracklet:
    """Summary of one tracklet (all that the scorer and the linker read).

    track_id: the online ID it came from; class_id; start_pos / end_pos: positions (0-based)
    of its first / last frame in the results; start_time / end_time: seconds;
    start_box / end_box: (4,) xyxy pixels; start_velocity / end_velocity: (2,) box-centre
    velocity in pixels/s fitted near each end; rows: observations; appearance: (D,) unit
    vector (quality-weighted mean embedding) or None; shot: the shot it lies in (the online
    run's ``Tracks.shot``; -1 when shots were not looked for): a tracklet never spans a cut.
    """

    track_id: int
    class_id: int
    start_pos: int
    start_time: float
    start_box: np.ndarray
    end_pos: int = 0
    end_time: float = 0.0
    end_box: np.ndarray = None  # type: ignore[assignment]
    start_velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    end_velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    rows: int = 0
    appearance: Optional[np.ndarray] = None
    shot: int = -1

    @property
    def start_height(self) -> float:
        return max(float(self.start_box[3] - self.start_box[1]), MIN_HEIGHT_PX)

    @property
    def end_height(self) -> float:
        return max(float(self.end_box[3] - self.end_box[1]), MIN_HEIGHT_PX)


def box_centre(box: np.ndarray) -> np.ndarray:
    """(4,) xyxy -> (2,) centre in pixels."""
    return np.array([(box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0])


def fitted_velocity(times: List[float], centres: List[np.ndarray]) -> np.ndarray:
    """Least-squares velocity (2,) in pixels/s of centres (K, 2) over times (K,) s; zero for
    fewer than two distinct times."""
    t = np.asarray(times, np.float64)
    if len(t) < 2 or np.ptp(t) <= 0:
        return np.zeros(2)
    c = np.asarray(centres, np.float64)
    dt = t - t.mean()
    return (dt[:, None] * (c - c.mean(axis=0))).sum(axis=0) / float((dt ** 2).sum())


def _fit(observations) -> np.ndarray:
    """``fitted_velocity`` of ``(seconds, centre)`` pairs."""
    return fitted_velocity([a for a, _ in observations], [c for _, c in observations])


def appearance_quality(tracks: Tracks) -> np.ndarray:
    """(M,) weight of each row's embedding in its tracklet's mean: the detection score times
    the part of the box no other reported box overlaps (1 - the highest IoU with another row),
    so that sharp, unoccluded views count more than overlapped ones."""
    n = len(tracks)
    if n == 0:
        return np.zeros(0)
    overlap = iou_matrix(tracks.xyxy, tracks.xyxy)
    np.fill_diagonal(overlap, 0.0)
    return np.clip(tracks.scores.astype(np.float64), 0.0, 1.0) * (1.0 - overlap.max(axis=1))


@dataclass
class _Open:
    """A tracklet being built: its summary and what its end velocity still needs."""

    tracklet: Tracklet
    index: int
    end_pos: int = 0
    end_time: float = 0.0
    end_box: List[float] = field(default_factory=list)
    rows: int = 0
    first: Optional[List[Tuple[float, Tuple[float, float]]]] = field(default_factory=list)
    last: Deque[Tuple[float, Tuple[float, float]]] = field(default_factory=deque)
    emb_sum: Optional[np.ndarray] = None
    #: the end velocity fitted when the tracklet went unseen for longer than the velocity
    #: window (its observations are then dropped: any later one starts a new window)
    settled_end_velocity: Optional[np.ndarray] = None


class TrackletBuilder:
    """Cut the online tracks into tracklets, one frame at a time.

    ``add(tracks, timestamp, embeddings)`` for each frame in order returns that frame's labels
    ((M,) int32 tracklet index per row, ``NO_TRACKLET`` for unobserved rows); ``finish()``
    returns the list of ``Tracklet`` (index = label).

    Memory per tracklet is its summary: the observations kept for the velocity fits (those
    within ``velocity_window_s`` of either end) are reduced to the fitted velocity as soon as
    no later observation can change it (the start window has passed; the tracklet has been
    unseen for longer than the window).
    """

    def __init__(self, config: OfflineConfig):
        self.config = config
        self.tracklets: List[Tracklet] = []
        self._open: Dict[int, _Open] = {}
        self._unsettled: "OrderedDict[int, _Open]" = OrderedDict()  # by last observation, oldest first
        self._position = 0

    def add(self, tracks: Tracks, timestamp: float, embeddings: Optional[np.ndarray] = None) -> np.ndarray:
        pos, labels = self._position, np.full(len(tracks), NO_TRACKLET, np.int32)
        self._position += 1
        quality = appearance_quality(tracks) if embeddings is not None else None
        # plain floats: a few operations per row, where NumPy's per-call cost would dominate
        ids, boxes, classes = tracks.track_ids.tolist(), tracks.xyxy.tolist(), tracks.class_ids.tolist()
        shot = NO_SHOT if tracks.shot is None else int(tracks.shot)
        for j in np.flatnonzero(tracks.observed).tolist():
            tid, box = ids[j], boxes[j]
            current = self._open.get(tid)
            if current is None or current.tracklet.shot != shot or self._cut(current, box, timestamp):
                if current is not None:
                    self._close(current)
                current = self._start(tid, classes[j], pos, timestamp, box, shot)
            self._extend(current, pos, timestamp, box)
            if embeddings is not None and quality is not None and quality[j] > 0:
                weighted = quality[j] * np.asarray(embeddings[j], np.float64)
                current.emb_sum = weighted if current.emb_sum is None else current.emb_sum + weighted
            labels[j] = current.index
        self._settle(timestamp)
        return labels

    def finish(self) -> List[Tracklet]:
        for current in list(self._open.values()):
            self._close(current)
        self._open.clear()
        return self.tracklets

    # ----------------------------------------------------------------------------- steps
    def _cut(self, current: "_Open", box: List[float], timestamp: float) -> bool:
        """True where the online tracker may have guessed: see ``OfflineConfig.cut_*``."""
        cfg = self.config
        gap = timestamp - current.end_time
        if cfg.cut_after_gap_s is not None and gap >= cfg.cut_after_gap_s:
            return True
        old = current.end_box
        h_old, h_new = max(old[3] - old[1], MIN_HEIGHT_PX), max(box[3] - box[1], MIN_HEIGHT_PX)
        if max(h_old, h_new) / min(h_old, h_new) > cfg.cut_size_ratio:
            return True
        if gap <= 0:
            return False
        jump = math.hypot((box[0] + box[2] - old[0] - old[2]) / 2.0,
                          (box[1] + box[3] - old[1] - old[3]) / 2.0) / math.sqrt(h_old * h_new)
        return jump / gap > cfg.cut_speed

    def _start(self, tid: int, class_id: int, pos: int, timestamp: float, box: List[float], shot: int) -> "_Open":
        tracklet = Tracklet(tid, class_id, pos, float(timestamp), np.asarray(box, np.float64), shot=shot)
        current = _Open(tracklet, len(self.tracklets))
        self.tracklets.append(tracklet)
        self._open[tid] = current
        return current

    def _extend(self, current: "_Open", pos: int, timestamp: float, box: List[float]) -> None:
        current.end_pos, current.end_time, current.end_box = pos, float(timestamp), box
        current.rows += 1
        window = self.config.velocity_window_s
        centre = ((box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0)
        if current.first is not None:
            if timestamp - current.tracklet.start_time <= window:
                current.first.append((float(timestamp), centre))
            else:  # the start window is complete: its fit is final
                current.tracklet.start_velocity = _fit(current.first)
                current.first = None
        current.settled_end_velocity = None
        self._unsettled[current.index] = current
        self._unsettled.move_to_end(current.index)
        current.last.append((float(timestamp), centre))
        while current.last and timestamp - current.last[0][0] > window:
            current.last.popleft()

    def _settle(self, timestamp: float) -> None:
        """Fit the end velocity of the tracklets unseen for longer than the velocity window
        and drop their observations: a later observation would drop them from the window
        anyway (``_extend``), so the fit is the one ``_close`` would make."""
        window = self.config.velocity_window_s
        while self._unsettled:
            index, current = next(iter(self._unsettled.items()))
            if timestamp - current.end_time <= window:
                break
            del self._unsettled[index]
            current.settled_end_velocity = _fit(current.last)
            current.last = deque()

    def _close(self, current: _Open) -> None:
        t = current.tracklet
        t.end_pos, t.end_time, t.end_box, t.rows = (current.end_pos, current.end_time,
                                                    np.asarray(current.end_box, np.float64), current.rows)
        if current.first is not None:
            t.start_velocity = _fit(current.first)
        t.end_velocity = current.settled_end_velocity if current.settled_end_velocity is not None \
            else _fit(current.last)
        self._unsettled.pop(current.index, None)
        if current.emb_sum is not None:
            norm = float(np.linalg.norm(current.emb_sum))
            t.appearance = current.emb_sum / norm if norm > 0 else None
        current.first, current.last, current.emb_sum = None, deque(), None
        if self._open.get(t.track_id) is current:
            del self._open[t.track_id]
