"""Association: score every (track, detection) pair as a cost for Hungarian assignment.

``IouAssociator`` is the non-learned baseline (IoU x score, optional appearance); the learned
Transformer associator implements the same ``Associator`` protocol."""
from tracker.association.base import AssociationContext, Associator, Stage, TrackLike
from tracker.association.factory import make_associator
from tracker.association.iou import IouAssociator

__all__ = ["AssociationContext", "Associator", "IouAssociator", "Stage", "TrackLike", "make_associator"]
