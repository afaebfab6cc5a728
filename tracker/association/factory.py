"""Build the associator a ``TrackerConfig`` names (``config.associator``)."""
from __future__ import annotations


def make_associator(config):
    """``"iou"`` -> ``IouAssociator``; ``"transformer"`` -> the shipped
    ``TransformerAssociator`` (package data, loaded offline)."""
    if config.associator == "transformer":
        from tracker.association.transformer import TransformerAssociator

        return TransformerAssociator.default(config)
    from tracker.association.iou import IouAssociator

    return IouAssociator(config)
