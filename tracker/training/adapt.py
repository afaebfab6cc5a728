"""Adaptation of the appearance embedder to one video, from that video's own tracks (no labels).

Pass 1 tracks the video with the embedder as it is; ``TrackletCollector`` keeps crops of the
boxes the tracker matched (``Tracks.observed``), their track ids and the shot cuts it sees.
``adapt_embedder`` then fine-tunes the embedder contrastively on the *confident* part of those
tracks (``tracker.training.tracklets.confident_tracklets``: split where two boxes overlap, at
gaps and cuts): positives are two crops of one tracklet (or two views of one crop), negatives
only tracklets that co-exist with the query's in some frame (certainly another person). The
loss acts on the embedding itself (no projection head), from the given weights, for a bounded
time. Pass 2 tracks again with the adapted embedder.

Nothing here reads a label or a gt file. For a fixed ``max_steps`` that ends before the time
bound, the result is deterministic for a seed and thread count; with the time bound, the step
count (and so the result) depends on the machine's speed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, List, Optional

import numpy as np
import torch

from tracker.config_base import ConfigBase, check_int, check_range
from tracker.embedding.augment import AugmentConfig
from tracker.embedding.crops import crop_patches
from tracker.embedding.model import PatchEncoder
from tracker.training.contrastive import ContrastiveTrainer, TrainConfig
from tracker.training.cuts import CutDetector
from tracker.training.data import TrainingSet
from tracker.training.tracklets import TrackletConfig, confident_tracklets

#: size (h, w) crops are kept at during pass 1 (the training store size, above the 64x32 input)
STORE_SIZE = (80, 40)
#: pass-1 boxes smaller than this (w, h pixels) are not collected
MIN_BOX_WH = (8.0, 20.0)
#: default time bound of adaptation as a fraction of pass 1's wall time
DEFAULT_FRACTION = 0.3


@dataclass(frozen=True)
class AdaptConfig(ConfigBase):
    """Settings of ``adapt_embedder``.

    seconds: time bound of the fine-tuning (None: ``fraction`` x pass 1's wall time);
    fraction: that default share, in (0, 1]; max_steps: most steps (ends earlier at the bound);
    batch_size, lr, temperature, momentum, queue_size: as in ``TrainConfig``;
    min_score: pass-1 boxes with a lower detector score are not collected;
    max_crops: crops kept from pass 1 at most (every second collected frame is dropped, and
    the collection stride doubled, when it would be exceeded); min_tracklets: fewer confident
    tracklets of >= 2 crops than this and there is nothing to learn from (adaptation skipped);
    seed, threads: randomness and torch threads of the fine-tuning.
    """

    seconds: Optional[float] = None
    fraction: float = DEFAULT_FRACTION
    max_steps: int = 400
    batch_size: int = 64
    lr: float = 2e-4
    temperature: float = 0.07
    momentum: float = 0.99
    queue_size: int = 1024
    min_score: float = 0.5
    max_crops: int = 8000
    min_tracklets: int = 4
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        if self.seconds is not None:
            check_range("AdaptConfig.seconds", self.seconds, 0.0, None)
        check_range("AdaptConfig.fraction", self.fraction, 0.0, 1.0, low_inclusive=False)
        check_int("AdaptConfig.max_steps", self.max_steps, 1)
        check_int("AdaptConfig.batch_size", self.batch_size, 2)
        check_range("AdaptConfig.lr", self.lr, 0.0, 1.0, low_inclusive=False)
        check_range("AdaptConfig.min_score", self.min_score, 0.0, 1.0)
        check_int("AdaptConfig.max_crops", self.max_crops, 2)
        check_int("AdaptConfig.min_tracklets", self.min_tracklets, 1)
        check_int("AdaptConfig.threads", self.threads, 1)
        check_int("AdaptConfig.seed", self.seed, 0)

    def bound(self, pass1_seconds: float) -> float:
        """The time bound in seconds for a pass 1 of ``pass1_seconds``."""
        return float(self.seconds) if self.seconds is not None else self.fraction * max(0.0, pass1_seconds)


class TrackletCollector:
    """Crops of the matched boxes of pass 1, with their track ids (bounded memory).

    ``add(result)`` per ``FrameResult`` (frames without pixels are ignored); ``training_set()``
    -> the confident tracklets as a ``TrainingSet``.
    """

    def __init__(self, max_crops: int = AdaptConfig().max_crops, min_score: float = AdaptConfig().min_score):
        self.max_crops = int(max_crops)
        self.min_score = float(min_score)
        self.every = 1  # collect every ``every``-th frame seen
        self._seen = 0
        self._cuts = CutDetector()
        self._frames: List[int] = []  # collected frame numbers (1-based), in order
        self._rows: List[tuple] = []  # per collected frame: (patches, track ids, xyxy)

    def add(self, result) -> None:
        image = result.image
        if image is None:
            return
        self._cuts.push(image)
        self._seen += 1
        if (self._seen - 1) % self.every:
            return
        tracks = result.tracks
        keep = np.asarray(tracks.observed, bool) & (np.asarray(tracks.scores) >= self.min_score)
        xyxy = np.asarray(tracks.xyxy, np.float32)[keep]
        if len(xyxy):
            h, w = image.shape[:2]
            xyxy = np.clip(xyxy, 0, [w, h, w, h]).astype(np.float32)
            wh = xyxy[:, 2:] - xyxy[:, :2]
            ok = (wh[:, 0] >= MIN_BOX_WH[0]) & (wh[:, 1] >= MIN_BOX_WH[1])
            ids = np.asarray(tracks.track_ids, np.int64)[keep][ok]
            xyxy = xyxy[ok]
        else:
            ids = np.zeros(0, np.int64)
        patches = crop_patches(image, xyxy, STORE_SIZE) if len(xyxy) else np.zeros((0, *STORE_SIZE, 3), np.uint8)
        self._frames.append(self._seen)
        self._rows.append((patches, ids, xyxy))
        while self.crops > self.max_crops and len(self._frames) > 1:
            self._frames, self._rows = self._frames[::2], self._rows[::2]
            self.every *= 2

    @property
    def crops(self) -> int:
        return sum(len(r[1]) for r in self._rows)

    @property
    def cuts(self) -> List[int]:
        """Frames (1-based count of frames seen) that start a new shot."""
        return list(self._cuts.cuts)

    def training_set(self, tracklets: TrackletConfig = TrackletConfig()) -> TrainingSet:
        """-> the collected crops with confident tracklet ids (``confident_tracklets``)."""
        counts = [len(r[1]) for r in self._rows]
        frames = np.repeat(np.array(self._frames, np.int64), counts)
        if not len(frames):
            empty = np.zeros(0, np.int64)
            return TrainingSet(np.zeros((0, *STORE_SIZE, 3), np.uint8), empty, empty, empty, empty, empty, empty)
        patches = np.concatenate([r[0] for r in self._rows])
        ids = np.concatenate([r[1] for r in self._rows])
        xyxy = np.concatenate([r[2] for r in self._rows])
        # collected frames are ``every`` apart: max_gap 1 in positions of the collected frames
        trk = confident_tracklets(frames, xyxy, ids, np.array(self._frames, np.int64), self.cuts, tracklets)
        n_trk = int(trk.max()) + 1
        order = np.argsort(trk, kind="stable")
        bounds = np.searchsorted(trk[order], np.arange(n_trk + 1))
        start = np.array([frames[order[bounds[t]]] for t in range(n_trk)], np.int64)
        end = np.array([frames[order[bounds[t + 1] - 1]] for t in range(n_trk)], np.int64)
        return TrainingSet(patches, np.zeros(len(frames), np.int64), frames, trk, np.zeros(n_trk, np.int64), start,
                           end, [{"video": "pass 1", "crops": int(len(frames)), "tracklets": n_trk}])


@dataclass
class AdaptResult:
    """What adaptation did: model (the adapted ``PatchEncoder``, eval mode; None when skipped),
    steps, seconds, bound_seconds, tracklets (confident, >= 2 crops), crops, skipped (reason
    or None), final_loss."""

    model: Optional[PatchEncoder]
    steps: int
    seconds: float
    bound_seconds: float
    tracklets: int
    crops: int
    skipped: Optional[str] = None
    final_loss: Optional[float] = None

    def summary(self) -> dict:
        return {"steps": self.steps, "seconds": round(self.seconds, 2), "bound_seconds": round(self.bound_seconds, 2),
                "tracklets": self.tracklets, "crops": self.crops, "skipped": self.skipped,
                "final_loss": None if self.final_loss is None else round(self.final_loss, 4)}


def adapt_embedder(model: PatchEncoder, data: TrainingSet, config: AdaptConfig, bound_seconds: float,
                   on_step: Optional[Callable[[int, float, float], None]] = None) -> AdaptResult:
    """Fine-tune ``model`` (not changed; a copy is trained) on ``data`` for at most
    ``bound_seconds`` and ``config.max_steps`` steps. on_step(step, loss, elapsed seconds).
    A ``KeyboardInterrupt`` propagates (the caller keeps pass 1's results)."""
    t0 = time.monotonic()
    sizes = np.bincount(data.tracklet, minlength=len(data.tracklet_video)) if len(data) else np.zeros(0, np.int64)
    n_multi = int((sizes >= 2).sum())
    if n_multi < config.min_tracklets or len(data) < config.batch_size:
        reason = f"{n_multi} confident tracklets of >= 2 crops, {len(data)} crops: too few to adapt on"
        return AdaptResult(None, 0, time.monotonic() - t0, bound_seconds, n_multi, len(data), reason)
    previous = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        train = TrainConfig(steps=config.max_steps, batch_size=config.batch_size, lr=config.lr,
                            warmup_steps=min(20, config.max_steps), temperature=config.temperature,
                            momentum=config.momentum, queue_size=config.queue_size, proj_hidden=0,
                            seed=config.seed, p_temporal=1.0)
        trainer = ContrastiveTrainer(data, train, augment=AugmentConfig(), init_encoder=model)
        while trainer.step_index < config.max_steps and time.monotonic() - t0 < bound_seconds:
            loss = trainer.step()
            if on_step is not None:
                on_step(trainer.step_index, loss, time.monotonic() - t0)
    finally:
        torch.set_num_threads(previous)
    hist = trainer.loss_history
    final = float(np.mean(hist[-20:])) if hist else None
    return AdaptResult(trainer.encoder.eval() if trainer.step_index else None, trainer.step_index,
                       time.monotonic() - t0, bound_seconds, n_multi, len(data),
                       None if trainer.step_index else "the time bound ended before the first step", final)


@dataclass
class AdaptedVideo:
    """``adapt_to_video``'s outcome: embedder (the adapted ``Embedder``, or the given one when
    adaptation was skipped), result (``AdaptResult``), pass1_seconds (wall time of pass 1),
    pass1_frames."""

    embedder: object
    result: AdaptResult
    pass1_seconds: float
    pass1_frames: int


def adapt_to_video(source, detector=None, *, embedder=None, adapt: AdaptConfig = AdaptConfig(), config=None,
                   on_frame: Optional[Callable[[object], None]] = None,
                   on_step: Optional[Callable[[int, float, float], None]] = None, **session_options) -> AdaptedVideo:
    """Pass 1 (track ``source`` with ``embedder``, default the shipped one) and fine-tuning on
    its confident tracklets (module docstring). ``source`` must be re-openable for a pass 2 (a
    file or frame folder). on_frame(FrameResult) sees pass 1's results; other keyword
    arguments go to ``TrackingSession``. No file is written and no label read."""
    from tracker.embedding import Embedder
    from tracker.pipeline import EMBEDDER_THREADS, TrackingSession

    if embedder is None:
        embedder = Embedder.default(threads=EMBEDDER_THREADS)
    if not hasattr(embedder, "trainable_model"):
        raise ValueError("adapt needs an identitrack Embedder (tracker.embedding.Embedder), "
                         f"got {type(embedder).__name__}")
    collector = TrackletCollector(adapt.max_crops, adapt.min_score)
    t0 = time.monotonic()
    session = TrackingSession(source, detector, config=config, embedder=embedder, **session_options)
    frames = 0
    for result in session:
        collector.add(result)
        frames += 1
        if on_frame is not None:
            on_frame(result)
    pass1 = time.monotonic() - t0
    result = adapt_embedder(embedder.trainable_model(), collector.training_set(), adapt, adapt.bound(pass1), on_step)
    if result.model is None:
        return AdaptedVideo(embedder, result, pass1, frames)
    meta = {**getattr(embedder, "metadata", {}), "adapted": {**result.summary(),
                                                             "labels_used": "none (the video's own pass-1 tracks)"}}
    return AdaptedVideo(Embedder(result.model, meta, threads=getattr(embedder, "threads", EMBEDDER_THREADS)), result,
                        pass1, frames)
