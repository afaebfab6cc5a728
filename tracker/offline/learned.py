"""The learned tracklet-pair scorer (``OfflineConfig.scorer = "learned"``): a small MLP over
pair features, calibrated to a probability, run in NumPy.

Features (``pair_features``, (P, F) float64, ``FEATURES`` names the columns): the gap (s), the
motion residual of the velocity-extrapolated position and the straight-line displacement (box
heights), the displacement's x and y (heights), the log height ratio, the speeds at A's end and
B's start and their difference (heights/s), both tracklets' durations (log s), the hand-built
scorer's log-odds without its appearance term (``scoring.motion_log_odds``, clipped), the cosine
of the two tracklets' aggregated embeddings and whether both have one. All in the coordinates the tracklets were
built in (scene coordinates under camera motion, ``scene.CameraPath``).

Network: standardise with the training mean/std, ``HIDDEN`` ReLU layers, one logit; the
calibrated log-odds are ``platt_a * logit + platt_b`` (Platt scaling fitted on held-out
self-supervised pairs, ``tracker.training.offline_scorer``). The hard rules of the hand scorer
(class, shot, order in time, gap, reach, size ratio) stay: the learned scorer only replaces the
log-odds of pairs that pass them. A model trained without embeddings (``appearance_trained``
False: the shipped one, trained on MOT files) scores every pair with the appearance columns at 0
and gets the hand-built appearance term (``scoring.appearance_log_lr``) added where both
tracklets carry embeddings, so that it never reads inputs it was not trained on.

Weights: an ``.npz`` (``OFFLINE_SCORER`` format) with ``mean``, ``std``, ``w0, b0, w1, b1,
...``, ``platt`` (2,) and ``features`` (the column names it was trained on); its metadata
``.json`` beside it lists the training files and the command.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

from tracker.errors import InputError
from tracker.model_registry import OFFLINE_SCORER
from tracker.offline.config import OfflineConfig
from tracker.offline.scoring import PairGeometry, TrackletTable, appearance_log_lr, motion_log_odds

#: the feature columns, in order
FEATURES = ("gap_s", "residual_h", "distance_h", "dx_h", "dy_h", "log_size_ratio", "speed_a_h", "speed_b_h",
            "speed_change_h", "log_duration_a", "log_duration_b", "hand_log_odds", "appearance_cosine",
            "has_appearance")
#: the hand-built log-odds enter as a feature clipped to +-this (its motion term is unbounded below)
HAND_LOG_ODDS_CLIP = 30.0
#: durations below this (s; a one-frame tracklet has 0) are taken as this before the log
MIN_DURATION_S = 0.04
#: hidden layer widths of the shipped architecture
HIDDEN = (32, 32)


def pair_features(table: TrackletTable, a: np.ndarray, b: np.ndarray, config: OfflineConfig,
                  with_appearance: bool = True) -> np.ndarray:
    """(P, len(FEATURES)) features of the pairs (``a[k]`` earlier, ``b[k]`` later); see the
    module docstring for the units. ``hand_log_odds`` is the hand-built scorer's motion and size
    evidence (its appearance term left out); with_appearance False: the appearance columns are 0
    (as for tracklets without embeddings)."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    geometry = PairGeometry.of(table, a, b, config)
    return features_of(table, a, b, geometry, motion_log_odds(geometry, config)[0], with_appearance)


def features_of(table: TrackletTable, a: np.ndarray, b: np.ndarray, geometry: PairGeometry, hand: np.ndarray,
                with_appearance: bool) -> np.ndarray:
    """``pair_features`` from the pairs' geometry and hand-built motion log-odds (computed once
    by the caller that also needs them)."""
    g = geometry
    distance = np.linalg.norm(g.displacement, axis=1) / g.h
    speed_a = np.linalg.norm(table.end_velocity[a], axis=1) / g.h
    speed_b = np.linalg.norm(table.start_velocity[b], axis=1) / g.h
    change = np.linalg.norm(table.end_velocity[a] - table.start_velocity[b], axis=1) / g.h
    duration_a = np.log(np.maximum(table.end_time[a] - table.start_time[a], MIN_DURATION_S))
    duration_b = np.log(np.maximum(table.end_time[b] - table.start_time[b], MIN_DURATION_S))
    cosine = np.zeros(len(a))
    both = np.zeros(len(a))
    if with_appearance and table.appearance is not None:
        has = table.has_appearance[a] & table.has_appearance[b]
        cosine = np.where(has, np.einsum("ij,ij->i", table.appearance[a], table.appearance[b]), 0.0)
        both = has.astype(np.float64)
    return np.column_stack([g.gap, g.residual, distance, g.displacement[:, 0] / g.h, g.displacement[:, 1] / g.h,
                            g.size, speed_a, speed_b, change, duration_a, duration_b,
                            np.clip(hand, -HAND_LOG_ODDS_CLIP, HAND_LOG_ODDS_CLIP), cosine, both])


class PairScorer:
    """The MLP and its calibration (see the module docstring). ``params``: ``mean``/``std``
    (F,), ``w{i}`` (in, out) / ``b{i}`` (out,) per layer, ``platt`` (2,)."""

    def __init__(self, params: Dict[str, np.ndarray]):
        self.mean = np.asarray(params["mean"], np.float64)
        self.std = np.asarray(params["std"], np.float64)
        layers = sum(1 for k in params if k[0] == "w" and k[1:].isdigit())
        self.weights = [(np.asarray(params[f"w{i}"], np.float64), np.asarray(params[f"b{i}"], np.float64))
                        for i in range(layers)]
        self.platt = np.asarray(params["platt"], np.float64)
        self.appearance_trained = bool(params.get("appearance_trained", False))

    def logits(self, features: np.ndarray) -> np.ndarray:
        """(P,) uncalibrated logits of (P, F) features."""
        x = (np.asarray(features, np.float64) - self.mean) / self.std
        for i, (w, bias) in enumerate(self.weights):
            x = x @ w + bias
            if i < len(self.weights) - 1:
                x = np.maximum(x, 0.0)
        return x[:, 0]

    def log_odds(self, features: np.ndarray) -> np.ndarray:
        """(P,) calibrated log-odds of "same identity"."""
        return self.platt[0] * self.logits(features) + self.platt[1]


def scorer_path(config: OfflineConfig) -> Path:
    """The weights file ``config`` names (``scorer_weights``), or the shipped one."""
    return Path(config.scorer_weights) if config.scorer_weights else OFFLINE_SCORER.shipped_path()


@functools.lru_cache(maxsize=16)
def _load(path: str, mtime_ns: int) -> PairScorer:
    params = OFFLINE_SCORER.read_npz(Path(path))
    names = tuple(str(n) for n in params.pop("features", ()))
    if names != FEATURES:
        raise InputError(f"{path}: trained on features {names}, this version computes {FEATURES}", "scorer_weights")
    return PairScorer(params)


def load_scorer(path: Optional[Path] = None) -> PairScorer:
    """The scorer in ``path`` (default: the shipped one); read once per file version."""
    path = OFFLINE_SCORER.existing(path)
    return _load(str(path), path.stat().st_mtime_ns)


def learned_log_odds(table: TrackletTable, a: np.ndarray, b: np.ndarray, config: OfflineConfig
                     ) -> Tuple[np.ndarray, np.ndarray]:
    """Like ``scoring.pair_log_odds``: (P,) calibrated log-odds from the learned scorer and (P,)
    bool, the hand scorer's hard constraints."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    geometry = PairGeometry.of(table, a, b, config)
    hand, feasible = motion_log_odds(geometry, config)
    if len(a) == 0:
        return np.zeros(0), feasible
    scorer = load_scorer(scorer_path(config))
    if scorer.appearance_trained:
        return scorer.log_odds(features_of(table, a, b, geometry, hand, True)), feasible
    log_odds = scorer.log_odds(features_of(table, a, b, geometry, hand, False))
    return log_odds + appearance_log_lr(table, a, b, config), feasible
