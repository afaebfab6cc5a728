"""The side-by-side run: every tracker on the same detections, frames and frame rate.

``run_bench(BenchSettings(...)) -> BenchResult``: for each sequence the detection file is loaded
once (the same ``Detections`` objects go to every tracker), the frame source is found once, and
each tracker runs through ``run_sequence`` (the one loop all trackers share). Results go to
``output_dir/<tracker>/<SEQ>.txt`` and are evaluated with ``tracker.evaluation`` (the code of
``track eval``), the ground truth loaded once. Library code: nothing is printed; progress goes
to an optional callback.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import os
import platform
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from tracker.benchmarking.adapters import (
    ALL_TRACKERS,
    INTERP_SUFFIX,
    OURS_TRACKERS,
    PEER_TRACKERS,
    PeerUnavailable,
    TrackerAdapter,
    base_tracker,
    make_adapter,
    offline_stage,
    peers_version,
)
from tracker.benchmarking.groups import resolve_groups
from tracker.boxes import xyxy_to_xywh
from tracker.detectors.det_file import DetectionFileDetector
from tracker.errors import InputError, parameter_error
from tracker.io.mot_source import SequenceFramesSource
from tracker.io.mot import DetectionSet, SequenceInfo, find_sequences, load_detections, read_seqinfo, write_mot_results
from tracker.offline import link_frames
from tracker.offline.mot_rows import frames_from_rows, rows_from_frames

VIDEO_SUFFIX = ".mp4"
#: the reference tracker for speed ratios.
SPEED_REFERENCE = "sort"
DISPLAY_NAMES = {"ours": "ours (default, offline)", "ours-online": "ours-online (default, --online)",
                 "ours-heldout": "ours, held-out weights (online)", "ours-iou": "ours-iou (non-learned core, online)",
                 **{k: v[1] for k, v in PEER_TRACKERS.items()},
                 **{k + INTERP_SUFFIX: v[1] + " + gap filling" for k, v in PEER_TRACKERS.items()}}

Progress = Callable[[str], None]


# ------------------------------------------------------------------------------ frame sources
@dataclass(frozen=True)
class FrameOrigin:
    """Where a sequence's frames come from: ``kind`` "video" (decoded frame i-1 = MOT frame i),
    "img1" (a complete image folder), or None (no frames); ``note`` says why."""

    kind: Optional[str]
    path: Optional[Path]
    note: str

    @property
    def available(self) -> bool:
        return self.kind is not None


def _video_frame_count(path: Path) -> int:
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return -1
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()


def find_frame_source(info: SequenceInfo, video_root: Optional[Path]) -> FrameOrigin:
    """``video_root/<SEQ>.mp4`` when given and complete; else ``<SEQ>/<imDir>`` when it holds all
    ``seqLength`` images; else none. A partial image folder (the MOT17 development folders hold
    only the first frames) is not a frame source."""
    notes = []
    if video_root is not None:
        video = Path(video_root) / f"{info.name}{VIDEO_SUFFIX}"
        if video.is_file():
            count = _video_frame_count(video)
            if count >= info.seq_length:
                return FrameOrigin("video", video, f"frames from {video}")
            notes.append(f"{video} has {count} frames, fewer than seqLength {info.seq_length}: not used")
        else:
            notes.append(f"no {video}")
    img_dir = Path(info.path) / info.im_dir
    images = sorted(img_dir.glob(f"*{info.im_ext}")) if img_dir.is_dir() else []
    expected = {f"{i:06d}{info.im_ext}" for i in range(1, info.seq_length + 1)}
    if images and expected <= {p.name for p in images}:
        return FrameOrigin("img1", img_dir, f"frames from {img_dir}")
    if images:
        notes.append(f"{info.im_dir}/ holds {len(images)} of {info.seq_length} frames: not a frame source")
    return FrameOrigin(None, None, "; ".join(notes + ["no frames"]))


def iter_frames(source: Optional[FrameOrigin], info: SequenceInfo, notes: List[str]) -> Iterator[Optional[np.ndarray]]:
    """Yield exactly ``seqLength`` frames (H, W, 3) uint8 BGR, or None where none is available
    (no source, an unreadable image, or a video that ends early: noted in ``notes``)."""
    import cv2

    n = info.seq_length
    if source is None or not source.available:
        for _ in range(n):
            yield None
        return
    if source.kind == "img1":
        for i in range(1, n + 1):
            frame = cv2.imread(str(source.path / f"{i:06d}{info.im_ext}"))
            if frame is None:
                notes.append(f"{source.path}: frame {i} unreadable; tracked without image")
            yield frame
        return
    cap = cv2.VideoCapture(str(source.path))
    try:
        for i in range(n):
            ok, frame = cap.read()
            if not ok:
                notes.append(f"{source.path}: decoding stopped at frame {i + 1} of {n}; later frames tracked without "
                             "image")
                for _ in range(n - i):
                    yield None
                return
            yield frame
    finally:
        cap.release()


# ------------------------------------------------------------------------------ one sequence
@dataclass
class TrackerRun:
    """One tracker on one sequence: MOT rows ``(frame, id, xywh, score)``, and timing.

    seconds: time inside the tracker's ``update`` only (see ``adapters``)."""

    tracker: str
    sequence: str
    rows: List[tuple]
    frames: int
    detections: int
    tracks: int
    seconds: float
    frames_used: bool
    notes: List[str]

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else math.inf


def run_sequence(adapter: TrackerAdapter, detections: DetectionSet, info: SequenceInfo,
                 frame_source: Optional[FrameOrigin] = None) -> TrackerRun:
    """Run ``adapter`` over frames 1..seqLength with ``detections.get(frame)`` and timestamp
    ``(frame - 1) / fps`` through the one frame loop (``tracker.pipeline.TrackingSession``);
    frames are decoded (outside the timing) only if the adapter uses them."""
    from tracker.pipeline import TrackingSession

    notes: List[str] = list(adapter.notes)
    source = frame_source if adapter.uses_frames else None
    images = iter_frames(source, info, notes) if source is not None else None
    session = TrackingSession(SequenceFramesSource(info, images), DetectionFileDetector(detections),
                              embedder="off", tracker=AdapterTracker(adapter), prefetch=0)
    rows, ids = [], set()
    caught: Counter = Counter()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for result in session:
            out = result.tracks
            if len(out):
                for tid, box, score in zip(out.track_ids.tolist(), xyxy_to_xywh(out.xyxy), out.scores.tolist()):
                    rows.append((result.mot_frame, int(tid), box, float(score)))
                ids.update(out.track_ids.tolist())
            if len(record) > 100:  # keep the distinct messages only
                caught.update(f"{w.category.__name__}: {w.message}" for w in record)
                record.clear()
        caught.update(f"{w.category.__name__}: {w.message}" for w in record)
    for message, count in caught.most_common(3):
        notes.append(f"warning x{count}: {message}")
    return TrackerRun(adapter.name, info.name, rows, info.seq_length, session.detections, len(ids), adapter.seconds,
                      source is not None, notes)


def with_offline_stage(run: TrackerRun, name: str, info: SequenceInfo) -> TrackerRun:
    """The run of benchmark row ``name`` from its base tracker's online ``run``: the same rows
    (``ours-online``, the peers), or those rows through the offline stage
    (``adapters.offline_stage``: ``ours`` links and fills, ``<peer>+interp`` fills only). The
    stage's time is added to ``seconds``. The rows carry no embeddings: linking here is by
    motion and size only."""
    config = offline_stage(name)
    if config is None:
        return dataclasses.replace(run, tracker=name, notes=list(run.notes))
    frames = frames_from_rows(run.rows, info.seq_length, info.frame_rate)
    linked = link_frames(frames, config)
    rows = rows_from_frames(linked.frames)
    st = linked.stats
    note = (f"offline stage: {st.tracklets} tracklets, {st.links} links, {st.filled_rows} rows filled, "
            f"{st.seconds:.3f} s (counted)" if config.link else
            f"gap filling: {st.filled_rows} rows filled, {st.seconds:.3f} s (counted)")
    return dataclasses.replace(run, tracker=name, rows=rows, tracks=len({r[1] for r in rows}),
                               seconds=run.seconds + st.seconds, notes=[*run.notes, note])


class AdapterTracker:
    """A benchmarked tracker (``TrackerAdapter``) behind the ``Tracker.update`` call of the
    frame loop; its own timing (``adapter.seconds``) stays what the benchmark reports."""

    def __init__(self, adapter: TrackerAdapter):
        self.adapter = adapter

    def update(self, detections, frame=None, timestamp=None, image_size=None):
        return self.adapter.update(detections, frame, timestamp).to_tracks()


# ------------------------------------------------------------------------------ whole run
@dataclass(frozen=True)
class BenchSettings:
    """What ``run_bench`` runs. trackers: names from ``ALL_TRACKERS``, in table order.

    min_score: None = detections unfiltered; else the same threshold for every tracker.
    score_rescale: ``tracker.io.mot.SCORE_RESCALE_MODES`` (same for every tracker).
    use_embedder: give ``ours`` the default appearance embedder when frames exist.
    groups: group rows besides the combined one (``tracker.benchmarking.groups.resolve_groups``:
        ``camera``, ``conventions``, ``all`` or a group file); None for none.
    """

    mot_root: Path
    output_dir: Path
    trackers: Tuple[str, ...] = ALL_TRACKERS
    seqs: Optional[Tuple[str, ...]] = None
    video_root: Optional[Path] = None
    det_name: str = "det.txt"
    min_score: Optional[float] = None
    score_rescale: str = "auto"
    use_embedder: bool = True
    groups: Optional[str] = None

    def __post_init__(self) -> None:
        unknown = [t for t in self.trackers if t not in ALL_TRACKERS]
        if unknown:
            raise InputError(f"unknown tracker(s) {', '.join(unknown)}; choose from {', '.join(ALL_TRACKERS)}")
        if not self.trackers:
            raise InputError("no tracker to run")
        if len(set(self.trackers)) != len(self.trackers):
            raise InputError(f"a tracker is listed twice: {', '.join(self.trackers)}")
        if self.min_score is not None and not math.isfinite(self.min_score):
            raise parameter_error("min_score", f"must be a finite number, got {self.min_score}")

    def to_dict(self) -> dict:
        return {"mot_root": str(self.mot_root), "output_dir": str(self.output_dir), "trackers": list(self.trackers),
                "seqs": None if self.seqs is None else list(self.seqs),
                "video_root": None if self.video_root is None else str(self.video_root),
                "det_name": self.det_name, "min_score": self.min_score, "score_rescale": self.score_rescale,
                "use_embedder": self.use_embedder, "groups": self.groups}


@dataclass
class BenchResult:
    """settings; sequences: {name: {frames, fps, detections, frame_source, notes}}; runs:
    {tracker: {seq: TrackerRun}}; skipped: {tracker: reason}; reports: {tracker: EvalReport};
    notes: run-wide remarks (embedder, warnings); started/finished: UTC ISO times; wall_seconds."""

    settings: BenchSettings
    sequences: Dict[str, dict]
    runs: Dict[str, Dict[str, TrackerRun]]
    skipped: Dict[str, str]
    reports: dict
    notes: List[str]
    started: str
    wall_seconds: float
    eval_warnings: List[str] = field(default_factory=list)
    groups: Dict[str, List[str]] = field(default_factory=dict)

    @property
    def trackers(self) -> List[str]:
        return [t for t in self.settings.trackers if t in self.runs]

    def timing(self, tracker: str) -> dict:
        runs = self.runs[tracker].values()
        frames = sum(r.frames for r in runs)
        seconds = sum(r.seconds for r in runs)
        return {"frames": frames, "seconds": seconds, "fps": frames / seconds if seconds > 0 else math.inf}

    def group_result(self, tracker: str, group: str):
        """The tracker's counts summed over one group's sequences (a ``SequenceResult``)."""
        from tracker.evaluation.results import combine_results

        per_sequence = self.reports[tracker].per_sequence
        return combine_results([per_sequence[s] for s in self.groups[group]], name=group)

    def speed_ratio(self, tracker: str) -> Optional[float]:
        """Tracker frames/s divided by SORT's (None without SORT)."""
        if SPEED_REFERENCE not in self.runs:
            return None
        return self.timing(tracker)["fps"] / self.timing(SPEED_REFERENCE)["fps"]


def _select_sequences(settings: BenchSettings) -> Tuple[List[Path], List[str]]:
    root = Path(settings.mot_root)
    if not root.is_dir():
        raise InputError(f"mot_root {root}: not a folder (expected a folder of MOTChallenge sequences)", "mot_root")
    folders = find_sequences([root])
    by_name = {f.name: f for f in folders}
    if settings.seqs is not None:
        unknown = [s for s in settings.seqs if s not in by_name]
        if unknown:
            raise InputError(f"{root}: no sequence named {', '.join(unknown)} (found: {', '.join(sorted(by_name))})")
        folders = [by_name[s] for s in settings.seqs]
    notes, keep = [], []
    for f in folders:
        if not (f / "det" / settings.det_name).is_file():
            notes.append(f"{f.name}: no det/{settings.det_name}; skipped")
        elif not (f / "gt" / "gt.txt").is_file():
            notes.append(f"{f.name}: no gt/gt.txt (a test sequence?); skipped")
        else:
            keep.append(f)
    if not keep:
        raise InputError(f"{root}: no sequence with both det/{settings.det_name} and gt/gt.txt")
    return keep, notes


def load_default_embedder():
    """``tracker.embedding.Embedder.default()`` as an ``(frame, xyxy) -> (N, D)`` callable, or
    ``(None, reason)`` when it cannot be loaded."""
    try:
        from tracker.embedding import Embedder

        embedder = Embedder.default()
    except Exception as exc:  # noqa: BLE001 - reported to the user, the run continues without it
        return None, f"{type(exc).__name__}: {exc}"
    return embedder.embed, None


#: the files ``track bench`` writes into its output folder besides the result files
BENCH_FILES = ("eval.json", "bench.json", "bench.png", "bench_per_sequence.png")


def plan_result_paths(settings: BenchSettings, sequences: Sequence[Path], trackers: Sequence[str]) -> dict:
    """``{(tracker, sequence folder): result file}`` under the output-path rule
    (``tracker.io.output_paths``): ``output_dir/<tracker>/<SEQ>.txt`` with ``<SEQ>`` the
    sequence folder's name, as the evaluation reads it (a ``seqinfo.ini`` ``name=`` never
    names a path); it and ``BENCH_FILES`` must lie in the output folder and be none of the
    inputs (detection, gt, seqinfo files, videos). ``InputError`` before anything is written."""
    from tracker.io.output_paths import OutputGuard, safe_component

    out_dir = Path(settings.output_dir)
    inputs: List[Path] = []
    for seq in sequences:
        inputs += [seq / "det" / settings.det_name, seq / "gt" / "gt.txt", seq / "seqinfo.ini"]
        if settings.video_root is not None:
            inputs.append(Path(settings.video_root) / f"{seq.name}{VIDEO_SUFFIX}")
    guard = OutputGuard(inputs, root=out_dir)
    guard.check_all([out_dir / name for name in BENCH_FILES], "output_dir")
    paths = {}
    for seq in sequences:
        stem = safe_component(seq.name, "sequence")
        for name in trackers:
            paths[name, seq] = guard.check(out_dir / safe_component(name, "tracker") / f"{stem}.txt", "output_dir")
    return paths


def run_bench(settings: BenchSettings, progress: Optional[Progress] = None) -> BenchResult:
    """Run every available tracker of ``settings`` on every selected sequence, write the MOT
    result files, and evaluate them. A peer that is not installed is skipped with its reason."""
    from tracker.evaluation import evaluate_trackers

    say = progress or (lambda _msg: None)
    started = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    t0 = time.perf_counter()
    sequences, notes = _select_sequences(settings)
    if settings.groups is not None:  # a bad group spec fails before anything runs
        resolve_groups(settings.groups, [s.name for s in sequences])
    skipped: Dict[str, str] = {}
    trackers = []
    for name in settings.trackers:  # build each once: a peer not installed, or weights missing, is reported
        try:
            make_adapter(name, 30.0, image_size=(640, 480))
        except PeerUnavailable as exc:
            skipped[name] = str(exc)
        except (ImportError, OSError, ValueError) as exc:  # e.g. shipped weights of our default missing
            skipped[name] = f"cannot be built: {type(exc).__name__}: {exc}"
        if name in skipped:
            say(f"{name}: not run: {skipped[name]}")
            continue
        trackers.append(name)
    embedder = None
    if settings.video_root is not None and {"ours", "ours-online", "ours-heldout"} & set(trackers) \
            and settings.use_embedder:
        embedder, why = load_default_embedder()
        if embedder is None:
            notes.append(f"ours: the default appearance embedder could not be loaded ({why}); "
                         "ours runs without frames")
            say(notes[-1])
    if settings.video_root is not None and not Path(settings.video_root).is_dir():
        raise InputError(f"video_root {settings.video_root}: not a folder (expected a folder of <SEQ>.mp4 files)",
                         "video_root")
    result_paths = plan_result_paths(settings, sequences, trackers)
    runs: Dict[str, Dict[str, TrackerRun]] = {t: {} for t in trackers}
    seq_info: Dict[str, dict] = {}
    for seq_dir in sequences:
        info = read_seqinfo(seq_dir)
        dets = load_detections(seq_dir / "det" / settings.det_name, min_score=settings.min_score,
                               score_rescale=settings.score_rescale, seq_length=info.seq_length)
        source = find_frame_source(info, settings.video_root)
        seq_notes = [f"{note}, for every tracker" for note in dets.notes()]
        seq_info[seq_dir.name] = {"frames": info.seq_length, "fps": info.frame_rate,
                               "size": [info.width, info.height],
                               "detections": int(sum(len(d) for d in dets.by_frame.values())),
                               "frame_source": source.kind, "frame_source_note": source.note, "notes": seq_notes}
        online: Dict[str, TrackerRun] = {}  # one online run per base tracker serves its rows
        for name in trackers:
            base = base_tracker(name)
            if base not in online:
                adapter = make_adapter(base, info.frame_rate, frames_available=source.available, embedder=embedder,
                                       image_size=(info.width, info.height), sequence=info.name)
                online[base] = run_sequence(adapter, dets, info, source)
            run = with_offline_stage(online[base], name, info)
            write_mot_results(result_paths[name, seq_dir], run.rows)
            runs[name][seq_dir.name] = run
            say(f"{info.name}: {name}: {run.frames} frames, {run.tracks} ids, {run.frames_per_second:.0f} frames/s"
                + (" (with frames)" if run.frames_used else ""))
    say("evaluating ...")
    names = [s.name for s in sequences]
    # the folder each tracker's files went to (its name made one path component: sort+interp -> sort_interp)
    folders = {t: result_paths[t, sequences[0]].parent for t in trackers}
    reports = evaluate_trackers(settings.mot_root, folders, seqs=names)
    eval_warnings = sorted({w for r in reports.values() for w in r.warnings})
    benchmarks = {s: r.info.get("benchmark") for s, r in next(iter(reports.values())).per_sequence.items()} \
        if reports else {}
    groups = resolve_groups(settings.groups, names, benchmarks)
    return BenchResult(settings, seq_info, runs, skipped, reports, notes, started, time.perf_counter() - t0,
                       eval_warnings, groups)


def machine_info() -> dict:
    """CPU count, processor, OS and versions of the pieces that matter for speed."""
    import scipy

    info = {"cpu_count": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor() or None,
            "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "trackers": peers_version()}
    try:
        info["sched_cpus"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        pass
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except Exception:  # noqa: BLE001
        pass
    return info


def describe_trackers(trackers: Sequence[str]) -> Dict[str, str]:
    return {t: DISPLAY_NAMES.get(t, t) for t in trackers}


__all__ = ["BenchResult", "BenchSettings", "FrameOrigin", "OURS_TRACKERS", "TrackerRun", "find_frame_source",
           "iter_frames", "load_default_embedder", "machine_info", "run_bench", "run_sequence"]
