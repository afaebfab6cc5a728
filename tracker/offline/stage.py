"""``link_tracklets``: the offline identity stage on a finished run (results in, results out).

1. tracklets: the online tracks cut where the online tracker may have guessed
   (``tracklets.TrackletBuilder``);
2. scores and links: a probability for every plausible pair of one tracklet's end and a
   later one's start, and the exact best set of links above ``threshold``
   (``scoring``, ``linking``);
3. identities: each chain of linked tracklets is one ID (the online ID of its first tracklet
   when no earlier chain holds it, else a new one above every online ID);
4. gap filling inside each identity (``interpolation``).

The output holds the observed rows of the input, relabelled, plus the filled rows; predicted
rows of lost tracks (``TrackerConfig.output_lost_s``) are dropped: the filling replaces them.
Rows within a frame are sorted by ID.
"""
from __future__ import annotations

import dataclasses
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Deque, Iterable, List, Optional, Sequence

import numpy as np

from tracker.errors import InputError
from tracker.offline.config import MAX_SECONDS, OfflineConfig
from tracker.offline.interpolation import FILLED_SCORE, GapFiller
from tracker.offline.linking import link
from tracker.offline.scene import CameraPath, filled_to_image, to_scene
from tracker.offline.spool import FrameSpool, MemorySpool, SpooledFrame
from tracker.offline.tracklets import TrackedFrame, TrackletBuilder
from tracker.tracks import Tracks, TrackState

#: a height ratio no box pair reaches: with linking off, online tracks are never cut
NEVER_CUT_RATIO = 1e12


@dataclass(frozen=True)
class OfflineStats:
    """What the stage did: tracklets built, candidate pairs scored, links chosen, IDs before
    (online) and after, rows filled, and seconds spent."""

    tracklets: int
    candidates: int
    links: int
    online_ids: int
    offline_ids: int
    filled_rows: int
    seconds: float

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["seconds"] = round(self.seconds, 4)
        return out


@dataclass(frozen=True, eq=False)
class OfflineResult:
    """frames: the linked results (``TrackedFrame`` per input frame, same order, without
    embeddings); stats."""

    frames: List[TrackedFrame]
    stats: OfflineStats


def as_tracked_frame(item: Any, position: int) -> TrackedFrame:
    """A ``TrackedFrame`` from one result of the streaming API: a ``TrackedFrame``, a
    ``tracker.pipeline.FrameResult`` (embeddings read from its detections through
    ``tracks.det_index``), or ``Tracks`` (its own frame index and timestamp)."""
    if isinstance(item, TrackedFrame):
        return item
    if isinstance(item, Tracks):
        return TrackedFrame(int(item.frame_index), float(item.timestamp), item)
    tracks = getattr(item, "tracks", None)
    if not isinstance(tracks, Tracks):
        raise InputError(f"results[{position}]: expected Tracks, a FrameResult or a TrackedFrame, got "
                         f"{type(item).__name__}", "results")
    return TrackedFrame(int(item.frame_index), float(item.timestamp), tracks,
                        row_embeddings(tracks, getattr(item, "detections", None)))


def row_embeddings(tracks: Tracks, detections: Any) -> Optional[np.ndarray]:
    """(M, D) embedding of each track row's matched detection (zeros for rows without one), or
    None when the detections carry no embeddings."""
    emb = getattr(detections, "embeddings", None)
    if emb is None:
        return None
    emb = np.asarray(emb, np.float32)
    out = np.zeros((len(tracks), emb.shape[1]), np.float32)
    where = {int(i): k for k, i in enumerate(detections.index)}
    for j, d in enumerate(tracks.det_index):
        k = where.get(int(d))
        if k is not None:
            out[j] = emb[k]
    return out


class OfflineLinker:
    """The stage fed one frame at a time (``add``, in frame order), linked at ``finish``.

    spool: where the frames wait for linking (``tracker.offline.spool``): a ``MemorySpool``
    (default) or a ``FileSpool``, with which the stage's memory is O(tracklets): the tracklet
    summaries, the online IDs, and the frames of the last ``max_fill_s`` seconds while the
    linked frames are written. Embeddings are folded into the tracklet summaries as they
    arrive and not kept (the output frames carry none).
    """

    def __init__(self, config: Optional[OfflineConfig] = None, spool: Optional[FrameSpool] = None):
        self.config = cfg = config or OfflineConfig()
        self._camera = CameraPath()
        self._seconds = 0.0
        never_cut = cfg.replace(cut_speed=MAX_SECONDS, cut_size_ratio=NEVER_CUT_RATIO, cut_after_gap_s=None)
        self._builder = TrackletBuilder(cfg if cfg.link else never_cut)
        self._spool: FrameSpool = spool if spool is not None else MemorySpool()
        self._last_timestamp: Optional[float] = None
        self._online_ids: set = set()

    def add(self, frame: TrackedFrame) -> None:
        t0 = time.perf_counter()
        if self._last_timestamp is not None and frame.timestamp < self._last_timestamp:
            raise InputError(f"results: timestamps must not go backwards (frame {frame.mot_frame})", "results")
        self._last_timestamp = frame.timestamp
        tracks = frame.tracks
        matrix = self._camera.add(tracks.camera_motion)
        labels = self._builder.add(to_scene(tracks, matrix), frame.timestamp, frame.embeddings)
        self._spool.append(SpooledFrame(TrackedFrame(frame.frame_index, frame.timestamp, tracks), labels, matrix))
        self._online_ids.update(tracks.track_ids[tracks.observed].tolist())
        self._seconds += time.perf_counter() - t0

    def close(self) -> None:
        """Drop the spooled frames without linking (a run that ended in an error)."""
        self._spool.close()

    def finish(self) -> OfflineResult:
        """Link; the linked frames as a list (memory O(frames): see ``finish_into``)."""
        frames: List[TrackedFrame] = []
        stats = self.finish_into(frames.append)
        return OfflineResult(frames, stats)

    def finish_into(self, emit: Callable[[TrackedFrame], None]) -> OfflineStats:
        """Link, then hand each linked frame to ``emit`` in frame order (one call per input
        frame, without embeddings) as soon as no later frame can fill it; returns the stats.
        The spool is closed at the end."""
        t0 = time.perf_counter()
        cfg = self.config
        tracklets = self._builder.finish()
        if cfg.link:
            links = link(tracklets, cfg)
            ids = identity_ids(links.identity, [t.track_id for t in tracklets])
            candidates, chosen = links.candidates, links.links
        else:  # one tracklet per online ID: the IDs stay
            ids = np.asarray([t.track_id for t in tracklets], np.int64)
            candidates = chosen = 0
        del tracklets
        filler = GapFiller(cfg.max_fill_s)
        waiting: Deque[tuple] = deque()  # (position, spooled frame, kept rows, their IDs): not final yet
        try:
            for pos, item in enumerate(self._spool.read()):
                frame, lab = item.frame, item.labels
                keep = lab >= 0
                new_ids = ids[lab[keep]]
                filler.add_frame(pos, frame.timestamp)
                scene = to_scene(frame.tracks, item.to_scene)
                for tid, box, cls in zip(new_ids.tolist(), scene.xyxy[keep].tolist(), scene.class_ids[keep].tolist()):
                    filler.observe(tid, pos, box, cls)
                waiting.append((pos, item, keep, new_ids))
                while waiting and filler.final(waiting[0][1].frame.timestamp, frame.timestamp):
                    emit(_linked(waiting.popleft(), filler))
            while waiting:
                emit(_linked(waiting.popleft(), filler))
        finally:
            self._spool.close()
        seconds = self._seconds + time.perf_counter() - t0
        return OfflineStats(len(ids), candidates, chosen, len(self._online_ids),
                            len(np.unique(ids)) if len(ids) else 0, filler.rows, seconds)


def _linked(waiting: tuple, filler: GapFiller) -> TrackedFrame:
    pos, item, keep, new_ids = waiting
    return _frame(item.frame, keep, new_ids, filled_to_image(filler.take(pos), item.to_scene))


def link_frames(frames: Iterable[TrackedFrame], config: Optional[OfflineConfig] = None) -> OfflineResult:
    """The stage on ``TrackedFrame``s in frame order (see the module docstring)."""
    linker = OfflineLinker(config)
    for frame in frames:
        linker.add(frame)
    return linker.finish()


def identity_ids(identity: np.ndarray, track_ids: Sequence[int]) -> np.ndarray:
    """(T,) output ID of each tracklet: chain ``c`` (numbered by first frame) keeps the online
    ID of its first tracklet unless an earlier chain took it; otherwise it gets the next ID
    above every online ID."""
    track_ids = np.asarray(track_ids, np.int64)
    if len(identity) == 0:
        return np.zeros(0, np.int64)
    chains = int(identity.max()) + 1
    first = np.full(chains, -1, np.int64)
    for t in range(len(identity)):  # tracklets are indexed in order of their start
        if first[identity[t]] < 0:
            first[identity[t]] = t
    taken, next_id = set(), int(track_ids.max()) + 1
    chain_id = np.zeros(chains, np.int64)
    for c in range(chains):
        tid = int(track_ids[first[c]])
        if tid in taken:
            tid, next_id = next_id, next_id + 1
        taken.add(tid)
        chain_id[c] = tid
    return chain_id[identity]


def _frame(frame: TrackedFrame, keep: np.ndarray, ids: np.ndarray, filled: list) -> TrackedFrame:
    """The output frame: the kept observed rows with their new IDs, then the filled rows,
    sorted by ID."""
    tr = frame.tracks
    n_fill = len(filled)
    if n_fill == 0 and keep.all():  # the common frame: the same rows, new IDs
        order = np.argsort(ids, kind="stable")
        return TrackedFrame(frame.frame_index, frame.timestamp,
                            Tracks(ids[order], tr.xyxy[order], tr.scores[order], tr.class_ids[order],
                                   tr.det_index[order], tr.observed[order], tr.states[order], tr.frame_index,
                                   tr.timestamp, tr.camera_motion, tr.shot, tr.cut))
    track_ids = np.concatenate([ids, np.asarray([f[0] for f in filled], np.int64)])
    xyxy = np.concatenate([tr.xyxy[keep], np.asarray([f[1] for f in filled], np.float32).reshape(n_fill, 4)])
    scores = np.concatenate([tr.scores[keep], np.full(n_fill, FILLED_SCORE, np.float32)])
    classes = np.concatenate([tr.class_ids[keep], np.asarray([f[2] for f in filled], np.int64)])
    det_index = np.concatenate([tr.det_index[keep], np.full(n_fill, -1, np.int64)])
    observed = np.concatenate([tr.observed[keep], np.zeros(n_fill, bool)])
    states = np.concatenate([tr.states[keep], np.full(n_fill, int(TrackState.LOST), np.int8)])
    order = np.argsort(track_ids, kind="stable")
    tracks = Tracks(track_ids[order], xyxy[order].astype(np.float32), scores[order].astype(np.float32),
                    classes[order], det_index[order], observed[order], states[order], tr.frame_index, tr.timestamp,
                    tr.camera_motion, tr.shot, tr.cut)
    return TrackedFrame(frame.frame_index, frame.timestamp, tracks)


def _same_kind(item: Any, linked: TrackedFrame) -> Any:
    if isinstance(item, TrackedFrame):
        return linked
    if isinstance(item, Tracks):
        return linked.tracks
    return dataclasses.replace(item, tracks=linked.tracks)


def link_tracklets(results: Iterable[Any], config: Optional[OfflineConfig] = None) -> List[Any]:
    """Link the tracklets of a finished run over the whole recording and fill short gaps.

    results: the per-frame results of one source in frame order, as the streaming API
        produced them: ``tracker.track(...)``'s ``FrameResult``s (images are not kept; the
        embeddings of matched detections are used when present), ``Tracks`` (with their
        ``frame_index`` and ``timestamp``), or ``TrackedFrame``s.
    config: ``OfflineConfig`` (default: ``OfflineConfig()``).
    Returns a list of the same kind, one item per input frame, with the linked ``Tracks``:
    observed rows relabelled, filled rows added (``observed`` False, score ``FILLED_SCORE``).
    Raises ``InputError`` (parameter ``results``) for an item of another type or timestamps
    going backwards.

    Example::

        results = list(tracker.track("clip.mp4"))
        linked = tracker.link_tracklets(results)
    """
    items = list(results)
    linked = link_frames((as_tracked_frame(item, i) for i, item in enumerate(items)), config).frames
    return [_same_kind(item, out) for item, out in zip(items, linked)]
