"""Helpers for the video tests (no tests here): a synthetic video of moving white squares on
black and a detector that finds them, so pipeline tests run in milliseconds without a model."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tracker.detections import Detections

SIZE = (160, 120)  # width, height
SQUARE = 20


def square_positions(i: int) -> list:
    """Top-left corners of the squares in frame i: one moving right, one moving down."""
    return [(10 + 2 * i, 20), (120, 5 + i)]


def synthetic_frame(i: int, size=SIZE) -> np.ndarray:
    img = np.zeros((size[1], size[0], 3), np.uint8)
    for x, y in square_positions(i):
        cv2.rectangle(img, (x, y), (x + SQUARE - 1, y + SQUARE - 1), (255, 255, 255), -1)
    return img


def write_synthetic_video(path: Path, frames: int = 40, fps: float = 20.0, codec: str = "MJPG") -> Path:
    """A small real video file (MJPG in AVI by default: robust, and decodes frame-exactly)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, SIZE)
    assert writer.isOpened(), f"cannot write {path} with {codec}"
    for i in range(frames):
        writer.write(synthetic_frame(i))
    writer.release()
    return path


def write_frame_folder(folder: Path, frames: int = 12, fps: float = 15.0, seqinfo: bool = True) -> Path:
    """A MOTChallenge-like sequence folder: ``folder/img1/000001.png`` ... and ``seqinfo.ini``."""
    img = folder / "img1"
    img.mkdir(parents=True)
    for i in range(frames):
        cv2.imwrite(str(img / f"{i + 1:06d}.png"), synthetic_frame(i))
    if seqinfo:
        (folder / "seqinfo.ini").write_text(
            f"[Sequence]\nname={folder.name}\nimDir=img1\nframeRate={fps:g}\nseqLength={frames}\n"
            f"imWidth={SIZE[0]}\nimHeight={SIZE[1]}\nimExt=.png\n")
    return folder


def square_detector(frame: np.ndarray) -> Detections:
    """Finds bright blobs: boxes (xyxy pixels) with score 0.9."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    _, mask = cv2.threshold(gray, 128, 255, cv2.THRESH_BINARY)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes = []
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        if w * h >= 50:
            boxes.append([x, y, x + w, y + h])
    boxes = sorted(boxes)
    return Detections(np.array(boxes, np.float32).reshape(-1, 4), np.full(len(boxes), 0.9, np.float32))


def count_video_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), f"{path} does not open"
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def serve_folder(folder: Path):
    """Serve ``folder`` over HTTP on 127.0.0.1 (quietly) in a daemon thread; returns the
    server (``server.server_address[1]`` is the port; call ``shutdown()`` and ``server_close()``)."""
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, *args):  # no request log on stderr
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
