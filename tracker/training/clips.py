"""Training crops from any video without a detection file: the embedded detector runs on a
sub-sample of its frames, shot cuts are found on every frame, and the result is cached.

Sampling (``ClipSampling``): every ``stride``-th frame, ``stride = max(1, round(fps /
target_fps))``; when that gives more than ``max_frames`` frames, ``windows`` contiguous runs of
``max_frames // windows`` sampled frames spread evenly over the clip (so a long clip still
shows its different moments at a bounded detection cost). Every frame is decoded (the cut
detector, ``tracker.training.cuts``, looks at all of them); only the sampled ones are detected.

Cache: ``<cache_dir>/<stem>-<key>.npz`` holding ``patches`` (R, h, w, 3) uint8 BGR, ``frames``
(R,) 1-based, ``xyxy`` (R, 4) float32 pixels, ``scores`` (R,), ``sampled`` (S,) the detected
frames, ``cuts`` (C,) the frames starting a new shot, ``stride`` and ``fps``; the key covers the
file (path, size, mtime) and every setting.
"""
from __future__ import annotations

import hashlib
import os
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import cv2
import numpy as np

from tracker.config_base import ConfigBase, check_int, check_range
from tracker.embedding.crops import crop_patches
from tracker.embedding.video import IMAGE_EXTS, iter_frames, video_fps
from tracker.errors import InputError
from tracker.training.cuts import CutConfig, CutDetector

CLIP_CACHE_VERSION = 1


@dataclass(frozen=True)
class ClipSampling(ConfigBase):
    """target_fps: detected frames per second of video; max_frames: detected frames per clip
    at most; windows: contiguous runs when a clip has more (see the module docstring)."""

    target_fps: float = 10.0
    max_frames: int = 160
    windows: int = 4

    def __post_init__(self) -> None:
        check_range("ClipSampling.target_fps", self.target_fps, 0.0, None, low_inclusive=False)
        check_int("ClipSampling.max_frames", self.max_frames, 1)
        check_int("ClipSampling.windows", self.windows, 1)
        if self.windows > self.max_frames:
            raise ValueError(f"ClipSampling.windows ({self.windows}) must be <= max_frames ({self.max_frames})")


def frame_count(video: Path) -> int:
    """Frames of a video file (container header) or image files of a frame folder."""
    video = Path(video)
    if video.is_dir():
        return sum(1 for p in video.iterdir() if p.suffix.lower() in IMAGE_EXTS)
    cap = cv2.VideoCapture(str(video))
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()


def sample_frames(n_frames: int, fps: float, sampling: ClipSampling = ClipSampling()) -> tuple:
    """-> (sampled 1-based frame numbers (S,) int64, stride) for a clip of ``n_frames``."""
    stride = max(1, int(round(fps / sampling.target_fps)))
    every = np.arange(1, n_frames + 1, stride, dtype=np.int64)
    if len(every) <= sampling.max_frames:
        return every, stride
    run = sampling.max_frames // sampling.windows
    starts = np.linspace(0, len(every) - run, sampling.windows).round().astype(np.int64)
    picked = np.unique(np.concatenate([every[s:s + run] for s in starts]))
    return picked, stride


def _cache_key(video: Path, settings: dict) -> str:
    video = Path(video)
    if video.is_dir():
        files = sorted(p for p in video.iterdir() if p.suffix.lower() in IMAGE_EXTS)
        stamp = f"{len(files)}:{sum(p.stat().st_size for p in files)}:{int(video.stat().st_mtime)}"
    else:
        st = video.stat()
        stamp = f"{st.st_size}:{int(st.st_mtime)}"
    text = f"{video.resolve()}:{stamp}|{json.dumps(settings, sort_keys=True)}|{CLIP_CACHE_VERSION}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def clip_cache_path(video: Path, settings: dict, cache_dir: Path) -> Path:
    video = Path(video)
    stem = video.name if video.is_dir() else video.stem
    return Path(cache_dir) / f"{stem}-{_cache_key(video, settings)}.npz"


def clip_settings(store_size: tuple, min_score: float, min_w: float, min_h: float, sampling: ClipSampling,
                  cuts: CutConfig, detector_name: str = "embedded") -> dict:
    """Everything the cached result of ``detect_clip`` depends on besides the file."""
    return {"detector": detector_name, "store": list(store_size), "min_score": min_score, "min_w": min_w,
            "min_h": min_h, "sampling": sampling.to_dict(), "cuts": cuts.to_dict()}


def detect_clip(video, detector: Callable, store_size: tuple, min_score: float, min_w: float, min_h: float,
                sampling: ClipSampling = ClipSampling(), cuts: CutConfig = CutConfig(),
                cache_dir: Optional[Path] = None, detector_name: str = "embedded") -> dict:
    """Detect, cut and crop one clip (module docstring) -> the cached arrays as a dict.

    detector: ``frame (H, W, 3) uint8 BGR -> Detections``; ``detector_name`` names it in the
    cache key. store_size (h, w) of the stored crops; boxes under ``min_w`` x ``min_h`` pixels
    (after clipping) or with a score under ``min_score`` are not kept.
    """
    video = Path(video)
    if not video.exists():
        raise InputError(f"{video}: not found", "videos")
    settings = clip_settings(store_size, min_score, min_w, min_h, sampling, cuts, detector_name)
    cache = clip_cache_path(video, settings, cache_dir) if cache_dir is not None else None
    if cache is not None and cache.is_file():
        with np.load(cache) as z:
            return {k: z[k] for k in z.files}
    fps = video_fps(video)
    sampled, stride = sample_frames(frame_count(video), fps, sampling)
    wanted = set(int(f) for f in sampled)
    cut_detector = CutDetector(cuts)
    patches, frames, boxes, scores = [], [], [], []
    detected = []
    for fno, img in iter_frames(video):
        cut_detector.push(img)
        if fno not in wanted:
            continue
        detected.append(fno)
        dets = detector(img)
        if not len(dets):
            continue
        h, w = img.shape[:2]
        dets = dets.clip_to(w, h)
        wh = dets.xyxy[:, 2:] - dets.xyxy[:, :2]
        keep = (dets.scores >= min_score) & (wh[:, 0] >= min_w) & (wh[:, 1] >= min_h)
        if not keep.any():
            continue
        xyxy = dets.xyxy[keep]
        patches.append(crop_patches(img, xyxy, tuple(store_size)))
        frames.append(np.full(len(xyxy), fno, np.int64))
        boxes.append(xyxy.astype(np.float32))
        scores.append(dets.scores[keep].astype(np.float32))
    sh, sw = store_size
    out = {
        "patches": np.concatenate(patches) if patches else np.zeros((0, sh, sw, 3), np.uint8),
        "frames": np.concatenate(frames) if frames else np.zeros(0, np.int64),
        "xyxy": np.concatenate(boxes) if boxes else np.zeros((0, 4), np.float32),
        "scores": np.concatenate(scores) if scores else np.zeros(0, np.float32),
        "sampled": np.array(detected, np.int64),
        "cuts": np.array(cut_detector.cuts, np.int64),
        "stride": np.array(stride, np.int64),
        "fps": np.array(fps, np.float64),
    }
    if cache is not None:
        save_npz_atomic(cache, out)
    return out


def save_npz_atomic(path: Path, arrays: dict) -> None:
    """``np.savez`` to a temporary name beside ``path``, then renamed: a reader never sees half
    a cache file, and concurrent runs never share a temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
