"""Small shared pieces of the detectors: inference sessions and non-maximum suppression."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import numpy as np


def check_threads(threads: Optional[int], field: str = "threads") -> Optional[int]:
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"{field} must be None (runtime default) or an integer >= 1, got {threads!r}")
    return int(threads)


def check_fraction(value: float, field: str, low: float = 0.0, high: float = 1.0) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field} must be a number in [{low}, {high}], got {value!r}") from None
    if not (low <= value <= high):
        raise ValueError(f"{field} must be in [{low}, {high}], got {value}")
    return value


def ort_session(model: Union[str, Path, bytes], threads: Optional[int] = None):
    """An onnxruntime CPU ``InferenceSession``; ``threads`` caps intra-op threads (None: all
    cores, onnxruntime's default); threads sleep rather than spin between ops. Loading never
    touches the network."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # errors only: no console chatter from library code
    # No busy-waiting between ops: the detector shares the CPU with the embedder and the
    # tracker; measured on 2 shared cores, spinning doubled both wall time and CPU time.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads is not None:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, sess_options=opts, providers=["CPUExecutionProvider"])


def nms_xyxy(xyxy: np.ndarray, scores: np.ndarray, class_ids: Optional[np.ndarray], iou: float) -> np.ndarray:
    """Greedy non-maximum suppression, class-wise when ``class_ids`` is given.

    xyxy: (N, 4) pixels; scores: (N,) any finite values; class_ids: (N,) int or None;
    iou: a box is suppressed when its IoU with a kept, higher-scored box of the same class is
    > ``iou``. Returns the kept row indices, highest score first (ties: lower index first).
    """
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    scores = np.asarray(scores, np.float64).reshape(-1)
    if len(xyxy) == 0:
        return np.zeros(0, np.int64)
    if class_ids is not None:
        # boxes of different classes never overlap once shifted apart by more than the extent
        span = float(np.max(xyxy) - np.min(xyxy)) + 1.0
        xyxy = xyxy + (np.asarray(class_ids, np.float64).reshape(-1, 1) - np.min(class_ids)) * span
    order = np.argsort(-scores, kind="stable")
    areas = (xyxy[:, 2] - xyxy[:, 0]).clip(0) * (xyxy[:, 3] - xyxy[:, 1]).clip(0)
    keep = []
    while len(order):
        i = order[0]
        keep.append(i)
        rest = order[1:]
        iw = (np.minimum(xyxy[i, 2], xyxy[rest, 2]) - np.maximum(xyxy[i, 0], xyxy[rest, 0])).clip(0)
        ih = (np.minimum(xyxy[i, 3], xyxy[rest, 3]) - np.maximum(xyxy[i, 1], xyxy[rest, 1])).clip(0)
        inter = iw * ih
        union = areas[i] + areas[rest] - inter
        overlap = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
        order = rest[overlap <= iou]
    return np.asarray(keep, np.int64)
