"""One interface over our tracker and the established ones, so every tracker goes through the
same loop with the same timing.

``TrackerAdapter.update(detections, frame, timestamp) -> FrameOutput``:

* detections: this frame's ``tracker.Detections`` (identical object for every tracker);
* frame: (H, W, 3) uint8 BGR or None; an adapter uses it only when ``uses_frames``;
* timestamp: seconds since the first frame, ``(frame - 1) / fps``.

Each adapter adds to ``seconds`` the time spent inside the wrapped tracker's own ``update``
only (``time.perf_counter`` around that one call): converting our ``Detections`` to the peer's
input type and reading its output back are not counted, for ours or for the peers. For ours the
appearance embedding runs inside ``Tracker.update`` and is therefore counted.

The peers come from Roboflow's ``trackers`` package (Apache-2.0, optional ``bench`` extra):
``SORTTracker``, ``ByteTrackTracker``, ``OCSORTTracker``, ``BoTSORTTracker``. They take
``supervision.Detections`` and return one row per input detection with ``tracker_id`` = -1 for
detections not (yet) on a confirmed track; those rows are dropped here, and their zero-based
IDs are shifted by one (MOTChallenge IDs are positive).
"""
from __future__ import annotations

import importlib
import inspect
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Protocol, Tuple

import numpy as np

from tracker.association import make_associator
from tracker.association.transformer import heldout_weights_path
from tracker.benchmarking.virtual_camera import source_sequence
from tracker.config import TrackerConfig
from tracker.core import Tracker
from tracker.detections import Detections
from tracker.tracks import Tracks, TrackState

#: our variants: the default tracker as shipped with the offline identity stage
#: (``tracker.offline``, as ``track mot`` runs a file); the same tracker online (``--online``);
#: the online tracker whose learned weights never saw the sequence (a leave-sequences-out fold
#: model on the development sequences); the online non-learned core.
OURS_TRACKERS = ("ours", "ours-online", "ours-heldout", "ours-iou")
#: a peer's name + this suffix: the peer's rows with the offline stage's gap filling only
#: (``OfflineConfig(link=False)``), so that a gain of ``ours`` is seen to come from linking
INTERP_SUFFIX = "+interp"
#: peer name -> (class in the ``trackers`` package, display name).
PEER_TRACKERS = {
    "sort": ("SORTTracker", "SORT"),
    "bytetrack": ("ByteTrackTracker", "ByteTrack"),
    "ocsort": ("OCSORTTracker", "OC-SORT"),
    "botsort": ("BoTSORTTracker", "BoT-SORT"),
}
ALL_TRACKERS = OURS_TRACKERS + tuple(PEER_TRACKERS) + tuple(p + INTERP_SUFFIX for p in PEER_TRACKERS)
#: the benchmark rows whose results pass through the offline stage after the online run
OFFLINE_TRACKERS = ("ours",) + tuple(p + INTERP_SUFFIX for p in PEER_TRACKERS)


def base_tracker(name: str) -> str:
    """The tracker whose online run a benchmark row uses: ``ours`` for ``ours`` and
    ``ours-online``, the peer for ``<peer>+interp``, else the name itself."""
    if name == "ours-online":
        return "ours"
    return name[:-len(INTERP_SUFFIX)] if name.endswith(INTERP_SUFFIX) else name


def offline_stage(name: str):
    """The ``OfflineConfig`` a benchmark row applies after its online run (None: none):
    the default stage for ``ours``, gap filling only for ``<peer>+interp``."""
    from tracker.offline import OfflineConfig

    if name == "ours":
        return OfflineConfig()
    if name.endswith(INTERP_SUFFIX):
        return OfflineConfig(link=False)
    return None
PEER_PACKAGE = "trackers"
#: the peers' unconfirmed output rows carry this tracker_id.
PEER_UNCONFIRMED_ID = -1
#: the peers number tracks from 0; MOTChallenge IDs start at 1.
PEER_ID_OFFSET = 1

Embedder = Callable[[np.ndarray, np.ndarray], np.ndarray]


class PeerUnavailable(RuntimeError):
    """The ``trackers`` package (or one of its trackers) cannot be imported; the message says why."""


@dataclass(frozen=True)
class FrameOutput:
    """Tracks reported for one frame: ids (M,) int64 positive; xyxy (M, 4) float32 pixels;
    scores (M,) float32."""

    ids: np.ndarray
    xyxy: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def empty(cls) -> "FrameOutput":
        return cls(np.zeros(0, np.int64), np.zeros((0, 4), np.float32), np.zeros(0, np.float32))

    def to_tracks(self) -> Tracks:
        """As ``Tracks`` (one class, every box confirmed and observed; no detection index)."""
        n = len(self.ids)
        return Tracks(np.asarray(self.ids, np.int64), np.asarray(self.xyxy, np.float32),
                      np.asarray(self.scores, np.float32), np.zeros(n, np.int64), np.full(n, -1, np.int64),
                      np.ones(n, bool), np.full(n, int(TrackState.CONFIRMED), np.int8))


class TrackerAdapter(Protocol):
    """name: the benchmark name (``ours``, ``sort``, ...); uses_frames: whether ``update`` reads
    its ``frame`` argument (the runner decodes frames only then); seconds: time inside the
    wrapped ``update`` so far; notes: how this instance runs (e.g. "CMC off: no frames")."""

    name: str
    uses_frames: bool
    seconds: float
    notes: List[str]

    def update(self, detections: Detections, frame: Optional[np.ndarray], timestamp: float) -> FrameOutput:
        ...


@dataclass
class OursAdapter:
    """Our ``Tracker``. ``weights``: the learned associator's weights (None: as shipped).
    ``embedder``: ``(frame, xyxy) -> (N, D)`` unit vectors or None; when given, frames are
    passed to ``Tracker.update`` and the embedding time is counted."""

    name: str
    config: TrackerConfig
    embedder: Optional[Embedder] = None
    image_size: Optional[Tuple[int, int]] = None
    weights: Optional[Path] = None
    seconds: float = 0.0
    notes: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tracker = Tracker(self.config, embedder=self.embedder,
                               associator=make_associator(self.config, self.weights))
        # the frame size (seqinfo.ini) normalizes boxes for the learned associator when no frame
        # is given, as ``track mot`` does; older ``Tracker.update`` signatures lack the argument
        accepts_size = "image_size" in inspect.signature(self.tracker.update).parameters
        self._size_kw = {"image_size": tuple(self.image_size)} if (self.image_size and accepts_size) else {}

    @property
    def uses_frames(self) -> bool:
        return self.embedder is not None

    def update(self, detections: Detections, frame: Optional[np.ndarray], timestamp: float) -> FrameOutput:
        frame = frame if self.uses_frames else None
        size_kw = self._size_kw if frame is None else {}
        start = time.perf_counter()
        tracks = self.tracker.update(detections, frame=frame, timestamp=timestamp, **size_kw)
        self.seconds += time.perf_counter() - start
        return FrameOutput(tracks.track_ids, tracks.xyxy, tracks.scores)


def _import_peers():
    try:
        trackers = importlib.import_module(PEER_PACKAGE)
        sv = importlib.import_module("supervision")
    except Exception as exc:  # noqa: BLE001 - any import failure means "not installed"
        raise PeerUnavailable(f"the '{PEER_PACKAGE}' package is not importable ({type(exc).__name__}: {exc}); "
                              "install the bench extra: pip install -c constraints.txt -e '.[bench]'") from None
    return trackers, sv


def peers_version() -> Optional[str]:
    """The installed ``trackers`` version, or None when it is not installed."""
    try:
        from importlib.metadata import version
        return version(PEER_PACKAGE)
    except Exception:  # noqa: BLE001
        return None


@dataclass
class PeerAdapter:
    """A tracker of Roboflow's ``trackers`` package with its default parameters, except
    ``frame_rate`` (the sequence's real one) and, for BoT-SORT, ``enable_cmc`` (off when no
    frames are available: it cannot estimate camera motion without them).

    use_timestamps: pass ``timestamp`` to the peer's ``update``; False (the default) runs it in
    its fixed-rate mode, as the package's own ``trackers track`` and tuner run MOT files. On a
    constant-rate sequence both give the same Kalman step and differ only in when lost tracks are
    pruned; measured on PETS09-S2L1, MOT17-02 and ETH-Bahnhof, fixed-rate mode scored the same or
    up to 0.4 HOTA higher for the peers, so it is the kinder choice for them.
    """

    name: str
    frame_rate: float
    frames_available: bool = False
    use_timestamps: bool = False
    seconds: float = 0.0
    notes: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.name not in PEER_TRACKERS:
            raise ValueError(f"unknown peer tracker {self.name!r}; choose from {', '.join(PEER_TRACKERS)}")
        trackers, self._sv = _import_peers()
        class_name, _ = PEER_TRACKERS[self.name]
        cls = getattr(trackers, class_name, None)
        if cls is None:
            raise PeerUnavailable(f"trackers {peers_version()} has no {class_name}")
        kwargs = {"frame_rate": float(self.frame_rate)}
        self.uses_frames = False
        if self.name == "botsort":
            kwargs["enable_cmc"] = bool(self.frames_available)
            self.uses_frames = bool(self.frames_available)
            self.notes.append("camera-motion compensation on (frames given)" if self.frames_available
                              else "camera-motion compensation off (no frames)")
        self.tracker = cls(**kwargs)
        self.parameters = kwargs

    def _to_supervision(self, detections: Detections):
        return self._sv.Detections(xyxy=np.asarray(detections.xyxy, np.float32).reshape(-1, 4),
                                   confidence=np.asarray(detections.scores, np.float32),
                                   class_id=np.asarray(detections.class_ids, int))

    def update(self, detections: Detections, frame: Optional[np.ndarray], timestamp: float) -> FrameOutput:
        sv_dets = self._to_supervision(detections)  # not timed: input conversion
        frame = frame if self.uses_frames else None
        ts = timestamp if self.use_timestamps else None
        start = time.perf_counter()
        out = self.tracker.update(sv_dets, frame, ts)
        self.seconds += time.perf_counter() - start
        if out.tracker_id is None or len(out) == 0:
            return FrameOutput.empty()
        ids = np.asarray(out.tracker_id, np.int64)
        keep = ids != PEER_UNCONFIRMED_ID
        if not keep.any():
            return FrameOutput.empty()
        scores = (np.ones(len(out), np.float32) if out.confidence is None
                  else np.asarray(out.confidence, np.float32))
        return FrameOutput(ids[keep] + PEER_ID_OFFSET, np.asarray(out.xyxy, np.float32)[keep], scores[keep])


def make_adapter(name: str, frame_rate: float, frames_available: bool = False,
                 embedder: Optional[Embedder] = None, config: Optional[TrackerConfig] = None,
                 image_size: Optional[Tuple[int, int]] = None, sequence: Optional[str] = None) -> TrackerAdapter:
    """Build the adapter for benchmark tracker ``name`` (one of ``ALL_TRACKERS``) for one sequence.

    frame_rate: the sequence's frames/s. frames_available: frames will be given to ``update``.
    embedder: our appearance embedder (used by ``ours`` only, and only with frames).
    config: our base ``TrackerConfig`` (default: as shipped); ``ours-iou`` forces the
    non-learned associator (a fresh ``TrackerConfig(associator="iou")`` when no config is given,
    as ``track mot --associator iou`` builds it, so associator-dependent defaults follow).
    image_size: (width, height) of the sequence's frames, for ours when no frame is given.
    sequence: the sequence's name: ``ours-heldout`` uses the learned weights that never saw it
    (``tracker.association.transformer.heldout_weights_path``; for ``<SEQ>-vcam<seed>``, the
    weights that never saw ``<SEQ>``).
    Raises ``PeerUnavailable`` when a peer cannot be imported.
    """
    if base_tracker(name) != name:
        adapter = make_adapter(base_tracker(name), frame_rate, frames_available, embedder, config, image_size, sequence)
        adapter.name = name
        return adapter
    if name in OURS_TRACKERS:
        if name == "ours-iou":
            base = TrackerConfig(associator="iou") if config is None else config.replace(associator="iou")
        else:
            base = config or TrackerConfig()
        base = base.replace(frame_rate=float(frame_rate))
        use_embedder = embedder if (frames_available and name != "ours-iou") else None
        weights = None
        if name == "ours-heldout" and base.associator != "iou":
            # a virtual moving-camera variant is held out exactly when its source sequence is
            weights = heldout_weights_path(source_sequence(sequence or ""))
        adapter = OursAdapter(name, base, use_embedder, image_size, weights=weights)
        adapter.notes.append(f"associator={base.associator}; "
                             + (f"weights {weights.parent.name}/{weights.name}; " if weights else "")
                             + ("appearance embeddings from frames (embedding time counted)" if use_embedder
                                else "no frames used"))
        return adapter
    if name in PEER_TRACKERS:
        return PeerAdapter(name, frame_rate, frames_available)
    raise ValueError(f"unknown tracker {name!r}; choose from {', '.join(ALL_TRACKERS)}")
