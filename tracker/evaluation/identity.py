"""Identity metrics (IDF1, IDP, IDR; Ristani et al. 2016) through ``motmetrics``.

Each gt identity is assigned to at most one tracker identity for the whole sequence so that the
number of frames where the pair overlaps with IoU >= threshold (IDTP) is maximal; IDFN and IDFP
are the gt and tracker boxes left over. ``motmetrics`` solves this global assignment the same way
TrackEval does; we feed it our own IoU distances (``motmetrics.distances.iou_matrix`` is broken
on numpy 2) and form the ratios with TrackEval's conventions (0, not NaN, for an empty sequence).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.evaluation.clear import DEFAULT_IOU_THRESHOLD
from tracker.evaluation.data import SequenceData

_IDENTITY_METRICS = ["idtp", "idfn", "idfp"]


@dataclass(frozen=True)
class IdentityCounts:
    """IDTP, IDFN, IDFP box counts; combine sequences with ``+``."""

    idtp: int = 0
    idfn: int = 0
    idfp: int = 0

    def __add__(self, other: "IdentityCounts") -> "IdentityCounts":
        return IdentityCounts(self.idtp + other.idtp, self.idfn + other.idfn, self.idfp + other.idfp)

    @property
    def idf1(self) -> float:
        return self.idtp / max(1.0, self.idtp + 0.5 * self.idfp + 0.5 * self.idfn)

    @property
    def idp(self) -> float:
        return self.idtp / max(1.0, self.idtp + self.idfp)

    @property
    def idr(self) -> float:
        return self.idtp / max(1.0, self.idtp + self.idfn)

    def summary(self) -> dict:
        return {"IDF1": self.idf1, "IDP": self.idp, "IDR": self.idr,
                "IDTP": self.idtp, "IDFN": self.idfn, "IDFP": self.idfp}


def compute_identity(data: SequenceData, iou_threshold: float = DEFAULT_IOU_THRESHOLD) -> IdentityCounts:
    """Identity counts of one sequence; a gt/tracker pair may match in a frame when IoU >= threshold."""
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
    n_gt, n_tr = data.num_gt_dets, data.num_tracker_dets
    if n_tr == 0 or n_gt == 0:
        return IdentityCounts(idfn=n_gt, idfp=n_tr)
    import motmetrics  # imported here: pandas is slow to import and only this metric needs it

    acc = motmetrics.MOTAccumulator(auto_id=False)
    for t, (g, k, sim) in enumerate(zip(data.gt_ids, data.tracker_ids, data.similarity)):
        if len(g) == 0 and len(k) == 0:
            continue
        dist = np.where(sim >= iou_threshold, 1.0 - sim, np.nan)
        acc.update(g, k, dist, frameid=t + 1)
    summary = motmetrics.metrics.create().compute(acc, metrics=_IDENTITY_METRICS, return_dataframe=False)
    return IdentityCounts(int(round(summary["idtp"])), int(round(summary["idfn"])), int(round(summary["idfp"])))
