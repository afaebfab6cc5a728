"""Re-identification retrieval and linear-probe evaluation of appearance embeddings on gt
identities (reads gt: evaluation only, never training).

Protocol (``EvalProtocol``):

* crops of gt boxes every ``step``-th frame (frames 1, 1+step, ...), clipped to the frame,
  skipping boxes under ``min_w x min_h`` pixels after clipping; MOT17-style gt keeps only
  class 1 (pedestrian) and every gt keeps only rows with ``conf != 0``;
* retrieval: every crop is a query against all crops at least ``gap`` frames away (by default
  2 s at the video's frame rate: 20 frames at 10 fps); cosine similarity; average precision of
  the same-identity crops in that ranking; mAP over queries that have at least one;
  rank-1 = top gallery crop has the query's identity;
* linear probe: a frozen embedding, one linear layer trained on identity labels of the first
  half of the frames in range, accuracy on the second half (identities seen in the first half).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import torch

from tracker.embedding.crops import MIN_EVAL_BOX_WH, clip_boxes
from tracker.embedding.video import iter_frames, video_fps
from tracker.errors import InputError
from tracker.io.mot import read_mot_file

#: fewer gt identities than this make retrieval meaningless (one identity scores a perfect 1.0)
MIN_IDENTITIES = 2

MOT17_PEDESTRIAN = 1


@dataclass(frozen=True)
class EvalProtocol:
    """step: sample every step-th frame; gap_seconds: min query-gallery time distance;
    min_w, min_h: skip clipped boxes smaller than this (pixels); frames: inclusive 1-based
    range of frames used (None = all)."""

    step: int = 5
    gap_seconds: float = 2.0
    min_w: float = MIN_EVAL_BOX_WH[0]
    min_h: float = MIN_EVAL_BOX_WH[1]
    frames: Optional[Tuple[int, int]] = None

    def __post_init__(self) -> None:
        if self.step < 1:
            raise ValueError(f"EvalProtocol.step must be >= 1, got {self.step}")
        if self.gap_seconds < 0:
            raise ValueError(f"EvalProtocol.gap_seconds must be >= 0, got {self.gap_seconds}")
        if self.frames is not None and (self.frames[0] < 1 or self.frames[1] < self.frames[0]):
            raise ValueError(f"EvalProtocol.frames must be (first, last) with 1 <= first <= last, got {self.frames}")


@dataclass
class GtCrops:
    """Raw gt crops of one video: ``images[i]`` (h, w, 3) uint8 BGR at original size,
    ``frames`` (N,) 1-based, ``ids`` (N,) gt identities, ``xyxy`` (N, 4) clipped boxes,
    ``fps`` of the video."""

    images: list
    frames: np.ndarray
    ids: np.ndarray
    xyxy: np.ndarray
    fps: float
    frame_size: Tuple[int, int] = (0, 0)
    extra: Dict = field(default_factory=dict)

    def select(self, mask: np.ndarray) -> "GtCrops":
        idx = np.flatnonzero(mask)
        return GtCrops([self.images[i] for i in idx], self.frames[idx], self.ids[idx], self.xyxy[idx], self.fps,
                       self.frame_size)


def load_gt_crops(video, gt_path, protocol: EvalProtocol = EvalProtocol()) -> GtCrops:
    """Cut the protocol's gt crops out of ``video`` (see the module docstring)."""
    table = read_mot_file(gt_path, "gt")
    identities = np.unique(table.ids[table.ids >= 0])
    if len(identities) < MIN_IDENTITIES:
        raise InputError(f"{gt_path}: {len(identities)} identities (ids >= 0; -1 means no identity): re-identification "
                         f"needs a gt with at least {MIN_IDENTITIES} identities (is this a detection file?)")
    keep = (table.scores != 0) & (table.ids >= 0)
    if table.columns == 9:  # MOT17 layout: frame,id,x,y,w,h,conf,class,visibility
        keep &= table.classes == MOT17_PEDESTRIAN
    table = table.select(keep)
    sampled = (table.frames - 1) % protocol.step == 0
    if protocol.frames is not None:
        sampled &= (table.frames >= protocol.frames[0]) & (table.frames <= protocol.frames[1])
    table = table.select(sampled)
    wanted = set(int(f) for f in np.unique(table.frames))
    images, frames, ids, boxes = [], [], [], []
    size = (0, 0)
    rows_by_frame: Dict[int, np.ndarray] = {}
    for f in wanted:
        rows_by_frame[f] = np.flatnonzero(table.frames == f)
    for fno, img in iter_frames(video, wanted):
        h, w = img.shape[:2]
        size = (w, h)
        rows = rows_by_frame.get(fno)
        if rows is None or not len(rows):
            continue
        xywh = table.xywh[rows]
        xyxy = clip_boxes(np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1), w, h)
        for r, b in zip(rows, xyxy):
            bw, bh = b[2] - b[0], b[3] - b[1]
            if bw < protocol.min_w or bh < protocol.min_h:
                continue
            x1, y1 = int(np.floor(b[0])), int(np.floor(b[1]))
            x2, y2 = max(int(np.ceil(b[2])), x1 + 1), max(int(np.ceil(b[3])), y1 + 1)
            images.append(img[y1:y2, x1:x2].copy())
            frames.append(fno)
            ids.append(int(table.ids[r]))
            boxes.append(b)
    return GtCrops(images, np.array(frames, np.int64), np.array(ids, np.int64),
                   np.array(boxes, np.float64).reshape(-1, 4), video_fps(video), size)


def retrieval_scores(emb: np.ndarray, ids: np.ndarray, frames: np.ndarray, gap: int) -> Dict[str, float]:
    """emb: (N, D) unit vectors; ids, frames: (N,). Each crop queries all crops at least
    ``gap`` frames away, ranked by cosine similarity.

    Returns {"mAP", "rank1", "queries"} (queries = crops with at least one true match)."""
    emb = np.asarray(emb, np.float64)
    n = len(emb)
    if n == 0:
        return {"mAP": float("nan"), "rank1": float("nan"), "queries": 0}
    sim = emb @ emb.T
    aps, top1 = [], []
    for q in range(n):
        gal = np.abs(frames - frames[q]) >= gap
        if not gal.any():
            continue
        rel = ids[gal] == ids[q]
        if not rel.any():
            continue
        order = np.argsort(-sim[q, gal], kind="stable")
        hits = rel[order]
        ranks = np.flatnonzero(hits) + 1
        aps.append(float(np.mean(np.arange(1, len(ranks) + 1) / ranks)))
        top1.append(bool(hits[0]))
    if not aps:
        return {"mAP": float("nan"), "rank1": float("nan"), "queries": 0}
    return {"mAP": float(np.mean(aps)), "rank1": float(np.mean(top1)), "queries": len(aps)}


def linear_probe(emb: np.ndarray, ids: np.ndarray, frames: np.ndarray, seed: int = 0, epochs: int = 300,
                 weight_decay: float = 1e-4) -> Dict[str, float]:
    """Train one linear layer (softmax over identities) on crops of the first half of the
    frames, test on the second half (only identities seen in training).

    Returns {"accuracy", "train", "test", "classes"}."""
    emb = np.asarray(emb, np.float32)
    if len(emb) == 0:
        return {"accuracy": float("nan"), "train": 0, "test": 0, "classes": 0}
    mid = (int(frames.min()) + int(frames.max())) / 2.0
    train = frames <= mid
    classes = np.unique(ids[train])
    test = (~train) & np.isin(ids, classes)
    if not train.any() or not test.any():
        return {"accuracy": float("nan"), "train": int(train.sum()), "test": int(test.sum()), "classes": len(classes)}
    label = {c: i for i, c in enumerate(classes)}
    y = torch.tensor([label[c] for c in ids[train]])
    mean = emb[train].mean(0, keepdims=True)
    std = emb[train].std(0, keepdims=True) + 1e-6
    xtr = torch.from_numpy((emb[train] - mean) / std)
    xte = torch.from_numpy((emb[test] - mean) / std)
    gen = torch.Generator().manual_seed(seed)
    layer = torch.nn.Linear(emb.shape[1], len(classes))
    with torch.no_grad():
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen) * 0.01)
        layer.bias.zero_()
    opt = torch.optim.Adam(layer.parameters(), lr=0.01, weight_decay=weight_decay)
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(layer(xtr), y)
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = layer(xte).argmax(1).numpy()
    truth = np.array([label[c] for c in ids[test]])
    return {"accuracy": float(np.mean(pred == truth)), "train": int(train.sum()), "test": int(test.sum()),
            "classes": len(classes)}


def evaluate_embedding(crops: GtCrops, embed: Callable[[list], np.ndarray], gap: Optional[int] = None,
                       probe: bool = True) -> Dict[str, float]:
    """Run retrieval (and the linear probe) for one embedding function
    ``embed(list of (h, w, 3) uint8 BGR crops) -> (N, D) unit vectors``."""
    gap = int(round(2.0 * crops.fps)) if gap is None else int(gap)
    emb = embed(crops.images) if len(crops.images) else np.zeros((0, 1), np.float32)
    out = dict(retrieval_scores(emb, crops.ids, crops.frames, gap))
    out["gap_frames"] = gap
    out["crops"] = len(crops.images)
    out["identities"] = int(len(np.unique(crops.ids)))
    if probe:
        p = linear_probe(emb, crops.ids, crops.frames)
        out["probe_acc"] = p["accuracy"]
        out["probe_test"] = p["test"]
    return out
