"""CLEAR MOT metrics (Bernardin & Stiefelhagen 2008) computed the way TrackEval computes them.

Per frame, gt and tracker boxes with IoU >= ``iou_threshold`` are matched by Hungarian on
``CONTINUATION_BONUS * [pair was matched in the previous frame] + IoU``: pairs that continue
from the previous frame win first, then total IoU is maximised. (``motmetrics`` keeps previous
pairs without re-solving them, which breaks ties differently; it drifts by up to ~0.13 MOTA
points on the development sequences.) "Previous frame" is the last frame in which both gt and
tracker boxes were present, as in TrackEval.

* TP/FN/FP: matched pairs / unmatched gt / unmatched tracker boxes;
* IDSW: a gt identity matched to a tracker id different from the one it was last matched to
  (any number of frames before);
* Frag: times a gt identity's matched stretch starts again after it was interrupted;
* MT/PT/ML: identities matched in > 80 % / 20-80 % / < 20 % of their frames;
* MOTA = (TP - FP - IDSW) / (TP + FN); MOTP = mean IoU of the matches (higher is better).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from tracker.evaluation.data import EPS, SequenceData

#: score added to a pair that was matched in the previous frame: larger than any IoU sum gain.
CONTINUATION_BONUS = 1000.0
#: IoU a gt/tracker pair needs to be a CLEAR (and Identity) match; TrackEval's THRESHOLD.
DEFAULT_IOU_THRESHOLD = 0.5
MOSTLY_TRACKED_RATIO = 0.8  # matched in more than this share of its frames
MOSTLY_LOST_RATIO = 0.2  # matched in less than this share of its frames
NO_MATCH = -1


@dataclass(frozen=True)
class ClearCounts:
    """Integer counts (and the IoU sum) behind CLEAR; combine sequences with ``+``."""

    tp: int = 0
    fn: int = 0
    fp: int = 0
    idsw: int = 0
    frag: int = 0
    mt: int = 0
    pt: int = 0
    ml: int = 0
    motp_sum: float = 0.0
    frames: int = 0

    def __add__(self, other: "ClearCounts") -> "ClearCounts":
        return ClearCounts(*(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__))

    @property
    def mota(self) -> float:
        return (self.tp - self.fp - self.idsw) / max(1.0, self.tp + self.fn)

    @property
    def moda(self) -> float:
        return (self.tp - self.fp) / max(1.0, self.tp + self.fn)

    @property
    def motp(self) -> float:
        return self.motp_sum / max(1.0, self.tp)

    @property
    def recall(self) -> float:
        return self.tp / max(1.0, self.tp + self.fn)

    @property
    def precision(self) -> float:
        return self.tp / max(1.0, self.tp + self.fp)

    def summary(self) -> dict:
        """Ratios in [0, 1] (MOTA may be negative) and integer counts."""
        return {
            "MOTA": self.mota, "MOTP": self.motp, "MODA": self.moda, "CLR_Re": self.recall, "CLR_Pr": self.precision,
            "IDSW": self.idsw, "Frag": self.frag, "MT": self.mt, "PT": self.pt, "ML": self.ml,
            "CLR_TP": self.tp, "CLR_FN": self.fn, "CLR_FP": self.fp,
        }


@dataclass(frozen=True, eq=False)
class ClearMatches:
    """The CLEAR per-frame matching: for frame index t, ``gt[t]`` (M_t,) and ``tracker[t]``
    (M_t,) are the contiguous ids of the matched pairs, ``iou[t]`` (M_t,) their IoU."""

    gt: Tuple[np.ndarray, ...]
    tracker: Tuple[np.ndarray, ...]
    iou: Tuple[np.ndarray, ...]


def match_frames(data: SequenceData, iou_threshold: float = DEFAULT_IOU_THRESHOLD) -> ClearMatches:
    """The CLEAR matching of every frame (see the module docstring)."""
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
    prev = np.full(data.num_gt_ids, NO_MATCH, dtype=np.int64)  # tracker matched in the previous frame
    empty = np.zeros(0, np.int64)
    out_g, out_k, out_iou = [], [], []
    for g, k, sim in zip(data.gt_ids, data.tracker_ids, data.similarity):
        if len(g) == 0 or len(k) == 0:
            out_g.append(empty)
            out_k.append(empty)
            out_iou.append(np.zeros(0))
            continue
        score = CONTINUATION_BONUS * (k[np.newaxis, :] == prev[g][:, np.newaxis]) + sim
        score[sim < iou_threshold - EPS] = 0.0
        rows, cols = linear_sum_assignment(-score)
        ok = score[rows, cols] > EPS
        rows, cols = rows[ok], cols[ok]
        prev[:] = NO_MATCH
        prev[g[rows]] = k[cols]
        out_g.append(g[rows])
        out_k.append(k[cols])
        out_iou.append(sim[rows, cols])
    return ClearMatches(tuple(out_g), tuple(out_k), tuple(out_iou))


def compute_clear(data: SequenceData, matches: ClearMatches) -> ClearCounts:
    """CLEAR counts of one sequence from its ``match_frames`` result."""
    n_gt, n_tr = data.num_gt_dets, data.num_tracker_dets
    if n_tr == 0:
        return ClearCounts(fn=n_gt, ml=data.num_gt_ids, frames=data.num_frames)
    if n_gt == 0:
        return ClearCounts(fp=n_tr, frames=data.num_frames)
    last = np.full(data.num_gt_ids, NO_MATCH, dtype=np.int64)  # last tracker id ever matched
    tracked_prev = np.zeros(data.num_gt_ids, bool)  # matched in the previous frame (with both present)
    frames_present = np.zeros(data.num_gt_ids)
    frames_matched = np.zeros(data.num_gt_ids)
    stretches = np.zeros(data.num_gt_ids)
    tp = fn = fp = idsw = 0
    motp_sum = 0.0
    for g, k, mg, mk, miou in zip(data.gt_ids, data.tracker_ids, matches.gt, matches.tracker, matches.iou):
        if len(g) == 0:
            fp += len(k)
            continue
        frames_present[g] += 1
        if len(k) == 0:
            fn += len(g)
            continue
        before = last[mg]
        idsw += int(np.sum((before != NO_MATCH) & (before != mk)))
        last[mg] = mk
        frames_matched[mg] += 1
        tracked_now = np.zeros(data.num_gt_ids, bool)
        tracked_now[mg] = True
        stretches += tracked_now & ~tracked_prev
        tracked_prev = tracked_now
        tp += len(mg)
        fn += len(g) - len(mg)
        fp += len(k) - len(mg)
        motp_sum += float(np.sum(miou))
    ratio = frames_matched[frames_present > 0] / frames_present[frames_present > 0]
    mt = int(np.sum(ratio > MOSTLY_TRACKED_RATIO))
    pt = int(np.sum(ratio >= MOSTLY_LOST_RATIO)) - mt
    frag = int(np.sum(stretches[stretches > 0] - 1))
    return ClearCounts(tp=tp, fn=fn, fp=fp, idsw=idsw, frag=frag, mt=mt, pt=pt, ml=data.num_gt_ids - mt - pt,
                       motp_sum=motp_sum, frames=data.num_frames)
