"""Minimum-cost assignment with a cost ceiling, on ``lap.lapjv``.

Never puts ``inf`` in a matrix and never mutates its input. Pairs that must not match are
given any finite cost above ``max_cost``.
"""
from __future__ import annotations

from typing import Tuple

import lap
import numpy as np


def linear_assignment(cost: np.ndarray, max_cost: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve rows-to-columns assignment, accepting only pairs with ``cost <= max_cost``.

    cost: (R, C) finite costs (any units; lower is better). max_cost: finite ceiling.
    Returns ``matches`` (K, 2) int64 ``[row, col]`` sorted by row, ``unmatched_rows`` (R-K,)
    and ``unmatched_cols`` (C-K,), both sorted.
    """
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2:
        raise ValueError(f"cost must be a 2-D matrix, got shape {cost.shape}")
    if not np.isfinite(max_cost):
        raise ValueError(f"max_cost must be finite, got {max_cost}")
    if not np.all(np.isfinite(cost)):
        raise ValueError("cost contains NaN or inf; use a finite value above max_cost for forbidden pairs")
    n_rows, n_cols = cost.shape
    if n_rows == 0 or n_cols == 0 or not np.any(cost <= max_cost):
        return np.zeros((0, 2), np.int64), np.arange(n_rows), np.arange(n_cols)
    # lapjv's cost_limit makes leaving a row unassigned cost max_cost/2 per side; shifting
    # costs to be non-negative keeps that trade-off meaningful for any range.
    offset = min(0.0, float(cost.min()))
    shifted = cost - offset
    limit = max_cost - offset
    # a limit exactly 0 would make lapjv refuse everything: nudge it by one ulp-ish epsilon
    limit = limit if limit > 0 else np.finfo(np.float64).eps
    _, row_to_col, _ = lap.lapjv(shifted, extend_cost=True, cost_limit=limit)
    rows = np.flatnonzero(row_to_col >= 0)
    cols = row_to_col[rows]
    keep = cost[rows, cols] <= max_cost
    rows, cols = rows[keep], cols[keep]
    matches = np.stack([rows, cols], axis=1).astype(np.int64) if len(rows) else np.zeros((0, 2), np.int64)
    unmatched_rows = np.setdiff1d(np.arange(n_rows), rows)
    unmatched_cols = np.setdiff1d(np.arange(n_cols), cols)
    return matches, unmatched_rows, unmatched_cols
