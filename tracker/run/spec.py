"""The run specification: everything a run of ``track SOURCE`` (or one source of ``track
batch``) needs, as typed, validated, serialisable configs.

``RunSpec = SourceSpec + DetectorSpec + OutputSpec + appearance + associator + overrides``.
The command line parses its options into a ``RunSpec``; ``track batch`` sends the same spec to
its workers (it pickles; ``to_dict``/``from_dict`` round-trip it as JSON); the library builds
sources, detectors and embedders from it (``tracker.run.build``). Validation here is pure (no
file is opened); errors are ``InputError``s naming the parameter (``stride must be ...``), which
the command line shows with its flag (``--stride must be ...``).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple, Union

from tracker.camera_motion import CMC_METHODS
from tracker.config import ASSOCIATORS, TrackerConfig
from tracker.config_base import ConfigBase
from tracker.errors import InputError, parameter_error
from tracker.shots import SHOT_CUT_METHODS

#: ``appearance`` choices: the shipped embedder when installed / required / never
APPEARANCE_MODES = ("auto", "on", "off")
#: ``associator`` choices: the command's own default, or one of ``TrackerConfig``'s
ASSOCIATOR_MODES = ASSOCIATORS + ("default",)
#: ``DetectorSpec.tiles``: the detector's own choice for the frame shape
AUTO_TILES = "auto"
#: the largest tile grid side of the embedded detector
MAX_TILE_SIDE = 4
#: the score threshold of a user's ONNX detector when none is given: low, because the
#: tracker's second association uses the weak boxes (docs/video.md)
ONNX_SCORE_THRESHOLD = 0.1


def _check_choice(name: str, value: Any, choices: Tuple[str, ...]) -> None:
    if value not in choices:
        raise parameter_error(name, f"must be one of {', '.join(choices)}, got {value!r}")


def _check_optional_text(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise parameter_error(name, f"must be text, got {type(value).__name__}")


@dataclass(frozen=True)
class SourceSpec(ConfigBase):
    """Where the frames come from and which of them.

    location: a video file, a frame folder, a stream URL or a webcam index (``"0"``).
    start, end: first frame / frame to stop before, as a frame number (``"120"``) or a time
        (``"12.5s"``); None: from the first / to the last. stride: every k-th frame (>= 1).
    fps: frames per second when the source does not say (and to override it); None: the
        source's. timeout_s: seconds a stream may take to open or deliver a frame.
    retries, retry_backoff_s: reconnection attempts in a row after a stream stops, and the
        first wait between them in seconds (doubling).
    """

    location: str = ""
    start: Optional[str] = None
    end: Optional[str] = None
    stride: int = 1
    fps: Optional[float] = None
    timeout_s: float = 10.0
    retries: int = 3
    retry_backoff_s: float = 1.0

    def __post_init__(self) -> None:
        from tracker.io.sources import check_source_options

        _check_optional_text("start", self.start)
        _check_optional_text("end", self.end)
        if not isinstance(self.location, str):
            raise parameter_error("location", f"must be text, got {type(self.location).__name__}")
        check_source_options(start=self.start, end=self.end, stride=self.stride, fps=self.fps,
                             timeout_s=self.timeout_s, retries=self.retries, retry_backoff_s=self.retry_backoff_s)

    def with_location(self, location: Union[str, int]) -> "SourceSpec":
        return self.replace(location=str(location))


@dataclass(frozen=True)
class DetectorSpec(ConfigBase):
    """Which detector, with which settings.

    detections: a MOTChallenge detection file to replay (frame = decoded index + 1), or
    onnx: a YOLO-style ONNX model; neither: the embedded people detector.
    score_threshold: drop boxes below it (None: embedded 0.1, ONNX 0.1, a file keeps all).
    tiles: embedded detector only: ``"RxC"`` grid of overlapping tiles or ``"auto"``.
    classes, class_names, input_size, onnx_format: ONNX only (comma-separated names or ids; a
        file or comma-separated list; ``"N"`` or ``"WxH"``; the output layout).
    score_rescale: detection file only: map scores to [0, 1] (see ``tracker.io.mot``).
    threads: onnxruntime threads (None: all cores).
    """

    detections: Optional[str] = None
    onnx: Optional[str] = None
    score_threshold: Optional[float] = None
    tiles: str = AUTO_TILES
    classes: Optional[str] = None
    class_names: Optional[str] = None
    input_size: Optional[str] = None
    onnx_format: str = "auto"
    score_rescale: str = "auto"
    threads: Optional[int] = None

    def __post_init__(self) -> None:
        from tracker.detectors.onnx_yolo import OUTPUT_FORMATS
        from tracker.io.mot import SCORE_RESCALE_MODES

        for name in ("detections", "onnx", "classes", "class_names", "input_size"):
            _check_optional_text(name, getattr(self, name))
        if self.detections is not None and self.onnx is not None:
            raise InputError("detections and onnx are two detectors: give one of them", "detections")
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise parameter_error("threads", f"must be >= 1, got {self.threads}")
        if self.score_threshold is not None:
            if isinstance(self.score_threshold, bool) or not isinstance(self.score_threshold, (int, float)) \
                    or not math.isfinite(self.score_threshold):
                raise parameter_error("score_threshold", f"must be a finite number, got {self.score_threshold!r}")
            if self.kind != "file" and not 0.0 <= self.score_threshold <= 1.0:
                raise parameter_error("score_threshold", f"must be in [0, 1], got {self.score_threshold}")
        onnx_only = [name for name in ("classes", "class_names", "input_size") if getattr(self, name) is not None]
        if onnx_only and self.kind != "onnx":
            raise parameter_error(onnx_only[0], "only applies with an ONNX model")
        self.tile_grid()  # validates
        if self.tiles != AUTO_TILES and self.kind != "embedded":
            raise InputError("tiles only applies to the embedded detector", "tiles")
        self.network_size()  # validates
        _check_choice("onnx_format", self.onnx_format, OUTPUT_FORMATS)
        _check_choice("score_rescale", self.score_rescale, SCORE_RESCALE_MODES)

    @property
    def kind(self) -> str:
        """``"file"`` (a detection file), ``"onnx"`` or ``"embedded"``."""
        if self.detections is not None:
            return "file"
        return "onnx" if self.onnx is not None else "embedded"

    def tile_grid(self) -> Optional[Tuple[int, int]]:
        """``tiles`` as ``(rows, cols)``, or None for the detector's automatic grid."""
        if self.tiles == AUTO_TILES:
            return None
        try:
            rows, cols = (int(v) for v in str(self.tiles).lower().split("x"))
        except ValueError:
            raise parameter_error("tiles", f"expects RxC (e.g. 1x2) or auto, got {self.tiles!r}") from None
        if not (1 <= rows <= MAX_TILE_SIDE and 1 <= cols <= MAX_TILE_SIDE):
            raise parameter_error("tiles", f"rows and columns must be in [1, {MAX_TILE_SIDE}], got {self.tiles!r}")
        return rows, cols

    def network_size(self) -> Optional[Union[int, Tuple[int, int]]]:
        """``input_size`` as ``N`` or ``(W, H)`` (None: the model's own)."""
        if self.input_size is None:
            return None
        parts = self.input_size.lower().split("x")
        try:
            if len(parts) == 1:
                return int(parts[0])
            if len(parts) == 2:
                return int(parts[0]), int(parts[1])
        except ValueError:
            pass
        raise parameter_error("input_size", f"expects N or WxH, got {self.input_size!r}")

    def class_list(self) -> Optional[list]:
        return None if self.classes is None else [c.strip() for c in self.classes.split(",") if c.strip()]


@dataclass(frozen=True)
class OutputSpec(ConfigBase):
    """What is written, and where.

    output_dir: the folder (None: ``<stem>_tracks/`` beside the input); video: also write the
    annotated video, with ``codec`` (a four-character code) and motion trails of ``trail``
    frames (0: none).
    """

    output_dir: Optional[str] = None
    video: bool = True
    codec: str = "mp4v"
    trail: int = 20

    def __post_init__(self) -> None:
        from tracker.io.writers import check_codec

        _check_optional_text("output_dir", self.output_dir)
        if not isinstance(self.video, bool):
            raise parameter_error("video", f"must be true or false, got {self.video!r}")
        check_codec(self.codec)
        if isinstance(self.trail, bool) or not isinstance(self.trail, int) or self.trail < 0:
            raise parameter_error("trail", f"must be >= 0, got {self.trail}")


@dataclass(frozen=True)
class RunSpec(ConfigBase):
    """A whole run: ``source``, ``detector``, ``output``; ``appearance`` (``auto``, ``on``,
    ``off``); ``associator`` (``default``: the command's own; else one of ``ASSOCIATORS``);
    ``cmc``: camera-motion compensation when frames exist (``CMC_METHODS``: ``auto``, ``sparse``,
    ``ecc``, ``off``); ``shot_cuts``: hard-cut detection when frames exist (``auto``, ``off``:
    at a cut every track ends, ``tracker.shots``); ``overrides``: ``TrackerConfig`` settings,
    dotted for nested ones (``{"motion.measurement_noise": 0.1}``), applied after
    ``associator``, ``cmc`` and ``shot_cuts``; ``offline``: link the tracklets over the whole
    file when the run ends (``tracker.offline``; files only, a live source is always online);
    False: the online tracker's results as they come."""

    source: SourceSpec = field(default_factory=SourceSpec)
    detector: DetectorSpec = field(default_factory=DetectorSpec)
    output: OutputSpec = field(default_factory=OutputSpec)
    appearance: str = "auto"
    associator: str = "default"
    cmc: str = "auto"
    shot_cuts: str = "auto"
    overrides: Dict[str, Any] = field(default_factory=dict)
    offline: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.offline, bool):
            raise parameter_error("offline", f"must be true or false, got {self.offline!r}")
        for name, cls in (("source", SourceSpec), ("detector", DetectorSpec), ("output", OutputSpec)):
            if not isinstance(getattr(self, name), cls):
                raise parameter_error(name, f"must be a {cls.__name__}")
        _check_choice("appearance", self.appearance, APPEARANCE_MODES)
        _check_choice("associator", self.associator, ASSOCIATOR_MODES)
        _check_choice("cmc", self.cmc, CMC_METHODS)
        _check_choice("shot_cuts", self.shot_cuts, SHOT_CUT_METHODS)
        if not isinstance(self.overrides, Mapping):
            raise parameter_error("overrides", f"must be a mapping, got {type(self.overrides).__name__}")
        object.__setattr__(self, "overrides", dict(self.overrides))
        self.tracker_config(TrackerConfig())  # validates the overrides now, not at the first frame

    def tracker_config(self, base: TrackerConfig) -> TrackerConfig:
        """``base`` with ``associator`` (unless ``default``), ``cmc``, ``shot_cuts`` and then
        ``overrides`` applied."""
        settings = dict(self.overrides)
        if self.associator != "default":
            settings.setdefault("associator", self.associator)
        settings.setdefault("camera_motion.method", self.cmc)
        settings.setdefault("shot_cuts.method", self.shot_cuts)
        return apply_overrides(base, settings)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "RunSpec":
        return cls.from_dict(json.loads(text))


def apply_overrides(config: TrackerConfig, overrides: Mapping[str, Any]) -> TrackerConfig:
    """``config.with_overrides(overrides)`` with unknown keys and bad values as ``InputError``
    (parameter ``overrides``)."""
    check_setting_keys(overrides)
    try:
        return config.with_overrides(overrides)
    except ValueError as exc:
        raise InputError(f"overrides: {exc}", "overrides") from None


def check_setting_keys(overrides: Iterable[str]) -> None:
    """Every key names a ``TrackerConfig`` field or ``group.<field>`` of a nested config."""
    nested = TrackerConfig.nested_config_fields()
    valid = [name for name in TrackerConfig.field_names() if name not in nested]
    for key in overrides:
        group = key.split(".", 1)[0] if "." in key else None
        if (group is None and key not in valid) or (group is not None and group not in nested):
            raise InputError(f"overrides: unknown tracker setting {key!r}; valid: {', '.join(valid)}, "
                             + ", ".join(f"{n}.<field>" for n in nested), "overrides")


def parse_settings(items: Iterable[str]) -> Dict[str, Any]:
    """``["lost_horizon_s=4", "motion.measurement_noise=0.1"]`` -> ``{"lost_horizon_s": 4,
    "motion.measurement_noise": 0.1}``: values are parsed as JSON when they can be, kept as
    text otherwise; keys are checked (``check_setting_keys``)."""
    out: Dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise InputError(f"overrides: expected KEY=VALUE, got {item!r}", "overrides")
        key, value = (s.strip() for s in item.split("=", 1))
        check_setting_keys([key])
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):  # not JSON (or absurdly long/deep): keep the text
            parsed = value
        out[key] = parsed
    return out
