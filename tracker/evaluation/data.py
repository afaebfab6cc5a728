"""The one canonical per-sequence structure every metric reads, and the preprocessing that
builds it from a ground-truth table and a tracker-result table.

Stages (as in TrackEval): loaders (``tracker.io.mot.read_mot_file``) -> ``build_sequence_data``
(benchmark conventions, IoU, contiguous ids) -> pure metric functions over ``SequenceData``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from tracker.boxes import iou_matrix, xywh_to_xyxy
from tracker.errors import InputError
from tracker.evaluation.conventions import (
    DISTRACTOR_CLASSES,
    DISTRACTOR_MATCH_IOU,
    MOT15,
    PEDESTRIAN_CLASS,
    VALID_GT_CLASSES,
    BENCHMARKS,
    has_class_preprocessing,
)
from tracker.io.mot import MotTable

#: tolerance used wherever a threshold comparison must forgive float rounding (as TrackEval).
EPS = float(np.finfo(float).eps)
#: visibility of a gt box that is treated as visible when the file has no visibility column.
FULL_VISIBILITY = 1.0


@dataclass(frozen=True, eq=False)
class SequenceData:
    """Evaluation input of one sequence after benchmark preprocessing.

    Every per-frame tuple has ``num_frames`` entries; entry ``t`` is MOT frame ``t + 1``.

    Attributes:
        name: sequence name.
        benchmark: the conventions applied (``MOT15``, ``MOT16``, ``MOT17`` or ``MOT20``).
        frame_rate: frames per second (used by time-based metrics such as re-entry gaps).
        gt_ids: per frame, (G_t,) int64 scored gt identities, relabelled to ``0..num_gt_ids-1``.
        tracker_ids: per frame, (T_t,) int64 tracker identities, relabelled to
            ``0..num_tracker_ids-1`` (boxes removed by preprocessing are gone).
        similarity: per frame, (G_t, T_t) float64 IoU in [0, 1] of every gt/tracker pair.
        gt_visibility: per frame, (G_t,) float64 visibility in [0, 1] of each scored gt box
            (1.0 where the benchmark has no visibility column).
        gt_id_labels: (num_gt_ids,) int64 original gt ids (index = relabelled id).
        tracker_id_labels: (num_tracker_ids,) int64 original tracker ids.
        gt_rows_dropped: gt rows not scored (``conf == 0``, non-pedestrian classes).
        tracker_rows_removed: tracker rows removed because they matched a distractor gt box.
    """

    name: str
    benchmark: str
    frame_rate: float
    gt_ids: Tuple[np.ndarray, ...]
    tracker_ids: Tuple[np.ndarray, ...]
    similarity: Tuple[np.ndarray, ...]
    gt_visibility: Tuple[np.ndarray, ...]
    gt_id_labels: np.ndarray
    tracker_id_labels: np.ndarray
    gt_rows_dropped: int = 0
    tracker_rows_removed: int = 0

    def __post_init__(self) -> None:
        n = len(self.gt_ids)
        for field_name in ("tracker_ids", "similarity", "gt_visibility"):
            if len(getattr(self, field_name)) != n:
                raise ValueError(f"SequenceData.{field_name} has {len(getattr(self, field_name))} frames, gt_ids has "
                                 f"{n}")
        if self.benchmark not in BENCHMARKS:
            raise ValueError(f"SequenceData.benchmark must be one of {BENCHMARKS}, got {self.benchmark!r}")
        if not self.frame_rate > 0:
            raise ValueError(f"SequenceData.frame_rate must be > 0 frames/s, got {self.frame_rate!r}")

    @property
    def num_frames(self) -> int:
        return len(self.gt_ids)

    @property
    def num_gt_ids(self) -> int:
        return len(self.gt_id_labels)

    @property
    def num_tracker_ids(self) -> int:
        return len(self.tracker_id_labels)

    @property
    def num_gt_dets(self) -> int:
        return int(sum(len(g) for g in self.gt_ids))

    @property
    def num_tracker_dets(self) -> int:
        return int(sum(len(k) for k in self.tracker_ids))


def _frame_slices(frames: np.ndarray, num_frames: int) -> np.ndarray:
    """(num_frames + 1,) start offsets of each 1-based frame in a frame-sorted array."""
    return np.searchsorted(frames, np.arange(1, num_frames + 2), side="left")


def _check_unique_ids(table: MotTable, what: str) -> None:
    """Raise ``InputError`` naming ``file:line`` when an id appears twice in one frame."""
    if len(table) < 2:
        return
    order = np.lexsort((table.lines, table.ids, table.frames))
    f, i = table.frames[order], table.ids[order]
    dup = np.flatnonzero((f[1:] == f[:-1]) & (i[1:] == i[:-1]))
    if len(dup):
        k = order[dup[0] + 1]
        first = order[dup[0]]
        raise InputError(
            f"{table.path}:{int(table.lines[k])}: {what} id {int(table.ids[k])} appears twice in frame "
            f"{int(table.frames[k])} (also on line {int(table.lines[first])}); ids must be unique per frame"
        )


def _relabel(per_frame: list) -> Tuple[list, np.ndarray]:
    """Map ids to ``0..n-1`` in sorted order of the original ids; return (new lists, labels)."""
    labels = np.unique(np.concatenate(per_frame)) if per_frame else np.zeros(0, np.int64)
    labels = labels.astype(np.int64)
    return [np.searchsorted(labels, ids).astype(np.int64) for ids in per_frame], labels


def build_sequence_data(gt: MotTable, results: MotTable, *, name: str, benchmark: str, frame_rate: float,
                        num_frames: int) -> SequenceData:
    """Apply the benchmark conventions to one sequence and compute per-frame IoU.

    gt: the sequence's ``gt.txt`` (``read_mot_file(..., "gt")``), frames 1-based, xywh pixels.
    results: the tracker's result file (``read_mot_file(..., "result")``); its score and class
        columns are ignored.
    benchmark: ``MOT15``, ``MOT16``, ``MOT17`` or ``MOT20`` (already resolved, not ``auto``).
    frame_rate: frames per second (> 0). num_frames: sequence length; rows beyond it are ignored.

    Raises ``InputError`` (naming ``file:line``) when an id appears twice in one frame, or when a
    MOT16/17/20 gt file holds a class outside 1..13 (e.g. a MOT15 file evaluated as MOT17).
    """
    if benchmark not in BENCHMARKS:
        raise ValueError(f"benchmark must be one of {BENCHMARKS}, got {benchmark!r}")
    if num_frames < 0:
        raise ValueError(f"num_frames must be >= 0, got {num_frames}")
    _check_unique_ids(gt, "gt")
    _check_unique_ids(results, "tracker")
    classed = has_class_preprocessing(benchmark)
    if classed and len(gt):
        bad = ~np.isin(gt.classes, VALID_GT_CLASSES)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{gt.path}:{int(gt.lines[k])}: gt class {int(gt.classes[k])} is not a MOTChallenge class (1-13); "
                f"is this a MOT15 file? evaluate it with benchmark {MOT15}"
            )
    distractors = np.asarray(DISTRACTOR_CLASSES.get(benchmark, ()), dtype=np.int64)
    # gt rows that are scored: conf != 0 (the conf column read as an integer, as TrackEval does)
    gt_keep_all = np.trunc(gt.scores) != 0
    if classed:
        gt_keep_all &= gt.classes == PEDESTRIAN_CLASS
    gt_vis_all = gt.visibility if classed else np.full(len(gt), FULL_VISIBILITY)

    gt_xyxy = xywh_to_xyxy(gt.xywh)
    tr_xyxy = xywh_to_xyxy(results.xywh)
    gt_start = _frame_slices(gt.frames, num_frames)
    tr_start = _frame_slices(results.frames, num_frames)

    gt_ids, tr_ids, sims, vis = [], [], [], []
    removed = 0
    for t in range(num_frames):
        gs = slice(gt_start[t], gt_start[t + 1])
        ts = slice(tr_start[t], tr_start[t + 1])
        sim = iou_matrix(gt_xyxy[gs], tr_xyxy[ts])
        tr_keep = np.ones(sim.shape[1], bool)
        if classed and sim.size:
            # match tracker boxes to ALL gt boxes; drop those matched to a distractor class
            scores = np.where(sim < DISTRACTOR_MATCH_IOU - EPS, 0.0, sim)
            rows, cols = linear_sum_assignment(-scores)
            ok = scores[rows, cols] > EPS
            rows, cols = rows[ok], cols[ok]
            tr_keep[cols[np.isin(gt.classes[gs][rows], distractors)]] = False
            removed += int((~tr_keep).sum())
        g_keep = gt_keep_all[gs]
        gt_ids.append(gt.ids[gs][g_keep])
        tr_ids.append(results.ids[ts][tr_keep])
        sims.append(np.ascontiguousarray(sim[g_keep][:, tr_keep]))
        vis.append(gt_vis_all[gs][g_keep])

    gt_ids, gt_labels = _relabel(gt_ids)
    tr_ids, tr_labels = _relabel(tr_ids)
    in_range = int(gt_start[num_frames] - gt_start[0])
    return SequenceData(
        name=name, benchmark=benchmark, frame_rate=float(frame_rate), gt_ids=tuple(gt_ids), tracker_ids=tuple(tr_ids),
        similarity=tuple(sims), gt_visibility=tuple(vis), gt_id_labels=gt_labels, tracker_id_labels=tr_labels,
        gt_rows_dropped=in_range - int(sum(len(g) for g in gt_ids)), tracker_rows_removed=removed,
    )
