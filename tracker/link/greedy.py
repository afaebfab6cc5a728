"""Greedy linking of units (a source's tracks, or a shot's) across sources from pair scores.

Pairs are taken from the highest score down; a pair joins its two identities when its score is
at or above ``threshold`` (open set: a unit whose best pair is below it stays alone) and the
joined identity would not hold two units of one source that are visible at the same time
(the same person cannot be twice in one picture). Across sources both co-existence
(overlapping cameras) and sequence (one camera after another) are allowed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np

from tracker.errors import InputError
from tracker.link.identities import GlobalIdentities


@dataclass(frozen=True)
class Unit:
    """What is linked: ``source`` name, local ``track_id``, and the 1-based frames it spans
    (``first_frame`` <= ``last_frame``) in that source."""

    source: str
    track_id: int
    first_frame: int
    last_frame: int

    @property
    def key(self) -> Tuple[str, int]:
        return (self.source, int(self.track_id))

    def coexists(self, other: "Unit") -> bool:
        """In the same source with overlapping frame spans."""
        return (self.source == other.source and self.first_frame <= other.last_frame
                and other.first_frame <= self.last_frame)


def link_greedy(units: Sequence[Unit], scores: np.ndarray, threshold: float) -> GlobalIdentities:
    """units (U,); scores (U, U) symmetric, higher = more likely the same identity (e.g. cosine
    similarity of mean embeddings in [-1, 1], or a probability); threshold: the least score of
    a link. Pairs within one source are never scored (tracking decided them). Returns the
    global identities with, per link, ``{"a": key, "b": key, "score": s}``."""
    scores = np.asarray(scores, np.float64)
    n = len(units)
    if scores.shape != (n, n):
        raise InputError(f"scores must be ({n}, {n}) for {n} units, got {scores.shape}", "scores")
    if not np.isfinite(threshold):
        raise InputError(f"threshold must be a finite number, got {threshold!r}", "threshold")
    parent = list(range(n))
    members: Dict[int, List[int]] = {i: [i] for i in range(n)}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    source = np.array([u.source for u in units], dtype=object)
    upper = np.triu(np.ones((n, n), bool), 1) & (source[:, None] != source[None, :])
    rows, cols = np.nonzero(upper & (scores >= threshold))
    order = np.argsort(-scores[rows, cols], kind="stable")
    decisions = []
    for a, b in zip(rows[order], cols[order]):
        ra, rb = root(int(a)), root(int(b))
        if ra == rb:
            continue
        if any(units[i].coexists(units[j]) for i in members[ra] for j in members[rb]):
            continue
        parent[rb] = ra
        members[ra] += members.pop(rb)
        decisions.append({"a": list(units[a].key), "b": list(units[b].key), "score": round(float(scores[a, b]), 6)})
    groups = [[units[i].key for i in m] for m in members.values()]
    return GlobalIdentities.from_groups(groups, decisions)
