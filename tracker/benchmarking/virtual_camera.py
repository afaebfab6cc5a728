"""Virtual moving cameras over real sequences: development data for a condition we lack.

Our development sequences hold almost no moving camera, which users have. A virtual camera is
a view window that pans, zooms and shakes over a real recording: frame ``t`` of the generated
sequence is the window at time ``t`` rescaled to a fixed output size, and every gt and
detection box is mapped by the same affine transform, clipped to the view, and dropped when
too little of it stays in view. Only real pixels and real boxes are used; the motion is
synthetic, so generated sequences are always a separate benchmark group.

``camera_path(n, fps, source_size, config, seed) -> (n, 2, 3)`` affines (source px -> output
px); ``transform_boxes`` maps boxes; ``make_virtual_sequence`` writes a MOTChallenge sequence
folder (``seqinfo.ini``, ``gt/gt.txt``, ``det/det.txt``) and, given the source's frames, a
video of the moving view. Deterministic for a seed.

The path: the window centre follows a sum of two sinusoids per axis with random frequencies
and phases, scaled so that the pan speed never exceeds ``max_pan_speed`` output widths per
second and the window never leaves the source; the zoom is ``exp(a sin(w t + p))`` within
``[zoom_min, zoom_max]`` with a period of ``zoom_period_s`` seconds (random within a factor
of 2); shake is smoothed Gaussian jitter of ``shake_px`` output pixels.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Tuple

import numpy as np

from tracker.config_base import ConfigBase, check_int, check_range
from tracker.errors import InputError

#: suffix of generated sequence names: ``<SEQ>-vcam<seed>`` (the prefix keeps the benchmark's
#: conventions: MOT17 names stay MOT17)
VIRTUAL_SUFFIX = "-vcam"
#: each axis's path is the sum of this many sinusoids
PATH_COMPONENTS = 2
#: path frequencies are drawn in [low, high] x the base frequency (which makes the pan reach
#: ``max_pan_speed`` at the amplitude the margin allows)
FREQUENCY_SPREAD = (0.5, 1.5)
#: shake is white noise smoothed over this many frames (a box filter)
SHAKE_SMOOTHING_FRAMES = 3
GENERATED_VIDEO_CODEC = "mp4v"


@dataclass(frozen=True)
class VirtualCameraConfig(ConfigBase):
    """A virtual camera. view_fraction: output size / source size (both sides); at zoom 1 the
    window is that share of the source. max_pan_speed: output widths per second.
    zoom_min / zoom_max: output px per source px relative to zoom 1. zoom_period_s: seconds of
    one zoom cycle (before the random factor). shake_px: std of the shake, output px.
    min_visible: a box with less than this share of its area in view is dropped."""

    view_fraction: float = 0.7
    max_pan_speed: float = 0.3
    zoom_min: float = 0.8
    zoom_max: float = 1.25
    zoom_period_s: float = 6.0
    shake_px: float = 1.0
    min_visible: float = 0.5

    def __post_init__(self) -> None:
        check_range("VirtualCameraConfig.view_fraction", self.view_fraction, 0.1, 1.0)
        check_range("VirtualCameraConfig.max_pan_speed", self.max_pan_speed, 0.0, 10.0)
        check_range("VirtualCameraConfig.zoom_min", self.zoom_min, 0.1, 1.0)
        check_range("VirtualCameraConfig.zoom_max", self.zoom_max, 1.0, 10.0)
        check_range("VirtualCameraConfig.zoom_period_s", self.zoom_period_s, 0.1, 3600.0)
        check_range("VirtualCameraConfig.shake_px", self.shake_px, 0.0, 100.0)
        check_range("VirtualCameraConfig.min_visible", self.min_visible, 0.0, 1.0, low_inclusive=False)
        if self.view_fraction / self.zoom_min > 1.0 + 1e-9:
            raise ValueError("VirtualCameraConfig: the window at zoom_min (view_fraction / zoom_min = "
                             f"{self.view_fraction / self.zoom_min:.3f} of the source) must fit in the source")


def source_sequence(name: str) -> str:
    """The real sequence a generated one was made from (``ETH-Bahnhof-vcam2`` -> ``ETH-Bahnhof``);
    any other name is returned as it is."""
    head, sep, seed = name.rpartition(VIRTUAL_SUFFIX)
    return head if sep and head and seed.isdigit() else name


def output_size(source_size: Tuple[int, int], config: VirtualCameraConfig) -> Tuple[int, int]:
    """(width, height) of the generated frames, pixels."""
    return (max(1, int(round(source_size[0] * config.view_fraction))),
            max(1, int(round(source_size[1] * config.view_fraction))))


def camera_path(n_frames: int, fps: float, source_size: Tuple[int, int], config: VirtualCameraConfig,
                seed: int) -> np.ndarray:
    """(n_frames, 2, 3) affines, source pixels -> output pixels, one per frame (frame 0 first)."""
    check_int("n_frames", n_frames, 1, 10 ** 8)
    check_range("fps", fps, 0.0, 1000.0, low_inclusive=False)
    rng = np.random.default_rng(seed)
    src_w, src_h = float(source_size[0]), float(source_size[1])
    out_w, out_h = output_size(source_size, config)
    t = np.arange(n_frames) / fps
    # zoom: log-sinusoid between zoom_min and zoom_max
    period = config.zoom_period_s * rng.uniform(1.0, 2.0)
    log_mid = 0.5 * (math.log(config.zoom_max) + math.log(config.zoom_min))
    log_amp = 0.5 * (math.log(config.zoom_max) - math.log(config.zoom_min))
    zoom = np.exp(log_mid + log_amp * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi)))
    # the window (source px) is out / zoom; its centre may move by the smallest margin
    margin_x = 0.5 * (src_w - out_w / config.zoom_min)
    margin_y = 0.5 * (src_h - out_h / config.zoom_min)
    max_speed_src = config.max_pan_speed * out_w / config.zoom_max  # output widths/s -> source px/s, worst case
    centre = np.empty((n_frames, 2))
    for axis, (middle, margin) in enumerate(((src_w / 2, margin_x), (src_h / 2, margin_y))):
        centre[:, axis] = middle + _bounded_wave(t, margin, max_speed_src, rng)
    shake = rng.normal(0.0, config.shake_px, size=(n_frames + SHAKE_SMOOTHING_FRAMES - 1, 2))
    kernel = np.ones(SHAKE_SMOOTHING_FRAMES) / math.sqrt(SHAKE_SMOOTHING_FRAMES)  # keeps the std
    shake = np.stack([np.convolve(shake[:, k], kernel, mode="valid") for k in range(2)], axis=1)
    affines = np.zeros((n_frames, 2, 3))
    affines[:, 0, 0] = zoom
    affines[:, 1, 1] = zoom
    affines[:, 0, 2] = out_w / 2 - zoom * centre[:, 0] + shake[:, 0]
    affines[:, 1, 2] = out_h / 2 - zoom * centre[:, 1] + shake[:, 1]
    return affines


def _bounded_wave(t: np.ndarray, margin: float, max_speed: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random offset within [-margin, margin] whose speed is at most ``max_speed``."""
    if margin <= 0 or max_speed <= 0 or len(t) == 0:
        return np.zeros_like(t)
    base = max_speed / margin  # rad/s at which amplitude ``margin`` moves at ``max_speed``
    freqs = base * rng.uniform(*FREQUENCY_SPREAD, size=PATH_COMPONENTS)
    phases = rng.uniform(0, 2 * np.pi, size=PATH_COMPONENTS)
    weights = rng.dirichlet(np.ones(PATH_COMPONENTS))
    wave = sum(w * np.sin(f * t + p) for w, f, p in zip(weights, freqs, phases))
    speed_bound = float(sum(w * f for w, f in zip(weights, freqs)))  # max |d wave / dt| for unit amplitude
    amplitude = min(margin, max_speed / speed_bound)
    return amplitude * wave


def transform_boxes(xyxy: np.ndarray, affine: np.ndarray, size: Tuple[int, int],
                    min_visible: float) -> Tuple[np.ndarray, np.ndarray]:
    """Map (N, 4) xyxy source boxes by a (2, 3) scale+translation affine, clip them to the
    ``size`` = (width, height) view. Returns (kept row indices (K,), clipped boxes (K, 4)):
    a box is kept when at least ``min_visible`` of its mapped area is in view."""
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    scale_x, scale_y = affine[0, 0], affine[1, 1]
    mapped = np.stack([boxes[:, 0] * scale_x + affine[0, 2], boxes[:, 1] * scale_y + affine[1, 2],
                       boxes[:, 2] * scale_x + affine[0, 2], boxes[:, 3] * scale_y + affine[1, 2]], axis=1)
    clipped = mapped.copy()
    clipped[:, [0, 2]] = np.clip(mapped[:, [0, 2]], 0.0, float(size[0]))
    clipped[:, [1, 3]] = np.clip(mapped[:, [1, 3]], 0.0, float(size[1]))
    area = np.maximum(mapped[:, 2] - mapped[:, 0], 0) * np.maximum(mapped[:, 3] - mapped[:, 1], 0)
    visible = np.maximum(clipped[:, 2] - clipped[:, 0], 0) * np.maximum(clipped[:, 3] - clipped[:, 1], 0)
    keep = np.flatnonzero((area > 0) & (visible >= min_visible * area) & (visible > 0))
    return keep, clipped[keep]


def warp_frame(image: np.ndarray, affine: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """The view of one (H, W, 3) source frame: (size[1], size[0], 3) uint8."""
    import cv2

    return cv2.warpAffine(image, affine, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _transform_mot_lines(lines: Iterable[str], affines: np.ndarray, size: Tuple[int, int],
                         min_visible: float) -> list:
    """MOT rows ``frame,id,x,y,w,h,...`` (1-based frames) mapped frame by frame; other columns kept."""
    out = []
    n = len(affines)
    for line in lines:
        parts = line.strip().split(",")
        if len(parts) < 6:
            continue
        frame = int(float(parts[0]))
        if not 1 <= frame <= n:
            continue
        x, y, w, h = (float(v) for v in parts[2:6])
        keep, boxes = transform_boxes(np.array([[x, y, x + w, y + h]]), affines[frame - 1], size, min_visible)
        if len(keep) == 0:
            continue
        x1, y1, x2, y2 = boxes[0]
        out.append(",".join(parts[:2] + [f"{x1:.2f}", f"{y1:.2f}", f"{x2 - x1:.2f}", f"{y2 - y1:.2f}"] + parts[6:]))
    return out


@dataclass(frozen=True)
class VirtualSequence:
    """A generated sequence: folder, name, seed, (n, 2, 3) affines, output size, video or None."""

    path: Path
    name: str
    seed: int
    affines: np.ndarray
    size: Tuple[int, int]
    video: Optional[Path]


def make_virtual_sequence(seq_dir, out_root, seed: int, config: Optional[VirtualCameraConfig] = None,
                          frames: Optional[Iterable[np.ndarray]] = None, video_dir=None) -> VirtualSequence:
    """Write ``out_root/<SEQ>-vcam<seed>/`` (seqinfo.ini, gt/gt.txt when the source has one,
    det/*.txt for every detection file) for the MOTChallenge sequence ``seq_dir``; with
    ``frames`` (the source's frames in order, e.g. decoded from its video) also
    ``video_dir/<SEQ>-vcam<seed>.mp4`` of the moving view."""
    from tracker.io.mot import read_seqinfo, write_text_atomic

    config = config or VirtualCameraConfig()
    seq_dir = Path(seq_dir)
    info = read_seqinfo(seq_dir)
    name = f"{seq_dir.name}{VIRTUAL_SUFFIX}{seed}"
    out = Path(out_root) / name
    size = output_size((info.width, info.height), config)
    affines = camera_path(info.seq_length, info.frame_rate, (info.width, info.height), config, seed)
    write_text_atomic(out / "seqinfo.ini", "\n".join([
        "[Sequence]", f"name={name}", "imDir=img1", f"frameRate={info.frame_rate:g}", f"seqLength={info.seq_length}",
        f"imWidth={size[0]}", f"imHeight={size[1]}", f"imExt={info.im_ext}", ""]))
    sources = [seq_dir / "gt" / "gt.txt"] + sorted((seq_dir / "det").glob("*.txt"))
    for src in sources:
        if src.is_file():
            rows = _transform_mot_lines(src.read_text().splitlines(), affines, size, config.min_visible)
            write_text_atomic(out / src.parent.name / src.name, "".join(r + "\n" for r in rows))
    video = None
    if frames is not None:
        if video_dir is None:
            raise InputError("video_dir must be given with frames", "video_dir")
        video = _write_video(Path(video_dir) / f"{name}.mp4", frames, affines, size, info.frame_rate)
    return VirtualSequence(out, name, seed, affines, size, video)


def _write_video(path: Path, frames: Iterable[np.ndarray], affines: np.ndarray, size, fps: float) -> Path:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*GENERATED_VIDEO_CODEC), fps, size)
    if not writer.isOpened():
        raise InputError(f"{path}: cannot open a video writer", "video_dir")
    count = 0
    try:
        for affine, image in zip(affines, frames):
            writer.write(warp_frame(image, affine, size))
            count += 1
    finally:
        writer.release()
    if count < len(affines):
        raise InputError(f"{path}: the source gave {count} frames, fewer than seqLength {len(affines)}", "frames")
    return path
