"""Greedy linking of units (a shot's tracks of a source) across sources and shots from pair scores.

Pairs are taken from the highest score down; a pair joins its two identities when its score is
at or above ``threshold`` (open set: a unit whose best pair is below it stays alone) and the
joined identity would not hold two units that are seen at one instant where one identity can
be seen only once:

- always: two units of one source whose frame spans overlap (the same person cannot be twice
  in one picture). Tracks of one source and shot are never scored against each other (tracking
  decided them); tracks of different shots of one video are scored like tracks of different
  sources (the tracker never continues a track across a cut, ``tracker.shots``);
- with ``same_time`` (the sources are synchronised cameras on one clock): also two units of
  one camera whose time spans (seconds on that clock) overlap, even in different sources (two
  files of one camera). Units of different cameras may co-exist (overlapping cameras) and
  follow each other (one camera after another) in any case.

The co-existence check is an interval set per identity: for each source (frames) and, with
``same_time``, each camera (seconds), the identity's spans sorted by start; they are disjoint by
construction, so one ``bisect`` per unit tells whether a new unit overlaps one of them, and the
smaller identity's spans are merged into the larger one's (union by size). Pairs come from the
scores above the threshold only (``candidate_pairs``: blockwise over embeddings, never the
whole (U, U) matrix), so 10 sources x 1,000 tracks link in 2-3 s on one core
(benchmarks/link_scaling.py, docs/link.md).
"""
from __future__ import annotations

import math
from bisect import bisect_right, insort
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np

from tracker.errors import InputError
from tracker.link.identities import GlobalIdentities

#: rows of the (rows, U) similarity block computed at once by ``candidate_pairs`` (a 10,000-unit
#: block of 512 rows is 40 MB of float64)
BLOCK_ROWS = 512


@dataclass(frozen=True)
class Unit:
    """What is linked: one local track of one source.

    source: the source's name; track_id: its local track id; first_frame / last_frame: the
    1-based frames it spans in that source (first <= last); shot: the 0-based shot of the
    source it is in (0 for a video without cuts); camera: the camera that filmed it ("" = a
    camera of its own per source, named like the source); start_s / end_s: the seconds its
    first / last frame are at on the source's clock (NaN when unknown; needed by ``same_time``).
    """

    source: str
    track_id: int
    first_frame: int
    last_frame: int
    shot: int = 0
    camera: str = ""
    start_s: float = math.nan
    end_s: float = math.nan

    @property
    def key(self) -> Tuple[str, int]:
        return (self.source, int(self.track_id))

    @property
    def segment(self) -> Tuple[str, int]:
        """(source, shot): units of one segment are never scored against each other."""
        return (self.source, int(self.shot))

    @property
    def camera_name(self) -> str:
        return self.camera or self.source

    def coexists(self, other: "Unit", same_time: bool = False) -> bool:
        """In the same source with overlapping frame spans; with ``same_time`` also: of the
        same camera with overlapping time spans."""
        if (self.source == other.source and self.first_frame <= other.last_frame
                and other.first_frame <= self.last_frame):
            return True
        return (same_time and self.camera_name == other.camera_name and self.start_s <= other.end_s
                and other.start_s <= self.end_s)


class _Spans:
    """One identity's spans per key (("f", source) in frames, ("t", camera) in seconds): sorted
    lists of starts and ends, pairwise disjoint."""

    __slots__ = ("by_key",)

    def __init__(self, items: Sequence[Tuple[tuple, float, float]]):
        self.by_key: Dict[tuple, Tuple[List[float], List[float]]] = {}
        for key, start, end in items:
            self.by_key[key] = ([start], [end])

    def overlaps(self, other: "_Spans") -> bool:
        """Does a span of ``other`` overlap a span of ``self`` under the same key?"""
        for key, (starts, ends) in other.by_key.items():
            mine = self.by_key.get(key)
            if mine is None:
                continue
            my_starts, my_ends = mine
            for start, end in zip(starts, ends):
                i = bisect_right(my_starts, end) - 1  # the last span starting at or before ``end``
                if i >= 0 and my_ends[i] >= start:
                    return True
        return False

    def absorb(self, other: "_Spans") -> None:
        """Add ``other``'s spans (known not to overlap ``self``'s)."""
        for key, (starts, ends) in other.by_key.items():
            mine = self.by_key.get(key)
            if mine is None:
                self.by_key[key] = (list(starts), list(ends))
                continue
            for start, end in zip(starts, ends):
                insort(mine[0], start)
                insort(mine[1], end)  # disjoint spans: ends sort like starts

    def size(self) -> int:
        return sum(len(s) for s, _ in self.by_key.values())


def _unit_spans(unit: Unit, same_time: bool) -> List[Tuple[tuple, float, float]]:
    items = [(("f", unit.source), float(unit.first_frame), float(unit.last_frame))]
    if same_time:
        items.append((("t", unit.camera_name), float(unit.start_s), float(unit.end_s)))
    return items


def check_units(units: Sequence[Unit], same_time: bool) -> None:
    """Spans must be ordered; with ``same_time`` every unit needs finite times."""
    for u in units:
        if u.first_frame > u.last_frame:
            raise InputError(f"units: {u.key} ends (frame {u.last_frame}) before it starts ({u.first_frame})",
                             "units")
        if same_time and not (math.isfinite(u.start_s) and math.isfinite(u.end_s) and u.start_s <= u.end_s):
            raise InputError(f"same_time: unit {u.key} has no time span on the sources' clock "
                             f"(start_s {u.start_s}, end_s {u.end_s})", "same_time")


def link_pairs(units: Sequence[Unit], rows: np.ndarray, cols: np.ndarray, pair_scores: np.ndarray,
               threshold: float, same_time: bool = False) -> GlobalIdentities:
    """The greedy linking over candidate pairs: ``rows``, ``cols`` (P,) unit indices with
    rows < cols, in row-major order; ``pair_scores`` (P,) their scores. Pairs of one segment
    (source, shot) and pairs below ``threshold`` are dropped; the rest are taken from the
    highest score down (ties: in the order given). Returns the global identities with, per
    link, ``{"a": key, "b": key, "score": s}``."""
    if not np.isfinite(threshold):
        raise InputError(f"threshold must be a finite number, got {threshold!r}", "threshold")
    check_units(units, same_time)
    n = len(units)
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    pair_scores = np.asarray(pair_scores, np.float64)
    segment_of: Dict[Tuple[str, int], int] = {}
    segment = np.array([segment_of.setdefault(u.segment, len(segment_of)) for u in units], np.int64)
    keep = (pair_scores >= threshold) & (segment[rows] != segment[cols]) if len(rows) else np.zeros(0, bool)
    rows, cols, pair_scores = rows[keep], cols[keep], pair_scores[keep]
    order = np.argsort(-pair_scores, kind="stable")
    parent = list(range(n))
    spans: Dict[int, _Spans] = {}
    members: Dict[int, List[int]] = {i: [i] for i in range(n)}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def spans_of(r: int) -> _Spans:
        s = spans.get(r)
        if s is None:
            s = spans[r] = _Spans(_unit_spans(units[r], same_time))
        return s

    decisions = []
    for a, b, score in zip(rows[order].tolist(), cols[order].tolist(), pair_scores[order].tolist()):
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        sa, sb = spans_of(ra), spans_of(rb)
        if len(members[ra]) < len(members[rb]):
            ra, rb, sa, sb = rb, ra, sb, sa
        if sa.overlaps(sb):
            continue
        sa.absorb(sb)
        spans.pop(rb, None)
        parent[rb] = ra
        members[ra] += members.pop(rb)
        decisions.append({"a": list(units[a].key), "b": list(units[b].key), "score": round(float(score), 6)})
    groups = [[units[i].key for i in m] for m in members.values()]
    return GlobalIdentities.from_groups(groups, decisions, units)


def link_greedy(units: Sequence[Unit], scores: np.ndarray, threshold: float,
                same_time: bool = False) -> GlobalIdentities:
    """units (U,); scores (U, U) symmetric, higher = more likely the same identity (e.g. cosine
    similarity of mean embeddings in [-1, 1], or a probability; -inf: never); threshold: the
    least score of a link; same_time: the sources are synchronised cameras (module docstring).
    Pairs within one source and shot are never scored (tracking decided them)."""
    scores = np.asarray(scores, np.float64)
    n = len(units)
    if scores.shape != (n, n):
        raise InputError(f"scores must be ({n}, {n}) for {n} units, got {scores.shape}", "scores")
    if not np.isfinite(threshold):
        raise InputError(f"threshold must be a finite number, got {threshold!r}", "threshold")
    rows, cols = np.nonzero(np.triu(scores >= threshold, 1))
    return link_pairs(units, rows, cols, scores[rows, cols], threshold, same_time)


def candidate_pairs(units: Sequence[Unit], vectors: np.ndarray, threshold: float,
                    block_rows: int = BLOCK_ROWS) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """vectors (U, D) float unit vectors (a row of NaN: a unit without one) -> the pairs
    ``rows < cols`` of different segments whose cosine similarity is >= ``threshold``, in
    row-major order, and their similarities (P,) float64, computed ``block_rows`` rows at a
    time (memory O(block_rows x U), never (U, U))."""
    vectors = np.asarray(vectors, np.float64)
    n = len(units)
    if vectors.ndim != 2 or len(vectors) != n:
        raise InputError(f"vectors must be (U, D) with U = {n} units, got {vectors.shape}", "vectors")
    have = np.isfinite(vectors).all(axis=1)
    index = np.flatnonzero(have)
    m = vectors[index]
    segment_of: Dict[Tuple[str, int], int] = {}
    segment = np.array([segment_of.setdefault(units[i].segment, len(segment_of)) for i in index], np.int64)
    out_r, out_c, out_s = [], [], []
    for start in range(0, len(index), max(1, int(block_rows))):
        stop = min(start + block_rows, len(index))
        sims = m[start:stop] @ m[start:].T  # (rows, U - start): columns from the block's first row
        ok = sims >= threshold
        ok &= np.arange(start, len(index))[None, :] > np.arange(start, stop)[:, None]
        ok &= segment[start:stop, None] != segment[None, start:]
        r, c = np.nonzero(ok)
        out_r.append(index[r + start])
        out_c.append(index[c + start])
        out_s.append(sims[r, c])
    if not out_r:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(out_r), np.concatenate(out_c), np.concatenate(out_s)


def link_vectors(units: Sequence[Unit], vectors: np.ndarray, threshold: float,
                 same_time: bool = False) -> GlobalIdentities:
    """units (U,); vectors (U, D) unit vectors (mean appearance embeddings; a NaN row: the unit
    has none and stays alone) -> global identities linked at cosine similarity >= ``threshold``:
    the same result as ``link_greedy(units, vectors @ vectors.T, threshold, same_time)`` without
    the (U, U) matrix."""
    rows, cols, sims = candidate_pairs(units, vectors, threshold)
    return link_pairs(units, rows, cols, sims, threshold, same_time)
