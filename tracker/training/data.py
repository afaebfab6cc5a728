"""Training crops: public detections cut out of videos (no labels read), cached on disk, with
unambiguous motion-only tracklets for temporal positives.

A video's crops are cached once per (video, detection file, settings) as an ``.npz`` under the
cache folder; frame exclusions (e.g. a held-out test range) are applied after loading, before
linking, so a tracklet never crosses an excluded frame.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from tracker.embedding.crops import crop_patches
from tracker.embedding.video import iter_frames
from tracker.errors import InputError
from tracker.io.mot import load_detections
from tracker.training.clips import ClipSampling, clip_cache_path, clip_settings, detect_clip, save_npz_atomic
from tracker.training.cuts import CutConfig
from tracker.training.linking import LinkConfig, build_tracklets
from tracker.training.tracklets import TrackletConfig, confident_tracklets, tracker_tracklets

CACHE_VERSION = 1
#: where the embedded detector's crops of videos without a detection file are cached
CLIP_CACHE = Path.home() / ".cache" / "identitrack" / "embedder-clips"
#: onnxruntime threads of the embedded detector when it cuts training crops (a background job)
DETECTOR_THREADS = 1


@dataclass(frozen=True)
class CropConfig:
    """store_size: (height, width) of cached crops (larger than the model input, so random
    resized crops keep detail); min_score: detections below it are not used; min_w, min_h:
    smallest box (pixels, after clipping) used."""

    store_size: Tuple[int, int] = (80, 40)
    min_score: float = 0.5
    min_w: float = 8.0
    min_h: float = 20.0

    def __post_init__(self) -> None:
        if self.store_size[0] < 8 or self.store_size[1] < 4:
            raise ValueError(f"CropConfig.store_size must be at least (8, 4), got {self.store_size}")
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"CropConfig.min_score must be in [0, 1], got {self.min_score}")
        if self.min_w < 1 or self.min_h < 1:
            raise ValueError(f"CropConfig.min_w/min_h must be >= 1 pixel, got {self.min_w}, {self.min_h}")


@dataclass(frozen=True)
class VideoSpec:
    """One training source: a video file or frame folder, its detection file (None: the
    embedded detector on sampled frames, ``tracker.training.clips``), inclusive 1-based frame
    ranges to leave out, its footage group (None: its own; sources of one group may show the
    same people, so they are never certain negatives of each other), and what the metadata
    records about its origin (licence class, upstream source)."""

    video: Path
    detections: Optional[Path] = None
    exclude: Tuple[Tuple[int, int], ...] = ()
    group: Optional[str] = None
    licence_class: Optional[str] = None
    upstream: Optional[str] = None

@dataclass
class TrainingSet:
    """All training crops, as parallel arrays.

    patches (M, h, w, 3) uint8 BGR; video (M,) index into ``sources``; frames (M,) 1-based;
    tracklet (M,) global tracklet id; tracklet_video / tracklet_start / tracklet_end (T,):
    each tracklet's video and first / last frame; tracklet_group (T,): its footage group
    (tracklets of different groups are certainly different people).
    """

    patches: np.ndarray
    video: np.ndarray
    frames: np.ndarray
    tracklet: np.ndarray
    tracklet_video: np.ndarray
    tracklet_start: np.ndarray
    tracklet_end: np.ndarray
    sources: List[dict] = field(default_factory=list)
    tracklet_group: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        if self.tracklet_group is None:
            self.tracklet_group = self.tracklet_video.copy()

    def __len__(self) -> int:
        return len(self.patches)

    def summary(self) -> dict:
        sizes = np.bincount(self.tracklet, minlength=len(self.tracklet_video))
        return {"crops": int(len(self)), "tracklets": int(len(sizes)), "tracklets_len_ge_10": int((sizes >= 10).sum()),
                "crops_in_tracklets_ge_2": int(sizes[self.tracklet].__ge__(2).sum()), "sources": self.sources}


def find_detection_file(video: Path) -> Optional[Path]:
    """The public detections of a video, by convention: ``<stem>.det.txt`` beside it, or
    ``../mot/<stem>/det/det.txt`` relative to its folder (the shared-data layout)."""
    video = Path(video)
    stem = video.name if video.is_dir() else video.stem
    for cand in (video.with_name(stem + ".det.txt"), video.parent.parent / "mot" / stem / "det" / "det.txt"):
        if cand.is_file():
            return cand
    return None


def _cache_key(video: Path, dets: Path, crop: CropConfig) -> str:
    parts = []
    for p in (video, dets):
        st = p.stat()
        parts.append(f"{p.resolve()}:{st.st_size}:{int(st.st_mtime)}")
    parts.append(json.dumps([crop.store_size, crop.min_score, crop.min_w, crop.min_h, CACHE_VERSION]))
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


def extract_crops(video: Path, dets: Path, crop: CropConfig, cache_dir: Optional[Path] = None) -> dict:
    """Cut all usable detections of one video -> {"patches" (R, h, w, 3) uint8, "frames" (R,),
    "xyxy" (R, 4)}; cached as ``<cache_dir>/<stem>-<key>.npz`` when a cache folder is given."""
    video, dets = Path(video), Path(dets)
    if not video.exists():
        raise InputError(f"{video}: not found")
    if not dets.is_file():
        raise InputError(f"{dets}: detection file not found")
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"{video.stem}-{_cache_key(video, dets, crop)}.npz"
        if cache.is_file():
            with np.load(cache) as z:
                return {k: z[k] for k in ("patches", "frames", "xyxy")}
    detset = load_detections(dets, min_score=crop.min_score)
    patches, frames, boxes = [], [], []
    wanted = set(detset.frames)
    for fno, img in iter_frames(video, wanted):
        d = detset.by_frame.get(fno)
        if d is None or not len(d):
            continue
        h, w = img.shape[:2]
        d = d.clip_to(w, h)
        wh = d.xyxy[:, 2:] - d.xyxy[:, :2]
        d = d[(wh[:, 0] >= crop.min_w) & (wh[:, 1] >= crop.min_h)]
        if not len(d):
            continue
        patches.append(crop_patches(img, d.xyxy, crop.store_size))
        frames.append(np.full(len(d), fno, np.int64))
        boxes.append(d.xyxy.astype(np.float32))
    h, w = crop.store_size
    out = {
        "patches": np.concatenate(patches) if patches else np.zeros((0, h, w, 3), np.uint8),
        "frames": np.concatenate(frames) if frames else np.zeros(0, np.int64),
        "xyxy": np.concatenate(boxes) if boxes else np.zeros((0, 4), np.float32),
    }
    if cache is not None:
        save_npz_atomic(cache, out)
    return out



def detect_unlabeled_clip(video: Path, detector, crop: CropConfig = CropConfig(),
                          cache_dir: Optional[Path] = CLIP_CACHE, sampling: ClipSampling = ClipSampling(),
                          cuts: CutConfig = CutConfig()) -> dict:
    """Crops of a video without a detection file: the embedded detector on sampled frames,
    shot cuts on all frames (``tracker.training.clips.detect_clip``), cached."""
    return detect_clip(video, detector, crop.store_size, crop.min_score, crop.min_w, crop.min_h, sampling, cuts,
                       cache_dir)


def _clip_settings(crop: CropConfig) -> dict:
    """The cache settings ``detect_unlabeled_clip`` uses with the default sampling and cuts."""
    return clip_settings(crop.store_size, crop.min_score, crop.min_w, crop.min_h, ClipSampling(), CutConfig())


def unlabeled_clip(video: Path, detector_factory, crop: CropConfig = CropConfig(),
                   cache_dir: Optional[Path] = CLIP_CACHE) -> dict:
    """``detect_unlabeled_clip`` with the default sampling and cuts, where the detector is made
    (``detector_factory()``) only when the clip's result is not cached in ``cache_dir``."""
    cached = cache_dir is not None and clip_cache_path(video, _clip_settings(crop), cache_dir).is_file()
    return detect_unlabeled_clip(video, None if cached else detector_factory(), crop, cache_dir)


def _source_tracklets(spec: VideoSpec, crop: CropConfig, link: LinkConfig, cache_dir: Optional[Path],
                      detector_factory, tracklets: TrackletConfig) -> tuple:
    """One source -> (frames (R,), patches (R, h, w, 3), tracklet ids (R,) 0..T-1, cuts list)."""
    if spec.detections is not None:
        data = extract_crops(spec.video, spec.detections, crop, cache_dir)
        keep = _kept(data["frames"], spec.exclude)
        fr, xyxy, pt = data["frames"][keep], data["xyxy"][keep], data["patches"][keep]
        return fr, pt, build_tracklets(fr, xyxy, link), []
    clip_cache = None if cache_dir is None else Path(cache_dir).parent / CLIP_CACHE.name
    data = unlabeled_clip(spec.video, detector_factory, crop, clip_cache)
    keep = _kept(data["frames"], spec.exclude)
    sampled = data["sampled"][_kept(data["sampled"], spec.exclude)]
    fr, xyxy, pt, sc = data["frames"][keep], data["xyxy"][keep], data["patches"][keep], data["scores"][keep]
    cuts = [int(c) for c in data["cuts"]]
    raw = tracker_tracklets(fr, xyxy, sc, sampled, int(data["stride"]), float(data["fps"]), cuts)
    return fr, pt, confident_tracklets(fr, xyxy, raw, sampled, cuts, tracklets), cuts


def _kept(frames: np.ndarray, exclude) -> np.ndarray:
    keep = np.ones(len(frames), bool)
    for lo, hi in exclude:
        keep &= ~((frames >= lo) & (frames <= hi))
    return keep


def _default_detector():
    from tracker.detectors import default_detector

    return default_detector(threads=DETECTOR_THREADS)


def build_training_set(specs: Sequence[VideoSpec], crop: CropConfig = CropConfig(), link: LinkConfig = LinkConfig(),
                       cache_dir: Optional[Path] = None, progress=None, detector_factory=_default_detector,
                       tracklets: TrackletConfig = TrackletConfig()) -> TrainingSet:
    """Crops + tracklets of every source (see the module docstring). A source without a
    detection file is detected with ``detector_factory()`` (the embedded detector) unless its
    crops are cached; its tracklets come from the tracker (``tracker.training.tracklets``)."""
    patches, video, frames, tracklet = [], [], [], []
    t_video, t_start, t_end, t_group = [], [], [], []
    groups: dict = {}
    sources = []
    offset = 0
    for vi, spec in enumerate(specs):
        fr, pt, trk, cuts = _source_tracklets(spec, crop, link, cache_dir, detector_factory, tracklets)
        n_trk = int(trk.max()) + 1 if len(trk) else 0
        group = groups.setdefault(spec.group if spec.group is not None else f"#{vi}", len(groups))
        order = np.argsort(trk, kind="stable")
        bounds = np.searchsorted(trk[order], np.arange(n_trk + 1))
        for t in range(n_trk):
            member = fr[order[bounds[t]:bounds[t + 1]]]
            t_video.append(vi)
            t_group.append(group)
            t_start.append(int(member.min()))
            t_end.append(int(member.max()))
        patches.append(pt)
        video.append(np.full(len(fr), vi, np.int64))
        frames.append(fr)
        tracklet.append(trk + offset)
        offset += n_trk
        record = {"video": str(spec.video), "detections": str(spec.detections) if spec.detections else
                  "embedded detector (sampled frames)", "exclude_frames": [list(r) for r in spec.exclude],
                  "crops": int(len(fr)), "tracklets": n_trk}
        if cuts:
            record["shot_cuts"] = cuts
        for key in ("group", "licence_class", "upstream"):
            if getattr(spec, key) is not None:
                record[key] = getattr(spec, key)
        sources.append(record)
        if progress is not None:
            progress(f"{spec.video}: {len(fr)} crops, {n_trk} tracklets")
    if not patches or sum(len(p) for p in patches) == 0:
        raise InputError("no training crops: the detection files gave no usable boxes")
    return TrainingSet(np.concatenate(patches), np.concatenate(video), np.concatenate(frames),
                       np.concatenate(tracklet), np.array(t_video, np.int64), np.array(t_start, np.int64),
                       np.array(t_end, np.int64), sources, np.array(t_group, np.int64))
