"""Cutting detection boxes out of a frame and resizing them to a fixed patch size."""
from __future__ import annotations

from typing import Tuple

import cv2
import numpy as np

# boxes smaller than this after clipping (width, height in pixels) are still cropped (the
# embedder must answer for every box), but evaluation protocols skip them
MIN_EVAL_BOX_WH = (6.0, 12.0)


def clip_boxes(xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
    """(N, 4) xyxy float pixels -> (N, 4) float64 clipped to ``[0, width] x [0, height]``
    (a new array; the caller's is not changed)."""
    out = np.array(xyxy, dtype=np.float64, copy=True).reshape(-1, 4)
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, width)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, height)
    return out


def crop_patches(frame: np.ndarray, xyxy: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Cut each box out of ``frame`` and resize it to ``size``.

    frame: (H, W, 3) uint8 (BGR); xyxy: (N, 4) float pixels (clipped to the frame here; a box
    left with under one pixel of width or height is widened to one pixel, so every box gets a
    patch); size: (height, width) of the output patches.
    Returns (N, height, width, 3) uint8.
    """
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must have shape (H, W, 3), got {frame.shape}")
    ph, pw = int(size[0]), int(size[1])
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    out = np.zeros((len(xyxy), ph, pw, 3), np.uint8)
    if len(xyxy) == 0:
        return out
    fh, fw = frame.shape[:2]
    boxes = clip_boxes(xyxy, fw, fh)
    x1 = np.clip(np.floor(boxes[:, 0]).astype(int), 0, fw - 1)
    y1 = np.clip(np.floor(boxes[:, 1]).astype(int), 0, fh - 1)
    x2 = np.maximum(np.ceil(boxes[:, 2]).astype(int), x1 + 1)
    y2 = np.maximum(np.ceil(boxes[:, 3]).astype(int), y1 + 1)
    for i in range(len(boxes)):
        patch = frame[y1[i]:y2[i], x1[i]:x2[i]]
        out[i] = cv2.resize(patch, (pw, ph), interpolation=cv2.INTER_AREA if patch.shape[0] > ph else cv2.INTER_LINEAR)
    return out
