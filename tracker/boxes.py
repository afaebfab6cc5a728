"""Box conversions and overlap. The only place where box formats change.

Inside the package every box is ``xyxy``: ``(x1, y1, x2, y2)`` float pixels, x2 > x1, y2 > y1.
MOTChallenge files use ``xywh`` (top-left corner, width, height); the Kalman filter uses
``cxcywh`` (centre, width, height).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np


def xywh_to_xyxy(xywh: np.ndarray) -> np.ndarray:
    """(N, 4) ``x, y, w, h`` pixels -> (N, 4) ``x1, y1, x2, y2`` pixels (new array)."""
    xywh = np.asarray(xywh, dtype=np.float64).reshape(-1, 4)
    out = xywh.copy()
    out[:, 2:] = xywh[:, :2] + xywh[:, 2:]
    return out


def xyxy_to_xywh(xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) ``x1, y1, x2, y2`` pixels -> (N, 4) ``x, y, w, h`` pixels (new array)."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    out = xyxy.copy()
    out[:, 2:] = xyxy[:, 2:] - xyxy[:, :2]
    return out


def xyxy_to_cxcywh(xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) corners -> (N, 4) ``cx, cy, w, h`` pixels."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    wh = xyxy[:, 2:] - xyxy[:, :2]
    return np.concatenate([xyxy[:, :2] + wh / 2.0, wh], axis=1)


def cxcywh_to_xyxy(cxcywh: np.ndarray) -> np.ndarray:
    """(N, 4) ``cx, cy, w, h`` -> (N, 4) corners."""
    cxcywh = np.asarray(cxcywh, dtype=np.float64).reshape(-1, 4)
    half = cxcywh[:, 2:] / 2.0
    return np.concatenate([cxcywh[:, :2] - half, cxcywh[:, :2] + half], axis=1)


def box_areas(xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) corners -> (N,) areas in square pixels (0 for degenerate boxes)."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    return np.clip(xyxy[:, 2] - xyxy[:, 0], 0, None) * np.clip(xyxy[:, 3] - xyxy[:, 1], 0, None)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every pair.

    a: (M, 4) xyxy pixels; b: (N, 4) xyxy pixels -> (M, N) float64 in [0, 1].
    Pairs whose union is empty get 0.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = box_areas(a)[:, None] + box_areas(b)[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou


def iou_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of aligned pairs: a (K, 4), b (K, 4) xyxy -> (K,)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    iw = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = iw * ih
    union = box_areas(a) + box_areas(b) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


OVERLAP_CHUNK = 2048  # tracks per vectorized block when listing overlapping pairs


def overlapping_pairs(a: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j) whose boxes a[i] (M, 4) and b[j] (N, 4) xyxy overlap with positive
    area, without building an (M, N) matrix at once: ``b`` is sorted by x1 and each block of
    ``a`` only looks at the columns whose x1 lies left of its right edge.

    Returns (rows (P,), cols (P,)) int64, sorted by row."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.argsort(b[:, 0], kind="stable")
    bs = b[order]
    rows_out, cols_out = [], []
    for start in range(0, len(a), OVERLAP_CHUNK):
        blk = a[start:start + OVERLAP_CHUNK]
        reach = int(np.searchsorted(bs[:, 0], blk[:, 2].max(), side="left"))
        cand = bs[:reach]
        if len(cand) == 0:
            continue
        # for every row of the block only candidates with x1 < row.x2 can overlap
        limit = np.searchsorted(cand[:, 0], blk[:, 2], side="left")
        for r in range(len(blk)):
            c = cand[:limit[r]]
            hit = np.flatnonzero((c[:, 2] > blk[r, 0]) & (c[:, 1] < blk[r, 3]) & (c[:, 3] > blk[r, 1]))
            if len(hit):
                rows_out.append(np.full(len(hit), start + r, np.int64))
                cols_out.append(order[hit])
    if not rows_out:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(rows_out), np.concatenate(cols_out).astype(np.int64)
