"""Identity permanence: does a person get the same tracker ID back after being out of view?

Definition (also in ``docs/evaluation.md``). Use the CLEAR per-frame matching
(``clear.match_frames``). For each scored gt identity, a *gap* is a run of consecutive frames, at
least ``gap_seconds`` long (``gap_seconds * frame_rate`` frames), in which the identity has no
scored gt row (or, for MOT16/17/20, only rows with visibility < ``min_visibility``), with such
rows before and after it. The *before ID* is the tracker ID matched to the identity in the last
frame before the gap where it was matched; the *after ID* is the tracker ID matched in the first
frame after the gap where it is matched. A gap is *recovered* when both exist and are equal,
*lost* when both exist and differ, *unmatched* otherwise.
Re-entry ID recall = recovered / (recovered + lost) (NaN when there is no such gap).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np

from tracker.evaluation.clear import ClearMatches
from tracker.evaluation.conventions import has_class_preprocessing
from tracker.evaluation.data import SequenceData

DEFAULT_GAP_SECONDS = 1.0
#: a MOT16/17/20 gt box less visible than this counts as absent when finding gaps.
DEFAULT_MIN_VISIBILITY = 0.1
#: relative slack when converting seconds to a whole number of frames (1 s at 14 fps = 14 frames).
_FRAME_ROUNDING_SLACK = 1e-9

RECOVERED = "recovered"
LOST = "lost"
UNMATCHED = "unmatched"


@dataclass(frozen=True)
class GapEvent:
    """One gap of one gt identity. Frames are 1-based and inclusive; ids are the original ones
    from the files (``None`` when there is no match on that side)."""

    gt_id: int
    first_frame: int
    last_frame: int
    before_id: Optional[int]
    after_id: Optional[int]
    outcome: str

    @property
    def length(self) -> int:
        return self.last_frame - self.first_frame + 1


@dataclass(frozen=True)
class PermanenceCounts:
    """Gap outcome counts; combine sequences with ``+`` (events are concatenated)."""

    recovered: int = 0
    lost: int = 0
    unmatched: int = 0
    events: Tuple[GapEvent, ...] = field(default=(), compare=False)

    def __add__(self, other: "PermanenceCounts") -> "PermanenceCounts":
        return PermanenceCounts(self.recovered + other.recovered, self.lost + other.lost,
                                self.unmatched + other.unmatched, self.events + other.events)

    @property
    def gaps(self) -> int:
        return self.recovered + self.lost + self.unmatched

    @property
    def reentry_recall(self) -> float:
        """recovered / (recovered + lost) in [0, 1]; NaN when both are 0."""
        decided = self.recovered + self.lost
        return self.recovered / decided if decided else math.nan

    def summary(self) -> dict:
        return {"ReentryRecall": self.reentry_recall, "ReentryRecovered": self.recovered,
                "ReentryLost": self.lost, "ReentryUnmatched": self.unmatched, "ReentryGaps": self.gaps}


def min_gap_frames(gap_seconds: float, frame_rate: float) -> int:
    """Shortest gap in frames: the smallest whole number of frames lasting >= ``gap_seconds``."""
    if not gap_seconds > 0:
        raise ValueError(f"gap_seconds must be > 0 s, got {gap_seconds}")
    if not frame_rate > 0:
        raise ValueError(f"frame_rate must be > 0 frames/s, got {frame_rate}")
    return max(1, math.ceil(gap_seconds * frame_rate * (1.0 - _FRAME_ROUNDING_SLACK)))


def compute_permanence(data: SequenceData, matches: ClearMatches, gap_seconds: float = DEFAULT_GAP_SECONDS,
                       min_visibility: float = DEFAULT_MIN_VISIBILITY) -> PermanenceCounts:
    """Gap outcomes of one sequence (see the module docstring)."""
    if not 0.0 <= min_visibility <= 1.0:
        raise ValueError(f"min_visibility must be in [0, 1], got {min_visibility}")
    min_len = min_gap_frames(gap_seconds, data.frame_rate)
    if data.num_gt_ids == 0:
        return PermanenceCounts()
    use_visibility = has_class_preprocessing(data.benchmark)
    # frames (0-based) where each identity is present (a scored, visible enough row)
    pres_t = np.concatenate([np.full(len(g), t, np.int64) for t, g in enumerate(data.gt_ids)])
    pres_g = np.concatenate(data.gt_ids)
    if use_visibility:
        visible = np.concatenate(data.gt_visibility) >= min_visibility
        pres_t, pres_g = pres_t[visible], pres_g[visible]
    order = np.lexsort((pres_t, pres_g))
    pres_t, pres_g = pres_t[order], pres_g[order]
    # frames where each identity is matched, and to which tracker id
    m_t = np.concatenate([np.full(len(mg), t, np.int64) for t, mg in enumerate(matches.gt)])
    m_g = np.concatenate(matches.gt).astype(np.int64)
    m_k = np.concatenate(matches.tracker).astype(np.int64)
    order = np.lexsort((m_t, m_g))
    m_t, m_g, m_k = m_t[order], m_g[order], m_k[order]

    # a gap lies between two consecutive present frames of the same identity
    same_id = pres_g[1:] == pres_g[:-1]
    missing = pres_t[1:] - pres_t[:-1] - 1
    events, counts = [], {RECOVERED: 0, LOST: 0, UNMATCHED: 0}
    for i in np.flatnonzero(same_id & (missing >= min_len)):
        gid = int(pres_g[i])
        start, end = int(pres_t[i]) + 1, int(pres_t[i + 1]) - 1  # 0-based, inclusive
        lo, hi = np.searchsorted(m_g, gid, "left"), np.searchsorted(m_g, gid, "right")
        times, ids = m_t[lo:hi], m_k[lo:hi]
        j = np.searchsorted(times, start, "left") - 1  # last match before the gap
        before = int(ids[j]) if j >= 0 else None
        j = np.searchsorted(times, end, "right")  # first match after the gap
        after = int(ids[j]) if j < len(times) else None
        if before is None or after is None:
            outcome = UNMATCHED
        else:
            outcome = RECOVERED if before == after else LOST
        counts[outcome] += 1
        label = data.tracker_id_labels
        events.append(GapEvent(
            gt_id=int(data.gt_id_labels[gid]), first_frame=start + 1, last_frame=end + 1,
            before_id=None if before is None else int(label[before]),
            after_id=None if after is None else int(label[after]), outcome=outcome,
        ))
    return PermanenceCounts(counts[RECOVERED], counts[LOST], counts[UNMATCHED], tuple(events))
