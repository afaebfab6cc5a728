"""Appearance embedding: crop + resize detection boxes -> unit vectors.

* :class:`Embedder` - inference (``Embedder.default()`` loads the shipped weights offline);
* :class:`PatchEncoder` / :class:`EncoderConfig` - the network (conv stem -> patch tokens ->
  small Transformer -> 128-d unit embedding);
* :mod:`tracker.embedding.augment` - seeded batched augmentations for contrastive training;
* :func:`colour_histograms` - the HSV colour-histogram baseline;
* :mod:`tracker.embedding.reid_eval` - re-ID retrieval (mAP, rank-1) and linear-probe evaluation.
"""
from tracker.embedding.histogram import colour_histograms
from tracker.embedding.inference import Embedder, load_weights, save_weights, shipped_weights_path
from tracker.embedding.model import EncoderConfig, PatchEncoder

__all__ = ["Embedder", "EncoderConfig", "PatchEncoder", "colour_histograms", "load_weights", "save_weights",
           "shipped_weights_path"]
