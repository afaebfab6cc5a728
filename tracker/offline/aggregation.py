"""Appearance of a tracklet from its observations' embeddings: the quality-weighted mean
(``quality_mean``, what ``TrackletBuilder`` folds in) or learned non-uniform weights
(``Aggregator``: a tiny MLP gives each observation a logit, a softmax over the tracklet's
observations gives the weights).

Per-observation inputs (``observation_features``, (O, F), ``OBSERVATION_FEATURES``): the
detection score, the highest IoU of its box with another box of its frame, log(box height /
the tracklet's median height), its position in the tracklet (0 first .. 1 last) and the cosine
of its embedding with the tracklet's quality-weighted mean (agreement: an occluder's or a
neighbour's embedding disagrees). Trained without labels
(``tracker.training.offline_aggregation``): one piece of a tracklet must be nearer another
piece of it than the pieces of tracklets co-existing with it (InfoNCE).
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from tracker.model_registry import OFFLINE_AGGREGATOR

#: the per-observation input columns, in order
OBSERVATION_FEATURES = ("score", "overlap", "log_size_rel", "position", "agreement")
#: heights below this (pixels) are taken as this before the log
MIN_HEIGHT_PX = 1.0
#: hidden width of the shipped weighting network
AGG_HIDDEN = 16


def unit(vector: np.ndarray) -> Optional[np.ndarray]:
    """``vector`` scaled to length 1, or None for a zero vector."""
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else None


def quality_mean(embeddings: np.ndarray, scores: np.ndarray, overlaps: np.ndarray) -> Optional[np.ndarray]:
    """(D,) unit mean of (O, D) embeddings weighted by score x (1 - overlap) (the
    ``TrackletBuilder`` rule), or None when every weight is 0."""
    w = np.clip(np.asarray(scores, np.float64), 0.0, 1.0) * (1.0 - np.asarray(overlaps, np.float64))
    return unit((w[:, None] * np.asarray(embeddings, np.float64)).sum(axis=0))


def observation_features(embeddings: np.ndarray, scores: np.ndarray, overlaps: np.ndarray,
                         heights: np.ndarray) -> np.ndarray:
    """(O, len(OBSERVATION_FEATURES)) inputs of one tracklet's O observations (in time order):
    embeddings (O, D) unit rows, scores (O,), overlaps (O,) highest IoU with another box of the
    frame, heights (O,) pixels."""
    emb = np.asarray(embeddings, np.float64)
    n = len(emb)
    h = np.maximum(np.asarray(heights, np.float64), MIN_HEIGHT_PX)
    mean = quality_mean(emb, scores, overlaps)
    if mean is None:
        mean = unit(emb.sum(axis=0))
    agreement = emb @ mean if mean is not None else np.zeros(n)
    position = np.arange(n) / max(n - 1, 1)
    return np.column_stack([np.asarray(scores, np.float64), np.asarray(overlaps, np.float64),
                            np.log(h / np.median(h)), position, agreement])


class Aggregator:
    """Softmax weights over a tracklet's observations from a tiny MLP. ``params``: ``mean`` /
    ``std`` (F,), ``w0`` (F, H), ``b0`` (H,), ``w1`` (H, 1), ``b1`` (1,)."""

    def __init__(self, params: Dict[str, np.ndarray]):
        self.mean = np.asarray(params["mean"], np.float64)
        self.std = np.asarray(params["std"], np.float64)
        self.w0, self.b0 = np.asarray(params["w0"], np.float64), np.asarray(params["b0"], np.float64)
        self.w1, self.b1 = np.asarray(params["w1"], np.float64), np.asarray(params["b1"], np.float64)

    def logits(self, features: np.ndarray) -> np.ndarray:
        x = (np.asarray(features, np.float64) - self.mean) / self.std
        return (np.maximum(x @ self.w0 + self.b0, 0.0) @ self.w1 + self.b1)[:, 0]

    def weights(self, features: np.ndarray) -> np.ndarray:
        """(O,) non-negative weights summing to 1."""
        z = self.logits(features)
        e = np.exp(z - z.max())
        return e / e.sum()

    def aggregate(self, embeddings: np.ndarray, features: np.ndarray) -> Optional[np.ndarray]:
        """(D,) unit aggregated embedding (None for a zero result)."""
        return unit(self.weights(features) @ np.asarray(embeddings, np.float64))


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int) -> Aggregator:
    params = OFFLINE_AGGREGATOR.read_npz(Path(path))
    params.pop("features", None)
    return Aggregator(params)


def load_aggregator(path: Optional[Path] = None) -> Aggregator:
    """The aggregator in ``path`` (default: the shipped one)."""
    path = OFFLINE_AGGREGATOR.existing(path)
    return _load(str(path), path.stat().st_mtime_ns)
