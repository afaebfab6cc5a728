"""The associator protocol shared by the IoU baseline and the learned associator."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple, Optional, Protocol, Sequence, Tuple, Union

import numpy as np

from tracker.detections import Detections


class Stage(enum.Enum):
    """Which association of ``Tracker.update`` asks (see ``tracker/core.py``)."""

    FIRST = "first"  # high-score detections <-> confirmed + lost tracks
    SECOND = "second"  # low-score detections <-> unmatched confirmed tracks
    TENTATIVE = "tentative"  # remaining high-score detections <-> tentative tracks


@dataclass(frozen=True)
class AssociationContext:
    """now: seconds; image_size: (width, height) pixels when a frame was given, else None."""

    now: float
    image_size: Optional[Tuple[int, int]] = None


class TrackLike(Protocol):
    """What an associator may read of a track (all read-only).

    xyxy (4,) predicted box, pixels; mean (8,) / cov (8, 8) Kalman state (pixels, pixels/s);
    last_seen seconds; score; class_id; embedding (D,) unit vector or None;
    history: sequence of (time s, x1, y1, x2, y2, score) rows of the last observations, oldest
    first.
    """

    xyxy: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    last_seen: float
    score: float
    class_id: int
    embedding: Optional[np.ndarray]
    history: Sequence


def classes_differ(tracks: Sequence[TrackLike], detections: Detections, det_rows: np.ndarray) -> np.ndarray:
    """(T, K) bool: track t and detection ``det_rows[k]`` have different classes (never a match)."""
    return np.array([t.class_id for t in tracks])[:, None] != detections.class_ids[det_rows][None, :]


class PairCosts(NamedTuple):
    """What an associator returns for T tracks x K detections: lower is better; pairs above
    ``max_cost`` never match.

    costs: a dense (T, K) float array of finite costs, or, for crowds too large for a dense
    matrix, a ``scipy.sparse.coo_matrix`` (T, K) listing the only pairs that may match (every
    unlisted pair is forbidden). ``is_sparse`` says which. Unpacks as ``costs, max_cost``.
    """

    costs: Union[np.ndarray, "scipy.sparse.coo_matrix"]  # noqa: F821 - scipy is imported where it is built
    max_cost: float

    @property
    def is_sparse(self) -> bool:
        return not isinstance(self.costs, np.ndarray)

    @property
    def size(self) -> int:
        """T x K: the number of pairs scored."""
        rows, cols = self.costs.shape
        return rows * cols

    def assign(self):
        """Hungarian matching under ``max_cost``: ``(matches (M, 2) [track, detection],
        unmatched tracks, unmatched detections)`` (see ``tracker.assignment``)."""
        from tracker.assignment import linear_assignment, sparse_linear_assignment

        if self.is_sparse:
            coo = self.costs.tocoo()
            return sparse_linear_assignment(coo.row, coo.col, coo.data, coo.shape, self.max_cost)
        return linear_assignment(self.costs, self.max_cost)


class Associator(Protocol):
    def cost(self, tracks: Sequence[TrackLike], detections: Detections, det_rows: np.ndarray, stage: Stage,
             context: AssociationContext) -> PairCosts:
        """Return ``PairCosts`` for tracks x ``detections[det_rows]``."""
        ...

    def reset(self) -> None:
        """Forget what was learned of the previous stream (e.g. the extent of its boxes)."""
        ...
