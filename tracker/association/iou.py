"""Non-learned association: IoU with the Kalman prediction (x detection score), optionally
fused with appearance distance."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from tracker.association.base import AssociationContext, PairCosts, Stage, TrackLike, classes_differ
from tracker.association.direction import direction_consistency
from tracker.boxes import iou_matrix, iou_pairs, overlapping_pairs
from tracker.config import TrackerConfig
from tracker.detections import Detections

FORBIDDEN_COST = 2.0  # above every ceiling this associator uses (ceilings are <= 1)
DENSE_PAIR_LIMIT = 1_000_000  # above this many (track, detection) pairs, only overlapping pairs are scored


class IouAssociator:
    """cost = 1 - IoU(predicted track box, detection) [x score in the first stage]; with
    embeddings, ``(1 - w) * cost + w * (1 - cosine)`` where appearance is close enough
    (``appearance_gate``) and the boxes overlap at all. In the first association, with
    ``direction_weight`` w_d > 0, a pair that passes the IoU gate costs
    ``min(cost - w_d * score * consistency, ceiling)`` (``tracker.association.direction``).
    Different classes never match."""

    def __init__(self, config: TrackerConfig):
        self.config = config

    def cost(self, tracks: Sequence[TrackLike], detections: Detections, det_rows: np.ndarray, stage: Stage,
             context: AssociationContext) -> PairCosts:
        cfg = self.config
        min_iou = {Stage.FIRST: cfg.first_match_iou, Stage.SECOND: cfg.second_match_iou,
                   Stage.TENTATIVE: cfg.tentative_match_iou}[stage]
        max_cost = 1.0 - min_iou
        if len(tracks) == 0 or len(det_rows) == 0:
            return PairCosts(np.zeros((len(tracks), len(det_rows))), max_cost)
        if len(tracks) * len(det_rows) > DENSE_PAIR_LIMIT:
            return PairCosts(self._sparse_cost(tracks, detections, det_rows, stage), max_cost)
        iou = iou_matrix(np.stack([t.xyxy for t in tracks]), detections.xyxy[det_rows])
        fuse = cfg.fuse_score and stage != Stage.SECOND
        cost = 1.0 - (iou * detections.scores[det_rows][None, :] if fuse else iou)
        if stage != Stage.SECOND and cfg.appearance_weight > 0 and detections.embeddings is not None:
            cost = self._with_appearance(cost, iou, tracks, detections.embeddings[det_rows])
        if stage == Stage.FIRST and cfg.direction_weight > 0:
            cost = self._with_direction(cost, max_cost, tracks, detections, det_rows)
        return PairCosts(np.where(classes_differ(tracks, detections, det_rows), FORBIDDEN_COST, cost), max_cost)

    def reset(self) -> None:
        """Nothing to forget: the core keeps no state between frames."""

    def _with_direction(self, cost, max_cost, tracks, detections: Detections, det_rows: np.ndarray) -> np.ndarray:
        """Lower the cost of pairs that continue the track's direction, raise it for those
        that turn back; a pair that fails the gate stays as it was (never allowed by it)."""
        cfg = self.config
        consistency = direction_consistency(tracks, detections.xyxy[det_rows], cfg.direction_lag_s)
        moved = cost - cfg.direction_weight * detections.scores[det_rows][None, :] * consistency
        return np.where(cost <= max_cost, np.minimum(moved, max_cost), cost)

    def _with_appearance(self, cost, iou, tracks, det_emb) -> np.ndarray:
        cfg = self.config
        has_emb = np.array([t.embedding is not None for t in tracks])
        if not has_emb.any():
            return cost
        track_emb = np.zeros((len(tracks), det_emb.shape[1]), np.float32)
        for i, t in enumerate(tracks):
            if t.embedding is not None:
                track_emb[i] = t.embedding
        app_dist = np.clip(1.0 - track_emb @ det_emb.T, 0.0, 2.0)
        fused = (1 - cfg.appearance_weight) * cost + cfg.appearance_weight * app_dist
        usable = has_emb[:, None] & (app_dist <= cfg.appearance_gate) & (iou > 0)
        return np.where(usable, fused, cost)

    def _sparse_cost(self, tracks, detections: Detections, det_rows: np.ndarray, stage: Stage):
        """Huge frames: a ``scipy.sparse.coo_matrix`` (T, K) holding only overlapping pairs
        of the same class (IoU-based cost; a pair without overlap can never pass the IoU
        ceiling anyway). Appearance is not used on this path."""
        from scipy.sparse import coo_matrix

        track_boxes = np.stack([t.xyxy for t in tracks])
        det_boxes = detections.xyxy[det_rows]
        rows, cols = overlapping_pairs(track_boxes, det_boxes)
        track_classes = np.array([t.class_id for t in tracks])
        same = track_classes[rows] == detections.class_ids[det_rows][cols]
        rows, cols = rows[same], cols[same]
        iou = iou_pairs(track_boxes[rows], det_boxes[cols])
        if self.config.fuse_score and stage != Stage.SECOND:
            iou = iou * detections.scores[det_rows][cols]
        return coo_matrix((1.0 - iou, (rows, cols)), shape=(len(tracks), len(det_rows)))
