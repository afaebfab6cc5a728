"""Build a run's parts from its specification: the source, the detector, the embedder and
the tracker settings. Library functions: they take specs (``tracker.run.spec``), never
command-line namespaces, and raise ``InputError`` naming the parameter.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple

from tracker.config import TrackerConfig
from tracker.errors import InputError
from tracker.offline import OfflineConfig
from tracker.special_paths import describe_special
from tracker.run.spec import ONNX_SCORE_THRESHOLD, DetectorSpec, RunSpec, SourceSpec


def build_source(spec: SourceSpec, location: Any = None):
    """Open ``spec.location`` (or ``location``: a path, URL, webcam index) as a ``FrameSource``
    with the spec's range, frame rate and stream settings."""
    from tracker.io.sources import open_source

    return open_source(spec.location if location is None else location, start=spec.start, end=spec.end,
                       stride=spec.stride, fps=spec.fps, timeout_s=spec.timeout_s, retries=spec.retries,
                       retry_backoff_s=spec.retry_backoff_s)


def build_detector(spec: DetectorSpec) -> Callable:
    """The detector ``spec`` asks for: a ``DetectionFileDetector``, an ``OnnxDetector`` or the
    embedded people detector (``InputError`` for a missing or unusable file)."""
    from tracker import detectors

    if spec.kind == "file":
        path = Path(spec.detections)
        if not path.is_file():
            special = describe_special(path)
            raise InputError(f"{path}: detection file not found" if special is None
                             else f"detections {special} (expected a detection file)", "detections")
        return detectors.DetectionFileDetector(path, min_score=spec.score_threshold, score_rescale=spec.score_rescale)
    if spec.kind == "onnx":
        return _onnx_detector(spec)
    kwargs = {} if spec.score_threshold is None else {"score_threshold": spec.score_threshold}
    if spec.tile_grid() is not None:  # None: the detector's own choice for the frame shape
        kwargs["tiles"] = spec.tile_grid()
    try:
        return detectors.default_detector(threads=spec.threads, **kwargs)
    except InputError:
        raise
    except ValueError as exc:
        raise InputError(f"tiles/score_threshold: {exc}", "tiles") from None


def _onnx_detector(spec: DetectorSpec):
    from tracker import detectors

    path = Path(spec.onnx)
    if not path.is_file():
        raise InputError(f"{path}: ONNX model not found", "onnx")
    classes = spec.class_list()
    try:
        detector = detectors.OnnxDetector(
            path, input_size=spec.network_size(),
            score_threshold=ONNX_SCORE_THRESHOLD if spec.score_threshold is None else spec.score_threshold,
            class_names=spec.class_names, classes=classes, output_format=spec.onnx_format, threads=spec.threads)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - onnxruntime's own errors for a file that is not a model
        if isinstance(exc, ValueError):
            raise InputError(f"onnx {path}: {exc}", "onnx") from None
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise InputError(f"onnx {path}: cannot load the model ({type(exc).__name__}: {first_line})", "onnx") from None
    check_class_filter(classes, getattr(detector, "class_names", None))
    return detector


def check_class_filter(classes, names) -> None:
    """``classes`` by name needs known class names: checked now, not at the first frame."""
    if not classes:
        return
    by_name = [c for c in classes if not c.lstrip("-").isdigit()]
    if by_name and names is None:
        raise InputError(f"classes {','.join(by_name)}: the model does not name its classes; "
                         "give class_names or class ids", "classes")
    unknown = [c for c in by_name if c not in names]
    if unknown:
        raise InputError(f"classes: unknown class name(s) {', '.join(unknown)} (the model's classes: "
                         f"{', '.join(names[:20])}{' ...' if len(names) > 20 else ''})", "classes")


def build_embedder(appearance: Any) -> Tuple[Optional[Callable], Optional[str]]:
    """``(embed callable (frame, xyxy) -> (N, D) or None, note or None)`` for ``appearance``
    (``auto``, ``on``, ``off``, None, or an embedder); see ``tracker.pipeline.resolve_embedder``."""
    from tracker.pipeline import resolve_embedder

    return resolve_embedder(appearance)


def input_files(spec: RunSpec) -> List[Path]:
    """The files a run reads besides its source (never to be overwritten by its outputs): the
    detection file, the ONNX model, a class-names file (``class_names`` may also be a list)."""
    det = spec.detector
    files = [Path(p) for p in (det.detections, det.onnx) if p is not None]
    if det.class_names and Path(det.class_names).is_file():
        files.append(Path(det.class_names))
    return files


def build_file_run(spec: RunSpec, source, detector, *, embedder: Any, output_dir=None, extra_inputs: Sequence = (),
                   options: Optional[dict] = None, wait: bool = False, keep_annotated: bool = False,
                   name: Optional[str] = None):
    """The ``FileRun`` of ``track SOURCE`` (and of each ``track batch`` source) for ``spec``:
    its video settings, tracker settings and inputs; ``output_dir`` defaults to the spec's;
    ``options`` are recorded in the summary beside the spec's source range, appearance and
    overrides; ``name`` replaces the source's name as the file stem."""
    from tracker.pipeline import FileRun

    out = spec.output
    offline = offline_config(spec, source)
    recorded = {"start": spec.source.start, "end": spec.source.end, "stride": spec.source.stride,
                "appearance": spec.appearance, "set": dict(spec.overrides), "offline": offline is not None,
                **(options or {})}
    return FileRun(source, detector, output_dir=out.output_dir if output_dir is None else output_dir,
                   video=out.video, codec=out.codec, trail_frames=out.trail, config=video_tracker_config(spec),
                   embedder=embedder, keep_annotated=keep_annotated,
                   extra_inputs=[*input_files(spec), *extra_inputs], options=recorded, wait=wait, offline=offline,
                   name=name)


def offline_config(spec: RunSpec, source=None) -> Optional[OfflineConfig]:
    """The offline stage's settings for a run of ``spec`` over ``source`` (a ``FrameSource``):
    ``OfflineConfig()`` for a file or frame folder when ``spec.offline``; None (online) for a
    live source (webcam, stream) or ``offline`` False."""
    live = bool(getattr(getattr(source, "info", None), "live", False))
    return OfflineConfig() if spec.offline and not live else None


def video_tracker_config(spec: RunSpec) -> TrackerConfig:
    """The tracker settings of ``track SOURCE``: ``video_config()`` with the spec's associator
    and overrides."""
    from tracker.pipeline import video_config

    return spec.tracker_config(video_config())


def mot_tracker_config(spec: RunSpec) -> TrackerConfig:
    """The tracker settings of ``track mot``: ``TrackerConfig()`` with the spec's associator
    and overrides."""
    return spec.tracker_config(TrackerConfig())
