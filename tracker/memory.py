"""Identity memory: keeps lost identities' appearance so a person who returns gets the old ID.

Entries are bounded in number (``max_entries``, oldest dropped first) and age
(``horizon_s``). A newborn track is compared with every entry before it is given a new ID:
cost O(entries x newborns)."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from tracker.config_base import ConfigBase, check_int, check_range


@dataclass(frozen=True)
class MemoryConfig(ConfigBase):
    """enabled: use the memory. horizon_s: forget identities unseen for longer (seconds).
    max_entries: most identities kept. bank_size: embeddings kept per identity.
    bank_interval_s: least time between two stored embeddings of one track (seconds).
    min_similarity: least cosine similarity (best over the bank) to revive an identity.
    margin: the best identity must beat the second best by this much (cosine).
    max_speed: plausible speed while unseen, in box heights per second; plus one box height
    of slack, this bounds how far from its last position an identity may reappear."""

    enabled: bool = True
    horizon_s: float = 30.0
    max_entries: int = 256
    bank_size: int = 8
    bank_interval_s: float = 0.5
    min_similarity: float = 0.8
    margin: float = 0.05
    max_speed: float = 2.0

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ValueError(f"MemoryConfig.enabled must be true or false, got {self.enabled!r}")
        check_range("MemoryConfig.horizon_s", self.horizon_s, 0.0, 86400.0)
        for name, hi in (("max_entries", 100000), ("bank_size", 1000)):
            check_int(f"MemoryConfig.{name}", getattr(self, name), 1, hi)
        check_range("MemoryConfig.bank_interval_s", self.bank_interval_s, 0.0, 3600.0)
        check_range("MemoryConfig.min_similarity", self.min_similarity, -1.0, 1.0)
        check_range("MemoryConfig.margin", self.margin, 0.0, 2.0)
        check_range("MemoryConfig.max_speed", self.max_speed, 0.0, 1000.0)


@dataclass
class MemoryEntry:
    """A remembered identity. bank (B, D) unit embeddings; last_xyxy (4,) pixels; last_seen s."""

    track_id: int
    bank: np.ndarray
    last_xyxy: np.ndarray
    last_seen: float
    class_id: int


def plausible(last_xyxy: np.ndarray, elapsed_s: float, candidate_xyxy: np.ndarray, max_speed: float) -> np.ndarray:
    """Can an object last seen at ``last_xyxy`` (4,) be at each ``candidate_xyxy`` (N, 4)
    ``elapsed_s`` seconds later, moving at most ``max_speed`` box heights per second (plus
    one box height of slack)? -> (N,) bool."""
    height = max(float(last_xyxy[3] - last_xyxy[1]), 1.0)
    centre = (last_xyxy[:2] + last_xyxy[2:]) / 2.0
    cand_centre = (candidate_xyxy[:, :2] + candidate_xyxy[:, 2:]) / 2.0
    reach = height * (1.0 + max_speed * max(elapsed_s, 0.0))
    return np.linalg.norm(cand_centre - centre, axis=1) <= reach


class IdentityMemory:
    """Bounded store of lost identities (insertion-ordered; oldest evicted first)."""

    def __init__(self, config: Optional[MemoryConfig] = None):
        self.config = config or MemoryConfig()
        self._entries: "OrderedDict[int, MemoryEntry]" = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def ids(self) -> List[int]:
        return list(self._entries)

    def remember(self, entry: MemoryEntry) -> None:
        """Store (or refresh) an identity; evicts the oldest beyond ``max_entries``."""
        if not self.config.enabled or len(entry.bank) == 0:
            return
        self._entries.pop(entry.track_id, None)
        self._entries[entry.track_id] = entry
        while len(self._entries) > self.config.max_entries:
            self._entries.popitem(last=False)

    def forget(self, track_id: int) -> None:
        self._entries.pop(track_id, None)

    def expire(self, now: float) -> None:
        """Drop identities unseen for longer than ``horizon_s``."""
        stale = [k for k, e in self._entries.items() if now - e.last_seen > self.config.horizon_s]
        for k in stale:
            del self._entries[k]

    def best_match(self, embedding: np.ndarray, xyxy: np.ndarray, class_id: int, now: float,
                   candidates: Sequence[MemoryEntry] = ()) -> Optional[int]:
        """The remembered track ID a newborn most likely is, or None.

        embedding (D,) unit vector; xyxy (4,) pixels. ``candidates`` adds live LOST tracks
        (as entries) to the stored ones. Needs similarity >= ``min_similarity``, a margin
        over the runner-up, the same class and a plausible reappearance position."""
        cfg = self.config
        if not cfg.enabled:
            return None
        pool = list(self._entries.values()) + list(candidates)
        if not pool:
            return None
        sims = np.full(len(pool), -np.inf)
        for i, e in enumerate(pool):
            if e.class_id != class_id:
                continue
            if not plausible(e.last_xyxy, now - e.last_seen, xyxy[None, :], cfg.max_speed)[0]:
                continue
            sims[i] = float(np.max(e.bank @ embedding))
        order = np.argsort(-sims)
        best = order[0]
        if not np.isfinite(sims[best]) or sims[best] < cfg.min_similarity:
            return None
        if len(order) > 1 and np.isfinite(sims[order[1]]) and sims[best] - sims[order[1]] < cfg.margin:
            return None
        return pool[best].track_id
