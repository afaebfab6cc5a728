"""Motion-only, unambiguous linking of detections into tracklets, for temporal positives.

Rule (deliberately conservative - a wrong link would teach the embedder that two people are one):
a detection ``a`` in frame t and ``b`` in frame t+1 are linked only when

* ``b`` is ``a``'s best IoU match in t+1 and ``a`` is ``b``'s best IoU match in t (mutual best),
* that IoU is at least ``min_iou`` (0.5 by default: at 7-10 fps a walking person overlaps its next box by ~0.5-0.7), and
* the second-best IoU of both ``a`` (over frame t+1) and ``b`` (over frame t) is at least
  ``margin`` (0.2) below the linked IoU.

Frames must be consecutive (a gap of one missing frame ends a tracklet). Tracklets are the
connected chains; every detection gets a tracklet id (singletons included).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List

import numpy as np

from tracker.boxes import iou_matrix


@dataclass(frozen=True)
class LinkConfig:
    """min_iou: IoU needed for a link, in (0, 1]; margin: required gap to the second best, in [0, 1]."""

    min_iou: float = 0.5
    margin: float = 0.2

    def __post_init__(self) -> None:
        if not 0.0 < self.min_iou <= 1.0:
            raise ValueError(f"LinkConfig.min_iou must be in (0, 1], got {self.min_iou}")
        if not 0.0 <= self.margin <= 1.0:
            raise ValueError(f"LinkConfig.margin must be in [0, 1], got {self.margin}")


def link_pairs(a: np.ndarray, b: np.ndarray, config: LinkConfig = LinkConfig()) -> np.ndarray:
    """a: (M, 4), b: (N, 4) xyxy boxes of consecutive frames -> (K, 2) int index pairs (i, j)
    linked by the rule in the module docstring."""
    iou = iou_matrix(a, b)
    if iou.size == 0:
        return np.zeros((0, 2), np.int64)
    pairs = []
    best_j = iou.argmax(axis=1)
    best_i = iou.argmax(axis=0)
    for i, j in enumerate(best_j):
        v = iou[i, j]
        if best_i[j] != i or v < config.min_iou:
            continue
        row = np.delete(iou[i], j)
        col = np.delete(iou[:, j], i)
        second = max(row.max() if row.size else 0.0, col.max() if col.size else 0.0)
        if v - second >= config.margin:
            pairs.append((i, int(j)))
    return np.array(pairs, np.int64).reshape(-1, 2)


def build_tracklets(frames: np.ndarray, xyxy: np.ndarray, config: LinkConfig = LinkConfig()) -> np.ndarray:
    """frames: (R,) 1-based frame of each detection; xyxy: (R, 4) boxes -> (R,) int64 tracklet
    ids (0..T-1, in order of first appearance)."""
    frames = np.asarray(frames, np.int64)
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    n = len(frames)
    parent = np.arange(n)
    by_frame: Dict[int, np.ndarray] = {}
    for f in np.unique(frames):
        by_frame[int(f)] = np.flatnonzero(frames == f)
    for f, rows in by_frame.items():
        nxt = by_frame.get(f + 1)
        if nxt is None:
            continue
        for i, j in link_pairs(xyxy[rows], xyxy[nxt], config):
            parent[nxt[j]] = rows[i]  # each detection has at most one predecessor (mutual best)
    # resolve chains: parents always point to an earlier frame
    order = np.argsort(frames, kind="stable")
    root = parent.copy()
    for r in order:
        root[r] = root[parent[r]] if parent[r] != r else r
    _, ids = np.unique(root, return_inverse=True)
    # renumber by first appearance
    first: List[int] = []
    remap = {}
    for r in order:
        t = int(ids[r])
        if t not in remap:
            remap[t] = len(first)
            first.append(t)
    return np.array([remap[int(t)] for t in ids], np.int64)
