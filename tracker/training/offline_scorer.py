"""Self-supervised training of the offline stage's learned pair scorer
(``tracker.offline.learned``), without labels.

Pairs come from cutting alone (``cut_pairs``): the online tracker's tracklets are built as the
stage builds them; each long confident one (``CutSettings``) is cut at a random time with a
random artificial gap, whose rows are removed. Piece A's end and piece B's start of one tracklet
are a positive pair. An end and a later start of two tracklets whose source tracklets co-exist
in time (both were observed in one frame: two objects) are a certain negative; every other pair
(two tracklets that never co-exist: its label is unknown) is left out. Only pairs the stage would
score are kept (``scoring.candidate_pairs`` and the hard rules), so the negatives are the hard
ones the linker meets: close in time, reachable, of a similar size. Nothing here reads ground
truth: the input is the online tracker's output on the detections (``sequence_frames``).

Training (``train_scorer``): binary cross-entropy with Adam on the pairs of part of the
source tracklets; Platt scaling (``platt_a * logit + platt_b``) fitted on the pairs of the
others (held-out self-supervised pairs), so that the probability is calibrated on pairs the
network did not see.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from tracker.config_base import ConfigBase, check_int, check_range
from tracker.model_registry import OFFLINE_SCORER, write_weights
from tracker.offline.config import OfflineConfig
from tracker.offline.learned import FEATURES, HIDDEN, pair_features
from tracker.offline.scoring import TrackletTable, candidate_pairs, pair_log_odds
from tracker.offline.scene import CameraPath, to_scene
from tracker.offline.stage import NEVER_CUT_RATIO
from tracker.offline.tracklets import TrackedFrame, TrackletBuilder
from tracker.offline.config import MAX_SECONDS

#: label of a kept pair: one tracklet cut in two / two co-existing tracklets
POSITIVE, NEGATIVE = 1.0, 0.0


@dataclass(frozen=True)
class CutSettings(ConfigBase):
    """passes: how many times every eligible tracklet is cut (each pass its own random cut);
    min_source_s: a tracklet is cut only when it spans at least this (s); min_observed: ... and
    was observed in at least this share of its frames (a confident one); min_piece_s: each piece
    spans at least this (s); min_gap_s: the shortest artificial gap (s; the longest is the
    stage's ``max_gap_s`` or what the tracklet leaves)."""

    passes: int = 10
    min_source_s: float = 2.0
    min_observed: float = 0.9
    min_piece_s: float = 0.4
    min_gap_s: float = 0.2

    def __post_init__(self) -> None:
        check_int("CutSettings.passes", self.passes, 1)
        for f in ("min_source_s", "min_piece_s", "min_gap_s"):
            check_range(f"CutSettings.{f}", getattr(self, f), 0.0, MAX_SECONDS, low_inclusive=False)
        check_range("CutSettings.min_observed", self.min_observed, 0.0, 1.0)


@dataclass(frozen=True, eq=False)
class PairSet:
    """features (N, F) float64 (``learned.FEATURES``), labels (N,) 1 = one identity, groups (N,)
    int64 (the source tracklet of the earlier piece, unique over a training set: the
    calibration split goes by it), partners (N,) int64 (the source tracklet of the later piece,
    numbered as ``groups``)."""

    features: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    partners: np.ndarray

    @property
    def positives(self) -> int:
        return int((self.labels == POSITIVE).sum())

    @property
    def negatives(self) -> int:
        return int((self.labels == NEGATIVE).sum())

    @staticmethod
    def concatenate(sets: Sequence["PairSet"]) -> "PairSet":
        offset, groups, partners = 0, [], []
        for s in sets:
            groups.append(s.groups + offset)
            partners.append(s.partners + offset)
            offset += max(int(s.groups.max()), int(s.partners.max())) + 1 if len(s.groups) else 0
        if not sets:
            return PairSet(np.zeros((0, len(FEATURES))), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
        return PairSet(np.concatenate([s.features for s in sets]), np.concatenate([s.labels for s in sets]),
                       np.concatenate(groups), np.concatenate(partners))


def _never_cut(config: OfflineConfig) -> OfflineConfig:
    return config.replace(cut_speed=MAX_SECONDS, cut_size_ratio=NEVER_CUT_RATIO, cut_after_gap_s=None)


def scene_frames(frames: Sequence[TrackedFrame]) -> List[TrackedFrame]:
    """The frames in scene coordinates (``scene.CameraPath``), observed rows only."""
    camera, out = CameraPath(), []
    for f in frames:
        tr = to_scene(f.tracks, camera.add(f.tracks.camera_motion))
        keep = np.asarray(tr.observed, bool)
        out.append(TrackedFrame(f.frame_index, f.timestamp, _subset(tr, keep, tr.track_ids[keep]),
                                None if f.embeddings is None else f.embeddings[keep]))
    return out


def _subset(tracks, keep: np.ndarray, ids: np.ndarray):
    return dataclasses.replace(tracks, track_ids=np.asarray(ids, np.int64), xyxy=tracks.xyxy[keep],
                               scores=tracks.scores[keep], class_ids=tracks.class_ids[keep],
                               det_index=tracks.det_index[keep], observed=tracks.observed[keep],
                               states=tracks.states[keep])


def cut_pairs(frames: Sequence[TrackedFrame], config: OfflineConfig, settings: CutSettings,
              rng: np.random.Generator) -> PairSet:
    """The self-supervised pairs of one recording's online results (see the module docstring)."""
    scene = scene_frames(frames)
    builder = TrackletBuilder(config)
    labels = [builder.add(f.tracks, f.timestamp, f.embeddings) for f in scene]
    sources = builder.finish()
    n = len(sources)
    times = np.asarray([f.timestamp for f in scene], np.float64)
    start = np.asarray([t.start_pos for t in sources], np.int64)
    end = np.asarray([t.end_pos for t in sources], np.int64)
    span = np.asarray([t.end_time - t.start_time for t in sources], np.float64)
    rows = np.asarray([t.rows for t in sources], np.float64)
    observed_share = rows / np.maximum(end - start + 1, 1)
    eligible = (span >= settings.min_source_s) & (observed_share >= settings.min_observed)
    sets = []
    for _ in range(settings.passes):
        cut_at = np.full(n, np.inf)  # piece A: time <= cut_at; piece B: time >= resume_at
        resume_at = np.full(n, np.inf)
        for k in np.flatnonzero(eligible).tolist():
            longest = min(config.max_gap_s, span[k] - 2.0 * settings.min_piece_s)
            if longest <= settings.min_gap_s:
                continue
            gap = rng.uniform(settings.min_gap_s, longest)
            t1 = rng.uniform(sources[k].start_time + settings.min_piece_s,
                             sources[k].end_time - settings.min_piece_s - gap)
            cut_at[k], resume_at[k] = t1, t1 + gap
        pieces = []
        for f, lab, t in zip(scene, labels, times):
            ok = lab >= 0
            lab_c = np.where(ok, lab, 0)
            in_a = t <= cut_at[lab_c]
            in_b = t >= resume_at[lab_c]
            keep = ok & (in_a | in_b)
            ids = 2 * lab_c[keep] + in_b[keep] * (~in_a[keep])  # 2k: piece A (or uncut), 2k+1: piece B
            pieces.append(TrackedFrame(f.frame_index, f.timestamp, _subset(f.tracks, keep, ids),
                                       None if f.embeddings is None else f.embeddings[keep]))
        sets.append(_label_pairs(pieces, config, start, end))
    # one numbering of the source tracklets over the passes: the calibration split keeps all
    # the pairs of one source tracklet on one side
    return PairSet(np.concatenate([s.features for s in sets]), np.concatenate([s.labels for s in sets]),
                   np.concatenate([s.groups for s in sets]), np.concatenate([s.partners for s in sets]))


def _label_pairs(pieces: Sequence[TrackedFrame], config: OfflineConfig, start: np.ndarray, end: np.ndarray) -> PairSet:
    builder = TrackletBuilder(_never_cut(config))
    for f in pieces:
        builder.add(f.tracks, f.timestamp, f.embeddings)
    tracklets = builder.finish()
    table = TrackletTable.from_tracklets(tracklets)
    a, b = candidate_pairs(table, config)
    if len(a):
        _, feasible = pair_log_odds(table, a, b, config)
        a, b = a[feasible], b[feasible]
    piece_id = np.asarray([t.track_id for t in tracklets], np.int64)
    source, part = piece_id // 2, piece_id % 2
    sa, sb = source[a], source[b]
    positive = (sa == sb) & (part[a] == 0) & (part[b] == 1)
    coexist = (sa != sb) & (start[sa] <= end[sb]) & (start[sb] <= end[sa])
    keep = positive | coexist
    a, b = a[keep], b[keep]
    return PairSet(pair_features(table, a, b, config), np.where(positive[keep], POSITIVE, NEGATIVE),
                   sa[keep].astype(np.int64), sb[keep].astype(np.int64))


@dataclass(frozen=True)
class ScorerTraining(ConfigBase):
    """epochs / batch_size / lr / weight_decay of Adam; seed; threads (torch); calibration_share:
    the share of source tracklets whose pairs fit the Platt scaling instead of the network."""

    epochs: int = 30
    batch_size: int = 512
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 1
    calibration_share: float = 0.25

    def __post_init__(self) -> None:
        for f in ("epochs", "batch_size", "threads"):
            check_int(f"ScorerTraining.{f}", getattr(self, f), 1)
        check_int("ScorerTraining.seed", self.seed, 0)
        check_range("ScorerTraining.lr", self.lr, 0.0, 1.0, low_inclusive=False)
        check_range("ScorerTraining.weight_decay", self.weight_decay, 0.0, 1.0)
        check_range("ScorerTraining.calibration_share", self.calibration_share, 0.0, 1.0,
                    low_inclusive=False, high_inclusive=False)


def build_network(width: int, seed: int):
    """The torch MLP of ``learned.PairScorer`` (``HIDDEN`` ReLU layers, one logit)."""
    import torch

    torch.manual_seed(seed)
    layers, last = [], width
    for h in HIDDEN:
        layers += [torch.nn.Linear(last, h), torch.nn.ReLU()]
        last = h
    layers.append(torch.nn.Linear(last, 1))
    return torch.nn.Sequential(*layers)


def _log_loss(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.logaddexp(0.0, logits) - labels * logits))


def fit_platt(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(2,) ``a, b`` minimising the log-loss of ``sigmoid(a * logit + b)`` (Newton steps)."""
    x = np.column_stack([logits, np.ones_like(logits)])
    w = np.array([1.0, 0.0])
    for _ in range(PLATT_STEPS):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - labels)
        hess = (x * (p * (1 - p))[:, None]).T @ x + PLATT_RIDGE * np.eye(2)
        w = w - np.linalg.solve(hess, grad)
    return w


#: Newton steps of the Platt fit, and its ridge (keeps the Hessian invertible on separable data)
PLATT_STEPS = 50
PLATT_RIDGE = 1e-6


def train_scorer(pairs: PairSet, settings: ScorerTraining = ScorerTraining()) -> Tuple[Dict[str, np.ndarray], dict]:
    """Train the network and its calibration on ``pairs``; returns (params for
    ``learned.PairScorer``, a report: pair counts, log-loss before/after calibration on the
    held-out pairs, seconds)."""
    import torch

    torch.set_num_threads(settings.threads)
    t0 = time.perf_counter()
    rng = np.random.default_rng(settings.seed)
    groups = np.unique(pairs.groups)
    held = rng.permutation(groups)[: max(1, int(round(settings.calibration_share * len(groups))))]
    calib = np.isin(pairs.groups, held)
    x_train, y_train = pairs.features[~calib], pairs.labels[~calib]
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    net = build_network(x_train.shape[1], settings.seed)
    opt = torch.optim.Adam(net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    xt = torch.tensor((x_train - mean) / std, dtype=torch.float32)
    yt = torch.tensor(y_train, dtype=torch.float32)
    gen = torch.Generator().manual_seed(settings.seed)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for _ in range(settings.epochs):
        order = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), settings.batch_size):
            idx = order[i:i + settings.batch_size]
            opt.zero_grad()
            loss = loss_fn(net(xt[idx])[:, 0], yt[idx])
            loss.backward()
            opt.step()
    params = export_params(net, mean, std, np.array([1.0, 0.0]))
    from tracker.offline.learned import PairScorer

    raw = PairScorer(params).logits(pairs.features[calib])
    platt = fit_platt(raw, pairs.labels[calib])
    params["platt"] = platt
    params["appearance_trained"] = np.asarray(bool(pairs.features[:, FEATURES.index("has_appearance")].any()))
    cal_logits = platt[0] * raw + platt[1]
    report = {"pairs": len(pairs.labels), "positives": pairs.positives, "negatives": pairs.negatives,
              "train_pairs": int((~calib).sum()), "calibration_pairs": int(calib.sum()),
              "calibration_log_loss_raw": round(_log_loss(raw, pairs.labels[calib]), 5),
              "calibration_log_loss": round(_log_loss(cal_logits, pairs.labels[calib]), 5),
              "calibration_log_loss_hand": round(_log_loss(pairs.features[calib, FEATURES.index("hand_log_odds")],
                                                           pairs.labels[calib]), 5),
              "calibration_accuracy": round(float(((cal_logits > 0) == (pairs.labels[calib] > 0.5)).mean()), 5),
              "platt": [round(float(v), 6) for v in platt], "seconds": round(time.perf_counter() - t0, 2)}
    return params, report


def export_params(net, mean: np.ndarray, std: np.ndarray, platt: np.ndarray) -> Dict[str, np.ndarray]:
    """The torch MLP as ``learned.PairScorer`` params (weights transposed to (in, out))."""
    import torch

    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    out: Dict[str, np.ndarray] = {"mean": np.asarray(mean, np.float64), "std": np.asarray(std, np.float64),
                                  "platt": np.asarray(platt, np.float64)}
    for i, m in enumerate(linears):
        out[f"w{i}"] = m.weight.detach().numpy().T.astype(np.float64)
        out[f"b{i}"] = m.bias.detach().numpy().astype(np.float64)
    return out


def save_scorer(path, params: Dict[str, np.ndarray], metadata: dict) -> Path:
    """Write the weights (``OFFLINE_SCORER`` format, feature names included) and metadata."""
    def write(temporary: Path) -> None:
        with open(temporary, "wb") as fh:
            np.savez(fh, format=np.asarray(OFFLINE_SCORER.weights_format), features=np.asarray(FEATURES), **params)

    return write_weights(path, write, metadata)


def sequence_frames(seq_dir, config: Optional[object] = None) -> List[TrackedFrame]:
    """Our online tracker's results on a MOTChallenge-layout sequence (``seqinfo.ini`` and
    ``det/det.txt`` only: the ``gt`` folder is never opened), as ``TrackedFrame``s."""
    from tracker.benchmarking.adapters import make_adapter
    from tracker.benchmarking.runner import run_sequence
    from tracker.io.mot import load_detections, read_seqinfo
    from tracker.offline.mot_rows import frames_from_rows

    seq_dir = Path(seq_dir)
    info = read_seqinfo(seq_dir)
    dets = load_detections(seq_dir / "det" / "det.txt", seq_length=info.seq_length)
    adapter = make_adapter("ours", info.frame_rate, image_size=(info.width, info.height), sequence=info.name)
    run = run_sequence(adapter, dets, info)
    return frames_from_rows(run.rows, info.seq_length, info.frame_rate)
