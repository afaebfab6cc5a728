"""Identities over one or many sources, and ``identities.json``.

An identity is one person (object) with one id over every source it appears in. For plain
``track`` results each (source, local track id) is its own identity (ids are per source); for
results whose ids are already global (``track link``), one id is one identity everywhere.

``identities.json`` (``IDENTITIES_SCHEMA``)::

    {"schema": "identitrack.identities/1",
     "global_ids": false,            # true when the ids were global across the sources
     "sources": [{"name": "clip", "jsonl": "clip.jsonl", "summary": "clip.summary.json",
                  "video": "/path/clip.mp4" | null, "annotated_video": "clip.mp4" | null,
                  "fps": 25.0, "frames": 750, "cuts": [312]}],
     "identities": [{"id": 1, "frames": 120, "seconds": 4.8,
                     "appearances": [{"source": "clip", "track_ids": [3], "shots": [0],
                                      "spans": [{"first_frame": 10, "last_frame": 130,
                                                 "start_s": 0.36, "end_s": 5.16, "frames": 120}],
                                      "frames": 120}],
                     "crops": ["crops/clip/1_000042.jpg", ...],   # relative to the folder, time order
                     "representative": "crops/clip/1_000090.jpg",  # the middle crop (or null)
                     "link": null}]}                              # track link: its decision

Frames are 1-based MOT frame numbers, times the source's seconds; a span is a run of frames in
which the identity is reported with no absence longer than ``SPAN_GAP_S``; ``shots``: the
0-based shots of the source (split by its ``cuts``) the appearance is in. ``track link`` adds
to each appearance ``local_tracks``: ``[{"local_id", "shot", "first_frame", "last_frame"}]``,
the source's own tracks it joined.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from tracker.report.results import ResultSource

IDENTITIES_SCHEMA = "identitrack.identities/1"
#: an absence longer than this (seconds) ends a span of the timeline
SPAN_GAP_S = 1.0
#: frames per second assumed for spans when a source states none
FALLBACK_FPS = 30.0


@dataclass(frozen=True)
class Span:
    """A run of frames: first / last 1-based frame numbers, start / end seconds, frames shown."""

    first_frame: int
    last_frame: int
    start_s: float
    end_s: float
    frames: int

    def to_dict(self) -> dict:
        return {"first_frame": self.first_frame, "last_frame": self.last_frame,
                "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3), "frames": self.frames}


@dataclass
class SourceAppearance:
    """An identity in one source: its local track ids and spans."""

    source: str
    track_ids: List[int]
    spans: List[Span]
    shots: List[int] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.spans)

    def to_dict(self) -> dict:
        return {"source": self.source, "track_ids": list(self.track_ids), "shots": list(self.shots),
                "spans": [s.to_dict() for s in self.spans], "frames": self.frames}


@dataclass
class Identity:
    """One identity: ``id`` (global), where it appears, its crop paths (relative to the
    folder) and, for linked results, the link decision."""

    id: int
    appearances: List[SourceAppearance]
    crops: List[str] = field(default_factory=list)
    link: Optional[dict] = None

    @property
    def frames(self) -> int:
        return sum(a.frames for a in self.appearances)

    def seconds(self, fps_of: Dict[str, float]) -> float:
        return sum(s.end_s - s.start_s + 1.0 / fps_of.get(a.source, FALLBACK_FPS)
                   for a in self.appearances for s in a.spans)

    def to_dict(self, fps_of: Dict[str, float]) -> dict:
        return {"id": self.id, "frames": self.frames, "seconds": round(self.seconds(fps_of), 3),
                "appearances": [a.to_dict() for a in self.appearances], "crops": list(self.crops),
                "representative": self.crops[len(self.crops) // 2] if self.crops else None, "link": self.link}


def spans_of(index: np.ndarray, time: np.ndarray, fps: float) -> List[Span]:
    """Spans of sorted 0-based frame ``index`` (N,) with ``time`` (N,) seconds (NaN: from fps)."""
    fps = fps if fps > 0 else FALLBACK_FPS
    t = np.where(np.isfinite(time), time, index / fps)
    gap = max(1, int(np.ceil(SPAN_GAP_S * fps)))
    breaks = np.flatnonzero(np.diff(index) > gap)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(index) - 1]])
    return [Span(int(index[a]) + 1, int(index[b]) + 1, float(t[a]), float(t[b]), int(b - a + 1))
            for a, b in zip(starts, ends)]


def _appearance(source: ResultSource, track_ids: Sequence[int]) -> SourceAppearance:
    rows = [source.tracks[k] for k in track_ids]
    index = np.concatenate([r.index for r in rows])
    time = np.concatenate([r.time for r in rows])
    order = np.argsort(index, kind="stable")
    shots = np.unique(np.searchsorted(np.sort(np.asarray(source.cuts, np.int64)), index + 1, side="right"))
    return SourceAppearance(source.name, sorted(int(k) for k in track_ids), spans_of(index[order], time[order],
                                                                                     source.fps),
                            [int(k) for k in shots])


def build_identities(sources: Sequence[ResultSource], global_ids: bool = False) -> List[Identity]:
    """The identities of the sources, ordered by id. ``global_ids``: a track id means the same
    identity in every source (``track link`` output); else ids are numbered 1, 2, ... over
    (source, local id) in source then id order."""
    members: Dict[int, List[Tuple[ResultSource, int]]] = {}
    next_id = 1
    for source in sources:
        for tid in sorted(source.tracks):
            if global_ids:
                members.setdefault(tid, []).append((source, tid))
            else:
                members[next_id] = [(source, tid)]
                next_id += 1
    out = []
    for gid in sorted(members):
        by_source: Dict[str, List[int]] = {}
        named = {}
        for source, tid in members[gid]:
            by_source.setdefault(source.name, []).append(tid)
            named[source.name] = source
        out.append(Identity(gid, [_appearance(named[name], tids) for name, tids in by_source.items()]))
    return out


def identities_document(sources: Sequence[ResultSource], identities: Sequence[Identity], global_ids: bool) -> dict:
    """The ``identities.json`` content (schema in the module docstring)."""
    fps_of = {s.name: s.fps for s in sources}
    return {
        "schema": IDENTITIES_SCHEMA,
        "global_ids": bool(global_ids),
        "sources": [{"name": s.name, "jsonl": s.jsonl.name,
                     "summary": s.summary_path.name if s.summary_path else None,
                     "video": str(s.source_video) if s.source_video else None,
                     "annotated_video": s.annotated_video.name if s.annotated_video else None,
                     "fps": s.fps, "frames": s.frames, "cuts": list(s.cuts)} for s in sources],
        "identities": [i.to_dict(fps_of) for i in identities],
    }
