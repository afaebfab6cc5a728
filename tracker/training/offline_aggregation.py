"""Self-supervised training of the learned appearance aggregation
(``tracker.offline.aggregation.Aggregator``) and its retrieval test.

Data: the online tracker's results on a video with the shipped embedder (``video_frames``:
detections from a detection file, no ground truth), cut into tracklets as the offline stage cuts
them (``tracklet_observations``). Each tracklet with at least ``2 * min_obs`` embedded
observations is split at a random observation into two pieces (``split_pieces``). Two tracklets
that co-exist in time (observed in one frame) are two objects: a certain negative.

Loss (InfoNCE, ``train_aggregator``): the aggregated embedding of a tracklet's first piece must
be nearer its second piece than the second pieces of the tracklets co-existing with it (and
symmetrically). Retrieval accuracy (``retrieval_accuracy``): the share of first pieces whose
nearest second piece among {its own} + {co-existing tracklets'} is its own.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from tracker.boxes import iou_matrix
from tracker.config_base import ConfigBase, check_int, check_range
from tracker.model_registry import OFFLINE_AGGREGATOR, write_weights
from tracker.offline.aggregation import AGG_HIDDEN, OBSERVATION_FEATURES, Aggregator, observation_features, quality_mean
from tracker.offline.config import OfflineConfig
from tracker.offline.tracklets import TrackedFrame, TrackletBuilder
from tracker.training.offline_scorer import scene_frames


@dataclass(frozen=True, eq=False)
class TrackletObservations:
    """One tracklet's embedded observations in time order: positions (O,) frame positions,
    embeddings (O, D), scores (O,), overlaps (O,) highest IoU with another box of the frame,
    heights (O,) px."""

    positions: np.ndarray
    embeddings: np.ndarray
    scores: np.ndarray
    overlaps: np.ndarray
    heights: np.ndarray

    @property
    def span(self) -> Tuple[int, int]:
        return int(self.positions[0]), int(self.positions[-1])


def tracklet_observations(frames: Sequence[TrackedFrame], config: OfflineConfig) -> List[TrackletObservations]:
    """The tracklets (as ``TrackletBuilder`` cuts them) with their embedded observations."""
    builder = TrackletBuilder(config)
    rows: Dict[int, list] = {}
    for pos, f in enumerate(scene_frames(frames)):
        labels = builder.add(f.tracks, f.timestamp, f.embeddings)
        if f.embeddings is None or not len(f.tracks):
            continue
        overlap = iou_matrix(f.tracks.xyxy, f.tracks.xyxy)
        np.fill_diagonal(overlap, 0.0)
        top = overlap.max(axis=1) if len(f.tracks) > 1 else np.zeros(len(f.tracks))
        for j, lab in enumerate(labels.tolist()):
            emb = f.embeddings[j]
            if lab >= 0 and np.any(emb):
                box = f.tracks.xyxy[j]
                rows.setdefault(lab, []).append((pos, emb, float(f.tracks.scores[j]), float(top[j]),
                                                 float(box[3] - box[1])))
    builder.finish()
    out = []
    for lab in sorted(rows):
        r = rows[lab]
        out.append(TrackletObservations(np.asarray([x[0] for x in r], np.int64),
                                        np.asarray([x[1] for x in r], np.float64),
                                        np.asarray([x[2] for x in r], np.float64),
                                        np.asarray([x[3] for x in r], np.float64),
                                        np.asarray([x[4] for x in r], np.float64)))
    return out


@dataclass(frozen=True, eq=False)
class Pieces:
    """Two pieces per eligible tracklet: first / second (lists of (embeddings, features)),
    coexist (K, K) bool, the two tracklets were observed in one frame (diagonal False)."""

    first: list
    second: list
    coexist: np.ndarray


def split_pieces(tracklets: Sequence[TrackletObservations], min_obs: int, rng: np.random.Generator) -> Pieces:
    """Split every tracklet with at least ``2 * min_obs`` observations at a random observation
    (each piece keeps at least ``min_obs``)."""
    chosen = [t for t in tracklets if len(t.positions) >= 2 * min_obs]
    first, second = [], []
    for t in chosen:
        c = int(rng.integers(min_obs, len(t.positions) - min_obs + 1))
        for part, sl in ((first, slice(0, c)), (second, slice(c, None))):
            emb = t.embeddings[sl]
            part.append((emb, observation_features(emb, t.scores[sl], t.overlaps[sl], t.heights[sl]),
                         t.scores[sl], t.overlaps[sl]))
    spans = np.asarray([t.span for t in chosen], np.int64).reshape(-1, 2)
    coexist = (spans[:, None, 0] <= spans[None, :, 1]) & (spans[None, :, 0] <= spans[:, None, 1])
    np.fill_diagonal(coexist, False)
    return Pieces(first, second, coexist)


def retrieval_accuracy(pieces: Sequence[Pieces], aggregate: Callable) -> Tuple[float, int]:
    """(share of queries retrieved correctly, queries): a query is a first piece of a tracklet
    with at least one co-existing tracklet; ``aggregate(piece) -> (D,)`` unit or None."""
    right = total = 0
    for p in pieces:
        q = [aggregate(x) for x in p.first]
        k = [aggregate(x) for x in p.second]
        for i in range(len(q)):
            others = np.flatnonzero(p.coexist[i])
            if not len(others) or q[i] is None or k[i] is None:
                continue
            own = float(q[i] @ k[i])
            rivals = [float(q[i] @ k[j]) for j in others if k[j] is not None]
            total += 1
            right += int(all(own > r for r in rivals))
    return (right / total if total else float("nan")), total


def uniform_piece(piece) -> Optional[np.ndarray]:
    v = piece[0].sum(axis=0)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else None


def quality_piece(piece) -> Optional[np.ndarray]:
    return quality_mean(piece[0], piece[2], piece[3])


def learned_piece(aggregator: Aggregator) -> Callable:
    return lambda piece: aggregator.aggregate(piece[0], piece[1])


@dataclass(frozen=True)
class AggregatorTraining(ConfigBase):
    """steps of Adam (one video's pieces per step, a fresh split each time), lr, weight_decay,
    temperature of the InfoNCE softmax, min_obs per piece, splits: random splits drawn per
    video, seed, threads."""

    steps: int = 300
    lr: float = 1e-2
    weight_decay: float = 1e-4
    temperature: float = 0.05
    min_obs: int = 8
    splits: int = 16
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        for f in ("steps", "min_obs", "splits", "threads"):
            check_int(f"AggregatorTraining.{f}", getattr(self, f), 1)
        check_int("AggregatorTraining.seed", self.seed, 0)
        check_range("AggregatorTraining.lr", self.lr, 0.0, 1.0, low_inclusive=False)
        check_range("AggregatorTraining.weight_decay", self.weight_decay, 0.0, 1.0)
        check_range("AggregatorTraining.temperature", self.temperature, 0.0, 10.0, low_inclusive=False)


def build_network(seed: int):
    """The torch form of ``Aggregator`` (last layer zero: uniform weights at the start)."""
    import torch

    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(len(OBSERVATION_FEATURES), AGG_HIDDEN), torch.nn.ReLU(),
                              torch.nn.Linear(AGG_HIDDEN, 1))
    with torch.no_grad():
        net[2].weight.zero_()
        net[2].bias.zero_()
    return net


def _pack(pieces_side: list, mean: np.ndarray, std: np.ndarray):
    import torch

    emb = torch.tensor(np.concatenate([p[0] for p in pieces_side]), dtype=torch.float32)
    feats = torch.tensor((np.concatenate([p[1] for p in pieces_side]) - mean) / std, dtype=torch.float32)
    seg = torch.tensor(np.repeat(np.arange(len(pieces_side)), [len(p[0]) for p in pieces_side]), dtype=torch.int64)
    return emb, feats, seg


def torch_aggregate(net, emb, feats, seg, count: int):
    """(count, D) unit aggregated embeddings: a softmax of ``net``'s logits within each segment."""
    import torch

    z = net(feats)[:, 0]
    top = torch.full((count,), -torch.inf).scatter_reduce(0, seg, z, reduce="amax")
    e = torch.exp(z - top[seg])
    total = torch.zeros(count).index_add(0, seg, e)
    w = e / total[seg]
    out = torch.zeros(count, emb.shape[1]).index_add(0, seg, w[:, None] * emb)
    return torch.nn.functional.normalize(out, dim=1)


def train_aggregator(videos: Sequence[Sequence[TrackletObservations]],
                     settings: AggregatorTraining = AggregatorTraining()) -> Tuple[Dict[str, np.ndarray], dict]:
    """Train on the tracklets of ``videos`` (one list per video); returns (params for
    ``Aggregator``, a report)."""
    import torch

    torch.set_num_threads(settings.threads)
    t0 = time.perf_counter()
    rng = np.random.default_rng(settings.seed)
    pool = [split_pieces(v, settings.min_obs, rng) for v in videos for _ in range(settings.splits)]
    pool = [p for p in pool if p.coexist.any()]
    if not pool:
        raise ValueError("no tracklet pair co-exists: nothing to train the aggregator on")
    allf = np.concatenate([x[1] for p in pool for x in p.first + p.second])
    mean, std = allf.mean(axis=0), allf.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    packed = [(_pack(p.first, mean, std), _pack(p.second, mean, std),
               torch.tensor(p.coexist | np.eye(len(p.first), dtype=bool))) for p in pool]
    net = build_network(settings.seed)
    opt = torch.optim.Adam(net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    losses = []
    for step in range(settings.steps):
        (e1, f1, s1), (e2, f2, s2), allowed = packed[step % len(packed)]
        k = allowed.shape[0]
        q, key = torch_aggregate(net, e1, f1, s1, k), torch_aggregate(net, e2, f2, s2, k)
        sim = (q @ key.T) / settings.temperature
        sim = sim.masked_fill(~allowed, -torch.inf)
        rows = allowed.sum(dim=1) > 1  # queries with at least one co-existing rival
        target = torch.arange(k)
        loss = 0.5 * (torch.nn.functional.cross_entropy(sim[rows], target[rows])
                      + torch.nn.functional.cross_entropy(sim.T[rows], target[rows]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    params = export_params(net, mean, std)
    window = max(1, len(losses) // 10)
    report = {"videos": len(videos), "splits": len(pool), "first_loss": round(float(np.mean(losses[:window])), 5),
              "last_loss": round(float(np.mean(losses[-window:])), 5), "seconds": round(time.perf_counter() - t0, 2)}
    return params, report


def export_params(net, mean: np.ndarray, std: np.ndarray) -> Dict[str, np.ndarray]:
    def array(t) -> np.ndarray:
        return t.detach().numpy().astype(np.float64)

    return {"mean": np.asarray(mean, np.float64), "std": np.asarray(std, np.float64),
            "w0": array(net[0].weight).T, "b0": array(net[0].bias),
            "w1": array(net[2].weight).T, "b1": array(net[2].bias)}


def save_aggregator(path, params: Dict[str, np.ndarray], metadata: dict) -> Path:
    def write(temporary: Path) -> None:
        with open(temporary, "wb") as fh:
            np.savez(fh, format=np.asarray(OFFLINE_AGGREGATOR.weights_format),
                     features=np.asarray(OBSERVATION_FEATURES), **params)

    return write_weights(path, write, metadata)


def video_frames(video, detections, frame_count: Optional[int] = None) -> List[TrackedFrame]:
    """Our online tracker on ``video`` with the detections of ``detections`` (a MOT det file)
    and the shipped embedder, as ``TrackedFrame``s with per-row embeddings."""
    from tracker.config import TrackerConfig
    from tracker.detectors.det_file import DetectionFileDetector
    from tracker.offline.stage import as_tracked_frame
    from tracker.pipeline import track

    detector = DetectionFileDetector(Path(detections), seq_length=frame_count)
    return [as_tracked_frame(r, i) for i, r in enumerate(track(str(video), detector, config=TrackerConfig(),
                                                                  embedder="on", prefetch=0))]
