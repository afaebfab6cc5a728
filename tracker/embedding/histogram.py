"""The colour-histogram appearance baseline (and the colour half of the fused vector).

For each crop: HSV hue-saturation histogram, 16 hue x 8 saturation bins, separately for the
upper and the lower half of the crop; each half normalized to sum 1, square-rooted (Hellinger),
concatenated and L2-normalized -> (N, 256) float32 unit vectors.
"""
from __future__ import annotations

import cv2
import numpy as np

HUE_BINS = 16
SAT_BINS = 8
HIST_DIM = 2 * HUE_BINS * SAT_BINS


def colour_histograms(patches: np.ndarray) -> np.ndarray:
    """patches: (N, H, W, 3) uint8 BGR (H >= 2) -> (N, 256) float32 unit vectors."""
    patches = np.asarray(patches)
    n = len(patches)
    out = np.zeros((n, HIST_DIM), np.float32)
    if n == 0:
        return out
    h = patches.shape[1]
    half = h // 2
    hsv = cv2.cvtColor(patches.reshape(-1, patches.shape[2], 3), cv2.COLOR_BGR2HSV).reshape(patches.shape)
    hue = np.minimum(hsv[..., 0].astype(np.int64) * HUE_BINS // 180, HUE_BINS - 1)
    sat = np.minimum(hsv[..., 1].astype(np.int64) * SAT_BINS // 256, SAT_BINS - 1)
    bins = hue * SAT_BINS + sat  # (N, H, W)
    size = HUE_BINS * SAT_BINS
    for part, rows in enumerate((slice(0, half), slice(half, h))):
        b = bins[:, rows].reshape(n, -1)
        flat = (b + np.arange(n)[:, None] * size).ravel()
        counts = np.bincount(flat, minlength=n * size).reshape(n, size).astype(np.float64)
        counts /= np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
        out[:, part * size:(part + 1) * size] = np.sqrt(counts)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out
