"""Input tokens of the Transformer associator, built batched in numpy (no per-pair loops).

One association problem (``Tracker.update`` stage) is T tracks x N detections. It becomes:

* ``history`` (T, K, HISTORY_DIM) float32 and ``history_mask`` (T, K) bool: each track's last
  K observations, oldest first, left-padded (mask False on padding). Per observation:
  centre offset from the track's predicted box in predicted-box heights (dx, dy), log size
  ratio to the predicted box (log w, log h), age in seconds (now - t), detector score,
  velocity to the previous observation in box heights per second (vx, vy), 1 (valid).
* ``track_globals`` (T, TRACK_DIM): predicted box normalized by the image size
  (cx/W, cy/H, w/W, h/H), seconds since last seen, log number of observations, last score,
  Kalman velocity in box heights per second (vx, vy), Kalman position std in box heights,
  stage one-hot (3), has-embedding flag (track and detections both have embeddings).
* ``det_tokens`` (N, DET_DIM): cx/W, cy/H, w/W, h/H, score, log(h/w), has-embedding flag,
  stage one-hot (3).
* ``pairs`` (T, N, PAIR_DIM): IoU with the predicted box, IoU with the last observed box,
  centre offset from the prediction in predicted heights (dx, dy), log size ratios (w, h),
  log(1 + squared Mahalanobis distance) / 4, log(1 + implied speed from the last observed
  position in box heights per second), cosine appearance similarity and its availability
  flag.

Times are seconds (any frame rate); boxes are normalized by the image size when known,
otherwise by ``fallback_size`` (the associator passes the extent of the boxes seen so far).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Optional, Sequence, Tuple

import numpy as np

from tracker.association.base import Stage
from tracker.boxes import iou_matrix
from tracker.motion import MotionConfig

HISTORY_LEN = 8
STAGES = (Stage.FIRST, Stage.SECOND, Stage.TENTATIVE)


class HistoryCol:
    """Columns of ``history`` (T, K, HISTORY_DIM): one past observation of a track."""

    DX, DY = 0, 1  # centre offset from the predicted box, predicted heights
    LOG_W, LOG_H = 2, 3  # log size ratio to the predicted box
    AGE = 4  # now - observation time, seconds
    SCORE = 5
    VX, VY = 6, 7  # velocity to the previous observation, box heights per second
    VALID = 8  # 1 for an observation, 0 for padding
    OFFSET = slice(DX, DY + 1)
    LOG_SIZE = slice(LOG_W, LOG_H + 1)
    VELOCITY = slice(VX, VY + 1)
    DIM = 9


class TrackCol:
    """Columns of ``track_globals`` (T, TRACK_DIM)."""

    BOX = slice(0, 4)  # predicted cx/W, cy/H, w/W, h/H
    GAP = 4  # seconds since last seen
    LOG_OBSERVATIONS = 5  # log(1 + observations) / log(1 + K)
    SCORE = 6  # last score
    VELOCITY = slice(7, 9)  # Kalman velocity, box heights per second
    POSITION_STD = 9  # Kalman position std, box heights
    STAGE = slice(10, 13)  # stage one-hot
    HAS_EMBEDDING = 13
    DIM = 14


class DetCol:
    """Columns of ``det_tokens`` (N, DET_DIM)."""

    BOX = slice(0, 4)  # cx/W, cy/H, w/W, h/H
    SCORE = 4
    LOG_ASPECT = 5  # log(h / w)
    HAS_EMBEDDING = 6
    STAGE = slice(7, 10)  # stage one-hot, in ``STAGES`` order
    STAGE_SECOND = 8  # 1 in the second (low-score) association
    DIM = 10


class PairCol:
    """Columns of ``pairs`` (T, N, PAIR_DIM)."""

    IOU_PREDICTED = 0  # IoU with the predicted box
    IOU_LAST = 1  # IoU with the last observed box
    DX, DY = 2, 3  # centre offset from the prediction, predicted heights
    LOG_W, LOG_H = 4, 5  # log size ratios
    MAHALANOBIS = 6  # log(1 + squared Mahalanobis distance) / 4
    SPEED = 7  # log(1 + implied speed from the last observation, box heights per second)
    COSINE = 8  # appearance cosine similarity
    HAS_COSINE = 9
    DIM = 10


HISTORY_DIM, TRACK_DIM, DET_DIM, PAIR_DIM = HistoryCol.DIM, TrackCol.DIM, DetCol.DIM, PairCol.DIM
MAX_SECONDS = 10.0  # ages and gaps are clipped to this many seconds
MAX_OFFSET = 10.0  # offsets and velocities are clipped to this many box heights (per second)
MAX_LOG_RATIO = 3.0
MIN_SIDE = 1.0  # pixels
MAX_SPEED = 1e3  # implied speeds are clipped to this many box heights per second


@dataclass(frozen=True)
class AssociationTokens:
    """The numeric inputs of one association problem (shapes in the module docstring)."""

    history: np.ndarray
    history_mask: np.ndarray
    track_globals: np.ndarray
    det_tokens: np.ndarray
    pairs: np.ndarray

    @property
    def num_tracks(self) -> int:
        return self.track_globals.shape[0]

    @property
    def num_detections(self) -> int:
        return self.det_tokens.shape[0]


def _clip(x, low, high):
    """``np.clip`` without its per-call overhead (small arrays, called often)."""
    return np.minimum(np.maximum(x, low), high)


def _stage_one_hot(stage: Stage) -> np.ndarray:
    out = np.zeros(len(STAGES), np.float32)
    out[STAGES.index(stage)] = 1.0
    return out


def _cxcywh(xyxy: np.ndarray) -> np.ndarray:
    wh = np.maximum(xyxy[..., 2:4] - xyxy[..., 0:2], MIN_SIDE)
    return np.concatenate([xyxy[..., 0:2] + wh / 2.0, wh], axis=-1)


def _history_array(tracks: Sequence, length: int) -> Tuple[np.ndarray, np.ndarray]:
    """-> rows (T, length, 6) float64 ``t, x1, y1, x2, y2, score`` left-padded, mask (T, length)."""
    flat, counts = [], []
    for t in tracks:
        hist = t.history
        n = min(len(hist), length)
        counts.append(n)
        flat.extend(islice(hist, len(hist) - n, None))
    rows = np.zeros((len(tracks), length, 6), np.float64)
    counts = np.asarray(counts, np.int64)
    mask = np.arange(length)[None, :] >= (length - counts)[:, None]
    if flat:
        rows[mask] = np.asarray(flat, np.float64)  # row-major order of the mask = oldest first per track
    return rows, mask


def build_tokens(tracks: Sequence, det_xyxy: np.ndarray, det_scores: np.ndarray, stage: Stage, now: float,
                 image_size: Tuple[float, float], motion_config: MotionConfig = MotionConfig(),
                 det_embeddings: Optional[np.ndarray] = None, history_len: int = HISTORY_LEN) -> AssociationTokens:
    """Tokens for ``tracks`` (``TrackLike``) x detections.

    det_xyxy (N, 4) pixels; det_scores (N,); stage: which association; now: seconds;
    image_size (width, height) pixels; det_embeddings (N, D) unit vectors or None.
    """
    n_t, n_d = len(tracks), len(det_xyxy)
    width, height = max(float(image_size[0]), 1.0), max(float(image_size[1]), 1.0)
    norm = np.array([width, height, width, height])
    stage_vec = _stage_one_hot(stage)
    det_xyxy = np.asarray(det_xyxy, np.float64).reshape(-1, 4)
    det_scores = np.asarray(det_scores, np.float64).reshape(-1)

    # detections
    d_cxcywh = _cxcywh(det_xyxy)
    det_has_emb = det_embeddings is not None
    det_tokens = np.empty((n_d, DET_DIM), np.float32)
    det_tokens[:, DetCol.BOX] = d_cxcywh / norm
    det_tokens[:, DetCol.SCORE] = det_scores
    det_tokens[:, DetCol.LOG_ASPECT] = np.log(d_cxcywh[:, 3] / d_cxcywh[:, 2])
    det_tokens[:, DetCol.HAS_EMBEDDING] = float(det_has_emb)
    det_tokens[:, DetCol.STAGE] = stage_vec

    # tracks: predicted box, Kalman state, history
    if n_t:
        means = np.stack([t.mean for t in tracks]).astype(np.float64)
        covs = np.stack([t.cov for t in tracks]).astype(np.float64)
    else:
        means, covs = np.zeros((0, 8)), np.zeros((0, 8, 8))
    pred = means[:, :4].copy()
    pred[:, 2:4] = np.maximum(pred[:, 2:4], MIN_SIDE)
    ph = pred[:, 3:4]  # (T, 1) predicted heights
    last_seen = np.array([t.last_seen for t in tracks], np.float64)
    gap = _clip(now - last_seen, 0.0, MAX_SECONDS)
    embs = [t.embedding for t in tracks]
    # appearance counts only when both sides have it
    track_has_emb = np.array([e is not None and det_has_emb for e in embs], bool)

    rows, mask = _history_array(tracks, history_len)
    h_cxcywh = _cxcywh(rows[..., 1:5])  # (T, K, 4)
    history = np.zeros((n_t, history_len, HISTORY_DIM), np.float32)
    if n_t:
        history[..., HistoryCol.DX] = (h_cxcywh[..., 0] - pred[:, None, 0]) / ph
        history[..., HistoryCol.DY] = (h_cxcywh[..., 1] - pred[:, None, 1]) / ph
        history[..., HistoryCol.LOG_W] = np.log(h_cxcywh[..., 2] / pred[:, None, 2])
        history[..., HistoryCol.LOG_H] = np.log(h_cxcywh[..., 3] / pred[:, None, 3])
        history[..., HistoryCol.AGE] = _clip(now - rows[..., 0], 0.0, MAX_SECONDS)
        history[..., HistoryCol.SCORE] = rows[..., 5]
        dt = np.diff(rows[..., 0], axis=1)
        valid_pair = mask[:, 1:] & mask[:, :-1] & (dt > 1e-6)
        safe_dt = np.where(valid_pair, dt, 1.0)
        hh = h_cxcywh[:, 1:, 3]
        history[:, 1:, HistoryCol.VX] = np.where(valid_pair, np.diff(h_cxcywh[..., 0], axis=1) / safe_dt / hh, 0.0)
        history[:, 1:, HistoryCol.VY] = np.where(valid_pair, np.diff(h_cxcywh[..., 1], axis=1) / safe_dt / hh, 0.0)
        history[..., HistoryCol.VALID] = 1.0
        history[..., HistoryCol.OFFSET] = _clip(history[..., HistoryCol.OFFSET], -MAX_OFFSET, MAX_OFFSET)
        history[..., HistoryCol.LOG_SIZE] = _clip(history[..., HistoryCol.LOG_SIZE], -MAX_LOG_RATIO, MAX_LOG_RATIO)
        history[..., HistoryCol.VELOCITY] = _clip(history[..., HistoryCol.VELOCITY], -MAX_OFFSET, MAX_OFFSET)
        history[~mask] = 0.0

    n_obs = mask.sum(axis=1)
    track_globals = np.zeros((n_t, TRACK_DIM), np.float32)
    if n_t:
        track_globals[:, TrackCol.BOX] = pred / norm
        track_globals[:, TrackCol.GAP] = gap
        track_globals[:, TrackCol.LOG_OBSERVATIONS] = np.log1p(n_obs) / np.log1p(history_len)
        track_globals[:, TrackCol.SCORE] = [t.score for t in tracks]
        track_globals[:, TrackCol.VELOCITY] = _clip(means[:, 4:6] / ph, -MAX_OFFSET, MAX_OFFSET)
        track_globals[:, TrackCol.POSITION_STD] = _clip(np.sqrt(np.maximum(covs[:, 1, 1], 0.0)) / ph[:, 0], 0.0,
                                                        MAX_OFFSET)
        track_globals[:, TrackCol.STAGE] = stage_vec
        track_globals[:, TrackCol.HAS_EMBEDDING] = track_has_emb

    # pairs
    pairs = np.zeros((n_t, n_d, PAIR_DIM), np.float32)
    if n_t and n_d:
        pred_xyxy = np.concatenate([pred[:, :2] - pred[:, 2:] / 2, pred[:, :2] + pred[:, 2:] / 2], axis=1)
        pairs[..., PairCol.IOU_PREDICTED] = iou_matrix(pred_xyxy, det_xyxy)
        last_box = rows[:, -1, 1:5]  # the newest observation (every track has one)
        pairs[..., PairCol.IOU_LAST] = iou_matrix(last_box, det_xyxy)
        dx = (d_cxcywh[None, :, 0] - pred[:, None, 0]) / ph
        dy = (d_cxcywh[None, :, 1] - pred[:, None, 1]) / ph
        pairs[..., PairCol.DX] = _clip(dx, -MAX_OFFSET, MAX_OFFSET)
        pairs[..., PairCol.DY] = _clip(dy, -MAX_OFFSET, MAX_OFFSET)
        pairs[..., PairCol.LOG_W] = _clip(np.log(d_cxcywh[None, :, 2] / pred[:, None, 2]), -MAX_LOG_RATIO,
                                          MAX_LOG_RATIO)
        pairs[..., PairCol.LOG_H] = _clip(np.log(d_cxcywh[None, :, 3] / pred[:, None, 3]), -MAX_LOG_RATIO,
                                          MAX_LOG_RATIO)
        pairs[..., PairCol.MAHALANOBIS] = np.log1p(_mahalanobis_sq(means, covs, d_cxcywh, motion_config)) / 4.0
        last_c = h_cxcywh[:, -1, :]
        dist = np.hypot(d_cxcywh[None, :, 0] - last_c[:, None, 0], d_cxcywh[None, :, 1] - last_c[:, None, 1])
        speed = dist / last_c[:, None, 3] / (gap[:, None] + 0.1)
        pairs[..., PairCol.SPEED] = np.log1p(np.minimum(speed, MAX_SPEED))
        if det_has_emb and track_has_emb.any():
            det_emb = np.asarray(det_embeddings, np.float32)
            track_emb = np.zeros((n_t, det_emb.shape[1]), np.float32)
            for i in np.flatnonzero(track_has_emb):
                track_emb[i] = embs[i]
            cos = track_emb @ det_emb.T
            pairs[..., PairCol.COSINE] = np.where(track_has_emb[:, None], cos, 0.0)
            pairs[..., PairCol.HAS_COSINE] = track_has_emb[:, None]
    return AssociationTokens(history, mask, track_globals, det_tokens, pairs)


def _mahalanobis_sq(means: np.ndarray, covs: np.ndarray, z: np.ndarray, cfg: MotionConfig) -> np.ndarray:
    """Squared Mahalanobis distance (T, N) of measurements z (N, 4) cxcywh to the projected
    states; measurement noise as in ``tracker.motion.project``."""
    scale = np.maximum(means[:, 2:4], MIN_SIDE)
    scale = np.concatenate([scale, scale], axis=1)
    s = covs[:, :4, :4].copy()
    idx = np.arange(4)
    s[:, idx, idx] += (cfg.measurement_noise * scale) ** 2
    inv = np.linalg.inv(s)  # (T, 4, 4)
    diff = z[None, :, :] - means[:, None, :4]  # (T, N, 4)
    return np.maximum(((diff @ inv) * diff).sum(-1), 0.0)
