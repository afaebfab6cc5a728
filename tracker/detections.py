"""``Detections``: the one validated struct-of-arrays type for per-frame boxes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import numpy as np

from tracker.boxes import xywh_to_xyxy, xyxy_to_xywh
from tracker.errors import InputError

#: box coordinates must lie within +-this many pixels: widths, areas and IoU of larger boxes
#: overflow float32 (1e38 is finite in float32, its area is not)
MAX_ABS_COORDINATE = 1e7
#: class ids must fit int64
MAX_ABS_CLASS_ID = 2 ** 63 - 1


def _first_bad_row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _row_columns(data: Any, n: int) -> dict:
    """``data`` -> ``{name: (n, ...) array copy}``; ``ValueError`` for a column of another length."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ValueError(f"Detections.data must be a mapping of name -> (N, ...) array, got {type(data).__name__}")
    columns = {}
    for name, values in data.items():
        column = np.array(values, copy=True)
        if column.ndim == 0 or len(column) != n:
            raise ValueError(f"Detections.data[{name!r}] must have one entry per detection (N={n}), "
                             f"got shape {column.shape}")
        columns[str(name)] = column
    return columns


def _numbers(value, name: str, dtype) -> np.ndarray:
    """``np.array(value, dtype)`` copied, or ``InputError`` naming the array when the values
    are not numbers (strings, objects, ragged lists)."""
    if isinstance(value, (str, bytes)) or (isinstance(value, np.ndarray) and value.dtype.kind in "USOV"):
        raise InputError(f"Detections.{name} must be numbers, got {type(value).__name__} "
                         f"{'of ' + str(value.dtype) if isinstance(value, np.ndarray) else repr(value)[:40]}")
    try:
        arr = np.array(value, dtype=dtype, copy=True)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputError(f"Detections.{name} must be numbers ({type(exc).__name__}: {exc})") from None
    return arr


def _class_ids(value, n: int) -> np.ndarray:
    """Class ids as int64: whole numbers within +-MAX_ABS_CLASS_ID (InputError otherwise)."""
    if value is None:
        return np.zeros(n, np.int64)
    try:
        raw = np.array(value, copy=True).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError(f"Detections.class_ids must be whole numbers ({exc})") from None
    if raw.dtype.kind == "O":  # Python ints beyond int64 (2**70) end up as objects
        try:
            big = [int(v) for v in raw]
        except (TypeError, ValueError):
            raise InputError("Detections.class_ids must be whole numbers") from None
        if any(abs(v) > MAX_ABS_CLASS_ID for v in big):
            raise InputError(f"Detections.class_ids must be within +-{MAX_ABS_CLASS_ID} (int64)")
        raw = np.array(big, dtype=np.int64)
    if raw.dtype.kind not in "biuf":
        raise InputError(f"Detections.class_ids must be whole numbers, got dtype {raw.dtype}")
    if raw.dtype.kind == "f":
        if not np.all(np.isfinite(raw)) or np.any(raw != np.round(raw)):
            raise InputError("Detections.class_ids must be whole numbers")
        if np.any(np.abs(raw) > MAX_ABS_CLASS_ID):
            raise InputError(f"Detections.class_ids must be within +-{MAX_ABS_CLASS_ID} (int64)")
    if raw.dtype.kind == "u" and raw.size and raw.max() > MAX_ABS_CLASS_ID:
        raise InputError(f"Detections.class_ids must be within +-{MAX_ABS_CLASS_ID} (int64)")
    return raw.astype(np.int64)


@dataclass(frozen=True, eq=False)
class Detections:
    """Boxes found in one frame, as parallel arrays validated once at construction.

    Attributes:
        xyxy: (N, 4) float32, ``x1, y1, x2, y2`` in pixels, with x2 > x1 and y2 > y1.
        scores: (N,) float32 detector confidences (any finite range; [0, 1] expected by the
            default tracker thresholds).
        class_ids: (N,) int64 class indices (0 when the detector has one class).
        embeddings: optional (N, D) float32 appearance vectors (unit length when made by our
            embedder).
        index: (N,) int64 row index of each detection in the caller's original input; it
            survives slicing so a track can be joined back to its detection.
        data: extra per-detection columns, ``{name: (N, ...) array}`` (e.g. the source lines
            of a detection file), given at construction and sliced with the rows.

    Arrays are copied on construction and made read-only: the caller's arrays are never
    mutated and a ``Detections`` never changes after it is built.
    """

    xyxy: np.ndarray
    scores: np.ndarray = None  # type: ignore[assignment]
    class_ids: np.ndarray = None  # type: ignore[assignment]
    embeddings: Optional[np.ndarray] = None
    index: np.ndarray = None  # type: ignore[assignment]
    data: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        wide = _numbers(self.xyxy, "xyxy", np.float64)  # checked before the float32 cast
        if wide.size == 0:
            wide = wide.reshape(0, 4)
        if wide.ndim != 2 or wide.shape[1] != 4:
            raise InputError(f"Detections.xyxy must have shape (N, 4), got {wide.shape}")
        n = len(wide)
        scores = (np.ones(n, np.float64) if self.scores is None
                  else _numbers(self.scores, "scores", np.float64).reshape(-1))
        class_ids = _class_ids(self.class_ids, n)
        index = np.arange(n, dtype=np.int64) if self.index is None else np.array(self.index, copy=True).reshape(-1)
        for name, arr in (("scores", scores), ("class_ids", class_ids), ("index", index)):
            if len(arr) != n:
                raise InputError(f"Detections.{name} has {len(arr)} rows but xyxy has {n}")
        index = index.astype(np.int64)
        bad = ~np.all(np.isfinite(wide), axis=1)
        if bad.any():
            row = _first_bad_row(bad)
            raise InputError(f"Detections row {row}: box {wide[row].tolist()} is not finite (NaN or inf)")
        bad = np.any(np.abs(wide) > MAX_ABS_COORDINATE, axis=1)
        if bad.any():
            row = _first_bad_row(bad)
            raise InputError(f"Detections row {row}: box {wide[row].tolist()} is outside +-{MAX_ABS_COORDINATE:g} "
                             "pixels (xyxy)")
        bad = ~np.isfinite(scores.astype(np.float32))
        if bad.any():
            row = _first_bad_row(bad)
            raise InputError(f"Detections row {row}: score {scores[row]} is not finite (in float32)")
        xyxy, scores = wide.astype(np.float32), scores.astype(np.float32)
        bad = (xyxy[:, 2] <= xyxy[:, 0]) | (xyxy[:, 3] <= xyxy[:, 1])
        if bad.any():
            row = _first_bad_row(bad)
            raise InputError(
                f"Detections row {row}: box {xyxy[row].tolist()} needs x2 > x1 and y2 > y1 (xyxy pixels)"
            )
        embeddings = self.embeddings
        if embeddings is not None:
            embeddings = _numbers(embeddings, "embeddings", np.float32)
            if embeddings.ndim != 2 or len(embeddings) != n:
                raise InputError(f"Detections.embeddings must have shape (N={n}, D), got {embeddings.shape}")
            bad = ~np.all(np.isfinite(embeddings), axis=1)
            if bad.any():
                raise InputError(f"Detections row {_first_bad_row(bad)}: embedding is not finite")
        data = _row_columns(self.data, n)
        for arr in (xyxy, scores, class_ids, index) + ((embeddings,) if embeddings is not None else ()) \
                + tuple(data.values()):
            arr.setflags(write=False)
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "class_ids", class_ids)
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "embeddings", embeddings)
        object.__setattr__(self, "data", data)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def empty(cls, embedding_dim: Optional[int] = None) -> "Detections":
        """No detections (optionally with a (0, D) embedding array)."""
        emb = None if embedding_dim is None else np.zeros((0, embedding_dim), np.float32)
        return cls(np.zeros((0, 4), np.float32), embeddings=emb)

    @classmethod
    def from_xywh(cls, xywh, scores=None, class_ids=None, **kwargs) -> "Detections":
        """Build from MOTChallenge ``x, y, w, h`` (N, 4) pixel boxes."""
        return cls(xywh_to_xyxy(xywh), scores, class_ids, **kwargs)

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, key: Any) -> "Detections":
        """Select rows with a boolean mask (N,), an integer index array, or a slice."""
        if isinstance(key, (int, np.integer)):
            key = [int(key)]
        key_arr = key if isinstance(key, slice) else np.asarray(key)
        if not isinstance(key_arr, slice) and key_arr.dtype == bool and len(key_arr) != len(self):
            raise ValueError(f"boolean mask has {len(key_arr)} entries for {len(self)} detections")
        emb = None if self.embeddings is None else self.embeddings[key_arr]
        return Detections(self.xyxy[key_arr], self.scores[key_arr], self.class_ids[key_arr], emb, self.index[key_arr],
                          self._data_rows(key_arr))

    def _data_rows(self, key) -> dict:
        return {name: column[key] for name, column in self.data.items()}

    def to_xywh(self) -> np.ndarray:
        """(N, 4) float64 MOTChallenge ``x, y, w, h`` pixel boxes."""
        return xyxy_to_xywh(self.xyxy)

    def with_embeddings(self, embeddings: np.ndarray) -> "Detections":
        """A copy carrying (N, D) appearance vectors."""
        return Detections(self.xyxy, self.scores, self.class_ids, embeddings, self.index, dict(self.data))

    def clip_to(self, width: float, height: float) -> "Detections":
        """Clip boxes to the image ``[0, width] x [0, height]`` (pixels).

        Rule: boxes left with no area (entirely outside the image) are dropped; the ``index``
        of the kept rows still points at the original input.
        """
        if width <= 0 or height <= 0:
            raise ValueError(f"clip_to needs a positive image size, got {width}x{height}")
        clipped = self.xyxy.astype(np.float64).copy()
        clipped[:, [0, 2]] = np.clip(clipped[:, [0, 2]], 0, width)
        clipped[:, [1, 3]] = np.clip(clipped[:, [1, 3]], 0, height)
        keep = (clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1])
        emb = None if self.embeddings is None else self.embeddings[keep]
        return Detections(clipped[keep], self.scores[keep], self.class_ids[keep], emb, self.index[keep],
                          self._data_rows(keep))

    # ------------------------------------------------------------------ supervision
    @classmethod
    def from_supervision(cls, detections: Any) -> "Detections":
        """Convert a ``supervision.Detections`` (duck-typed: ``xyxy``, ``confidence``,
        ``class_id``); supervision itself is not a dependency."""
        n = len(detections.xyxy)
        scores = detections.confidence if getattr(detections, "confidence", None) is not None else np.ones(n)
        classes = detections.class_id if getattr(detections, "class_id", None) is not None else np.zeros(n)
        return cls(detections.xyxy, scores, classes)

    def to_supervision(self, tracker_id: Optional[np.ndarray] = None):
        """Convert to ``supervision.Detections`` (needs the optional ``supervision`` package)."""
        try:
            import supervision as sv
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("to_supervision needs the optional package 'supervision' "
                              "(pip install supervision)") from exc
        return sv.Detections(
            xyxy=self.xyxy.astype(np.float32),
            confidence=self.scores.astype(np.float32),
            class_id=self.class_ids.astype(int),
            tracker_id=None if tracker_id is None else np.asarray(tracker_id, int),
        )
