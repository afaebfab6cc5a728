"""Hard-negative mining: for each query, the most similar bank entries that are not from the
query's own tracklet (and, optionally, only among entries known to be other people)."""
from __future__ import annotations

from typing import Optional, Tuple

import torch

# similarity given to excluded entries (finite, far below any cosine / temperature)
EXCLUDED = -1e4


def mine_hard_negatives(query: torch.Tensor, bank: torch.Tensor, query_tracklets: torch.Tensor,
                        bank_tracklets: torch.Tensor, k: int,
                        eligible: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """query: (B, D) and bank: (K, D) unit vectors; query_tracklets (B,), bank_tracklets (K,)
    int; k: how many negatives per query; eligible: optional (B, K) bool, further entries
    allowed as negatives (e.g. known to be another person).

    Returns (sims (B, k'), index (B, k') into the bank, valid (B, k') bool) with k' = min(k, K),
    sorted by decreasing similarity; ``valid`` is False where fewer than k' entries qualify
    (those columns have sim = ``EXCLUDED``).
    """
    if k < 1:
        raise ValueError(f"mine_hard_negatives needs k >= 1, got {k}")
    sims = query @ bank.T  # (B, K)
    allowed = query_tracklets.view(-1, 1) != bank_tracklets.view(1, -1)
    if eligible is not None:
        allowed = allowed & eligible
    sims = torch.where(allowed, sims, torch.full_like(sims, EXCLUDED))
    kk = min(int(k), bank.shape[0])
    top, index = sims.topk(kk, dim=1)
    valid = top > EXCLUDED / 2
    return top, index, valid
