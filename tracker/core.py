"""``Tracker``: the per-frame tracking step.

Data path of one ``update`` call, one numbered stage each (read top to bottom):

 0. clock: the time step in seconds (from ``timestamp`` or the frame rate); embeddings; when
    frames are given, a hard shot cut before this frame (``tracker.shots``) ends every live
    track and empties the identity memory: nothing continues by motion (nor by memory) across
    a cut, the next shot starts new IDs
 1. predict every live track to now (Kalman, real time step), then move it by the camera's
    motion since the previous frame when frames are given (``tracker.camera_motion``)
 2. split detections by score into high and low
 3. first association: high-score detections <-> confirmed and lost tracks (``recent_first``:
    those observed in the previous frame first, then the lost ones on the detections left)
 4. second association: low-score detections <-> still unmatched confirmed tracks, then (when
    ``recovery_match_iou`` is set) the remaining high-score detections <-> still unmatched
    confirmed and lost tracks by their last observed box
 5. tentative tracks <-> remaining high-score detections
 6. unmatched tracks: confirmed -> lost, tentative -> removed
 7. births: remaining confident detections start tentative tracks
 7b. (``lost_follow_scene``) lost tracks' velocities follow the change of the scene velocity
    (the median velocity of the observed confirmed tracks; ``birth_scene_velocity``: new tracks
    of the next frames start with it)
 8. forget lost tracks older than the horizon (into the identity memory) and stale memory
 9. report confirmed tracks as ``Tracks`` (``rematch_hits``: a track found again after a gap
    only once it has matched that many consecutive frames again)

Pair costs come from an ``Associator`` (``tracker.association``); a tentative track that
becomes confirmed asks the identity memory (``tracker.memory``) whether it is a returning
identity before a new ID is issued.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

import numpy as np

from tracker import motion
from tracker.errors import InputError
from tracker.association import AssociationContext, Associator, Stage, make_associator
from tracker.association.base import PairCosts, classes_differ
from tracker.association.iou import FORBIDDEN_COST
from tracker.boxes import cxcywh_to_xyxy, iou_matrix, xyxy_to_cxcywh
from tracker.camera_motion import CameraMotion, CameraMotionEstimator, warp_xyxy
from tracker.config import TrackerConfig
from tracker.detections import Detections
from tracker.memory import IdentityMemory, MemoryEntry
from tracker.shots import ShotCutDetector
from tracker.tracks import Tracks, TrackState

Embedder = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class _Track:
    """Internal state of one track. ``track_id`` is 0 until the track is confirmed.

    history rows: (time s, x1, y1, x2, y2, score), bounded; bank: exemplar embeddings for the
    identity memory, bounded. obs_mean / obs_cov: the Kalman state right after the last
    observation; unseen_steps: predictions since then (the frame steps of a gap); streak: matches
    in consecutive frames up to the last one (equal to ``hits`` while the track never missed)."""

    mean: np.ndarray
    cov: np.ndarray
    score: float
    class_id: int
    last_seen: float
    history: deque
    bank: deque
    state: TrackState = TrackState.TENTATIVE
    track_id: int = 0
    hits: int = 1
    embedding: Optional[np.ndarray] = None
    det_index: int = -1
    observed: bool = True
    det_xyxy: Optional[np.ndarray] = None
    last_bank_time: float = -np.inf
    obs_mean: Optional[np.ndarray] = None
    obs_cov: Optional[np.ndarray] = None
    unseen_steps: int = 0
    streak: int = 1

    @property
    def xyxy(self) -> np.ndarray:
        """(4,) current (predicted or corrected) box, pixels."""
        return cxcywh_to_xyxy(self.mean[:4])[0]

    @property
    def reported_xyxy(self) -> np.ndarray:
        return self.det_xyxy if (self.observed and self.det_xyxy is not None) else self.xyxy

    def memory_entry(self) -> MemoryEntry:
        last = self.history[-1]
        return MemoryEntry(self.track_id, np.stack(list(self.bank)) if self.bank else np.zeros((0, 1), np.float32),
                           np.asarray(last[1:5], np.float64), self.last_seen, self.class_id)


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


#: timestamps beyond +-this many seconds (about 300 years; Unix times fit) are refused: a jump
#: of 1e200 s overflows the motion model and gives NaN association costs
MAX_ABS_TIMESTAMP_S = 1e10
#: the least number of confirmed tracks observed in a frame whose median velocity is taken as
#: the scene's (``TrackerConfig.lost_follow_scene``); with fewer the previous estimate stays
MIN_SCENE_TRACKS = 3
#: the largest image side accepted as ``image_size`` (pixels)
MAX_IMAGE_SIDE = 10 ** 6


def _image_size(value) -> tuple:
    """``(width, height)`` > 0 pixels as ints, or ``InputError`` naming ``image_size``."""
    bad = InputError(f"image_size must be (width, height) > 0 pixels (at most {MAX_IMAGE_SIDE}), got {value!r}")
    if isinstance(value, (str, bytes)):
        raise bad
    try:
        width, height = value
        width, height = float(width), float(height)
    except (TypeError, ValueError, OverflowError):
        raise bad from None
    if not (np.isfinite(width) and np.isfinite(height)
            and 0 < width <= MAX_IMAGE_SIDE and 0 < height <= MAX_IMAGE_SIDE):
        raise bad
    return int(width), int(height)


class Tracker:
    """Multi-object tracker: ``update(detections, frame=None, timestamp=None) -> Tracks``.

    Args:
        config: ``TrackerConfig`` (defaults if None).
        embedder: optional callable ``(frame (H,W,3) uint8, xyxy (N,4) px) -> (N, D) float32``
            unit vectors; used when a frame is given and the detections carry no embeddings.
        associator: pair scorer (None: the one ``config.associator`` names, see
            ``tracker.association.make_associator``).

    IDs are positive ints unique to this instance, issued when a track is confirmed and never
    reused (a returning identity gets its old ID back from the memory). State is bounded:
    removed tracks are dropped and the memory has a size and age limit.
    """

    def __init__(self, config: Optional[TrackerConfig] = None, embedder: Optional[Embedder] = None,
                 associator: Optional[Associator] = None):
        self.config = config or TrackerConfig()
        self.embedder = embedder
        self.associator = associator or make_associator(self.config)
        self.memory = IdentityMemory(self.config.memory)
        self.camera_motion = CameraMotionEstimator(self.config.camera_motion)
        self._camera_motion: Optional[CameraMotion] = None
        self.shot_cuts = ShotCutDetector(self.config.shot_cuts)
        self._shot: Optional[int] = None  # None until a frame is looked at for cuts
        self._cut = False
        self._tracks: List[_Track] = []
        self._next_id = 1
        self._frame_index = -1
        self._time: Optional[float] = None
        self._image_size = None
        self._lost_entries = None
        self._scene_velocity: Optional[np.ndarray] = None

    # ------------------------------------------------------------------ public
    @property
    def frame_index(self) -> int:
        """0-based index of the last processed frame (-1 before the first)."""
        return self._frame_index

    @property
    def shot(self) -> Optional[int]:
        """0-based index of the current shot; None until a frame was looked at for cuts (no
        frames given, or ``shot_cuts.method`` off)."""
        return self._shot

    @property
    def live_track_count(self) -> int:
        return len(self._tracks)

    def reset(self) -> None:
        """Start a new stream: forget the tracks, the memory, the clock, the image size and what
        the associator learned of the previous stream (IDs keep counting up: never reused)."""
        self._tracks = []
        self.memory = IdentityMemory(self.config.memory)
        self.camera_motion.reset()
        self._camera_motion = None
        self.shot_cuts.reset()
        self._shot, self._cut = None, False
        self._frame_index = -1
        self._time = None
        self._image_size = None
        self._lost_entries = None
        self._scene_velocity = None
        reset = getattr(self.associator, "reset", None)  # a user's associator may keep no state
        if callable(reset):
            reset()

    def update(self, detections: Detections, frame: Optional[np.ndarray] = None,
               timestamp: Optional[float] = None, image_size: Optional[tuple] = None) -> Tracks:
        """Advance by one frame.

        detections: this frame's ``Detections`` (may be empty).
        frame: optional (H, W, 3) uint8 BGR image, used for appearance embeddings. Its size
            may change between frames (it is only used for crops and normalization).
        timestamp: seconds; must not go backwards (a repeated timestamp means dt = 0). When
            None, frames are assumed ``1 / config.frame_rate`` apart.
        image_size: (width, height) pixels of the frame when no frame is given (e.g. from a
            MOT ``seqinfo.ini``); only used to normalize boxes for the associator.
        """
        cfg = self.config
        if not isinstance(detections, Detections):
            raise ValueError(f"detections must be tracker.Detections, got {type(detections).__name__}")
        if frame is not None:
            _validate_frame(frame)
            self._image_size = (frame.shape[1], frame.shape[0])
        elif image_size is not None:
            self._image_size = _image_size(image_size)
        # 0. clock, shot cut, embeddings
        now, dt = self._advance_clock(timestamp)
        self._check_cut(frame)
        detections = self._with_embeddings(detections, frame)
        context = AssociationContext(now, self._image_size)
        # 1. predict, then follow the camera
        self._predict(dt)
        self._compensate_camera(frame, detections)
        # 2. split by score
        high = np.flatnonzero(detections.scores >= cfg.high_score)
        low = np.flatnonzero((detections.scores >= cfg.low_score) & (detections.scores < cfg.high_score))
        confirmed_or_lost = [t for t in self._tracks if t.state in (TrackState.CONFIRMED, TrackState.LOST)]
        tentative = [t for t in self._tracks if t.state == TrackState.TENTATIVE]
        for t in self._tracks:
            t.observed, t.det_index = False, -1
        self._lost_entries = None  # built once per update, on the first confirmation
        # 3. first association: high-score detections <-> confirmed + lost tracks (one problem, or
        #    with ``recent_first`` the tracks observed last frame first, then the lost ones)
        confirmed_or_lost, rest_tracks, rest_high = self._first_association(confirmed_or_lost, detections, high,
                                                                            context, now)
        # 4. second association: low-score detections <-> unmatched confirmed tracks
        remaining = [confirmed_or_lost[i] for i in rest_tracks if confirmed_or_lost[i].state == TrackState.CONFIRMED]
        matches, _, _ = self._associate(remaining, detections, low, Stage.SECOND, context)
        self._apply(remaining, detections, low, matches, now)
        high_left = high[rest_high]
        if cfg.recovery_match_iou is not None:
            horizon = np.inf if cfg.recovery_max_gap_s is None else cfg.recovery_max_gap_s
            unmatched = [confirmed_or_lost[i] for i in rest_tracks if not confirmed_or_lost[i].observed
                         and now - confirmed_or_lost[i].last_seen <= horizon]
            matches, _, rest = self._recovery_costs(unmatched, detections, high_left).assign()
            self._apply(unmatched, detections, high_left, matches, now)
            high_left = high_left[rest]
        # 5. tentative tracks <-> remaining high-score detections
        matches, _, rest_new = self._associate(tentative, detections, high_left, Stage.TENTATIVE, context)
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
        if cfg.lost_follow_scene or cfg.birth_scene_velocity:
            self._follow_scene()
        # 8. forget stale lost tracks (into the memory) and stale memory
        for t in self._tracks:
            if t.state == TrackState.LOST and now - t.last_seen > cfg.lost_horizon_s:
                t.state = TrackState.REMOVED
                self.memory.remember(t.memory_entry())
        self._tracks = [t for t in self._tracks if t.state != TrackState.REMOVED]
        self.memory.expire(now)
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
                self._frame_index -= 1
                raise ValueError(f"timestamp must be a finite number of seconds, got {timestamp!r}")
            if abs(now) > MAX_ABS_TIMESTAMP_S:
                self._frame_index -= 1
                raise InputError(f"timestamp must be within +-{MAX_ABS_TIMESTAMP_S:g} s (time steps beyond it "
                                 f"overflow the motion model), got {timestamp!r}")
            if self._time is not None and now < self._time:
                self._frame_index -= 1
                raise ValueError(f"timestamp {now} s goes backwards (previous frame was at {self._time} s)")
        dt = 0.0 if self._time is None else now - self._time
        self._time = now
        return now, dt

    def _check_cut(self, frame: Optional[np.ndarray]) -> None:
        """A hard cut before ``frame``: every live track ends (not into the memory, which is
        emptied too) and camera motion starts over; IDs keep counting up."""
        self._cut = False
        if frame is None or not self.shot_cuts.enabled:
            return
        self._cut = self.shot_cuts.update(frame)
        self._shot = self.shot_cuts.shot
        if self._cut:
            self._tracks = []
            self.memory = IdentityMemory(self.config.memory)
            self.camera_motion.forget_frame()
            self._lost_entries = None
            self._scene_velocity = None

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
            t.unseen_steps += 1

    def _compensate_camera(self, frame: Optional[np.ndarray], detections: Detections) -> None:
        """Estimate the camera's motion since the previous frame (detections masked out) and
        move every live track's state, covariance and box history by it."""
        if frame is None:
            self._camera_motion = None
            return
        self._camera_motion = self.camera_motion.estimate(frame, detections.xyxy)
        if self._camera_motion.status != "ok" or not self._tracks:
            return
        matrix = self._camera_motion.matrix
        means, covs = motion.warp(np.stack([t.mean for t in self._tracks]), np.stack([t.cov for t in self._tracks]),
                                  matrix)
        for t, m, c in zip(self._tracks, means, covs):
            t.mean, t.cov = m, c
            if t.obs_mean is not None:  # the re-update starts from it: same frame as the history
                t.obs_mean, t.obs_cov = motion.warp(t.obs_mean, t.obs_cov, matrix)
            rows = np.array([r[1:5] for r in t.history], np.float64)
            moved = warp_xyxy(rows, matrix)
            t.history = deque([(r[0], *b.tolist(), r[5]) for r, b in zip(t.history, moved)],
                              maxlen=t.history.maxlen)

    def _first_association(self, tracks: List[_Track], detections: Detections, high: np.ndarray,
                           context: AssociationContext, now: float):
        """High-score detections ``high`` <-> confirmed and lost ``tracks``; applies the matches.

        Returns ``(tracks, unmatched, unmatched_high)``: the tracks in the order the indices
        refer to, the indices of the unmatched ones and the indices into ``high`` of the
        unmatched detections. With ``recent_first`` it is a cascade by time since the last
        match (DeepSORT's, in two levels): the tracks observed in the previous frame (state
        CONFIRMED) are matched first, and the lost ones only to the detections left, so a
        track that was unmatched cannot take a detection a continuing track explains."""
        if not self.config.recent_first:
            matches, rest_tracks, rest_high = self._associate(tracks, detections, high, Stage.FIRST, context)
            self._apply(tracks, detections, high, matches, now)
            return tracks, rest_tracks, rest_high
        recent = [t for t in tracks if t.state == TrackState.CONFIRMED]
        lost = [t for t in tracks if t.state == TrackState.LOST]
        matches, rest_recent, rest_high = self._associate(recent, detections, high, Stage.FIRST, context)
        self._apply(recent, detections, high, matches, now)
        left = high[rest_high]
        matches, rest_lost, rest_left = self._associate(lost, detections, left, Stage.FIRST, context)
        self._apply(lost, detections, left, matches, now)
        rest_tracks = np.concatenate([rest_recent, len(recent) + np.asarray(rest_lost, np.int64)]).astype(np.int64)
        return recent + lost, rest_tracks, np.asarray(rest_high)[rest_left]

    def _associate(self, tracks: Sequence[_Track], detections: Detections, det_rows: np.ndarray, stage: Stage,
                   context: AssociationContext):
        return self.associator.cost(tracks, detections, det_rows, stage, context).assign()

    def _recovery_costs(self, tracks: Sequence[_Track], detections: Detections, det_rows: np.ndarray) -> PairCosts:
        """``1 - IoU`` of each track's last observed box with each detection, ceiling
        ``1 - recovery_match_iou``; different classes never match."""
        max_cost = 1.0 - self.config.recovery_match_iou
        if not tracks or len(det_rows) == 0:
            return PairCosts(np.zeros((len(tracks), len(det_rows))), max_cost)
        last = np.array([t.history[-1][1:5] for t in tracks], np.float64)
        cost = 1.0 - iou_matrix(last, detections.xyxy[det_rows])
        return PairCosts(np.where(classes_differ(tracks, detections, det_rows), FORBIDDEN_COST, cost), max_cost)

    def _apply(self, tracks: Sequence[_Track], detections: Detections, det_rows: np.ndarray,
               matches: np.ndarray, now: float) -> None:
        cfg = self.config
        if len(matches) == 0:
            return
        matched = [tracks[ti] for ti in matches[:, 0]]
        rows = det_rows[matches[:, 1]].astype(np.int64)
        # one batched Kalman correction for all matched tracks (same math as one by one)
        means, covs = motion.update(np.stack([t.mean for t in matched]), np.stack([t.cov for t in matched]),
                                    xyxy_to_cxcywh(detections.xyxy[rows]), cfg.motion)
        for t, d, m, c in zip(matched, rows.tolist(), means, covs):
            t.mean, t.cov = m, c
            if cfg.reupdate_after_gap and t.state == TrackState.LOST and t.unseen_steps >= 2 and t.history:
                self._reupdate(t, detections.xyxy[d], now)
            if cfg.refit_velocity_after_gap and t.state == TrackState.LOST and t.history:
                self._refit_velocity(t, detections.xyxy[d], now)
            t.streak = t.streak + 1 if t.unseen_steps <= 1 else 1  # <= 1 prediction since: no frame missed
            t.obs_mean, t.obs_cov, t.unseen_steps = t.mean, t.cov, 0
            t.score = float(detections.scores[d])
            t.last_seen = now
            t.observed = True
            t.det_index = int(detections.index[d])
            t.det_xyxy = detections.xyxy[d].astype(np.float64)
            t.history.append((now, *t.det_xyxy.tolist(), t.score))
            t.hits += 1
            if detections.embeddings is not None:
                self._add_embedding(t, detections.embeddings[d], now)
            if t.state == TrackState.LOST:
                t.state = TrackState.CONFIRMED
            elif t.state == TrackState.TENTATIVE and t.hits >= cfg.min_hits:
                self._confirm(t, now)

    def _follow_scene(self) -> None:
        """Scene velocity (pixels/s, centre x/y) = median over the confirmed tracks observed now;
        lost tracks' centre velocities move by its change since the last estimate."""
        seen = [t.mean[4:6] for t in self._tracks if t.observed and t.state == TrackState.CONFIRMED]
        if len(seen) < MIN_SCENE_TRACKS:
            return
        scene = np.median(np.stack(seen), axis=0)
        if self._scene_velocity is not None and self.config.lost_follow_scene:
            change = scene - self._scene_velocity
            for t in self._tracks:
                if t.state == TrackState.LOST:
                    t.mean = t.mean.copy()
                    t.mean[4:6] += change
        self._scene_velocity = scene

    def _reupdate(self, t: _Track, xyxy: np.ndarray, now: float) -> None:
        """A lost track found again: run the filter again from its last observation through
        the gap's ``unseen_steps`` frame steps along the straight line to this observation
        (``motion.reupdate``), instead of the one correction after the unobserved drift."""
        if t.obs_mean is None or now <= t.last_seen:
            return
        last = xyxy_to_cxcywh(np.asarray(t.history[-1][1:5], np.float64))[0]
        new = xyxy_to_cxcywh(np.asarray(xyxy, np.float64))[0]
        t.mean, t.cov = motion.reupdate(t.obs_mean, t.obs_cov, last, new, t.unseen_steps,
                                        (now - t.last_seen) / t.unseen_steps, self.config.motion)

    @staticmethod
    def _refit_velocity(t: _Track, xyxy: np.ndarray, now: float) -> None:
        """A lost track found again: its velocity drifted unobserved through the gap, so it is
        replaced by the straight path from the last observation to this one (the idea of
        OC-SORT's observation-centric re-update), in pixels per second."""
        last_time, *last_box = t.history[-1][:5]
        elapsed = now - last_time
        if elapsed <= 0:
            return
        t.mean = t.mean.copy()
        now_box, last = xyxy_to_cxcywh(np.asarray(xyxy, np.float64))[0], xyxy_to_cxcywh(np.asarray(last_box))[0]
        t.mean[4:] = (now_box - last) / elapsed

    def _add_embedding(self, t: _Track, e: np.ndarray, now: float) -> None:
        momentum = self.config.embedding_momentum
        if t.embedding is None:
            t.embedding = e.astype(np.float32).copy()
        else:
            mixed = momentum * t.embedding + (1 - momentum) * e
            t.embedding = (mixed / max(float(np.linalg.norm(mixed)), 1e-12)).astype(np.float32)
        if now - t.last_bank_time >= self.config.memory.bank_interval_s:
            t.bank.append(e.astype(np.float32).copy())
            t.last_bank_time = now

    def _confirm(self, t: _Track, now: float) -> None:
        """Issue an ID: a returning identity's old one (memory) or a new one."""
        t.state = TrackState.CONFIRMED
        revived = None
        if t.embedding is not None:
            if self._lost_entries is None:  # once per update: O(tracks), not O(tracks) per confirmation
                self._lost_entries = [(o, o.memory_entry()) for o in self._tracks
                                      if o.state == TrackState.LOST and o.track_id > 0 and o.bank]
            lost_live = [e for o, e in self._lost_entries if o.state == TrackState.LOST and o is not t]
            revived = self.memory.best_match(t.embedding, t.xyxy, t.class_id, now, lost_live)
        if revived is not None:
            t.track_id = revived
            self.memory.forget(revived)
            for o in self._tracks:  # a live LOST track with that ID hands it over
                if o.track_id == revived and o is not t:
                    o.state = TrackState.REMOVED
                    for e in o.bank:
                        t.bank.appendleft(e)
            return
        t.track_id = self._next_id
        self._next_id += 1

    def _birth(self, detections: Detections, d: int, now: float) -> None:
        cfg = self.config
        mean, cov = motion.initiate(xyxy_to_cxcywh(detections.xyxy[d])[0], cfg.motion)
        if cfg.birth_scene_velocity and self._scene_velocity is not None:
            mean[4:6] = self._scene_velocity
        box = detections.xyxy[d].astype(np.float64)
        t = _Track(mean, cov, float(detections.scores[d]), int(detections.class_ids[d]), now,
                   history=deque([(now, *box.tolist(), float(detections.scores[d]))], maxlen=cfg.history_length),
                   bank=deque(maxlen=cfg.memory.bank_size), det_index=int(detections.index[d]), det_xyxy=box,
                   obs_mean=mean, obs_cov=cov)
        if detections.embeddings is not None:
            self._add_embedding(t, detections.embeddings[d], now)
        self._tracks.append(t)
        if cfg.min_hits <= 1:
            self._confirm(t, now)

    def _report(self, now: float) -> Tracks:
        cfg = self.config
        shown = [t for t in self._tracks if t.track_id > 0 and t.state != TrackState.REMOVED and (
            (t.observed and (t.streak >= cfg.rematch_hits or t.streak == t.hits))
            or (t.state == TrackState.LOST and cfg.output_lost_s > 0 and now - t.last_seen <= cfg.output_lost_s))]
        if not shown:
            return Tracks.empty(self._frame_index, now, self._camera_motion, self._shot, self._cut)
        boxes = [t.reported_xyxy if cfg.report_detection_box else t.xyxy for t in shown]
        return Tracks(
            track_ids=np.array([t.track_id for t in shown], np.int64),
            xyxy=np.stack(boxes).astype(np.float32),
            scores=np.array([t.score for t in shown], np.float32),
            class_ids=np.array([t.class_id for t in shown], np.int64),
            det_index=np.array([t.det_index for t in shown], np.int64),
            observed=np.array([t.observed for t in shown], bool),
            states=np.array([int(t.state) for t in shown], np.int8),
            frame_index=self._frame_index,
            timestamp=now,
            camera_motion=self._camera_motion,
            shot=self._shot,
            cut=self._cut,
        )
