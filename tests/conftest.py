"""Fixtures shared by every test folder: where the development data lives (``shared_data``), a
synthetic video of moving white squares with a detector that finds them
(``synth``), and checks for files written while a run may be interrupted."""
from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import List, Optional

import cv2
import numpy as np
import pytest

from tracker.detections import Detections

REPO_ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------- shared data
class SharedData:
    """Where the shared development data lives (``../shared/data`` from the repo root)."""

    def __init__(self, repo_root: Path = REPO_ROOT):
        self.root = repo_root.parent / "shared" / "data"
        self.mot = self.root / "mot"
        self.video = self.root / "video"

    @staticmethod
    def require(path: Path) -> Path:
        """Skip the calling test with a clear message when shared data is missing."""
        if not path.exists():
            pytest.skip(f"development data not found at {path} (see ../shared/data/README.md)")
        return path


@pytest.fixture(scope="session")
def benchmark_module():
    """``benchmark_module("soak")`` -> the module of ``benchmarks/soak.py``, loaded once (kept in
    ``sys.modules`` as ``benchmark_soak``: dataclasses look their module up)."""
    def load(name: str):
        key = f"benchmark_{name}"
        if key not in sys.modules:
            spec = importlib.util.spec_from_file_location(key, REPO_ROOT / "benchmarks" / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[key] = module
            spec.loader.exec_module(module)
        return sys.modules[key]
    return load


@pytest.fixture(scope="session")
def shared_data() -> SharedData:
    """``.mot``, ``.video``, ``.root`` and ``.require(path)`` (skips when ``path`` is missing)."""
    return SharedData()


# --------------------------------------------------------------------------- synthetic video
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


@pytest.fixture(scope="session")
def synth() -> SimpleNamespace:
    """A synthetic video of moving white squares on black and a detector that finds them, so
    pipeline tests run in milliseconds without a model: ``SIZE`` (width, height), ``SQUARE``
    (side), ``square_positions(i)``, ``synthetic_frame(i)``, ``write_synthetic_video(path)``,
    ``write_frame_folder(folder)``, ``square_detector(frame)``, ``count_video_frames(path)`` and
    ``serve_folder(folder)`` (HTTP)."""
    return SimpleNamespace(
        SIZE=SIZE, SQUARE=SQUARE, square_positions=square_positions, synthetic_frame=synthetic_frame,
        write_synthetic_video=write_synthetic_video, write_frame_folder=write_frame_folder,
        square_detector=square_detector, count_video_frames=count_video_frames, serve_folder=serve_folder)


# ------------------------------------------------------------------ files, waits and a tmpfs
@contextlib.contextmanager
def _tiny_tmpfs(folder: Path, size: str = "128k", read_only: bool = False):
    folder.mkdir(parents=True, exist_ok=True)
    mount = shutil.which("mount")
    if mount is None or (hasattr(os, "geteuid") and os.geteuid() != 0):
        yield None
        return
    opts = f"size={size}" + (",ro" if read_only else "")
    done = subprocess.run([mount, "-t", "tmpfs", "-o", opts, "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        yield None
        return
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture(scope="session")
def tiny_tmpfs():
    """``with tiny_tmpfs(folder, size="128k", read_only=False) as mounted:`` mounts a tmpfs of
    ``size`` at ``folder`` (root with mount rights only: ``mounted`` is None when mounting is not
    allowed, so the caller can skip)."""
    return _tiny_tmpfs


def _whole_lines(path: Path) -> List[str]:
    text = Path(path).read_text()
    assert text == "" or text.endswith("\n"), f"{path} ends with a partial line: {text[-80:]!r}"
    return text.splitlines()


@pytest.fixture(scope="session")
def whole_lines():
    """``whole_lines(path)``: the lines of a text file, asserting it ends with a complete line
    (or is empty)."""
    return _whole_lines


def _wait_for(predicate, timeout: float = 60.0, every: float = 0.05) -> Optional[bool]:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return True
        time.sleep(every)
    return None


@pytest.fixture(scope="session")
def wait_for():
    """``wait_for(predicate, timeout=60.0, every=0.05)``: True once ``predicate()`` is, None
    after ``timeout`` seconds."""
    return _wait_for


@pytest.fixture
def det_file(synth):
    """``det_file(path, frames, first=1)``: the squares' detections of frames ``first..frames``."""

    def write(path: Path, frames: int, first: int = 1) -> Path:
        rows = [f"{i + 1},-1,{x},{y},{synth.SQUARE},{synth.SQUARE},0.9"
                for i in range(first - 1, frames) for x, y in synth.square_positions(i)]
        path.write_text("\n".join(rows) + "\n")
        return path

    return write
