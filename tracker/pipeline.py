"""Source -> detector -> (embedder) -> tracker, as a stream of per-frame results, and the
run that writes them to files.

* ``track(source, detector=None, ...)``: a generator of ``FrameResult`` (frame index,
  timestamp, ``Tracks``, ``Detections``, the image) for camera pipelines and scripts. It holds
  one frame at a time: memory stays bounded over an endless stream.
* ``FileRun``: the same stream written to ``<stem>.txt`` (MOTChallenge), ``<stem>.jsonl`` and
  an annotated ``<stem>.mp4`` under the partial-output scheme of ``tracker.io.writers``, with a
  ``<stem>.summary.json``. Used by ``track SOURCE``.
* ``StopSignals``: turns SIGINT / SIGTERM into a request to stop after the current frame (the
  command-line edge installs it; the library never touches signal handlers on its own).

Nothing here prints: callers show progress from the results they receive.
"""
from __future__ import annotations

import datetime as _dt
import os
import signal
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Union

import numpy as np

from tracker.config import TrackerConfig
from tracker.core import Tracker
from tracker.detections import Detections
from tracker.errors import InputError
from tracker.io.sources import DEFAULT_TIMEOUT_S, Frame, FrameSource, SourceInfo, open_source, parse_position
from tracker.io.output_lock import OutputLock
from tracker.io.writers import (
    DEFAULT_CODEC,
    DEFAULT_FLUSH_EVERY_S,
    FrameSinks,
    JsonlWriter,
    MotWriter,
    OutputError,
    VideoWriter,
    check_not_input,
    prepare_output_dir,
    write_summary,
)
from tracker.memory import MemoryConfig
from tracker.status import RunStatus, SourceEnd
from tracker.io.prefetch import DEFAULT_DEPTH, Prefetcher, check_depth
from tracker.motion import MotionConfig
from tracker.offline import OfflineConfig, OfflineLinker, OfflineStats, TrackedFrame, row_embeddings
from tracker.offline.spool import FileSpool
from tracker.tracks import Tracks
from tracker.viz import DEFAULT_TRAIL_FRAMES, Annotator

#: Tracker settings for video with the embedded detector (scores from 0.1): chosen on the mean
#: HOTA of PETS09-S2L1, TUD-Stadtmitte, TUD-Campus and MOT17-09 (vtest.avi, the same footage as
#: PETS09-S2L1, only reported), see docs/video.md. Against the core defaults: weak boxes
#: (0.3-0.5) join the first association, the IoU is not multiplied by the score (a 0.3 box
#: would need IoU 0.67 to match), new tracks from 0.4, lost tracks kept 4 s, and a larger
#: measurement noise for the jittery boxes of a small detector. With the appearance embedder:
#: a tighter appearance gate and a stricter identity memory (at its default 0.8 it revived
#: wrong identities: -0.5 to -4 HOTA); both do nothing without embeddings. The associator is
#: the core ("iou"), not the learned default: with the embedded detector and appearance, the
#: learned associator (held-out weights) scored 47.0 mean HOTA against the core's 50.3
#: (docs/video.md); it was trained on MOT files' public detections, without appearance.
VIDEO_TRACKER_CONFIG = TrackerConfig(
    associator="iou",
    high_score=0.3,
    new_track_score=0.4,
    fuse_score=False,
    first_match_iou=0.2,
    lost_horizon_s=4.0,
    appearance_gate=0.2,
    # the motion noise this preset was measured with (the core's position noise is 0.5 since
    # the fold tuning of MOT files, docs/tuning.md; video was not re-measured)
    motion=MotionConfig(position_noise=0.27, measurement_noise=0.15),
    memory=MemoryConfig(min_similarity=0.9),
)
#: weight of appearance in the first association when an embedder is in use and the config
#: leaves it at 0 (chosen with the settings above)
VIDEO_APPEARANCE_WEIGHT = 0.65
APPEARANCE_MODES = ("auto", "on", "off")
#: torch threads of the shipped embedder: its batches are a few small crops per frame, where
#: one thread is fastest and several threads fight the detector's for the cores (measured on 2
#: shared cores: 9 ms per frame of 5 boxes with 1 thread, 140-390 ms with 2)
EMBEDDER_THREADS = 1
STAGES = ("decode", "detect", "embed", "track", "annotate", "write")
#: frames decoded and detected ahead of the tracker on a background thread (0: all stages in
#: the calling thread, one after another). Results are identical either way (tests/
#: test_speed.py); on 2 cores the overlap is measured in docs/detector.md.
DEFAULT_PREFETCH = DEFAULT_DEPTH
#: shot cuts listed by frame in a run summary (an endless stream may have more: all are counted)
MAX_LISTED_CUTS = 10000


def video_config(**changes: Any) -> TrackerConfig:
    """The tracker settings ``track`` uses for video (``VIDEO_TRACKER_CONFIG``) with changes."""
    return VIDEO_TRACKER_CONFIG.replace(**changes) if changes else VIDEO_TRACKER_CONFIG


# ------------------------------------------------------------------------------------ results
@dataclass(frozen=True, eq=False)
class FrameResult:
    """What ``track`` yields for each processed frame.

    frame_index: 0-based decoded index in the source (``mot_frame`` = index + 1);
    timestamp: seconds (source clock: index / fps for files, wall clock for live sources);
    tracks: the confirmed tracks of this frame (``Tracks``); detections: the detector's output
    (``tracks.det_index`` points into it); image: the (H, W, 3) uint8 BGR frame;
    annotated: the drawn frame when the run draws one (``FileRun`` with a video or
    ``keep_annotated``), else None; timings: seconds spent per stage on this frame.
    """

    frame_index: int
    timestamp: float
    tracks: Tracks
    detections: Detections
    image: np.ndarray
    annotated: Optional[np.ndarray] = None
    timings: Dict[str, float] = field(default_factory=dict)

    @property
    def mot_frame(self) -> int:
        return self.frame_index + 1


# ------------------------------------------------------------------------------------ adapters
class IterableSource(FrameSource):
    """Frames from the caller's iterable: arrays, ``(timestamp, array)`` pairs or ``Frame``s.
    Without timestamps, frame i is at ``i / fps``."""

    def __init__(self, frames: Iterable, fps: float, name: str = "frames"):
        super().__init__()
        self._iterable = frames
        try:
            count = len(frames)  # type: ignore[arg-type]
        except TypeError:
            count = None
        self.info = SourceInfo("iterable", name, "<iterable>", None, float(fps), "user", 0, 0, count, [])

    def _frames(self) -> Iterator[Frame]:
        for i, item in enumerate(self._iterable):
            if self._closed:
                self.end_reason = SourceEnd.CLOSED
                return
            if isinstance(item, Frame):
                yield item
                continue
            if isinstance(item, tuple) and len(item) == 2 and not isinstance(item[0], np.ndarray):
                ts, image = float(item[0]), item[1]
            else:
                ts, image = i / self.info.fps, item
            yield Frame(i, ts, image)
        self.end_reason = SourceEnd.END


def resolve_detector(detector: Any = None) -> Callable:
    """None -> the embedded default detector; one of ours -> itself; any callable
    ``frame -> Detections`` -> wrapped (frame checks, result checks, clipping)."""
    from tracker.detectors import as_detector, default_detector

    if detector is None:
        return default_detector()
    if not callable(detector):
        raise InputError(f"detector must be callable as detector(frame) -> Detections, got {type(detector).__name__}")
    return as_detector(detector)


def resolve_embedder(embedder: Any = None):
    """-> (callable ``(frame, xyxy) -> (N, D)`` or None, note or None).

    ``None``/``False``/``"off"``: no appearance. ``"auto"``: the shipped embedder when it is
    installed and loads (else None, with a note). ``"on"``: the shipped embedder or an
    ``InputError``. An object with ``embed(frame, xyxy)`` or a callable is used as given.
    """
    if embedder is None or embedder is False or embedder == "off":
        return None, None
    if isinstance(embedder, str):
        if embedder not in APPEARANCE_MODES:
            raise InputError(f"appearance must be one of {APPEARANCE_MODES}, got {embedder!r}")
        try:
            from tracker.embedding import Embedder

            model = Embedder.default(threads=EMBEDDER_THREADS)
        except Exception as exc:  # noqa: BLE001 - a missing/foreign weights file or import problem
            if embedder == "on":
                raise InputError(f"appearance on: the appearance embedder is not available ({exc})",
                                 "appearance") from None
            return None, f"appearance embedder not available ({exc}); tracking by motion only"
        return model.embed, None
    if hasattr(embedder, "embed") and callable(embedder.embed):
        return embedder.embed, None
    if callable(embedder):
        return embedder, None
    raise InputError(f"embedder must be 'auto', 'on', 'off', None or a callable (frame, xyxy) -> (N, D), "
                     f"got {type(embedder).__name__}")


def _open(source: Any, start, end, stride: int, fps: Optional[float], timeout_s: float,
          default_fps: float) -> FrameSource:
    if isinstance(source, FrameSource):
        if start is not None or end is not None or stride != 1:
            raise InputError("start/end/stride apply when track() opens the source; pass them to open_source()")
        return source
    if isinstance(source, (str, bytes, os.PathLike, int, np.integer)) and not isinstance(source, bool):
        return open_source(source, start=start, end=end, stride=stride, fps=fps, timeout_s=timeout_s)
    if isinstance(source, Iterable):
        if start is not None or end is not None or stride != 1:
            raise InputError("start/end/stride are not supported for an iterable of frames (slice it instead)")
        return IterableSource(source, fps or default_fps)
    raise InputError(f"source must be a path, URL, webcam index, FrameSource or iterable of frames, "
                     f"got {type(source).__name__}")


# ------------------------------------------------------------------------------------ streaming
class TrackingSession:
    """The one per-frame loop: decode, detect, embed, track. ``track``, ``FileRun`` (so
    ``track SOURCE`` and ``track batch``) and ``track mot`` (``tracker.mot_runner``: a detection
    file is a source of frames without pixels, ``SequenceFramesSource``) all run it.

    ``config``'s ``frame_rate`` is set from the source. Iterating yields ``FrameResult``s;
    ``timings`` accumulates seconds per stage; ``frames`` counts processed frames;
    ``max_track_id`` is the highest ID reported (= IDs issued so far). The session
    owns its source (also a ``FrameSource`` passed in): it is closed when iteration ends.

    ``prefetch`` (default ``DEFAULT_PREFETCH``): frames decoded and detected ahead on one
    background thread while the calling thread embeds and tracks (0: no thread). The detector
    is then called from that thread, still once per frame and in frame order; results are the
    same. ``timings["decode"]`` / ``["detect"]`` are the busy seconds of those stages wherever
    they ran; ``wait_seconds`` is how long the tracker waited for the next detected frame.
    """

    def __init__(self, source: Any, detector: Any = None, *, config: Optional[TrackerConfig] = None,
                 embedder: Any = None, tracker: Optional[Tracker] = None, start=None, end=None, stride: int = 1,
                 fps: Optional[float] = None, timeout_s: float = DEFAULT_TIMEOUT_S, prefetch: int = DEFAULT_PREFETCH):
        try:
            self.prefetch = check_depth(prefetch)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        self.wait_seconds = 0.0
        base = config if config is not None else video_config()
        self.notes: List[str] = []
        self.embed_fn, note = resolve_embedder(embedder)
        if note:
            self.notes.append(note)
        if self.embed_fn is not None and base.appearance_weight == 0:
            base = base.replace(appearance_weight=VIDEO_APPEARANCE_WEIGHT)
        self.detector = resolve_detector(detector)
        self.source = _open(source, start, end, stride, fps, timeout_s, base.frame_rate)
        try:
            self.config = base.replace(frame_rate=self.source.info.fps)
            self.tracker = tracker if tracker is not None else Tracker(self.config)
        except BaseException:
            self.source.close()
            raise
        self.class_names = getattr(self.detector, "class_names", None)
        self.timings: Dict[str, float] = defaultdict(float)
        self.frames = 0
        self.detections = 0
        self.size_changes = 0  # frames whose size differs from the previous frame's
        self._last_shape = None
        self.cut_frames: List[int] = []  # MOT frame numbers of the first frame of each new shot
        self.max_track_id = 0  # IDs are issued 1, 2, 3... on confirmation: the count, in O(1) memory
        info = self.source.info
        # frames without pixels (a detection file): the size the source states normalizes boxes
        self._stated_size = (info.width, info.height) if info.width > 0 and info.height > 0 else None

    @property
    def info(self) -> SourceInfo:
        return self.source.info

    def _detect(self, frame: Frame) -> Detections:
        return self.detector(frame.image, frame_index=frame.index)

    def __iter__(self) -> Iterator[FrameResult]:
        clock = time.perf_counter
        ahead = None
        try:
            if self.prefetch > 0:
                # decode + detect on one background thread, ``prefetch`` frames ahead, in order
                ahead = Prefetcher(iter(self.source), self._detect, self.prefetch)
                stream = iter(ahead)
            else:
                stream = self._inline(iter(self.source))
            while True:
                t0 = clock()
                try:
                    frame, dets, t_decode, t_detect = next(stream)
                except StopIteration:
                    return
                if ahead is not None:
                    self.wait_seconds += clock() - t0  # the tracker idle, waiting for the detector
                pixels = frame.image is not None  # a detection file's frames have none
                if pixels:
                    self._check_size(frame)
                if not isinstance(dets, Detections):
                    raise InputError(f"detector: returned {type(dets).__name__}, expected tracker.Detections")
                t2 = clock()
                if pixels and self.embed_fn is not None and len(dets) and dets.embeddings is None:
                    dets = dets.with_embeddings(np.asarray(self.embed_fn(frame.image, dets.xyxy), np.float32))
                t3 = clock()
                size = {} if pixels or self._stated_size is None else {"image_size": self._stated_size}
                tracks = self.tracker.update(dets, frame=frame.image, timestamp=frame.timestamp, **size)
                t4 = clock()
                timings = {"decode": t_decode, "detect": t_detect, "embed": t3 - t2, "track": t4 - t3}
                for k, v in timings.items():
                    self.timings[k] += v
                self.frames += 1
                self.detections += len(dets)
                if len(tracks):
                    self.max_track_id = max(self.max_track_id, int(tracks.track_ids.max()))
                if tracks.cut and len(self.cut_frames) < MAX_LISTED_CUTS:
                    self.cut_frames.append(frame.mot_frame)
                yield FrameResult(frame.index, frame.timestamp, tracks, dets, frame.image, None, timings)
        finally:
            if ahead is not None:
                ahead.close()  # before the source: the thread may be reading from it
            self.source.close()

    def _inline(self, frames: Iterator[Frame]) -> Iterator[tuple]:
        """The loop without a background thread: (frame, detections, decode s, detect s)."""
        clock = time.perf_counter
        while True:
            t0 = clock()
            try:
                frame = next(frames)
            except StopIteration:
                return
            t1 = clock()
            dets = self._detect(frame)
            yield frame, dets, t1 - t0, clock() - t1

    def _check_size(self, frame: Frame) -> None:
        """Rule: a frame may have another size than the one before (a folder of mixed images, a
        stream that changes resolution); each is processed at its own size (boxes are that
        frame's pixels; the annotated video resizes to the first size). Noted once."""
        shape = getattr(frame.image, "shape", None)
        if self._last_shape is not None and shape != self._last_shape:
            self.size_changes += 1
            if self.size_changes == 1:
                def wh(sh):
                    return f"{sh[1]}x{sh[0]}" if sh is not None and len(sh) >= 2 else str(sh)

                self.notes.append(f"the frame size changed from {wh(self._last_shape)} to {wh(shape)} at frame "
                                  f"{frame.mot_frame}: each frame is processed at its own size (boxes in its "
                                  "pixels; the annotated video is resized to the first frame's size)")
        self._last_shape = shape

    def camera_motion_summary(self) -> dict:
        """``{"method": ..., "frames": {status: count}}``: how camera-motion compensation went
        (frames without pixels are not counted: nothing is estimated on them)."""
        estimator = getattr(self.tracker, "camera_motion", None)
        if estimator is None:
            return {"method": None, "frames": {}}
        return {"method": estimator.method, "frames": dict(estimator.counts)}

    def shot_cut_summary(self) -> dict:
        """``{"method": ..., "cuts": [MOT frame numbers], "count": n, "shots": n + 1}``: the hard
        cuts found (the first frame of each new shot; at most ``MAX_LISTED_CUTS`` listed, all
        counted). ``shots`` is None when no frame was looked at (cuts off, frames without
        pixels, or a user's own tracker without a detector)."""
        detector = getattr(self.tracker, "shot_cuts", None)
        method = detector.config.method if detector is not None else None
        looked = getattr(self.tracker, "shot", None) is not None
        count = detector.cuts if looked else 0
        return {"method": method, "cuts": list(self.cut_frames), "count": count,
                "shots": count + 1 if looked else None}

    def close(self) -> None:
        """Release the source (the session owns it, also one passed in as a ``FrameSource``)."""
        self.source.close()


def track(source: Any, detector: Any = None, *, config: Optional[TrackerConfig] = None, embedder: Any = None,
          tracker: Optional[Tracker] = None, start=None, end=None, stride: int = 1, fps: Optional[float] = None,
          timeout_s: float = DEFAULT_TIMEOUT_S, prefetch: int = DEFAULT_PREFETCH,
          adapt: Any = None) -> Iterator[FrameResult]:
    """Track objects through a video source, yielding one ``FrameResult`` per processed frame.

    source: a video file path, a folder of frames (MOTChallenge ``img1/``), a webcam index, a
        stream URL (``rtsp://``, ``http://``...), a ``FrameSource``, or any iterable of frames
        ((H, W, 3) uint8 BGR arrays, or ``(timestamp_seconds, array)`` pairs).
    detector: any callable ``frame -> Detections`` (or ``supervision.Detections``); None uses
        the embedded people detector (``tracker.detectors.default_detector()``).
    config: ``TrackerConfig`` (default: ``video_config()``, tuned for the embedded detector);
        its ``frame_rate`` is replaced by the source's.
    embedder: None / ``"off"`` (motion only), ``"auto"`` (the shipped embedder if installed),
        ``"on"``, or a callable ``(frame, xyxy) -> (N, D)`` unit vectors.
    tracker: your own ``Tracker`` (then ``config`` is ignored).
    start, end: frames (``123``) or seconds (``"12.5s"``); stride: keep every k-th frame.
    fps: frame rate when the source has none (or to override it); timeout_s: for streams.
    prefetch: frames decoded and detected ahead on a background thread (0: none); see
        ``TrackingSession``.
    adapt: None/False (default) or True / seconds / an ``AdaptConfig``: first track the whole
        source (pass 1, not yielded), fine-tune the appearance embedder on its own confident
        tracks for the time bound (default 30 % of pass 1; ``tracker.training.adapt``), then
        yield the results of pass 2 with the adapted embedder. Needs a file or frame folder
        (read twice) and the identitrack embedder (``embedder`` None, "auto", "on" or an
        ``Embedder``). No label is read.

    Raises ``InputError`` for a bad source or option before yielding anything. Stopping the
    iteration early (``break``) closes the source.

    Example::

        for result in track("data/vtest.avi"):
            for tid, box in zip(result.tracks.track_ids, result.tracks.xyxy):
                ...
    """
    if adapt is not None and adapt is not False:
        embedder = _adapted_embedder(source, detector, config, embedder, adapt, start=start, end=end, stride=stride,
                                     fps=fps, timeout_s=timeout_s, prefetch=prefetch)
    session = TrackingSession(source, detector, config=config, embedder=embedder, tracker=tracker, start=start,
                              end=end, stride=stride, fps=fps, timeout_s=timeout_s, prefetch=prefetch)
    return iter(session)


def _adapted_embedder(source, detector, config, embedder, adapt, **session_options):
    """``track(..., adapt=...)``'s pass 1 and fine-tuning -> the embedder for pass 2."""
    from tracker.training.adapt import AdaptConfig, adapt_to_video

    if isinstance(source, (FrameSource, Iterable)) and not isinstance(source, (str, bytes, os.PathLike)):
        raise InputError("adapt needs a video file or frame folder (it is read twice), not a stream or iterable",
                         "adapt")
    if isinstance(adapt, AdaptConfig):
        settings = adapt
    elif adapt is True:
        settings = AdaptConfig()
    elif isinstance(adapt, (int, float)) and not isinstance(adapt, bool):
        settings = AdaptConfig(seconds=float(adapt))
    else:
        raise InputError(f"adapt must be None, True, seconds or an AdaptConfig, got {adapt!r}", "adapt")
    if embedder in (None, "auto", "on"):
        from tracker.embedding import Embedder

        embedder = Embedder.default(threads=EMBEDDER_THREADS)
    elif embedder == "off" or embedder is False:
        raise InputError("adapt fine-tunes the appearance embedder: it cannot be off", "adapt")
    return adapt_to_video(source, detector, embedder=embedder, adapt=settings, config=config,
                          **session_options).embedder


# ------------------------------------------------------------------------------------ signals
class Interrupted(KeyboardInterrupt):
    """Raised by ``StopSignals`` on a second SIGINT/SIGTERM: stop now, not after the frame."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopSignals:
    """While active (a context manager, main thread only), the first SIGINT or SIGTERM sets
    ``signum`` (the loop stops after the current frame); a second one raises ``Interrupted``,
    except while ``hold()`` is true (e.g. ``lambda: run.busy``: a frame's results or the final
    files are being written) -- then it is ignored, as the loop stops right after anyway."""

    HANDLED = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, hold: Optional[Callable[[], bool]] = None) -> None:
        self.signum: Optional[int] = None
        self.hold = hold
        self._previous: dict = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def reason(self) -> Optional[str]:
        return None if self.signum is None else signal.Signals(self.signum).name

    def _handle(self, signum, _frame) -> None:
        if self.signum is not None:
            if self.hold is not None and self.hold():
                return
            raise Interrupted(signum)
        self.signum = signum

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in self.HANDLED:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


# ------------------------------------------------------------------------------------ to files
def default_output_dir(info: SourceInfo) -> Path:
    """``<input stem>_tracks/`` beside a file or frame folder; in the current folder for live
    sources."""
    if info.path is not None and not info.live:
        return info.path.parent / f"{info.name}_tracks"
    return Path.cwd() / f"{info.name}_tracks"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class FileRun:
    """Track a source and write the results as they are produced.

    Files in ``output_dir`` (default ``<stem>_tracks/`` beside the input): ``<stem>.txt``
    (MOTChallenge, frame = decoded index + 1), ``<stem>.jsonl`` (one line per processed frame),
    ``<stem>.mp4`` (annotated; skipped with ``video=False``) and ``<stem>.summary.json``.
    While running they are ``.partial`` files (see ``tracker.io.writers``).

    Use it as a context manager and iterate it::

        with FileRun("clip.mp4") as run:
            for result in run:          # FrameResult, already written
                if should_stop():
                    run.stop(RunStatus.SIGINT)
                    break
        run.summary                     # dict, also in <stem>.summary.json

    Leaving the block normally or through ``KeyboardInterrupt`` finishes the files (final
    names, playable video) and writes the summary; any other exception leaves the ``.partial``
    files (whole lines) and a summary with ``completed: false`` (status ``output error`` for an
    ``OutputError``: a full disk, ``crashed`` otherwise). Files get their final names only when
    every one of them was written completely. Every option error is raised as ``InputError``
    before a file is created. ``busy`` is true while a frame's results or the final files are
    being written (``StopSignals(hold=lambda: run.busy)`` then defers a second signal).

    Output paths follow ``tracker.io.output_paths``: nothing that is an input (the source,
    ``extra_inputs``) or a package file is written, nothing outside ``output_dir``. The run holds
    the lock of its stem in ``output_dir`` (``tracker.io.output_lock``) from the start to the
    summary: a second run onto the same files raises ``OutputBusyError`` before writing
    anything, or waits for the first with ``wait=True``. A frame's results go to the ``.txt``
    and the ``.jsonl`` together or not at all (``FrameSinks``): after an output error both hold
    ``frames_in_files`` frames (in the summary).

    Speed (docs/detector.md): ``prefetch`` frames are decoded and detected ahead on a
    background thread (``TrackingSession``; 0: none) and, with ``background_video`` (default),
    the annotated video is encoded on another one; the files are the same either way. The
    ``write`` stage then counts only the time spent handing frames to the encoder.

    ``name``: the file stem (default: the source's name), e.g. ``clip.adapted`` for a second
    pass that must not replace the first one's files.

    ``offline`` (an ``OfflineConfig``; None: off): the offline identity stage
    (``tracker.offline``). The frames are still written as they come (a crash leaves the online
    results in the ``.partial`` files); when the run ends, the tracklets are linked over the
    whole recording, gaps filled, and the ``.txt`` and ``.jsonl`` are rewritten with the linked
    results before they get their final names (``offline`` in the summary says what it did).
    The annotated video and the yielded results stay the online ones.
    """

    def __init__(self, source: Any, detector: Any = None, *, output_dir: Optional[Union[str, Path]] = None,
                 video: bool = True, codec: str = DEFAULT_CODEC, trail_frames: int = DEFAULT_TRAIL_FRAMES,
                 config: Optional[TrackerConfig] = None, embedder: Any = None, start=None, end=None,
                 stride: int = 1, fps: Optional[float] = None, timeout_s: float = DEFAULT_TIMEOUT_S,
                 keep_annotated: bool = False, extra_inputs: Sequence[Union[str, Path]] = (),
                 flush_every_s: float = DEFAULT_FLUSH_EVERY_S, options: Optional[dict] = None,
                 wait: bool = False, prefetch: int = DEFAULT_PREFETCH,
                 background_video: bool = True, offline: Optional[OfflineConfig] = None,
                 name: Optional[str] = None):
        if offline is not None and not isinstance(offline, OfflineConfig):
            raise InputError(f"offline must be an OfflineConfig or None, got {type(offline).__name__}", "offline")
        self.started = time.monotonic()
        self.name = name
        self.started_at = _now()
        self.session = TrackingSession(source, detector, config=config, embedder=embedder, start=start, end=end,
                                       stride=stride, fps=fps, timeout_s=timeout_s, prefetch=prefetch)
        self.background_video = bool(background_video)
        self._opened: List[Any] = []
        self.lock: Optional[OutputLock] = None
        try:
            self._setup(output_dir, video, codec, trail_frames, keep_annotated, extra_inputs, flush_every_s, wait)
        except BaseException:
            for w in self._opened:
                w.abandon()
                _remove_quietly(w.partial)
            self.session.close()
            self._unlock()
            raise
        self.options = dict(options or {})
        self.options.setdefault("start", None if start is None else str(parse_position(start)))
        self.options.setdefault("end", None if end is None else str(parse_position(end)))
        self.options.setdefault("stride", stride)
        self.stop_reason: Optional[str] = None
        self.summary: Optional[dict] = None
        self.frames_written = 0
        self.last_mot_frame: Optional[int] = None
        self.first_mot_frame: Optional[int] = None
        self._loop_started: Optional[float] = None
        self.busy = False
        self.linker = OfflineLinker(offline, FileSpool()) if offline is not None else None
        self.offline_stats: Optional[OfflineStats] = None

    def _setup(self, output_dir, video, codec, trail_frames, keep_annotated, extra_inputs, flush_every_s,
               wait) -> None:
        info = self.session.info
        self.output_dir = Path(output_dir) if output_dir is not None else default_output_dir(info)
        stem = self.name or info.name
        self.paths = {"mot": self.output_dir / f"{stem}.txt", "jsonl": self.output_dir / f"{stem}.jsonl"}
        if video:
            self.paths["video"] = self.output_dir / f"{stem}.mp4"
        self.paths["summary"] = self.output_dir / f"{stem}.summary.json"
        inputs = [info.path] + [Path(p) for p in extra_inputs if p is not None]
        if info.kind == "frames" and info.path is not None:
            inputs.append(Path(info.location))
        check_not_input(list(self.paths.values()), inputs, root=self.output_dir)
        prepare_output_dir(self.output_dir)
        self.lock = OutputLock(self.output_dir, stem, wait=wait).acquire()
        self._writers: Dict[str, Any] = {}
        self.mot = self._writers["mot"] = MotWriter(self.paths["mot"], flush_every_s)
        self._opened.append(self.mot)
        self.jsonl = self._writers["jsonl"] = JsonlWriter(self.paths["jsonl"], self.session.class_names,
                                                          flush_every_s)
        self._opened.append(self.jsonl)
        self.sinks = FrameSinks([self.mot, self.jsonl], flush_every_s)
        self.video: Optional[VideoWriter] = None
        if video:
            fps_out = info.fps / max(1, self.session.source.stride)
            self.video = self._writers["video"] = VideoWriter(self.paths["video"], fps_out,
                                                              (info.width, info.height), codec,
                                                              background=self.background_video)
            self._opened.append(self.video)
        self.annotator = Annotator(trail_frames, self.session.class_names) if (video or keep_annotated) else None
        self.keep_annotated = keep_annotated
        # an old summary would describe a previous run: it goes now, the new one comes at the end
        _remove_quietly(self.paths["summary"])

    @property
    def info(self) -> SourceInfo:
        return self.session.info

    @property
    def expected_frames(self) -> Optional[int]:
        return self.session.source.expected_frames()

    def stop(self, reason: str) -> None:
        """Record why the caller stops early: a ``RunStatus`` that stops a run (``SIGINT``,
        ``SIGTERM``, ``stopped by user``)."""
        status = RunStatus.parse(reason)
        if status is None or not status.stopped:
            raise InputError(f"reason must be one of {', '.join(s.value for s in RunStatus if s.stopped)}, "
                             f"got {reason!r}", "reason")
        self.stop_reason = status

    def __iter__(self) -> Iterator[FrameResult]:
        clock = time.perf_counter
        timings = self.session.timings
        if self._loop_started is None:
            self._loop_started = time.monotonic()
        results = iter(self.session)
        try:
            for result in results:
                t0 = clock()
                annotated = None
                if self.annotator is not None:
                    n = len(result.tracks)
                    label = f"frame {result.mot_frame}  {result.timestamp:.1f}s  {n} track{'s' if n != 1 else ''}"
                    annotated = self.annotator.draw(result.image, result.tracks, label)
                t1 = clock()
                self.busy = True
                self.sinks.write_frame([self.mot.encode(result.mot_frame, result.tracks),
                                        self.jsonl.encode(result.frame_index, result.timestamp, result.tracks)])
                if self.video is not None:
                    # the encoder thread gets its own copy: the caller may draw on the one yielded
                    self.video.write(annotated.copy() if self.background_video else annotated)
                if self.linker is not None:
                    self._spool_for_linking(result)
                self.busy = False
                t2 = clock()
                timings["annotate"] += t1 - t0
                timings["write"] += t2 - t1
                self.frames_written += 1
                if self.first_mot_frame is None:
                    self.first_mot_frame = result.mot_frame
                self.last_mot_frame = result.mot_frame
                stage = dict(result.timings, annotate=t1 - t0, write=t2 - t1)
                yield FrameResult(result.frame_index, result.timestamp, result.tracks, result.detections, result.image,
                                  annotated if (self.keep_annotated or self.video is not None) else None, stage)
        finally:
            # stopping the background threads takes up to a frame: a second signal meanwhile
            # is deferred like one arriving while files are written (the run stops anyway)
            self.busy = True
            try:
                results.close()
            finally:
                self.busy = False

    def _spool_for_linking(self, result) -> None:
        try:
            self.linker.add(TrackedFrame(result.frame_index, result.timestamp, result.tracks,
                                         row_embeddings(result.tracks, result.detections)))
        except OSError as exc:  # the temporary file of the offline stage (disk full)
            raise OutputError(f"offline stage: cannot write its temporary file "
                              f"({exc.strerror or exc})") from None

    def __enter__(self) -> "FileRun":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.finish()
        elif issubclass(exc_type, KeyboardInterrupt):
            signum = getattr(exc, "signum", signal.SIGINT)
            self.finish(self.stop_reason or signal.Signals(signum).name)
        else:
            self.abandon(exc)
        return False

    def _status(self, reason: Optional[str]) -> RunStatus:
        if reason:
            return RunStatus(reason)
        return RunStatus.from_source_end(self.session.source.end_reason)

    def finish(self, reason: Optional[str] = None) -> dict:
        """Finish every file (final names, closed video) and write the summary. The files are
        sealed first and renamed only when all of them sealed: after a failure (a full disk)
        they all keep their ``.partial`` names and the summary says ``output error``."""
        if self.summary is not None:
            return self.summary
        self.busy = True
        try:
            self.session.close()
            status = self._status(reason or self.stop_reason)
            self._note_unused_detections(status)
            try:
                self.sinks.flush()  # both text files get every frame, or neither the last ones
                if self.linker is not None:
                    self._write_linked()
                for w in self._opened:
                    w.seal()
                for w in self._opened:
                    w.commit()
            except (OSError, OutputError) as exc:
                self.sinks.close()
                for w in self._opened:
                    if not w.finished:
                        w.abandon()
                return self._write_summary(RunStatus.OUTPUT_ERROR, _describe(exc), final=False)
            return self._write_summary(status, None, final=True)
        finally:
            self._drop_linker()
            self.busy = False
            self._unlock()

    def _write_linked(self) -> None:
        """Link the run's tracklets (``tracker.offline``) and rewrite the text files with them,
        frame by frame as the stage hands them over (memory O(tracklets))."""
        linker, self.linker = self.linker, None
        self.mot.begin_rewrite()
        self.jsonl.begin_rewrite()

        def write(frame: TrackedFrame) -> None:
            self.mot.rewrite(self.mot.encode(frame.mot_frame, frame.tracks))
            self.jsonl.rewrite(self.jsonl.encode(frame.frame_index, frame.timestamp, frame.tracks))

        try:
            self.offline_stats = linker.finish_into(write)
        except OSError as exc:  # the spool could not be read back
            raise OutputError(f"offline stage: temporary file unreadable ({exc.strerror or exc})") from None

    def _drop_linker(self) -> None:
        """Close the offline stage's temporary file when the run ends without linking."""
        if self.linker is not None:
            self.linker.close()
            self.linker = None

    def _unlock(self) -> None:
        if self.lock is not None:
            self.lock.release()

    def _note_unused_detections(self, status: str) -> None:
        """Rule: detection-file rows for frames after the end of the video are not used; when
        the video ended by itself, a note says so (a sign of a wrong file or frame rate)."""
        det, source, last = self.session.detector, self.session.source, self.last_mot_frame
        rows_after = getattr(det, "rows_after", None)  # detectors that replay a file say what was left
        if status != RunStatus.COMPLETED or rows_after is None or last is None \
                or getattr(source, "end", None) is not None:
            return
        numbered = getattr(source, "indices", None)  # a frame folder: its last frame number
        length = max(last, numbered[-1] + 1 if numbered else (source.info.frame_count or 0))
        note = rows_after(length)
        if note:
            self.session.notes.append(note)

    def abandon(self, error: BaseException) -> dict:
        """After a crash: keep the ``.partial`` files (whole lines) and record the error."""
        if self.summary is not None:
            return self.summary
        self.busy = True
        try:
            self.session.close()
            self.sinks.close()
            for w in self._opened:
                try:
                    w.abandon()
                except OSError:
                    pass
            status = RunStatus.OUTPUT_ERROR if isinstance(error, OutputError) else RunStatus.CRASHED
            return self._write_summary(status, _describe(error), final=False)
        finally:
            self._drop_linker()
            self.busy = False
            self._unlock()

    def _write_summary(self, status: RunStatus, error: Optional[str], final: bool) -> dict:
        s = self.session
        now = time.monotonic()
        elapsed = now - self.started
        processing = now - self._loop_started if self._loop_started is not None else 0.0
        files = {k: (self.paths[k].name if w.finished else w.partial.name) for k, w in self._writers.items()}
        files["summary"] = self.paths["summary"].name
        stage_total = sum(s.timings.get(k, 0.0) for k in STAGES)
        summary = {
            "completed": final and status.completed,
            "status": status,
            "exit_code": status.exit_code,
            "error": error,
            "source": self.info.to_dict(),
            "frames_processed": self.frames_written,
            "frames_in_files": self.sinks.frames_in_files,
            "first_frame": self.first_mot_frame,
            "last_frame": self.last_mot_frame,
            "expected_frames": self.expected_frames,
            "skipped_unreadable": s.source.skipped,
            "reconnects": getattr(s.source, "reconnects", 0),
            "frame_size_changes": s.size_changes,
            "detections": s.detections,
            "tracks": s.max_track_id,
            "seconds": round(elapsed, 3),
            "processing_seconds": round(processing, 3),
            "frames_per_second": round(self.frames_written / processing, 3) if processing > 0 else None,
            "stage_seconds": {k: round(s.timings.get(k, 0.0), 4) for k in STAGES},
            "stage_share": {k: round(s.timings.get(k, 0.0) / stage_total, 4) if stage_total > 0 else 0.0
                            for k in STAGES},
            "prefetch": s.prefetch,
            "wait_seconds": round(s.wait_seconds, 4),
            "output_dir": str(self.output_dir),
            "files": files,
            "detector": repr(s.detector),
            "appearance": s.embed_fn is not None,
            "camera_motion": s.camera_motion_summary(),
            "shot_cuts": s.shot_cut_summary(),
            "notes": list(self.info.notes) + list(s.notes),
            "options": self.options,
            "tracker_config": s.config.to_dict(),
            "offline": None if self.offline_stats is None else self.offline_stats.to_dict(),
            "started_at": self.started_at,
            "finished_at": _now(),
        }
        self.summary = summary
        try:
            write_summary(self.paths["summary"], summary)
        except OSError as exc:  # a full disk: the caller still gets the summary (and the error)
            summary["summary_error"] = f"{self.paths['summary']}: not written ({exc.strerror or exc})"
        return summary


def _describe(error: BaseException) -> str:
    return str(error) if isinstance(error, OutputError) else f"{type(error).__name__}: {error}"


def _remove_quietly(path: Path) -> None:
    try:
        Path(path).unlink()
    except OSError:
        pass

