"""Minimal frame reading for the embedder's training and evaluation: a video file or a folder
of images, frames numbered from 1 (MOT convention: decoded frame i-1 is frame i)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional, Tuple

import cv2
import numpy as np

from tracker.errors import InputError

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")
DEFAULT_FPS = 25.0


def _frame_files(folder: Path) -> list:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS)


def video_fps(path) -> float:
    """Frames per second of a video file (``DEFAULT_FPS`` for a frame folder or when unknown)."""
    path = Path(path)
    if path.is_dir():
        ini = path.parent / "seqinfo.ini"
        if ini.is_file():
            for line in ini.read_text().splitlines():
                if line.strip().lower().startswith("framerate="):
                    return float(line.split("=", 1)[1])
        return DEFAULT_FPS
    cap = cv2.VideoCapture(str(path))
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    finally:
        cap.release()
    return fps if np.isfinite(fps) and fps > 0 else DEFAULT_FPS


def iter_frames(path, wanted: Optional[set] = None) -> Iterator[Tuple[int, np.ndarray]]:
    """Yield ``(frame_number, image)``: 1-based frame numbers, (H, W, 3) uint8 BGR images.

    wanted: when given, only those frame numbers are yielded (others are still decoded for a
    video, but skipped cheaply with ``grab``).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: not found")
    if path.is_dir():
        files = _frame_files(path)
        if not files:
            raise InputError(f"{path}: a folder with no image frames ({', '.join(IMAGE_EXTS)})")
        for i, f in enumerate(files, start=1):
            if wanted is not None and i not in wanted:
                continue
            img = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if img is None:
                raise InputError(f"{f}: not a readable image")
            yield i, img
        return
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise InputError(f"{path}: cannot be opened as a video")
    last = max(wanted) if wanted else None
    try:
        i = 0
        while True:
            i += 1
            if last is not None and i > last:
                break
            if wanted is not None and i not in wanted:
                if not cap.grab():
                    break
                continue
            ok, img = cap.read()
            if not ok:
                break
            yield i, img
    finally:
        cap.release()
