"""Association: score every (track, detection) pair as a cost for Hungarian assignment.

``IouAssociator`` is the non-learned core (IoU x score, optional appearance);
``transformer.TransformerAssociator`` is the learned Transformer; ``learned.LearnedAssociator``
(the default) blends the two. All implement the same ``Associator`` protocol and are built
from a ``TrackerConfig`` by ``make_associator``."""
from tracker.association.base import AssociationContext, Associator, Stage, TrackLike
from tracker.association.factory import make_associator
from tracker.association.iou import IouAssociator

__all__ = ["AssociationContext", "Associator", "IouAssociator", "Stage", "TrackLike", "make_associator"]
