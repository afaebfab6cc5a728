"""Global linking: which tracklets are one identity.

Every tracklet end may continue into at most one later tracklet start, and every start may
continue at most one end. Because a link always goes forward in time (B starts after A's last
frame), the chosen links form chains, and a chain never holds two tracklets that overlap in
time: an identity never has two boxes in one frame. Among all such choices the one with the
largest total log-odds over links above the threshold is exact for pairwise scores: a minimum-
cost assignment between ends and starts (the bipartite form of the minimum-cost path cover),
solved with ``tracker.assignment.sparse_linear_assignment`` on the candidate pairs only
(memory O(tracklets + candidates)).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

from tracker.assignment import sparse_linear_assignment
from tracker.offline.config import OfflineConfig
from tracker.offline.learned import learned_log_odds
from tracker.offline.scoring import TrackletTable, candidate_pairs, pair_log_odds
from tracker.offline.tracklets import Tracklet


#: candidate pairs scored at once (bounds the scorer's working memory: about 2 kB per pair)
SCORE_CHUNK_PAIRS = 2048


def logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


@dataclass(frozen=True, eq=False)
class Links:
    """The linking result: successor (T,) int64 (the next tracklet of each one's identity, -1
    at a chain's end), identity (T,) int64 (0-based chain number of each tracklet, chains
    numbered by their first frame), candidates: pairs scored; links: pairs chosen."""

    successor: np.ndarray
    identity: np.ndarray
    candidates: int

    @property
    def links(self) -> int:
        return int((self.successor >= 0).sum())


def link(tracklets: List[Tracklet], config: OfflineConfig) -> Links:
    """Choose the links (see the module docstring) among ``tracklets``."""
    n = len(tracklets)
    successor = np.full(n, -1, np.int64)
    table = TrackletTable.from_tracklets(tracklets)
    a, b = candidate_pairs(table, config)
    candidates = len(a)
    if candidates:
        a, b, log_odds = feasible_scores(table, a, b, config)
        matches, _, _ = sparse_linear_assignment(a, b, -log_odds, (n, n), max_cost=-logit(config.threshold))
        successor[matches[:, 0]] = matches[:, 1]
    return Links(successor, chain_identities(successor, table.start_pos), candidates)


def feasible_scores(table: TrackletTable, a: np.ndarray, b: np.ndarray, config: OfflineConfig
                    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidate pairs that pass the hard constraints and their log-odds, scored
    ``SCORE_CHUNK_PAIRS`` at a time so that the scorer's intermediate arrays stay bounded."""
    score = learned_log_odds if config.scorer == "learned" else pair_log_odds
    kept_a, kept_b, kept_odds = [], [], []
    for start in range(0, len(a), SCORE_CHUNK_PAIRS):
        ca, cb = a[start:start + SCORE_CHUNK_PAIRS], b[start:start + SCORE_CHUNK_PAIRS]
        log_odds, feasible = score(table, ca, cb, config)
        kept_a.append(ca[feasible])
        kept_b.append(cb[feasible])
        kept_odds.append(log_odds[feasible])
    return np.concatenate(kept_a), np.concatenate(kept_b), np.concatenate(kept_odds)


def chain_identities(successor: np.ndarray, start_pos: np.ndarray) -> np.ndarray:
    """(T,) chain number of each tracklet, chains numbered 0, 1, ... in the order of their
    first tracklet's start (ties by tracklet index)."""
    n = len(successor)
    has_predecessor = np.zeros(n, bool)
    has_predecessor[successor[successor >= 0]] = True
    heads = np.flatnonzero(~has_predecessor)
    heads = heads[np.lexsort((heads, start_pos[heads]))]
    identity = np.full(n, -1, np.int64)
    for chain, head in enumerate(heads):
        node = int(head)
        while node >= 0:
            identity[node] = chain
            node = int(successor[node])
    return identity
