"""Detectors: one frame (H, W, 3) uint8 BGR in, ``Detections`` (xyxy pixels) out.

* ``default_detector()`` / ``SSDLitePersonDetector``: the embedded, offline default; it
  detects **people only** (see ``docs/detector.md`` for what it misses and measured numbers);
* ``DetectionFileDetector``: replays a MOTChallenge ``det.txt``;
* ``OnnxDetector``: a user-supplied YOLOv8/YOLOv5/YOLOX-style ONNX model;
* ``as_detector(fn)``: any callable ``frame -> Detections``.
"""
from __future__ import annotations

from typing import Optional

from tracker.detectors.base import BaseDetector, CallableDetector, Detector, as_detector, validate_frame
from tracker.detectors.det_file import DetectionFileDetector
from tracker.detectors.onnx_yolo import OUTPUT_FORMATS, OnnxDetector, OnnxDetectorConfig, load_class_names
from tracker.detectors.ssdlite import (
    DEFAULT_SCORE_THRESHOLD,
    SSDLiteConfig,
    SSDLitePersonDetector,
    model_metadata,
    model_path,
)

__all__ = [
    "BaseDetector", "CallableDetector", "Detector", "as_detector", "validate_frame",
    "DetectionFileDetector", "OnnxDetector", "OnnxDetectorConfig", "OUTPUT_FORMATS", "load_class_names",
    "SSDLitePersonDetector", "SSDLiteConfig", "DEFAULT_SCORE_THRESHOLD", "model_path", "model_metadata",
    "default_detector",
]


def default_detector(score_threshold: float = DEFAULT_SCORE_THRESHOLD, threads: Optional[int] = None,
                     **kwargs) -> SSDLitePersonDetector:
    """The embedded people detector (SSDLite-MobileNetV2, ONNX, offline) with its measured
    default threshold; extra keyword arguments go to ``SSDLitePersonDetector``."""
    return SSDLitePersonDetector(score_threshold=score_threshold, threads=threads, **kwargs)
