"""Tracker configuration (frozen, validated at construction)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from tracker.camera_motion import CameraMotionConfig
from tracker.config_base import ConfigBase, check_int, check_range
from tracker.memory import MemoryConfig
from tracker.motion import MotionConfig
from tracker.shots import ShotCutConfig

ASSOCIATORS = ("learned", "transformer", "iou")
#: what each ``--associator`` choice means (command-line help)
ASSOCIATOR_CHOICES_HELP = ("'learned' = the Transformer associator blended with the core's geometry; "
                           "'transformer' = the Transformer alone; 'iou' = the non-learned motion + IoU core")
#: lost-track horizon (seconds) of each associator when ``TrackerConfig.lost_horizon_s`` is None
LOST_HORIZON_S = {"learned": 4.0, "transformer": 4.0, "iou": 2.0}


@dataclass(frozen=True)
class TrackerConfig(ConfigBase):
    """Settings of ``Tracker``. Scores are detector confidences in [0, 1]; times in seconds.

    frame_rate: frames/s assumed when ``update`` gets no timestamp.
    high_score: detections at or above it take part in the first association.
    low_score: detections in [low_score, high_score) only extend existing confirmed tracks.
    new_track_score: an unmatched detection at or above it starts a tentative track.
    first_match_iou / second_match_iou / tentative_match_iou: the least IoU a pair needs in the
        first (high-score), second (low-score) and tentative-track associations.
    fuse_score: multiply IoU by the detection score in the first association (ByteTrack).
    min_hits: consecutive matches that confirm a tentative track (and issue its ID).
    lost_horizon_s: a lost track is removed after this long unseen; None (the default) means the
        associator's own: ``LOST_HORIZON_S[associator]`` (2 s for "iou", 4 s for the learned
        ones, trained on gaps that long, which can tell a returning track from a stranger).
    appearance_weight: weight of the appearance distance (1 - cosine) in the first association
        when tracks and detections carry embeddings (0 disables appearance).
    appearance_gate: pairs whose appearance distance exceeds it cannot match on appearance.
    embedding_momentum: a track's embedding = momentum * old + (1 - momentum) * new.
    output_lost_s: report predicted boxes of lost tracks for this long (0 = never).
    report_detection_box: report the matched detection's box (True) or the filtered Kalman box.
    associator: "learned" (the default: the Transformer blended with the core's geometry,
        ``tracker.association.learned``), "transformer" (the Transformer alone,
        ``tracker.association.transformer``) or "iou" (the non-learned core).
    transformer_weight: "learned" only: the Transformer's share of the blended cost of the first
        and tentative associations (the core has ``1 - transformer_weight``); 0 gives the core's
        ranking, 1 the Transformer's. Chosen on a held-out fold (docs/associator.md).
    transformer_max_pairs: "learned" only: an association problem with more track x detection
        pairs than this is decided by the core alone (the largest training problem has 1,360;
        larger crowds are out of the Transformer's distribution, and the core is faster there).
    match_probability: the Transformer's least pair probability that may match (its cost
        ceiling is -log of it); unused by "iou".
    history_length: observations kept per track for the associator (bounded).
    motion: Kalman noise settings. memory: identity memory settings (needs embeddings).
    refit_velocity_after_gap: when a lost track is matched again, replace its Kalman velocity
        by the straight path from its last observation to the new one (OC-SORT's
        observation-centric re-update, simplified); off by default (docs/tuning.md).
    reupdate_after_gap: when a lost track is matched again, run its Kalman filter again from
        the state of its last observation through the gap, on virtual observations along the
        straight line to the new one (OC-SORT's observation-centric re-update,
        ``tracker.motion.reupdate``); off by default (docs/tuning.md).
    direction_weight: weight of the direction-consistency term in the first association
        (OC-SORT's observation-centric momentum): a pair's cost drops by
        ``direction_weight * score * (pi/2 - angle) / pi``, where ``angle`` is between the
        track's recent direction of motion and the direction from its last observation to the
        detection (``tracker.association.direction``); 0 (the default) disables it. The IoU
        gate is unchanged: it never lets a pair match that fails it.
    recovery_match_iou: when set, an extra association after the second one (OC-SORT's
        observation-centric recovery): confident detections still unmatched <-> confirmed and
        lost tracks still unmatched, by the IoU with the track's last observed box (not its
        drifting prediction), matched at this least IoU; None (the default) disables it.
    recovery_max_gap_s: only tracks unseen for at most this long (seconds) take part in that
        recovery (a last observed box goes stale on a moving camera); None = any lost track.
    lost_follow_scene: lost tracks follow the scene's motion, estimated from boxes alone (no
        frames needed): every frame, the median centre velocity of the confirmed tracks observed
        in it (at least ``tracker.core.MIN_SCENE_TRACKS``) is the scene velocity, and each lost
        track's velocity changes by as much as it did since the previous estimate (a camera that
        speeds up or turns moves the people it does not see as well); off by default.
    birth_scene_velocity: a new track starts with the scene velocity of ``lost_follow_scene``
        (estimated whether or not that is on) instead of 0; off by default.
    recent_first: the first association as a cascade by time since the last match (DeepSORT's,
        two levels): the confirmed tracks observed in the previous frame are matched to the
        high-score detections first, the lost tracks only to the detections left. Aimed at the
        one-frame takeovers of ``docs/takeover_sources.md`` (a coasting lost track taking a
        person from the track that had them the frame before); off by default (docs/tuning.md).
    rematch_hits: a track found again after a gap (one or more frames unmatched) is reported
        only from its ``rematch_hits``-th consecutive match on (OC-SORT reports a track only
        while its hit streak reaches its ``min_hits``): a lost track that takes a person over
        for a frame or two is never shown with them; its other frames are reported as before.
        1 (the default) reports it at once.
    direction_lag_s: the track's direction is measured from its observation at least this many
        seconds before the last one (its oldest kept one when none is that old) to the last.
    camera_motion: camera-motion compensation, applied when ``update`` gets frames
        (``method`` "auto" by default; "off" disables it; ``tracker.camera_motion``).
    shot_cuts: shot-cut detection, applied when ``update`` gets frames: at a hard cut every
        live track ends (``method`` "auto" by default; "off" disables it; ``tracker.shots``).
    """

    frame_rate: float = 30.0
    high_score: float = 0.5
    low_score: float = 0.1
    new_track_score: float = 0.7
    first_match_iou: float = 0.2
    second_match_iou: float = 0.5
    tentative_match_iou: float = 0.3
    fuse_score: bool = True
    min_hits: int = 2
    lost_horizon_s: Optional[float] = None
    appearance_weight: float = 0.0
    appearance_gate: float = 0.5
    embedding_momentum: float = 0.9
    output_lost_s: float = 0.0
    report_detection_box: bool = False
    associator: str = "learned"
    transformer_weight: float = 0.3
    transformer_max_pairs: int = 5000
    match_probability: float = 0.1
    history_length: int = 16
    refit_velocity_after_gap: bool = False
    reupdate_after_gap: bool = False
    direction_weight: float = 0.0
    direction_lag_s: float = 0.1
    recovery_match_iou: Optional[float] = None
    recovery_max_gap_s: Optional[float] = None
    lost_follow_scene: bool = False
    birth_scene_velocity: bool = False
    recent_first: bool = False
    rematch_hits: int = 1
    motion: MotionConfig = field(default_factory=MotionConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    camera_motion: CameraMotionConfig = field(default_factory=CameraMotionConfig)
    shot_cuts: ShotCutConfig = field(default_factory=ShotCutConfig)

    def __post_init__(self) -> None:
        check_range("TrackerConfig.frame_rate", self.frame_rate, 0.0, 1000.0, low_inclusive=False)
        for name in ("high_score", "low_score", "new_track_score", "first_match_iou", "second_match_iou",
                     "tentative_match_iou", "appearance_weight", "appearance_gate", "embedding_momentum",
                     "transformer_weight", "direction_weight"):
            check_range(f"TrackerConfig.{name}", getattr(self, name), 0.0, 1.0)
        if self.low_score > self.high_score:
            raise ValueError(f"TrackerConfig.low_score ({self.low_score}) must be <= high_score ({self.high_score})")
        check_int("TrackerConfig.min_hits", self.min_hits, 1, 100)
        check_int("TrackerConfig.rematch_hits", self.rematch_hits, 1, 100)
        if not isinstance(self.associator, str) or self.associator not in ASSOCIATORS:
            raise ValueError(f"TrackerConfig.associator must be one of {ASSOCIATORS}, got {self.associator!r}")
        if self.lost_horizon_s is None:  # resolved once: replace() keeps the resolved value
            object.__setattr__(self, "lost_horizon_s", LOST_HORIZON_S[self.associator])
        check_range("TrackerConfig.lost_horizon_s", self.lost_horizon_s, 0.0, 3600.0)
        check_range("TrackerConfig.output_lost_s", self.output_lost_s, 0.0, 3600.0)
        check_range("TrackerConfig.direction_lag_s", self.direction_lag_s, 0.0, 3600.0)
        if self.recovery_match_iou is not None:
            check_range("TrackerConfig.recovery_match_iou", self.recovery_match_iou, 0.0, 1.0, low_inclusive=False)
        if self.recovery_max_gap_s is not None:
            check_range("TrackerConfig.recovery_max_gap_s", self.recovery_max_gap_s, 0.0, 3600.0)
        for name in ("fuse_score", "report_detection_box", "refit_velocity_after_gap", "reupdate_after_gap",
                     "lost_follow_scene", "birth_scene_velocity", "recent_first"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"TrackerConfig.{name} must be true or false, got {getattr(self, name)!r}")
        check_range("TrackerConfig.match_probability", self.match_probability, 0.0, 1.0, low_inclusive=False)
        if not isinstance(self.motion, MotionConfig):
            raise ValueError("TrackerConfig.motion must be a MotionConfig")
        if not isinstance(self.memory, MemoryConfig):
            raise ValueError("TrackerConfig.memory must be a MemoryConfig")
        if not isinstance(self.camera_motion, CameraMotionConfig):
            raise ValueError("TrackerConfig.camera_motion must be a CameraMotionConfig")
        if not isinstance(self.shot_cuts, ShotCutConfig):
            raise ValueError("TrackerConfig.shot_cuts must be a ShotCutConfig")
        check_int("TrackerConfig.history_length", self.history_length, 1, 1000)
        check_int("TrackerConfig.transformer_max_pairs", self.transformer_max_pairs, 0, 10**9)
