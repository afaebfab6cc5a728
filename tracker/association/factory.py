"""Build the associator a ``TrackerConfig`` names (``config.associator``)."""
from __future__ import annotations


def make_associator(config, weights=None):
    """``"learned"`` (the default) -> ``LearnedAssociator``; ``"transformer"`` ->
    ``TransformerAssociator``; ``"iou"`` -> ``IouAssociator``. The learned ones load the
    shipped weights (package data, offline), or ``weights`` when given: a ``.npz`` path or
    the name of shipped weights (``"default"``, ``"selfsupervised"``)."""
    if isinstance(weights, str) and not weights.endswith(".npz"):
        from tracker.association.transformer import shipped_weights_path

        weights = shipped_weights_path(weights)
    if config.associator == "learned":
        from tracker.association.learned import LearnedAssociator

        return LearnedAssociator.from_file(config, weights) if weights else LearnedAssociator(config)
    if config.associator == "transformer":
        from tracker.association.transformer import TransformerAssociator

        return TransformerAssociator.from_file(config, weights) if weights else TransformerAssociator.default(config)
    from tracker.association.iou import IouAssociator

    return IouAssociator(config)
