"""The tracklet-pair scorer: how likely is it that tracklet B continues tracklet A?

For a candidate pair (A ends, then B starts after a gap of ``g`` seconds) the scorer forms the
log-odds of "one identity" against "two identities" as a prior plus a log likelihood ratio per
cue (all distances in box heights ``h``, the geometric mean of A's end and B's start height):

* motion: B's start centre is predicted from A's end (and A's end from B's start) with their
  velocities extrapolated for at most ``velocity_horizon_s``; the residual ``r`` is a 2-D
  normal of spread ``s(g) = position_sigma + position_sigma_rate * g`` for one identity, and
  uniform over the disc another person could come from, radius ``R = max_speed * g + 3 s(g)``:
  ``log LR = log(R^2 / (2 s^2)) - r^2 / (2 s^2)``.
* size: ``x = log(h_B / h_A)`` is normal with spread ``size_sigma`` for one identity and
  ``size_sigma_other`` for two.
* appearance (when both carry embeddings): the cosine of the mean embeddings is normal around
  ``appearance_mean_same`` or ``appearance_mean_other`` with spread ``appearance_sigma``.
* prior: ``prior_log_odds - g / gap_decay_s`` (a longer absence is a priori less likely to end
  in the same person).

Hard constraints (the pair is not a candidate at all): same class, same shot (motion never
links across a hard cut of an edited video, ``tracker.shots``), B starts strictly after A
ends, ``g <= max_gap_s``, the straight-line speed within ``max_speed`` (plus the position
spread) and the height ratio within ``max_size_ratio``. ``probability = sigmoid(log-odds)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from tracker.offline.config import OfflineConfig
from tracker.offline.tracklets import Tracklet, box_centre

#: the stranger's disc reaches this many position spreads beyond the speed bound
REACH_SIGMAS = 3.0


@dataclass(frozen=True, eq=False)
class TrackletTable:
    """The tracklets as arrays (T = number of tracklets): times (T,) s, positions (T,),
    centres (T, 2) px, heights (T,) px, velocities (T, 2) px/s at start and end, class (T,),
    appearance (T, D) unit rows (zeros where none), has_appearance (T,) bool and shot (T,)."""

    start_time: np.ndarray
    end_time: np.ndarray
    start_pos: np.ndarray
    end_pos: np.ndarray
    start_centre: np.ndarray
    end_centre: np.ndarray
    start_height: np.ndarray
    end_height: np.ndarray
    start_velocity: np.ndarray
    end_velocity: np.ndarray
    class_id: np.ndarray
    appearance: Optional[np.ndarray]
    has_appearance: np.ndarray
    shot: np.ndarray

    def __len__(self) -> int:
        return len(self.start_time)

    @classmethod
    def from_tracklets(cls, tracklets: List[Tracklet]) -> "TrackletTable":
        def arr(values, shape=()):
            return np.asarray(values, np.float64).reshape((len(tracklets),) + shape)

        dims = {len(t.appearance) for t in tracklets if t.appearance is not None}
        appearance = None
        has = np.array([t.appearance is not None for t in tracklets], bool)
        if len(dims) == 1:
            appearance = np.zeros((len(tracklets), dims.pop()))
            for i, t in enumerate(tracklets):
                if t.appearance is not None:
                    appearance[i] = t.appearance
        else:  # none, or embeddings of several sizes: appearance is not compared
            has = np.zeros(len(tracklets), bool)
        return cls(arr([t.start_time for t in tracklets]), arr([t.end_time for t in tracklets]),
                   np.asarray([t.start_pos for t in tracklets], np.int64),
                   np.asarray([t.end_pos for t in tracklets], np.int64),
                   arr([box_centre(t.start_box) for t in tracklets], (2,)),
                   arr([box_centre(t.end_box) for t in tracklets], (2,)),
                   arr([t.start_height for t in tracklets]), arr([t.end_height for t in tracklets]),
                   arr([t.start_velocity for t in tracklets], (2,)), arr([t.end_velocity for t in tracklets], (2,)),
                   np.asarray([t.class_id for t in tracklets], np.int64), appearance, has,
                   np.asarray([t.shot for t in tracklets], np.int64))


def candidate_pairs(table: TrackletTable, config: OfflineConfig) -> Tuple[np.ndarray, np.ndarray]:
    """(P,) indices ``a`` (the earlier tracklet) and ``b`` (the later one) of the pairs that
    pass the time window: B starts after A's last frame, within ``max_gap_s`` of A's end.
    O(T log T + P) by sorting the start times."""
    if len(table) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.argsort(table.start_time, kind="stable")
    starts = table.start_time[order]
    lo = np.searchsorted(starts, table.end_time, side="left")
    hi = np.searchsorted(starts, table.end_time + config.max_gap_s, side="right")
    counts = np.maximum(hi - lo, 0)
    a = np.repeat(np.arange(len(table)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    b = order[np.repeat(lo, counts) + offsets]
    keep = ((table.start_pos[b] > table.end_pos[a]) & (table.class_id[a] == table.class_id[b])
            & (table.shot[a] == table.shot[b]))
    return a[keep], b[keep]


@dataclass(frozen=True, eq=False)
class PairGeometry:
    """The motion geometry of candidate pairs (``a[k]`` earlier, ``b[k]`` later), shared by the
    hand-built and the learned scorer: gap (P,) s from A's end to B's start; h (P,) px, the
    geometric mean of A's end height and B's start height; displacement (P, 2) px of the box
    centre over the gap; residual (P,) heights, its distance from the displacement the two end
    velocities predict (over at most ``velocity_horizon_s``); size (P,) log(B's height / A's)."""

    gap: np.ndarray
    h: np.ndarray
    displacement: np.ndarray
    residual: np.ndarray
    size: np.ndarray

    @classmethod
    def of(cls, table: TrackletTable, a: np.ndarray, b: np.ndarray, config: OfflineConfig) -> "PairGeometry":
        gap = np.maximum(table.start_time[b] - table.end_time[a], 0.0)
        h = np.sqrt(table.end_height[a] * table.start_height[b])
        displacement = table.start_centre[b] - table.end_centre[a]
        horizon = np.minimum(gap, config.velocity_horizon_s)[:, None]
        predicted = 0.5 * (table.end_velocity[a] + table.start_velocity[b]) * horizon
        residual = np.linalg.norm(displacement - predicted, axis=1) / h
        return cls(gap, h, displacement, residual, np.log(table.start_height[b] / table.end_height[a]))


def motion_log_odds(geometry: PairGeometry, config: OfflineConfig) -> Tuple[np.ndarray, np.ndarray]:
    """The hand-built log-odds without the appearance term (prior, gap decay, motion, size) and
    (P,) bool: the pair passes the hard constraints (speed bound, size ratio)."""
    cfg, g = config, geometry
    spread = cfg.position_sigma + cfg.position_sigma_rate * g.gap
    reach = cfg.max_speed * g.gap + REACH_SIGMAS * spread
    motion = np.log(reach ** 2 / (2.0 * spread ** 2)) - g.residual ** 2 / (2.0 * spread ** 2)
    size_term = (np.log(cfg.size_sigma_other / cfg.size_sigma) - g.size ** 2 / (2.0 * cfg.size_sigma ** 2)
                 + g.size ** 2 / (2.0 * cfg.size_sigma_other ** 2))
    log_odds = cfg.prior_log_odds - g.gap / cfg.gap_decay_s + motion + size_term
    straight = np.linalg.norm(g.displacement, axis=1) / g.h
    feasible = (straight <= reach) & (np.abs(g.size) <= np.log(cfg.max_size_ratio))
    return log_odds, feasible


def pair_log_odds(table: TrackletTable, a: np.ndarray, b: np.ndarray, config: OfflineConfig
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """Log-odds (P,) that tracklet ``b[k]`` continues ``a[k]``, and (P,) bool: the pair passes
    the hard constraints (the log-odds of a pair that fails are finite but must not be used)."""
    log_odds, feasible = motion_log_odds(PairGeometry.of(table, a, b, config), config)
    return log_odds + appearance_log_lr(table, a, b, config), feasible


def appearance_log_lr(table: TrackletTable, a: np.ndarray, b: np.ndarray, config: OfflineConfig) -> np.ndarray:
    """(P,) the appearance cue's log likelihood ratio (a normal on the cosine of the two mean
    embeddings for one identity / two identities); 0 where either tracklet has no embedding."""
    if table.appearance is None or len(a) == 0:
        return np.zeros(len(a))
    both = table.has_appearance[a] & table.has_appearance[b]
    cosine = np.einsum("ij,ij->i", table.appearance[a], table.appearance[b])
    var2 = 2.0 * config.appearance_sigma ** 2
    app = ((cosine - config.appearance_mean_other) ** 2 - (cosine - config.appearance_mean_same) ** 2) / var2
    return np.where(both, app, 0.0)


def probability(log_odds: np.ndarray) -> np.ndarray:
    """sigmoid, elementwise."""
    return 1.0 / (1.0 + np.exp(-np.asarray(log_odds, np.float64)))
