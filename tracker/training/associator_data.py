"""Training problems for the Transformer associator, from MOTChallenge sequences.

1. Every detection of ``det/det.txt`` gets a ground-truth identity by per-frame Hungarian
   matching with the gt boxes at IoU >= 0.5 (unmatched detections are false positives, id -1),
   so the model learns on real detector noise. Which gt rows count follows the benchmark
   conventions: MOT15 rows with ``conf != 0``; MOT17 pedestrians and the person-like
   distractor classes (a detection on a vehicle is a false positive).
2. The tracker itself is run over the sequence (so training and use see the same track
   states); a recording associator wraps the "driver" associator that makes the decisions
   (the IoU core, an oracle that follows the labels, or a trained model) and stores, for every
   association problem, the tokens (``tracker.association.tokens``) plus the identity of each
   track (the gt id of its newest observation) and detection.
3. Variants add augmentation: frame drops (a stride of 2-3 frames, i.e. other frame rates and
   longer gaps), randomly missed detections, a random start frame (tracks start and end).

Frames (appearance) are optional: ``embeddings`` maps frame -> (N, D) unit vectors aligned
with that frame's detections.

Without gt (``tracker.training.associator_unlabeled``) the identities are pseudo-identities
and a sequence carries their ``spans``: a (track, detection) pair is then a training pair only
where its answer is certain (same pseudo-identity, or two that co-exist in time), and
``Variant.mask_share`` hides a random stretch of some identities (masked re-linking: the
label of the detection that comes back is the identity that was hidden).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from tracker.assignment import linear_assignment
from tracker.association import AssociationContext, IouAssociator, Stage
from tracker.association.base import PairCosts
from tracker.association.tokens import HISTORY_LEN, build_tokens
from tracker.boxes import iou_matrix, xywh_to_xyxy
from tracker.config import TrackerConfig
from tracker.core import Tracker
from tracker.detections import Detections
from tracker.evaluation.conventions import detect_benchmark
from tracker.detectors.base import BaseDetector
from tracker.io.mot import SequenceInfo, load_detections, read_mot_file, read_seqinfo
from tracker.io.mot_source import SequenceFramesSource
from tracker.io.sources import Position
from tracker.pipeline import TrackingSession

LABEL_IOU = 0.5
MOT17_PERSON_CLASSES = (1, 2, 7, 8, 12)  # pedestrians and the person-like distractors
#: identity of a detection no label is trusted for (self-supervised data): its pairs are left
#: out of the loss, as is its row or column
UNKNOWN_ID = -3
#: masked re-linking: length of a hidden stretch, seconds (uniform in this range)
MASK_GAP_S = (0.2, 3.0)


@dataclass
class Problem:
    """One recorded association problem (arrays as in ``AssociationTokens``; float16 to save
    memory) with identities: track_ids (T,), det_ids (N,) int64, -1 = none."""

    history: np.ndarray
    history_mask: np.ndarray
    track_globals: np.ndarray
    det_tokens: np.ndarray
    pairs: np.ndarray
    track_ids: np.ndarray
    det_ids: np.ndarray
    sequence: str = ""
    pair_known: Optional[np.ndarray] = None  # (T, N) bool: pairs with a certain answer; None = all


@dataclass(frozen=True)
class Variant:
    """How one simulated pass over a sequence is perturbed.

    stride: use every stride-th frame; drop: probability that a detection is missed;
    start: first frame; driver: ``iou``, ``oracle`` or ``model``; seed; mask_share: share of
    identities whose detections are hidden for one stretch of ``MASK_GAP_S`` seconds inside
    their span (masked re-linking)."""

    stride: int = 1
    drop: float = 0.0
    start: int = 1
    driver: str = "iou"
    seed: int = 0
    mask_share: float = 0.0


def label_detections(dets, gt_table, benchmark: str, seq_length: int) -> Dict[int, np.ndarray]:
    """frame -> (N,) gt identity of each detection of that frame (-1 = false positive)."""
    keep = gt_table.scores != 0
    if benchmark != "MOT15":
        keep = np.isin(gt_table.classes, MOT17_PERSON_CLASSES)
    gt = gt_table.select(keep)
    out = {}
    for frame in range(1, seq_length + 1):
        d = dets.get(frame)
        ids = np.full(len(d), -1, np.int64)
        sel = gt.frames == frame
        if len(d) and sel.any():
            iou = iou_matrix(xywh_to_xyxy(gt.xywh[sel]), d.xyxy)
            matches, _, _ = linear_assignment(1.0 - iou, 1.0 - LABEL_IOU)
            ids[matches[:, 1]] = gt.ids[sel][matches[:, 0]]
        out[frame] = ids
    return out


def _box_key(t: float, box) -> tuple:
    return (round(float(t), 6),) + tuple(round(float(v), 2) for v in box)


class OracleAssociator:
    """Matches a track to the detection with its own identity (labels), nothing else."""

    def __init__(self, recorder: "RecordingAssociator"):
        self.recorder = recorder

    def cost(self, tracks, detections, det_rows, stage, context):
        tids = self.recorder.track_identities(tracks)
        dids = self.recorder.frame_ids[det_rows]
        same = (tids[:, None] == dids[None, :]) & (tids[:, None] >= 0)
        return PairCosts(np.where(same, 0.0, 2.0), 1.0)


class RecordingAssociator:
    """Wraps a driver associator; stores every problem's tokens and identities."""

    def __init__(self, config: TrackerConfig, image_size, sequence: str, history_len: int = HISTORY_LEN,
                 with_appearance: bool = True, spans: Optional[Dict[int, Tuple[int, int]]] = None):
        self.config = config
        self.spans = spans
        self.image_size = image_size
        self.sequence = sequence
        self.history_len = history_len
        self.with_appearance = with_appearance
        self.driver = IouAssociator(config)
        self.problems: List[Problem] = []
        self.frame_ids = np.zeros(0, np.int64)
        self._id_of_box: Dict[tuple, int] = {}

    def new_frame(self, now: float, detections: Detections, ids: np.ndarray) -> None:
        self.frame_ids = ids
        for box, i in zip(detections.xyxy.astype(np.float64), ids):
            self._id_of_box[_box_key(now, box)] = int(i)

    def track_identities(self, tracks) -> np.ndarray:
        out = np.full(len(tracks), -1, np.int64)
        for k, t in enumerate(tracks):
            row = t.history[-1]
            out[k] = self._id_of_box.get(_box_key(row[0], row[1:5]), -1)
        return out

    def cost(self, tracks, detections, det_rows, stage: Stage, context: AssociationContext):
        if len(tracks) and len(det_rows):
            use_emb = self.with_appearance and detections.embeddings is not None
            emb = detections.embeddings[det_rows] if use_emb else None
            tok = build_tokens(tracks, detections.xyxy[det_rows], detections.scores[det_rows], stage, context.now,
                               self.image_size, self.config.motion, emb, self.history_len)
            tids, dids = self.track_identities(tracks), self.frame_ids[det_rows].copy()
            self.problems.append(Problem(
                tok.history.astype(np.float16), tok.history_mask, tok.track_globals.astype(np.float16),
                tok.det_tokens.astype(np.float16), tok.pairs.astype(np.float16), tids, dids, self.sequence,
                None if self.spans is None else certain_pairs(tids, dids, self.spans)))
        return self.driver.cost(tracks, detections, det_rows, stage, context)


def certain_pairs(track_ids: np.ndarray, det_ids: np.ndarray, spans: Dict[int, Tuple[int, int]]) -> np.ndarray:
    """(T,) and (N,) pseudo-identities, ``spans`` id -> (first, last frame) -> (T, N) bool:
    True where the pair's answer is certain: the same identity (a match), or two identities
    seen in a common stretch of time (two objects at once: certainly not a match). Two
    identities that never co-exist may be one object seen twice, so their pair is unknown."""
    def bounds(ids):
        first = np.array([spans.get(int(i), (np.inf, -np.inf))[0] for i in ids], np.float64)
        last = np.array([spans.get(int(i), (np.inf, -np.inf))[1] for i in ids], np.float64)
        return first, last

    tf, tl = bounds(track_ids)
    df, dl = bounds(det_ids)
    known_t, known_d = track_ids >= 0, det_ids >= 0
    same = track_ids[:, None] == det_ids[None, :]
    overlap = (tf[:, None] <= dl[None, :]) & (df[None, :] <= tl[:, None])
    return known_t[:, None] & known_d[None, :] & (same | overlap)


def hidden_stretches(labels: Dict[int, np.ndarray], frame_rate: float, share: float,
                     rng: np.random.Generator) -> Dict[int, Tuple[int, int]]:
    """Masked re-linking: for a ``share`` of the identities (>= 0) in ``labels`` (frame -> ids),
    one stretch (first, last frame) strictly inside the identity's span, ``MASK_GAP_S`` seconds
    long, during which its detections are hidden. Identities too short to hide one are skipped."""
    spans = identity_spans(labels)
    out: Dict[int, Tuple[int, int]] = {}
    for ident in sorted(spans):
        first, last = spans[ident]
        if rng.uniform() >= share:
            continue
        gap = max(1, int(round(rng.uniform(*MASK_GAP_S) * frame_rate)))
        if last - first - 1 < gap:  # one observed frame on each side at least
            continue
        start = int(rng.integers(first + 1, last - gap + 1))
        out[ident] = (start, start + gap - 1)
    return out


def identity_spans(labels: Dict[int, np.ndarray]) -> Dict[int, Tuple[int, int]]:
    """frame -> (N,) ids -> id -> (first frame, last frame) for ids >= 0."""
    spans: Dict[int, Tuple[int, int]] = {}
    for frame in sorted(labels):
        for ident in np.unique(labels[frame]):
            if ident < 0:
                continue
            first, _ = spans.get(int(ident), (frame, frame))
            spans[int(ident)] = (first, frame)
    return spans


@dataclass
class LabelledSequence:
    """A development sequence ready for simulation. ``spans`` (id -> first, last frame) is set
    for pseudo-identities (self-supervised data) and None for gt labels (every pair certain)."""

    name: str
    frame_rate: float
    image_size: tuple
    seq_length: int
    detections: object  # DetectionSet
    labels: Dict[int, np.ndarray]
    embeddings: Dict[int, np.ndarray] = field(default_factory=dict)
    path: Optional[Path] = None
    spans: Optional[Dict[int, Tuple[int, int]]] = None

    @property
    def info(self) -> SequenceInfo:
        """As a ``SequenceInfo`` (what the frame loop's ``SequenceFramesSource`` reads)."""
        return SequenceInfo(self.name, self.path or Path(self.name), self.frame_rate, self.seq_length,
                            int(self.image_size[0]), int(self.image_size[1]))

    def frame_detections(self, frame: int) -> Detections:
        d = self.detections.get(frame)
        emb = self.embeddings.get(frame)
        if emb is not None and len(d) and d.embeddings is None:
            d = d.with_embeddings(emb)
        return d


class ThinnedDetections(BaseDetector):
    """The simulation's detector: each frame's labelled detections with a ``drop`` share
    removed at random; it tells the recorder which identities the kept ones are."""

    def __init__(self, seq: "LabelledSequence", drop: float, recorder: "RecordingAssociator",
                 rng: np.random.Generator, hidden: Optional[Dict[int, Tuple[int, int]]] = None):
        self.seq, self.drop, self.recorder, self.rng = seq, drop, recorder, rng
        self.hidden = hidden or {}

    def __call__(self, frame=None, frame_index: Optional[int] = None) -> Detections:
        mot_frame = frame_index + 1
        d, ids = self.seq.frame_detections(mot_frame), self.seq.labels[mot_frame]
        masked = [i for i, (lo, hi) in self.hidden.items() if lo <= mot_frame <= hi]
        if masked and len(d):
            keep = ~np.isin(ids, masked)
            d, ids = d[keep], ids[keep]
        if self.drop > 0 and len(d):
            keep = self.rng.uniform(size=len(d)) >= self.drop
            d, ids = d[keep], ids[keep]
        self.recorder.new_frame(frame_index / self.seq.frame_rate, d, ids)
        return d


def load_sequence(seq_dir) -> LabelledSequence:
    info = read_seqinfo(seq_dir)
    dets = load_detections(Path(seq_dir) / "det" / "det.txt", seq_length=info.seq_length)
    gt_path = Path(seq_dir) / "gt" / "gt.txt"
    gt = read_mot_file(gt_path, "gt", info.seq_length)
    labels = label_detections(dets, gt, detect_benchmark(info.name, gt.columns), info.seq_length)
    return LabelledSequence(info.name, info.frame_rate, (info.width, info.height), info.seq_length, dets, labels,
                            path=Path(seq_dir))


def simulate(seq: LabelledSequence, config: TrackerConfig, variant: Variant,
             model_factory: Optional[Callable[[TrackerConfig], object]] = None,
             with_appearance: bool = True) -> List[Problem]:
    """Run the tracker over ``seq`` under ``variant`` and return the recorded problems."""
    rng = np.random.default_rng(variant.seed)
    config = config.replace(frame_rate=seq.frame_rate)
    recorder = RecordingAssociator(config, seq.image_size, seq.name, with_appearance=with_appearance,
                                   spans=seq.spans)
    if variant.driver == "oracle":
        recorder.driver = OracleAssociator(recorder)
    elif variant.driver == "model":
        if model_factory is None:
            raise ValueError("driver 'model' needs a model_factory")
        recorder.driver = model_factory(config)
    tracker = Tracker(config, associator=recorder)
    source = SequenceFramesSource(seq.info, start=Position(variant.start - 1, "frames"), stride=variant.stride)
    hidden = hidden_stretches(seq.labels, seq.frame_rate, variant.mask_share, rng) if variant.mask_share > 0 else None
    detector = ThinnedDetections(seq, variant.drop, recorder, rng, hidden)
    for _ in TrackingSession(source, detector, config=config, embedder="off", tracker=tracker, prefetch=0):
        pass
    return recorder.problems


def default_variants(seed: int = 0, drivers: Sequence[str] = ("iou", "oracle")) -> List[Variant]:
    """The augmentation set used for the shipped model."""
    out = []
    k = 0
    for driver in drivers:
        for stride, drop in ((1, 0.0), (1, 0.2), (2, 0.1), (3, 0.0)):
            out.append(Variant(stride=stride, drop=drop, start=1 + (k % 3) * 7, driver=driver, seed=seed * 1000 + k))
            k += 1
    return out
