"""``Tracker``: the per-frame tracking step (motion + Hungarian baseline, appearance-aware).

Data path of one ``update`` call, one numbered stage each (read top to bottom):

 0. clock: the time step in seconds (from ``timestamp`` or the frame rate)
 1. predict every live track to now (Kalman, real time step)
 2. split detections by score into high and low
 3. first association: high-score detections <-> confirmed and lost tracks
 4. second association: low-score detections <-> still unmatched confirmed tracks
 5. tentative tracks <-> remaining high-score detections
 6. unmatched tracks: confirmed -> lost, tentative -> removed
 7. births: remaining confident detections start tentative tracks
 8. forget lost tracks older than the horizon (state stays bounded)
 9. report confirmed tracks as ``Tracks``
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

import numpy as np

from tracker import motion
from tracker.assignment import linear_assignment
from tracker.boxes import cxcywh_to_xyxy, iou_matrix, xyxy_to_cxcywh
from tracker.config import TrackerConfig
from tracker.detections import Detections
from tracker.tracks import Tracks, TrackState

FORBIDDEN_COST_MARGIN = 1.0  # forbidden pairs cost max_cost + this (finite, never chosen)

Embedder = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class _Track:
    """Internal state of one track. ``track_id`` is 0 until the track is confirmed."""

    mean: np.ndarray
    cov: np.ndarray
    score: float
    class_id: int
    last_seen: float
    first_seen: float
    state: TrackState = TrackState.TENTATIVE
    track_id: int = 0
    hits: int = 1
    embedding: Optional[np.ndarray] = None
    det_index: int = -1
    observed: bool = True
    det_xyxy: Optional[np.ndarray] = None  # the matched detection's box this frame

    @property
    def reported_xyxy(self) -> np.ndarray:
        return self.det_xyxy if (self.observed and self.det_xyxy is not None) else self.xyxy

    @property
    def xyxy(self) -> np.ndarray:
        return cxcywh_to_xyxy(self.mean[:4])[0]


def _validate_frame(frame: np.ndarray) -> np.ndarray:
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"frame must be a numpy array (H, W, 3) uint8 BGR, got {type(frame).__name__}")
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must have shape (H, W, 3) (BGR), got {frame.shape}")
    if frame.dtype != np.uint8:
        raise ValueError(f"frame must be uint8, got {frame.dtype}")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f"frame is empty: shape {frame.shape}")
    return frame


class Tracker:
    """Multi-object tracker: ``update(detections, frame=None, timestamp=None) -> Tracks``.

    Args:
        config: ``TrackerConfig`` (defaults if None).
        embedder: optional callable ``(frame (H,W,3) uint8, xyxy (N,4) px) -> (N, D) float32``
            unit vectors; used when a frame is given and the detections carry no embeddings.

    IDs are positive ints unique to this instance, issued when a track is confirmed and never
    reused. Memory is bounded: removed tracks are dropped.
    """

    def __init__(self, config: Optional[TrackerConfig] = None, embedder: Optional[Embedder] = None):
        self.config = config or TrackerConfig()
        self.embedder = embedder
        self._tracks: List[_Track] = []
        self._next_id = 1
        self._frame_index = -1
        self._time: Optional[float] = None

    # ------------------------------------------------------------------ public
    @property
    def frame_index(self) -> int:
        """0-based index of the last processed frame (-1 before the first)."""
        return self._frame_index

    @property
    def live_track_count(self) -> int:
        return len(self._tracks)

    def reset(self) -> None:
        """Forget all tracks (IDs keep counting up, so they are never reused)."""
        self._tracks = []
        self._frame_index = -1
        self._time = None

    def update(self, detections: Detections, frame: Optional[np.ndarray] = None,
               timestamp: Optional[float] = None) -> Tracks:
        """Advance by one frame.

        detections: this frame's ``Detections`` (may be empty).
        frame: optional (H, W, 3) uint8 BGR image, used for appearance embeddings.
        timestamp: seconds; must not go backwards (a repeated timestamp means dt = 0). When
            None, frames are assumed ``1 / config.frame_rate`` apart.
        """
        cfg = self.config
        if not isinstance(detections, Detections):
            raise ValueError(f"detections must be tracker.Detections, got {type(detections).__name__}")
        if frame is not None:
            _validate_frame(frame)
        # 0. clock
        now, dt = self._advance_clock(timestamp)
        detections = self._with_embeddings(detections, frame)
        # 1. predict
        self._predict(dt)
        # 2. split by score
        high = np.flatnonzero(detections.scores >= cfg.high_score)
        low = np.flatnonzero((detections.scores >= cfg.low_score) & (detections.scores < cfg.high_score))
        confirmed_or_lost = [t for t in self._tracks if t.state in (TrackState.CONFIRMED, TrackState.LOST)]
        tentative = [t for t in self._tracks if t.state == TrackState.TENTATIVE]
        for t in self._tracks:
            t.observed, t.det_index = False, -1
        # 3. first association: high-score detections <-> confirmed + lost tracks
        cost = self._cost(confirmed_or_lost, detections, high, cfg.fuse_score, use_appearance=True)
        matches, rest_tracks, rest_high = linear_assignment(cost, 1.0 - cfg.first_match_iou)
        self._apply(confirmed_or_lost, detections, high, matches, now)
        # 4. second association: low-score detections <-> unmatched confirmed tracks
        remaining = [confirmed_or_lost[i] for i in rest_tracks if confirmed_or_lost[i].state == TrackState.CONFIRMED]
        cost = self._cost(remaining, detections, low, False, use_appearance=False)
        matches, _, _ = linear_assignment(cost, 1.0 - cfg.second_match_iou)
        self._apply(remaining, detections, low, matches, now)
        # 5. tentative tracks <-> remaining high-score detections
        high_left = high[rest_high]
        cost = self._cost(tentative, detections, high_left, cfg.fuse_score, use_appearance=True)
        matches, _, rest_new = linear_assignment(cost, 1.0 - cfg.tentative_match_iou)
        self._apply(tentative, detections, high_left, matches, now)
        # 6. unmatched tracks: confirmed -> lost, tentative -> removed
        for t in self._tracks:
            if not t.observed:
                if t.state == TrackState.CONFIRMED:
                    t.state = TrackState.LOST
                elif t.state == TrackState.TENTATIVE:
                    t.state = TrackState.REMOVED
        # 7. births
        for d in high_left[rest_new]:
            if detections.scores[d] >= cfg.new_track_score:
                self._birth(detections, int(d), now)
        # 8. forget stale lost tracks and removed ones
        for t in self._tracks:
            if t.state == TrackState.LOST and now - t.last_seen > cfg.lost_horizon_s:
                t.state = TrackState.REMOVED
        self._tracks = [t for t in self._tracks if t.state != TrackState.REMOVED]
        # 9. report
        return self._report(now)

    # ------------------------------------------------------------------ stages
    def _advance_clock(self, timestamp: Optional[float]):
        self._frame_index += 1
        if timestamp is None:
            now = self._frame_index / self.config.frame_rate
            if self._time is not None and now < self._time:  # mixing explicit and implicit time
                now = self._time + 1.0 / self.config.frame_rate
        else:
            now = float(timestamp)
            if not np.isfinite(now):
                raise ValueError(f"timestamp must be a finite number of seconds, got {timestamp!r}")
            if self._time is not None and now < self._time:
                self._frame_index -= 1
                raise ValueError(f"timestamp {now} s goes backwards (previous frame was at {self._time} s)")
        dt = 0.0 if self._time is None else now - self._time
        self._time = now
        return now, dt

    def _with_embeddings(self, detections: Detections, frame: Optional[np.ndarray]) -> Detections:
        if detections.embeddings is not None or self.embedder is None or frame is None or len(detections) == 0:
            return detections
        emb = np.asarray(self.embedder(frame, detections.xyxy), dtype=np.float32)
        return detections.with_embeddings(emb)

    def _predict(self, dt: float) -> None:
        if not self._tracks or dt <= 0:
            return
        means = np.stack([t.mean for t in self._tracks])
        covs = np.stack([t.cov for t in self._tracks])
        means, covs = motion.predict(means, covs, dt, self.config.motion)
        for t, m, c in zip(self._tracks, means, covs):
            t.mean, t.cov = m, c

    def _cost(self, tracks: Sequence[_Track], detections: Detections, det_rows: np.ndarray,
              fuse_score: bool, use_appearance: bool) -> np.ndarray:
        """(T, K) cost = 1 - similarity for tracks x detections[det_rows]; forbidden pairs
        (different class) get a finite cost above any ceiling."""
        if len(tracks) == 0 or len(det_rows) == 0:
            return np.zeros((len(tracks), len(det_rows)))
        track_boxes = np.stack([t.xyxy for t in tracks])
        iou = iou_matrix(track_boxes, detections.xyxy[det_rows])
        sim = iou * detections.scores[det_rows][None, :] if fuse_score else iou
        cost = 1.0 - sim
        cfg = self.config
        if use_appearance and cfg.appearance_weight > 0 and detections.embeddings is not None:
            has_emb = np.array([t.embedding is not None for t in tracks])
            if has_emb.any():
                track_emb = np.stack([t.embedding if t.embedding is not None else np.zeros(detections.embeddings.shape[1])
                                      for t in tracks])
                app_dist = np.clip(1.0 - track_emb @ detections.embeddings[det_rows].T, 0.0, 2.0)
                fused = (1 - cfg.appearance_weight) * cost + cfg.appearance_weight * app_dist
                usable = has_emb[:, None] & (app_dist <= cfg.appearance_gate) & (iou > 0)
                cost = np.where(usable, fused, cost)
        classes_differ = np.array([t.class_id for t in tracks])[:, None] != detections.class_ids[det_rows][None, :]
        return np.where(classes_differ, 1.0 + FORBIDDEN_COST_MARGIN, cost)

    def _apply(self, tracks: Sequence[_Track], detections: Detections, det_rows: np.ndarray,
               matches: np.ndarray, now: float) -> None:
        cfg = self.config
        for ti, k in matches:
            t, d = tracks[ti], int(det_rows[k])
            z = xyxy_to_cxcywh(detections.xyxy[d])[0]
            t.mean, t.cov = motion.update(t.mean, t.cov, z, cfg.motion)
            t.score = float(detections.scores[d])
            t.last_seen = now
            t.observed = True
            t.det_index = int(detections.index[d])
            t.det_xyxy = detections.xyxy[d].astype(np.float64)
            t.hits += 1
            if detections.embeddings is not None:
                e = detections.embeddings[d]
                if t.embedding is None:
                    t.embedding = e.copy()
                else:
                    mixed = cfg.embedding_momentum * t.embedding + (1 - cfg.embedding_momentum) * e
                    t.embedding = mixed / max(np.linalg.norm(mixed), 1e-12)
            if t.state == TrackState.LOST:
                t.state = TrackState.CONFIRMED
            elif t.state == TrackState.TENTATIVE and t.hits >= cfg.min_hits:
                self._confirm(t)

    def _confirm(self, t: _Track) -> None:
        t.state = TrackState.CONFIRMED
        t.track_id = self._next_id
        self._next_id += 1

    def _birth(self, detections: Detections, d: int, now: float) -> None:
        mean, cov = motion.initiate(xyxy_to_cxcywh(detections.xyxy[d])[0], self.config.motion)
        emb = None if detections.embeddings is None else detections.embeddings[d].copy()
        t = _Track(mean, cov, float(detections.scores[d]), int(detections.class_ids[d]), now, now, embedding=emb,
                   det_index=int(detections.index[d]), det_xyxy=detections.xyxy[d].astype(np.float64))
        self._tracks.append(t)
        if self.config.min_hits <= 1:
            self._confirm(t)

    def _report(self, now: float) -> Tracks:
        cfg = self.config
        shown = [t for t in self._tracks if t.track_id > 0 and (
            t.observed or (t.state == TrackState.LOST and now - t.last_seen <= cfg.output_lost_s and cfg.output_lost_s > 0))]
        if not shown:
            return Tracks.empty(self._frame_index, now)
        return Tracks(
            track_ids=np.array([t.track_id for t in shown], np.int64),
            xyxy=np.stack([t.reported_xyxy if cfg.report_detection_box else t.xyxy for t in shown]).astype(np.float32),
            scores=np.array([t.score for t in shown], np.float32),
            class_ids=np.array([t.class_id for t in shown], np.int64),
            det_index=np.array([t.det_index for t in shown], np.int64),
            observed=np.array([t.observed for t in shown], bool),
            states=np.array([int(t.state) for t in shown], np.int8),
            frame_index=self._frame_index,
            timestamp=now,
        )
