"""HOTA (Higher Order Tracking Accuracy, Luiten et al., IJCV 2020) as a pure function of
``SequenceData``, with counts that combine across sequences by summation.

For each localisation threshold alpha in 0.05, 0.10, ..., 0.95:

* per frame, gt and tracker boxes are matched by Hungarian on
  ``global_alignment(gt_id, tracker_id) * IoU`` where the global alignment is the Jaccard
  overlap of the two identities over the whole sequence (soft, IoU-weighted counts); a matched
  pair is a true positive (TP) at alpha when its IoU >= alpha;
* DetA = TP / (TP + FN + FP); DetRe = TP / (TP + FN); DetPr = TP / (TP + FP);
* AssA = (1 / TP) * sum over TPs c of A(c), with A(c) = TPA / (TPA + FNA + FPA) for the identity
  pair of c (TPA: frames that pair is matched; FNA/FPA: the rest of each identity's frames);
  AssRe and AssPr use TPA / (TPA + FNA) and TPA / (TPA + FPA);
* LocA = mean IoU of the TPs; HOTA = sqrt(DetA * AssA).

The reported scalars are the means over the 19 thresholds, as TrackEval reports them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from tracker.evaluation.data import EPS, SequenceData

ALPHA_START = 0.05
ALPHA_STOP = 0.99  # exclusive: the last threshold is 0.95
ALPHA_STEP = 0.05
#: (19,) localisation thresholds alpha, as TrackEval's ``np.arange(0.05, 0.99, 0.05)``.
ALPHAS = np.arange(ALPHA_START, ALPHA_STOP, ALPHA_STEP)
#: floor used for LocA's numerator and denominator (LocA of an empty result is 1, as TrackEval).
LOCA_FLOOR = 1e-10


@dataclass(frozen=True, eq=False)
class HotaCounts:
    """Sums behind the HOTA family, each an (A,) array over ``ALPHAS``.

    tp, fn, fp: detection counts. ass_a_sum, ass_re_sum, ass_pr_sum: sums over true positives of
    the association score of their identity pair (divide by tp for AssA, AssRe, AssPr).
    loc_sum: sum of the IoU of the true positives (divide by tp for LocA).
    Combining sequences = adding these arrays (TrackEval's TP-weighted average of AssA/LocA).
    """

    tp: np.ndarray
    fn: np.ndarray
    fp: np.ndarray
    ass_a_sum: np.ndarray
    ass_re_sum: np.ndarray
    ass_pr_sum: np.ndarray
    loc_sum: np.ndarray

    @classmethod
    def zeros(cls) -> "HotaCounts":
        z = np.zeros(len(ALPHAS))
        return cls(z, z.copy(), z.copy(), z.copy(), z.copy(), z.copy(), z.copy())

    def __add__(self, other: "HotaCounts") -> "HotaCounts":
        return HotaCounts(*(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__))

    # -- per-alpha arrays (A,) -------------------------------------------------------------
    @property
    def det_re_per_alpha(self) -> np.ndarray:
        return self.tp / np.maximum(1, self.tp + self.fn)

    @property
    def det_pr_per_alpha(self) -> np.ndarray:
        return self.tp / np.maximum(1, self.tp + self.fp)

    @property
    def det_a_per_alpha(self) -> np.ndarray:
        return self.tp / np.maximum(1, self.tp + self.fn + self.fp)

    @property
    def ass_a_per_alpha(self) -> np.ndarray:
        return self.ass_a_sum / np.maximum(1, self.tp)

    @property
    def ass_re_per_alpha(self) -> np.ndarray:
        return self.ass_re_sum / np.maximum(1, self.tp)

    @property
    def ass_pr_per_alpha(self) -> np.ndarray:
        return self.ass_pr_sum / np.maximum(1, self.tp)

    @property
    def loc_a_per_alpha(self) -> np.ndarray:
        return np.maximum(LOCA_FLOOR, self.loc_sum) / np.maximum(LOCA_FLOOR, self.tp)

    @property
    def hota_per_alpha(self) -> np.ndarray:
        return np.sqrt(self.det_a_per_alpha * self.ass_a_per_alpha)

    def summary(self) -> dict:
        """Scalars in [0, 1]: the mean over the thresholds of each per-alpha array."""
        return {
            "HOTA": float(np.mean(self.hota_per_alpha)),
            "DetA": float(np.mean(self.det_a_per_alpha)),
            "AssA": float(np.mean(self.ass_a_per_alpha)),
            "LocA": float(np.mean(self.loc_a_per_alpha)),
            "DetRe": float(np.mean(self.det_re_per_alpha)),
            "DetPr": float(np.mean(self.det_pr_per_alpha)),
            "AssRe": float(np.mean(self.ass_re_per_alpha)),
            "AssPr": float(np.mean(self.ass_pr_per_alpha)),
        }

    def per_alpha(self) -> dict:
        """Every per-alpha array as a list (for JSON), plus the thresholds themselves."""
        return {
            "alpha": [round(float(a), 2) for a in ALPHAS],
            "HOTA": self.hota_per_alpha.tolist(), "DetA": self.det_a_per_alpha.tolist(),
            "AssA": self.ass_a_per_alpha.tolist(), "LocA": self.loc_a_per_alpha.tolist(),
            "DetRe": self.det_re_per_alpha.tolist(), "DetPr": self.det_pr_per_alpha.tolist(),
            "AssRe": self.ass_re_per_alpha.tolist(), "AssPr": self.ass_pr_per_alpha.tolist(),
            "HOTA_TP": self.tp.tolist(), "HOTA_FN": self.fn.tolist(), "HOTA_FP": self.fp.tolist(),
        }


def _soft_jaccard(sim: np.ndarray) -> np.ndarray:
    """(G, T) IoU -> (G, T) IoU / (row sum + column sum - IoU): each pair's share of the
    frame's overlap, used to accumulate the soft global alignment of identities."""
    denom = sim.sum(0)[np.newaxis, :] + sim.sum(1)[:, np.newaxis] - sim
    out = np.zeros_like(sim)
    mask = denom > EPS
    out[mask] = sim[mask] / denom[mask]
    return out


def compute_hota(data: SequenceData) -> HotaCounts:
    """HOTA counts of one sequence (see the module docstring for the definition)."""
    n_gt, n_tr = data.num_gt_dets, data.num_tracker_dets
    if n_tr == 0 or n_gt == 0:
        z = HotaCounts.zeros()
        return HotaCounts(z.tp, z.fn + n_gt, z.fp + n_tr, z.ass_a_sum, z.ass_re_sum, z.ass_pr_sum, z.loc_sum)

    # 1. soft global alignment between every gt identity and tracker identity
    potential = np.zeros((data.num_gt_ids, data.num_tracker_ids))
    gt_count = np.zeros(data.num_gt_ids)
    tr_count = np.zeros(data.num_tracker_ids)
    for g, k, sim in zip(data.gt_ids, data.tracker_ids, data.similarity):
        potential[g[:, np.newaxis], k[np.newaxis, :]] += _soft_jaccard(sim)
        gt_count[g] += 1
        tr_count[k] += 1
    alignment = potential / (gt_count[:, np.newaxis] + tr_count[np.newaxis, :] - potential)

    # 2. per-frame Hungarian on alignment * IoU; keep every matched pair with its IoU
    pair_g, pair_k, pair_iou = [], [], []
    for g, k, sim in zip(data.gt_ids, data.tracker_ids, data.similarity):
        if len(g) == 0 or len(k) == 0:
            continue
        rows, cols = linear_sum_assignment(-(alignment[g[:, np.newaxis], k[np.newaxis, :]] * sim))
        pair_g.append(g[rows])
        pair_k.append(k[cols])
        pair_iou.append(sim[rows, cols])
    pair_g = np.concatenate(pair_g)
    pair_k = np.concatenate(pair_k)
    pair_iou = np.concatenate(pair_iou)

    # 3. per threshold: TPs, and the association score of each TP's identity pair
    counts = HotaCounts.zeros()
    for a, alpha in enumerate(ALPHAS):
        ok = pair_iou >= alpha - EPS
        tp = int(ok.sum())
        counts.tp[a] = tp
        counts.fn[a] = n_gt - tp
        counts.fp[a] = n_tr - tp
        counts.loc_sum[a] = float(pair_iou[ok].sum())
        if tp == 0:
            continue
        key = pair_g[ok] * data.num_tracker_ids + pair_k[ok]
        uniq, tpa = np.unique(key, return_counts=True)
        gi, ki = np.divmod(uniq, data.num_tracker_ids)
        tpa = tpa.astype(float)
        counts.ass_a_sum[a] = float(np.sum(tpa * tpa / np.maximum(1, gt_count[gi] + tr_count[ki] - tpa)))
        counts.ass_re_sum[a] = float(np.sum(tpa * tpa / np.maximum(1, gt_count[gi])))
        counts.ass_pr_sum[a] = float(np.sum(tpa * tpa / np.maximum(1, tr_count[ki])))
    return counts
