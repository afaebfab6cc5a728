"""Self-supervised training sequences for the Transformer associator: no identity labels.

Any video, frame folder or MOTChallenge sequence (its ``det/det.txt``; ``gt/`` is never
opened) becomes ``LabelledSequence``s whose identities are **pseudo-identities** from the
tracker itself (``tracker.training.tracklets``): the IoU core's tracks, split wherever they
are ambiguous (two boxes overlapping, a missed frame, a shot cut), and kept only when they
last ``MIN_TRACKLET_S`` seconds; every other detection is ``UNKNOWN_ID``.

What the network learns from them (``tracker.training.associator_data``):

* a pair (track, detection) is a training pair only where its answer is certain: the same
  pseudo-identity (a match), or two pseudo-identities that co-exist in time (two objects at
  once: certainly not a match). Two that never co-exist may be one object seen twice; their
  pair is left out, so a wrong split of the core is never taught as "a different object".
* masked re-linking (``Variant.mask_share``): a random stretch of 0.2-3 s of some identities
  is hidden; the detection that comes back must re-link to its lost track against the tracks
  of the other identities of the clip (the hard negatives: they co-exist with it), and while
  it is hidden its track's answer is "unseen". Both labels come from the masking alone.

Videos and frame folders: the embedded detector runs on sampled frames and the result is
cached (``tracker.training.clips``, the embedder's training cache); each contiguous run of
sampled frames inside one shot is one sequence at the sampled frame rate; appearance comes
from the shipped embedder on the cached crops.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import cv2
import numpy as np

from tracker.config import TrackerConfig
from tracker.detections import Detections
from tracker.embedding.video import IMAGE_EXTS
from tracker.errors import InputError
from tracker.io.mot import DetectionSet, load_detections, read_seqinfo
from tracker.training.associator_data import UNKNOWN_ID, LabelledSequence, Variant, identity_spans
from tracker.training.tracklets import (TRACKLET_TRACKER, TrackletConfig, confident_tracklets, sampling_runs,
                                        tracker_tracklets)

#: a pseudo-identity is trusted only when its tracklet spans at least this long, seconds
MIN_TRACKLET_S = 0.5
#: the pseudo-labelling tracker of MOT files: their scores are not the embedded detector's, so
#: the score thresholds are the MOT-file defaults (the rest as for clips: every box may start
#: a track at once, tracks end 1 s after their last match)
MOT_TRACKLET_TRACKER = TrackerConfig(associator="iou", min_hits=1, lost_horizon_s=1.0)


def pseudo_identities(frames: np.ndarray, xyxy: np.ndarray, scores: np.ndarray, sampled: np.ndarray, stride: int,
                      fps: float, cuts: Sequence[int] = (), tracker: TrackerConfig = TRACKLET_TRACKER,
                      tracklets: TrackletConfig = TrackletConfig()) -> np.ndarray:
    """frames (R,) 1-based, xyxy (R, 4) pixels, scores (R,); sampled (S,) the detected frames,
    ``stride`` frames apart at ``fps`` -> (R,) int64 pseudo-identities 0..P-1 (trusted
    tracklets of at least ``MIN_TRACKLET_S``) or ``UNKNOWN_ID``."""
    raw = tracker_tracklets(frames, xyxy, scores, sampled, stride, fps, cuts, tracker)
    pieces = confident_tracklets(frames, xyxy, raw, sampled, cuts, tracklets)
    out = np.full(len(frames), UNKNOWN_ID, np.int64)
    min_frames = MIN_TRACKLET_S * fps / max(1, stride)
    next_id = 0
    for piece in np.unique(pieces):
        rows = np.flatnonzero(pieces == piece)
        length = (frames[rows].max() - frames[rows].min()) / max(1, stride) + 1
        if length >= min_frames and len(rows) > 1:
            out[rows] = next_id
            next_id += 1
    return out


def _sequence(name: str, frame_rate: float, image_size: tuple, frames: np.ndarray, xyxy: np.ndarray,
              scores: np.ndarray, ids: np.ndarray, embeddings: Optional[np.ndarray], length: int) -> LabelledSequence:
    """Rows of renumbered frames 1..length -> a ``LabelledSequence`` with pseudo-identity spans."""
    by_frame: Dict[int, Detections] = {}
    labels: Dict[int, np.ndarray] = {}
    emb: Dict[int, np.ndarray] = {}
    for f in range(1, length + 1):
        rows = np.flatnonzero(frames == f)
        labels[f] = ids[rows]
        if len(rows):
            by_frame[f] = Detections(xyxy[rows], scores[rows])
            if embeddings is not None:
                emb[f] = embeddings[rows]
    dets = DetectionSet(name, by_frame, int(len(frames)), False, frames=sorted(by_frame))
    return LabelledSequence(name, float(frame_rate), tuple(int(v) for v in image_size), length, dets, labels,
                            emb, path=Path(name), spans=identity_spans(labels))


def clip_sequences(name: str, data: dict, image_size: tuple, embeddings: Optional[np.ndarray] = None,
                   tracklets: TrackletConfig = TrackletConfig()) -> List[LabelledSequence]:
    """A clip's cached detections (``tracker.training.clips.detect_clip``: frames, xyxy, scores,
    sampled, stride, fps, cuts) and optional (R, D) embeddings of its rows -> one sequence per
    contiguous run of sampled frames in one shot, frames renumbered 1..n at fps / stride."""
    frames = np.asarray(data["frames"], np.int64)
    sampled = np.unique(np.asarray(data["sampled"], np.int64))
    stride, fps = int(data["stride"]), float(data["fps"])
    cuts = [int(c) for c in data["cuts"]]
    ids = pseudo_identities(frames, data["xyxy"], data["scores"], sampled, stride, fps, cuts, tracklets=tracklets)
    runs = sampling_runs(sampled, stride, cuts)
    out = []
    for run in np.unique(runs):
        run_frames = sampled[runs == run]
        rows = np.flatnonzero(np.isin(frames, run_frames))
        if not len(rows):
            continue
        renumbered = np.searchsorted(run_frames, frames[rows]) + 1
        out.append(_sequence(f"{name}#{int(run)}", fps / stride, image_size, renumbered,
                             np.asarray(data["xyxy"], np.float32)[rows], np.asarray(data["scores"], np.float32)[rows],
                             ids[rows], None if embeddings is None else embeddings[rows], len(run_frames)))
    return out


def mot_sequence(seq_dir, tracklets: TrackletConfig = TrackletConfig()) -> LabelledSequence:
    """A MOTChallenge sequence folder's ``det/det.txt`` (``gt/`` is never read) -> one sequence
    with pseudo-identities, box-only."""
    seq_dir = Path(seq_dir)
    info = read_seqinfo(seq_dir)
    dets = load_detections(seq_dir / "det" / "det.txt", seq_length=info.seq_length)
    frames, xyxy, scores = [], [], []
    for f in range(1, info.seq_length + 1):
        d = dets.get(f)
        frames.append(np.full(len(d), f, np.int64))
        xyxy.append(d.xyxy.astype(np.float32))
        scores.append(d.scores.astype(np.float32))
    frames, xyxy, scores = np.concatenate(frames), np.concatenate(xyxy), np.concatenate(scores)
    sampled = np.arange(1, info.seq_length + 1, dtype=np.int64)
    ids = pseudo_identities(frames, xyxy, scores, sampled, 1, info.frame_rate, (), MOT_TRACKLET_TRACKER, tracklets)
    seq = _sequence(info.name, info.frame_rate, (info.width, info.height), frames, xyxy, scores, ids, None,
                    info.seq_length)
    seq.path = seq_dir
    return seq


def is_mot_sequence(path: Path) -> bool:
    return (path / "seqinfo.ini").is_file() and (path / "det" / "det.txt").is_file()


def image_size(video: Path) -> tuple:
    """(width, height) of a video file (container header) or of a frame folder's first image."""
    video = Path(video)
    if video.is_dir():
        first = next((p for p in sorted(video.iterdir()) if p.suffix.lower() in IMAGE_EXTS), None)
        img = None if first is None else cv2.imread(str(first))
        if img is None:
            raise InputError(f"{video}: no readable image in the frame folder", "unlabeled")
        return img.shape[1], img.shape[0]
    cap = cv2.VideoCapture(str(video))
    try:
        size = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()
    if min(size) <= 0:
        raise InputError(f"{video}: cannot read the frame size (not a video?)", "unlabeled")
    return size


def video_sequences(video: Path, embed: Optional[Callable[[np.ndarray], np.ndarray]], detector_factory,
                    cache_dir: Optional[Path]) -> List[LabelledSequence]:
    """A video file or frame folder -> its sequences (module docstring). ``embed``: (R, h, w, 3)
    uint8 crops -> (R, D) unit vectors, or None for box-only sequences; ``detector_factory()``
    is called only when the clip's detections are not cached."""
    from tracker.training.data import unlabeled_clip

    video = Path(video)
    data = unlabeled_clip(video, detector_factory, cache_dir=cache_dir)
    emb = embed(data["patches"]) if embed is not None and len(data["patches"]) else None
    name = video.name if video.is_dir() else video.stem
    return clip_sequences(name, data, image_size(video), emb)


def simulate_unlabeled(seqs: Sequence[LabelledSequence]) -> list:
    """Every self-supervised pass (``unlabeled_variants``) over every sequence -> the recorded
    problems, with the training simulation's lifecycle (a 4 s lost horizon)."""
    from tracker.training.associator import SIMULATION_LOST_HORIZON_S
    from tracker.training.associator_data import simulate

    config = TrackerConfig(lost_horizon_s=SIMULATION_LOST_HORIZON_S)
    return [p for seq in seqs for variant in unlabeled_variants() for p in simulate(seq, config, variant)]


def unlabeled_variants(seed: int = 0, drivers: Sequence[str] = ("iou", "oracle")) -> List[Variant]:
    """Augmentation of the self-supervised passes: the sampled rate and half of it, missed
    detections, and masked re-linking in every pass (``Variant.mask_share``)."""
    out = []
    k = 0
    for driver in drivers:
        for stride, drop, mask in ((1, 0.0, 0.5), (1, 0.15, 0.5), (2, 0.0, 0.5)):
            out.append(Variant(stride=stride, drop=drop, driver=driver, seed=seed * 1000 + k, mask_share=mask))
            k += 1
    return out
