"""A user-supplied ONNX detector with YOLO-family outputs (YOLOv8/YOLO11, YOLOv5, YOLOX).

Nothing is downloaded: the user passes the path of an exported model. Supported output
layouts (``output_format``; boxes are ``cx, cy, w, h`` in pixels of the network input unless
said otherwise, C = number of classes, A = number of candidate boxes):

=============  ===================  ==========================================================
format         output shape         meaning / pre-processing it implies
=============  ===================  ==========================================================
``yolov8``     (1, 4 + C, A)        Ultralytics YOLOv8/v9/v11 export: 4 box values, C class
                                    scores (already sigmoid). Input RGB, pixels / 255,
                                    letterbox centred, pad value 114.
``yolov5``     (1, A, 5 + C)        YOLOv5/v7 export: box, objectness, C class scores;
                                    score = objectness x class score. Input as ``yolov8``.
``yolox``      (1, A, 5 + C)        YOLOX export with ``--decode_in_inference``: as
                                    ``yolov5`` but input BGR, pixels 0-255 unscaled, letterbox
                                    at the top-left corner, pad value 114.
``yolox_raw``  (1, A, 5 + C)        YOLOX's default ``export_onnx.py`` output (not decoded):
                                    box values are grid offsets and log sizes for strides 8,
                                    16, 32 (A = sum of (H/s)(W/s)); decoded here.
``end2end``    (1, K, 6)            NMS-free export (YOLOv10, YOLO26 ``end2end``): ``x1, y1,
                                    x2, y2, score, class`` in input pixels. Input as ``yolov8``.
=============  ===================  ==========================================================

``auto`` (default) chooses from the output shape and the model's metadata: (1, 4 + C, A)
with 4 + C < A is ``yolov8``; a model whose metadata says ``end2end`` is ``end2end``; (1, A,
5 + C) is ``yolov5`` when the model carries Ultralytics/YOLOv5 metadata (``names`` or
``stride``), otherwise ``yolox``, or ``yolox_raw`` when A matches the strides-8/16/32 grid and
some box size is negative (log-space sizes; decoded sizes are always positive).

Class names come from ``class_names`` (a list, a comma-separated string, or a text file with one
name per line), else from the model's ``names`` metadata (Ultralytics exports), else are
``class0, class1, ...``. Boxes are mapped back through the letterbox to pixels of the frame,
clipped to it, and suppressed class-wise (NMS at ``nms_iou``) except for ``end2end``.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from tracker.detections import Detections
from tracker.detectors._runtime import check_fraction, check_threads, nms_xyxy, ort_session
from tracker.detectors.base import BaseDetector, validate_frame

OUTPUT_FORMATS = ("auto", "yolov8", "yolov5", "yolox", "yolox_raw", "end2end")
BACKENDS = ("onnxruntime", "opencv")
DEFAULT_INPUT_SIZE = (640, 640)
PAD_VALUE = 114
YOLOX_STRIDES = (8, 16, 32)
MAX_LOG_SIZE = 30.0  # yolox_raw: cap on log-space box sizes before exp (overflow guard)
MAX_CANDIDATES = 3000  # boxes above the score threshold sent to NMS, highest scores first


@dataclass(frozen=True)
class Preprocess:
    """How a frame becomes the network input: channel order, pixel scale, letterbox anchor."""

    rgb: bool
    pixel_scale: float
    centred: bool


PRESETS = {
    "yolov8": Preprocess(rgb=True, pixel_scale=1.0 / 255.0, centred=True),
    "yolov5": Preprocess(rgb=True, pixel_scale=1.0 / 255.0, centred=True),
    "end2end": Preprocess(rgb=True, pixel_scale=1.0 / 255.0, centred=True),
    "yolox": Preprocess(rgb=False, pixel_scale=1.0, centred=False),
    "yolox_raw": Preprocess(rgb=False, pixel_scale=1.0, centred=False),
}


def load_class_names(spec: Union[None, str, Path, Sequence[str]]) -> Optional[Tuple[str, ...]]:
    """``None`` -> None; a list/tuple -> tuple; a path to an existing text file -> its
    non-blank lines; any other string -> comma-separated names."""
    if spec is None:
        return None
    if isinstance(spec, (list, tuple)):
        names = tuple(str(n).strip() for n in spec)
    elif isinstance(spec, (str, Path)) and Path(spec).is_file():
        names = tuple(line.strip() for line in Path(spec).read_text(encoding="utf-8").splitlines() if line.strip())
    elif isinstance(spec, str):
        names = tuple(n.strip() for n in spec.split(","))
    else:
        raise ValueError(f"class_names must be a list, a comma-separated string or a text file, got {spec!r}")
    if not names or any(not n for n in names):
        raise ValueError(f"class_names has an empty name: {spec!r}")
    return names


def _parse_size(value) -> Optional[Tuple[int, int]]:
    if value is None:
        return None
    if isinstance(value, str):  # "640" or "640x384" (width x height), as a command line gives it
        parts = value.lower().replace(",", "x").split("x")
        try:
            value = tuple(int(p) for p in parts) if len(parts) == 2 else int(parts[0])
        except ValueError:
            raise ValueError(f"input_size must be WIDTHxHEIGHT or one number, got {value!r}") from None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value), int(value))
    try:
        w, h = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"input_size must be an int or (width, height), got {value!r}") from None
    if w < 8 or h < 8 or w > 8192 or h > 8192:
        raise ValueError(f"input_size must be (width, height) with each in 8..8192, got {value!r}")
    return w, h


@dataclass(frozen=True)
class OnnxDetectorConfig:
    """Settings of ``OnnxDetector`` (see the module docstring for formats).

    path: the ``.onnx`` file.
    input_size: (width, height) of the network input in pixels, an int for a square, or a
        string ``"640"`` / ``"640x384"``; None: the model's static input size (onnxruntime
        backend), else 640x640.
    score_threshold: keep boxes with a final score >= this, [0, 1].
    nms_iou: class-wise NMS IoU threshold, [0, 1].
    class_names: names of the model's classes (list, comma string or text file).
    classes: keep only these classes (names or integer ids, or a comma-separated string);
        None keeps all.
    output_format: one of ``OUTPUT_FORMATS``.
    backend: ``onnxruntime`` (default) or ``opencv`` (OpenCV DNN; its thread count is
        process-wide and left alone).
    threads: onnxruntime intra-op threads (None: all cores).
    max_detections: at most this many boxes per frame, highest scores first.
    rgb / pixel_scale / centred_letterbox: override the format's pre-processing (None: the
        format's preset).
    """

    path: str
    input_size: Optional[Tuple[int, int]] = None
    score_threshold: float = 0.25
    nms_iou: float = 0.45
    class_names: Optional[Tuple[str, ...]] = None
    classes: Optional[Tuple[Union[int, str], ...]] = None
    output_format: str = "auto"
    backend: str = "onnxruntime"
    threads: Optional[int] = None
    max_detections: int = 300
    rgb: Optional[bool] = None
    pixel_scale: Optional[float] = None
    centred_letterbox: Optional[bool] = None

    def __post_init__(self) -> None:
        if not Path(self.path).is_file():
            raise ValueError(f"path: ONNX model {self.path} not found")
        object.__setattr__(self, "input_size", _parse_size(self.input_size))
        check_fraction(self.score_threshold, "score_threshold")
        check_fraction(self.nms_iou, "nms_iou")
        object.__setattr__(self, "class_names", load_class_names(self.class_names))
        if self.classes is not None:
            if isinstance(self.classes, str):
                classes = tuple(c.strip() for c in self.classes.split(",") if c.strip())
            elif isinstance(self.classes, (int, np.integer)):
                classes = (int(self.classes),)
            else:
                classes = tuple(self.classes)
            if not classes:
                raise ValueError("classes must be None (all classes) or a non-empty list of names or ids")
            object.__setattr__(self, "classes", classes)
        if self.output_format not in OUTPUT_FORMATS:
            raise ValueError(f"output_format must be one of {OUTPUT_FORMATS}, got {self.output_format!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        check_threads(self.threads)
        if isinstance(self.max_detections, bool) or not isinstance(self.max_detections, (int, np.integer)) \
                or self.max_detections < 1:
            raise ValueError(f"max_detections must be an integer >= 1, got {self.max_detections!r}")
        if self.pixel_scale is not None and not (np.isfinite(self.pixel_scale) and self.pixel_scale > 0):
            raise ValueError(f"pixel_scale must be a positive number or None, got {self.pixel_scale!r}")


def letterbox(frame: np.ndarray, size: Tuple[int, int], centred: bool) -> Tuple[np.ndarray, float, float, float]:
    """Resize ``frame`` keeping its aspect ratio into ``size`` = (width, height), padding with
    114. Returns (image (h, w, 3) uint8, scale, pad_x, pad_y): input = frame * scale + pad."""
    in_w, in_h = size
    h, w = frame.shape[:2]
    scale = min(in_w / w, in_h / h)
    new_w, new_h = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR) if (new_w, new_h) != (w, h) else frame
    if centred:
        left, top = int(round((in_w - new_w) / 2 - 0.1)), int(round((in_h - new_h) / 2 - 0.1))
    else:
        left = top = 0
    out = np.full((in_h, in_w, 3), PAD_VALUE, np.uint8)
    out[top:top + new_h, left:left + new_w] = resized
    return out, scale, float(left), float(top)


def yolox_grid(size: Tuple[int, int], strides=YOLOX_STRIDES) -> Tuple[np.ndarray, np.ndarray]:
    """YOLOX anchor points for an input (width, height): (A, 2) grid x, y and (A, 1) strides."""
    w, h = size
    grids, expanded = [], []
    for s in strides:
        gw, gh = w // s, h // s
        xv, yv = np.meshgrid(np.arange(gw), np.arange(gh))
        grids.append(np.stack([xv, yv], axis=2).reshape(-1, 2))
        expanded.append(np.full((gw * gh, 1), s))
    return np.concatenate(grids).astype(np.float64), np.concatenate(expanded).astype(np.float64)


class OnnxDetector(BaseDetector):
    """Runs a user's YOLO-style ONNX detector: ``detector(frame) -> Detections``.

    ``frame`` (H, W, 3) uint8 BGR; boxes come back in pixels of ``frame``; ``class_ids`` are
    the model's class indices (names in ``detector.class_names``).
    """

    def __init__(self, path: Union[str, Path], input_size=None, score_threshold: float = 0.25,
                 nms_iou: float = 0.45, class_names=None, classes=None, output_format: str = "auto",
                 backend: str = "onnxruntime", threads: Optional[int] = None, max_detections: int = 300,
                 rgb: Optional[bool] = None, pixel_scale: Optional[float] = None,
                 centred_letterbox: Optional[bool] = None, config: Optional[OnnxDetectorConfig] = None):
        self.config = config if config is not None else OnnxDetectorConfig(
            str(path), input_size, score_threshold, nms_iou, class_names, classes, output_format, backend,
            threads, max_detections, rgb, pixel_scale, centred_letterbox)
        cfg = self.config
        self._metadata = {}
        self._nhwc = False
        self._fp16 = False
        model_shape = None
        if cfg.backend == "onnxruntime":
            self.session = ort_session(cfg.path, cfg.threads)
            inp = self.session.get_inputs()[0]
            self._input_name = inp.name
            model_shape = list(inp.shape)
            self._fp16 = inp.type == "tensor(float16)"
            self._metadata = dict(self.session.get_modelmeta().custom_metadata_map or {})
            self._net = None
        else:
            self.session = None
            self._net = cv2.dnn.readNetFromONNX(cfg.path)
        # input layout and size: NCHW (1, 3, H, W) normally; NHWC (1, H, W, 3) accepted
        static = None
        if model_shape is not None and len(model_shape) == 4:
            if model_shape[1] == 3:
                static = model_shape[2:4]
            elif model_shape[3] == 3:
                self._nhwc = True
                static = model_shape[1:3]
        model_size = None
        if static is not None and all(isinstance(d, int) and d > 0 for d in static):
            model_size = (int(static[1]), int(static[0]))
        if cfg.input_size is not None and model_size is not None and cfg.input_size != model_size:
            raise ValueError(f"input_size {cfg.input_size} (width, height) differs from the model's fixed input "
                             f"{model_size}; leave input_size unset or export the model at that size")
        self.input_size = cfg.input_size or model_size or DEFAULT_INPUT_SIZE
        names = cfg.class_names
        if names is None and "names" in self._metadata:
            names = _names_from_metadata(self._metadata["names"])
        self.class_names = names
        self._format = None if cfg.output_format == "auto" else cfg.output_format
        self._keep_ids = None

    # ------------------------------------------------------------------ format
    def _resolve_format(self, out: np.ndarray) -> str:
        if self._format is not None:
            return self._format
        meta = {k.lower(): str(v).lower() for k, v in self._metadata.items()}
        if meta.get("end2end") == "true" and out.shape[-1] == 6:
            fmt = "end2end"
        elif out.shape[0] < out.shape[1]:
            fmt = "yolov8"
        elif "names" in meta or "stride" in meta:
            fmt = "yolov5"
        else:
            grid, _ = yolox_grid(self.input_size)
            raw = out.shape[0] == len(grid) and bool(np.any(out[:, 2:4] < 0))
            fmt = "yolox_raw" if raw else "yolox"
        self._format = fmt
        return fmt

    @property
    def output_format(self) -> Optional[str]:
        """The format in use (None until the first frame when ``auto``)."""
        return self._format

    # ------------------------------------------------------------------ run
    def _forward(self, blob: np.ndarray) -> np.ndarray:
        if self.session is not None:
            return self.session.run(None, {self._input_name: blob})[0]
        self._net.setInput(blob)
        return self._net.forward()

    def _prepare(self, frame: np.ndarray, fmt_hint: str) -> Tuple[np.ndarray, float, float, float]:
        cfg = self.config
        preset = PRESETS[fmt_hint]
        rgb = preset.rgb if cfg.rgb is None else cfg.rgb
        scale_px = preset.pixel_scale if cfg.pixel_scale is None else cfg.pixel_scale
        centred = preset.centred if cfg.centred_letterbox is None else cfg.centred_letterbox
        img, scale, pad_x, pad_y = letterbox(frame, self.input_size, centred)
        if rgb:
            img = img[:, :, ::-1]
        blob = img.astype(np.float32) * np.float32(scale_px)
        blob = blob[None] if self._nhwc else blob.transpose(2, 0, 1)[None]
        blob = np.ascontiguousarray(blob, dtype=np.float16 if self._fp16 else np.float32)
        return blob, scale, pad_x, pad_y

    def __call__(self, frame: np.ndarray, frame_index: Optional[int] = None) -> Detections:
        frame = validate_frame(frame, "OnnxDetector")
        # The pre-processing depends on the format; with ``auto`` the format is known only from
        # the output, so the first frame may run twice (once with the yolov8 preset).
        hint = self._format or "yolov8"
        blob, scale, pad_x, pad_y = self._prepare(frame, hint)
        out = self._squeeze(self._forward(blob))
        fmt = self._resolve_format(out)
        if PRESETS[fmt] != PRESETS[hint]:
            blob, scale, pad_x, pad_y = self._prepare(frame, fmt)
            out = self._squeeze(self._forward(blob))
        xyxy, scores, class_ids = self._decode(out.astype(np.float64), fmt)
        if len(xyxy):
            xyxy = (xyxy - np.array([pad_x, pad_y, pad_x, pad_y])) / scale
        return self._finish(xyxy, scores, class_ids, frame.shape[1], frame.shape[0], nms=fmt != "end2end")

    @staticmethod
    def _squeeze(out: np.ndarray) -> np.ndarray:
        out = np.asarray(out)
        if out.ndim == 3 and out.shape[0] == 1:
            out = out[0]
        if out.ndim != 2:
            raise ValueError(f"OnnxDetector: expected an output of shape (1, N, K) or (1, K, N), got {out.shape}")
        return out

    def _decode(self, out: np.ndarray, fmt: str):
        """out (2-D, batch removed) -> (M, 4) xyxy input pixels, (M,) scores, (M,) class ids."""
        if fmt == "yolov8":
            if out.shape[0] < 5 or out.shape[0] > out.shape[1]:
                raise ValueError(f"OnnxDetector: a yolov8 output is (1, 4 + C, A) with more candidates A than "
                                 f"4 + C rows, got {out.shape}; check output_format")
            pred = out.T  # (A, 4 + C)
            boxes, cls = pred[:, :4], pred[:, 4:]
            n_cls = cls.shape[1]
        elif fmt == "end2end":
            if out.shape[1] < 6:
                raise ValueError("OnnxDetector: an end2end output needs 6 columns (x1, y1, x2, y2, score, class), "
                                 f"got {out.shape}")
            keep = out[:, 4] >= self.config.score_threshold
            sel = out[keep]
            return sel[:, :4], sel[:, 4], np.round(sel[:, 5]).astype(np.int64)
        else:
            if out.shape[1] < 6 or out.shape[0] < out.shape[1]:
                raise ValueError(f"OnnxDetector: a {fmt} output is (1, A, 5 + C) with more candidates A than "
                                 f"5 + C columns, got {out.shape}; check output_format")
            boxes = out[:, :4].copy()
            if fmt == "yolox_raw":
                grid, strides = yolox_grid(self.input_size)
                if len(grid) != len(boxes):
                    raise ValueError(f"OnnxDetector: yolox_raw output has {len(boxes)} rows, the strides 8/16/32 grid "
                                     f"of a {self.input_size[0]}x{self.input_size[1]} input has {len(grid)}")
                boxes[:, :2] = (boxes[:, :2] + grid) * strides
                boxes[:, 2:4] = np.exp(np.minimum(boxes[:, 2:4], MAX_LOG_SIZE)) * strides
            cls = out[:, 5:] * out[:, 4:5]
            n_cls = cls.shape[1]
        if self.class_names is not None and len(self.class_names) != n_cls:
            raise ValueError(f"OnnxDetector: the model has {n_cls} classes but {len(self.class_names)} class names "
                             "were given")
        class_ids = np.argmax(cls, axis=1)
        scores = cls[np.arange(len(cls)), class_ids]
        keep = scores >= self.config.score_threshold
        boxes, scores, class_ids = boxes[keep], scores[keep], class_ids[keep]
        xyxy = np.concatenate([boxes[:, :2] - boxes[:, 2:4] / 2, boxes[:, :2] + boxes[:, 2:4] / 2], axis=1)
        return xyxy, scores, class_ids.astype(np.int64)

    def _class_filter(self) -> Optional[np.ndarray]:
        if self.config.classes is None:
            return None
        if self._keep_ids is None:
            ids = []
            for c in self.config.classes:
                if isinstance(c, str) and not c.strip().lstrip("-").isdigit():
                    if self.class_names is None or c not in self.class_names:
                        raise ValueError(f"classes: unknown class name {c!r} (class names: {self.class_names})")
                    ids.append(self.class_names.index(c))
                else:
                    ids.append(int(c))
            self._keep_ids = np.array(sorted(set(ids)), np.int64)
        return self._keep_ids

    def _finish(self, xyxy, scores, class_ids, width: int, height: int, nms: bool) -> Detections:
        keep_ids = self._class_filter()
        if keep_ids is not None and len(class_ids):
            sel = np.isin(class_ids, keep_ids)
            xyxy, scores, class_ids = xyxy[sel], scores[sel], class_ids[sel]
        xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4).copy()
        finite = np.all(np.isfinite(xyxy), axis=1) & np.isfinite(scores)
        xyxy, scores, class_ids = xyxy[finite], scores[finite], class_ids[finite]
        xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]], 0, width)
        xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]], 0, height)
        ok = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])
        xyxy, scores, class_ids = xyxy[ok], scores[ok], class_ids[ok]
        order = np.argsort(-scores, kind="stable")[:MAX_CANDIDATES]
        xyxy, scores, class_ids = xyxy[order], scores[order], class_ids[order]
        if nms and len(xyxy):
            keep = nms_xyxy(xyxy, scores, class_ids, self.config.nms_iou)
            xyxy, scores, class_ids = xyxy[keep], scores[keep], class_ids[keep]
        n = min(len(xyxy), self.config.max_detections)
        return Detections(xyxy[:n], scores[:n], class_ids[:n])

    def __repr__(self) -> str:
        c = self.config
        return (f"OnnxDetector({c.path!r}, input_size={self.input_size}, format={self._format or c.output_format}, "
                f"score_threshold={c.score_threshold}, backend={c.backend})")


def _names_from_metadata(text: str) -> Optional[Tuple[str, ...]]:
    """Ultralytics/YOLOv5 store ``names`` as a Python dict or list literal."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    if isinstance(value, dict):
        try:
            return tuple(str(value[k]) for k in sorted(value, key=int))
        except (TypeError, ValueError):
            return None
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return None
