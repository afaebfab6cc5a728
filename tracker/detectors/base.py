"""The detector protocol: one frame in, one ``Detections`` out.

A detector is anything callable as ``detector(frame, frame_index=None) -> Detections`` where
``frame`` is an (H, W, 3) uint8 BGR image (OpenCV's layout), ``frame_index`` its 0-based index
in the source (used by detectors that replay a file; others ignore it), and the boxes come back
as ``xyxy`` float pixels of that frame. A plain ``fn(frame) -> Detections`` is adapted by
``as_detector``. Detectors live outside the tracker: the tracker never sees their
post-processing, and any callable with this signature can stand in for one
(``as_detector`` adapts and checks it).
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Protocol, runtime_checkable

import numpy as np

from tracker.detections import Detections
from tracker.errors import InputTypeError


@runtime_checkable
class Detector(Protocol):
    """``__call__(frame: (H, W, 3) uint8 BGR, frame_index: 0-based or None) -> Detections``
    (xyxy pixels of ``frame``)."""

    def __call__(self, frame: np.ndarray, frame_index: Optional[int] = None) -> Detections:  # pragma: no cover
        ...


def validate_frame(frame: Any, who: str = "detector") -> np.ndarray:
    """Check that ``frame`` is an (H, W, 3) uint8 image with H, W >= 1 and return it.

    Raises ``ValueError`` naming what is wrong (type, shape or dtype); nothing is copied.
    """
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"{who}: frame must be a numpy array (H, W, 3) uint8 BGR, got {type(frame).__name__}")
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"{who}: frame must have shape (H, W, 3) (BGR), got {frame.shape}")
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise ValueError(f"{who}: frame is empty, shape {frame.shape}")
    if frame.dtype != np.uint8:
        raise ValueError(f"{who}: frame must be uint8 (0-255 BGR), got dtype {frame.dtype}")
    return frame


def _to_detections(result: Any, who: str) -> Detections:
    if isinstance(result, Detections):
        return result
    # supervision.Detections and look-alikes (duck-typed, no dependency)
    if hasattr(result, "xyxy") and (hasattr(result, "confidence") or hasattr(result, "class_id")):
        return Detections.from_supervision(result)
    raise InputTypeError(
        f"{who} returned {type(result).__name__}; a detector must return tracker.detections.Detections "
        "(or a supervision.Detections)"
    )


class CallableDetector:
    """Adapts any ``fn(frame) -> Detections`` to the ``Detector`` protocol.

    The frame is validated before ``fn`` sees it; ``fn``'s result must be a ``Detections``
    (a ``supervision.Detections`` is converted). With ``clip=True`` (default) boxes are
    clipped to the frame and boxes left without area are dropped (``Detections.clip_to``).
    """

    def __init__(self, fn: Callable[[np.ndarray], Any], clip: bool = True):
        if not callable(fn):
            raise ValueError(f"as_detector needs a callable frame -> Detections, got {type(fn).__name__}")
        self.fn = fn
        self.clip = bool(clip)
        self.name = getattr(fn, "__name__", type(fn).__name__)

    def __call__(self, frame: np.ndarray, frame_index: Optional[int] = None) -> Detections:
        """``fn(frame)``, checked (the index is not the user function's business)."""
        frame = validate_frame(frame, self.name)
        dets = _to_detections(self.fn(frame), self.name)
        if self.clip and len(dets):
            dets = dets.clip_to(frame.shape[1], frame.shape[0])
        return dets

    def __repr__(self) -> str:
        return f"CallableDetector({self.name}, clip={self.clip})"


def as_detector(fn: Callable[[np.ndarray], Any], clip: bool = True) -> Detector:
    """Return ``fn`` as a ``Detector``.

    Our own detectors (which validate their frames already) are returned unchanged; any other
    callable is wrapped in ``CallableDetector`` (frame validation, result type check, clipping).
    """
    if isinstance(fn, BaseDetector):
        return fn
    return CallableDetector(fn, clip=clip)


class BaseDetector:
    """Marker base class of the detectors in this package (they validate frames themselves)."""

    def __call__(self, frame: np.ndarray, frame_index: Optional[int] = None) -> Detections:  # pragma: no cover
        raise NotImplementedError
