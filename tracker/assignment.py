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


def sparse_linear_assignment(rows: np.ndarray, cols: np.ndarray, costs: np.ndarray, shape: Tuple[int, int],
                             max_cost: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``linear_assignment`` for a sparse cost matrix: only the listed (row, col) pairs may
    match (all others are forbidden).

    rows, cols (P,) int indices and costs (P,) finite values of the candidate pairs;
    shape (R, C). Pairs above ``max_cost`` are dropped first; the remaining bipartite graph is
    split into connected components, each solved exactly with ``linear_assignment`` on its
    own small dense block, so memory is O(P + largest block) instead of O(R x C).
    Returns the same triple as ``linear_assignment``.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n_rows, n_cols = shape
    rows = np.asarray(rows, np.int64)
    cols = np.asarray(cols, np.int64)
    costs = np.asarray(costs, np.float64)
    if not (len(rows) == len(cols) == len(costs)):
        raise ValueError("rows, cols and costs must have the same length")
    if not np.all(np.isfinite(costs)):
        raise ValueError("costs contain NaN or inf")
    keep = costs <= max_cost
    rows, cols, costs = rows[keep], cols[keep], costs[keep]
    if len(rows) == 0:
        return np.zeros((0, 2), np.int64), np.arange(n_rows), np.arange(n_cols)
    # nodes 0..R-1 are rows, R..R+C-1 columns
    graph = coo_matrix((np.ones(len(rows)), (rows, cols + n_rows)), shape=(n_rows + n_cols,) * 2)
    _, labels = connected_components(graph, directed=False)
    pair_label = labels[rows]
    # components made of one candidate pair match directly (the common case in huge frames)
    pairs_per_label = np.bincount(pair_label)
    single = pairs_per_label[pair_label] == 1
    matched_rows, matched_cols = [rows[single]], [cols[single]]
    multi = np.flatnonzero(~single)
    order = multi[np.argsort(pair_label[multi], kind="stable")]
    bounds = np.flatnonzero(np.diff(pair_label[order])) + 1
    forbidden = max_cost + 1.0
    for group in np.split(order, bounds) if len(order) else []:
        r_ids, r_loc = np.unique(rows[group], return_inverse=True)
        c_ids, c_loc = np.unique(cols[group], return_inverse=True)
        block = np.full((len(r_ids), len(c_ids)), forbidden)
        block[r_loc, c_loc] = costs[group]
        m, _, _ = linear_assignment(block, max_cost)
        matched_rows.append(r_ids[m[:, 0]])
        matched_cols.append(c_ids[m[:, 1]])
    mr = np.concatenate(matched_rows)
    mc = np.concatenate(matched_cols)
    order = np.argsort(mr)
    matches = np.stack([mr[order], mc[order]], axis=1).astype(np.int64)
    return matches, np.setdiff1d(np.arange(n_rows), mr), np.setdiff1d(np.arange(n_cols), mc)
