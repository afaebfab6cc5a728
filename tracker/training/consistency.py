"""Consistency losses that need no identity labels (torch).

Path consistency (Lu et al., "Self-Supervised Multi-Object Tracking with Path Consistency",
CVPR 2024): the objects of a query frame are associated with those of a target frame along
several paths (directly, or through intermediate frames when frames are skipped); every path
must give the same answer. An association step is a row-stochastic matrix (Nq, Nm + 1) whose
last column is the **null object**: "not in the next frame" (it left, or was missed). Along a
path the probabilities multiply, and what reached the null object stays there.

The agreement of several distributions over the same query and target objects is their
generalised Jensen-Shannon divergence: the mean KL divergence from each to their mean, 0
exactly when all agree. Cross-input consistency (Bastani et al., NeurIPS 2021) is the same
divergence between views of one problem with different inputs hidden (``view_consistency``).
"""
from __future__ import annotations

from typing import Sequence

import torch

#: probabilities are clamped here before a log (keeps KL finite where a path gives 0)
EPS = 1e-8


def path_distribution(steps: Sequence[torch.Tensor]) -> torch.Tensor:
    """Association along a path of frames q -> m1 -> ... -> t.

    steps: row-stochastic (N_i, N_{i+1} + 1) matrices, the last column the null object.
    Returns (N_q, N_t + 1): for each query object, the probability of each target object and,
    last, of the null object (it disappeared somewhere along the path)."""
    if not steps:
        raise ValueError("path_distribution needs at least one step")
    p = steps[0]
    for step in steps[1:]:
        if step.shape[0] != p.shape[1] - 1:
            raise ValueError(f"path step of {step.shape[0]} objects follows a step ending in {p.shape[1] - 1}")
        reached = p[:, :-1] @ step
        p = torch.cat([reached[:, :-1], reached[:, -1:] + p[:, -1:]], dim=1)
    return p


def path_consistency_loss(paths: Sequence[torch.Tensor], weights: torch.Tensor = None) -> torch.Tensor:
    """paths: P >= 2 distributions (N_q, N_t + 1) of the same query and target objects along
    different paths (``path_distribution``); weights: optional (N_q,) per query object.
    Returns the mean over query objects of the generalised Jensen-Shannon divergence (nats):
    0 when every path agrees, > 0 as soon as one differs."""
    if len(paths) < 2:
        raise ValueError("path consistency needs at least two paths")
    stack = torch.stack(list(paths))  # (P, Nq, Nt+1)
    mean = stack.mean(0, keepdim=True)
    kl = (stack * (stack.clamp(min=EPS).log() - mean.clamp(min=EPS).log())).sum(-1)  # (P, Nq)
    per_query = kl.mean(0)
    if weights is None:
        return per_query.mean() if per_query.numel() else stack.sum() * 0.0
    return (per_query * weights).sum() / weights.sum().clamp(min=EPS)


def view_consistency(logits_a: torch.Tensor, unseen_a: torch.Tensor, logits_b: torch.Tensor,
                     unseen_b: torch.Tensor, pair_valid: torch.Tensor, track_valid: torch.Tensor) -> torch.Tensor:
    """Cross-input consistency of two views of one batch of problems: each track's row
    distribution over detections + "unseen" (B, T, N) / (B, T) logits of each view must agree.
    pair_valid (B, T, N), track_valid (B, T) bool. Returns the mean divergence over valid tracks."""
    neg = torch.finfo(logits_a.dtype).min / 4

    def rows(logits, unseen):
        full = torch.cat([logits.masked_fill(~pair_valid, neg), unseen[..., None]], dim=-1)
        return full.softmax(-1)

    pa, pb = rows(logits_a, unseen_a), rows(logits_b, unseen_b)
    w = track_valid.reshape(-1).to(pa.dtype)
    return path_consistency_loss([pa.reshape(-1, pa.shape[-1]), pb.reshape(-1, pb.shape[-1])], w)
