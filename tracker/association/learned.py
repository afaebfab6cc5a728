"""The default associator: the learned Transformer together with the core's geometry.

Each stage of ``Tracker.update`` gets the scorer that did best on held-out sequences
(``docs/associator.md``, leave-sequences-out folds):

* first association (confident detections <-> confirmed and lost tracks) and tentative
  tracks (<-> the remaining confident detections): a weighted sum of the two normalized
  costs, ``(1 - w) * core / core_ceiling + w * transformer / transformer_ceiling``, with
  ceiling 1, where ``w`` is ``TrackerConfig.transformer_weight`` (0.3). A pair either scorer
  is certain about can win against the other's doubt. A lost track the core cannot reach
  (no overlap) still matches when the Transformer gives the pair a probability of about 0.4
  or more. The Transformer cannot veto an obvious geometric continuation, so objects unlike
  the pedestrians it was trained on (e.g. square boxes, which it calls unlikely to persist)
  are still tracked. Its main gain is refusing to grow a new track on a person whose lost
  track may still come back.
* second association (low-score detections <-> confirmed tracks that are still unmatched):
  the core alone. These are short-gap continuations through occlusion, where IoU with the
  Kalman prediction is the stronger cue.
* problems with more than ``TrackerConfig.transformer_max_pairs`` (5,000) track x detection
  pairs: the core alone. The largest problem in the training data is 41 tracks x 34
  detections (1,360 pairs, MOT17-04), and the Transformer's attention normalizes over all
  tracks and detections, so far larger crowds are out of its distribution. The core is also
  several times faster there (``docs/benchmarks.md``, scaling).

When the frame carries embeddings, the core part includes the appearance distance
(``appearance_weight``). The identity memory works as with any associator.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from tracker.association.base import AssociationContext, PairCosts, Stage, TrackLike, classes_differ
from tracker.association.iou import IouAssociator
from tracker.association.transformer import TransformerAssociator
from tracker.detections import Detections

#: normalized costs are clipped here before blending: a forbidden or hopeless pair on one side
#: costs at most this much (times its weight), so the other side's certainty can still win
NORMALIZED_COST_CLIP = 2.0
#: ceiling of the blended, normalized cost
BLENDED_CEILING = 1.0
FORBIDDEN = BLENDED_CEILING + 1.0


class LearnedAssociator:
    """``Associator`` for ``TrackerConfig(associator="learned")`` (the default); see the
    module docstring. ``transformer``: a ``TransformerAssociator`` (None: the shipped weights)."""

    def __init__(self, config, transformer: TransformerAssociator = None):
        self.config = config
        self.core = IouAssociator(config)
        self.transformer = transformer if transformer is not None else TransformerAssociator.default(config)

    @classmethod
    def from_file(cls, config, path) -> "LearnedAssociator":
        """With Transformer weights from ``path`` (e.g. a leave-sequences-out fold model)."""
        return cls(config, TransformerAssociator.from_file(config, path))

    def cost(self, tracks: Sequence[TrackLike], detections: Detections, det_rows: np.ndarray, stage: Stage,
             context: AssociationContext):
        core = self.core.cost(tracks, detections, det_rows, stage, context)
        if stage == Stage.SECOND or core.is_sparse or core.size == 0 or core.size > self.config.transformer_max_pairs:
            return core  # the core alone (also crowds beyond the training data)
        learned_cost, learned_ceiling = self.transformer.cost(tracks, detections, det_rows, stage, context)
        return blend_costs(core.costs, core.max_cost, learned_cost, learned_ceiling, self.config.transformer_weight,
                           classes_differ(tracks, detections, det_rows))

    def reset(self) -> None:
        self.core.reset()
        self.transformer.reset()


def blend_costs(core_cost: np.ndarray, core_ceiling: float, learned_cost: np.ndarray, learned_ceiling: float,
                weight: float, forbidden: np.ndarray):
    """-> ``PairCosts``: blended cost (T, N), ceiling 1.0.

    ``(1 - weight) * min(core / core_ceiling, clip) + weight * min(learned / learned_ceiling,
    clip)``. Each term is 1 at its own ceiling. ``forbidden`` (T, N) pairs (different classes)
    get a cost above the ceiling."""
    core_n = np.minimum(core_cost / max(core_ceiling, 1e-12), NORMALIZED_COST_CLIP)
    learned_n = np.minimum(learned_cost / max(learned_ceiling, 1e-12), NORMALIZED_COST_CLIP)
    blended = (1.0 - weight) * core_n + weight * learned_n
    return PairCosts(np.where(forbidden, FORBIDDEN, blended), BLENDED_CEILING)
