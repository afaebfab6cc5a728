"""Training of the Transformer associator (``track train-associator``).

Data: ``tracker.training.associator_data`` (real detections labelled with gt identities,
the tracker simulated over every development sequence with augmentation). Loss: the
MOTIP-style row/column cross-entropy of ``associator_model.association_loss``. The trained
network is exported to the numpy ``.npz`` format of ``tracker.association.transformer``.

Leave-sequences-out folds (``FOLDS``): every development-set number of a learned model comes
from a model that never saw the sequence it scores; PETS09-S2L1 and vtest (the same footage)
stay together.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from tracker.association.tokens import (DET_DIM, HISTORY_DIM, HISTORY_LEN, PAIR_DIM, TRACK_DIM, DetCol, PairCol,
                                        TrackCol)
from tracker.config import TrackerConfig
from tracker.training.associator_data import Problem, Variant, default_variants, load_sequence, simulate

#: 4 leave-sequences-out folds over the 12 development sequences (balanced by frames/boxes).
FOLDS = (
    ("MOT17-02-FRCNN", "ETH-Bahnhof", "TUD-Campus"),
    ("MOT17-04-FRCNN", "PETS09-S2L1"),
    ("MOT17-05-FRCNN", "ADL-Rundle-6", "TUD-Stadtmitte"),
    ("MOT17-09-FRCNN", "Venice-2", "KITTI-13", "ETH-Sunnyday"),
)
#: the lifecycle the training simulation runs with (a longer lost horizon than the IoU core's,
#: so that the model sees long gaps)
SIMULATION_LOST_HORIZON_S = 4.0


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 4
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 1
    d_model: int = 32
    heads: int = 2
    ffn: int = 64
    appearance_dropout: float = 0.5  # share of problems whose appearance features are hidden
    iou_prior: bool = False
    #: weight of the cross-input consistency term (``consistency.view_consistency``): each
    #: problem is also seen with its appearance hidden and only its last ``VIEW_HISTORY``
    #: observations, and the two views' answers must agree (no labels needed); 0 = off
    consistency_weight: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


#: observations of each track kept in the second view of the consistency term
VIEW_HISTORY = 2


def hidden_view(hist, hmask, glob, dets, pairs):
    """The second view of a batch (numpy arrays as ``collate`` returns them): appearance hidden
    everywhere and each track's history cut to its last ``VIEW_HISTORY`` observations."""
    hmask = hmask.copy()
    hmask[..., :-VIEW_HISTORY] = False
    glob, dets, pairs = glob.copy(), dets.copy(), pairs.copy()
    pairs[..., PairCol.COSINE] = 0.0
    pairs[..., PairCol.HAS_COSINE] = 0.0
    glob[..., TrackCol.HAS_EMBEDDING] = 0.0
    dets[..., DetCol.HAS_EMBEDDING] = 0.0
    return hist, hmask, glob, dets, pairs


def fold_of(sequence: str) -> int:
    for k, names in enumerate(FOLDS):
        if sequence in names:
            return k
    return -1


def build_problems(seq_dirs: Sequence, config: Optional[TrackerConfig] = None,
                   variants: Optional[Sequence[Variant]] = None, model_factory=None,
                   log: Callable[[str], None] = lambda s: None,
                   embeddings: Optional[Dict[str, Dict[int, np.ndarray]]] = None) -> List[Problem]:
    """Simulate every sequence under every variant; -> all recorded problems."""
    config = config or TrackerConfig(lost_horizon_s=SIMULATION_LOST_HORIZON_S)
    variants = list(variants or default_variants())
    out: List[Problem] = []
    for seq_dir in seq_dirs:
        seq = load_sequence(seq_dir)
        if embeddings and seq.name in embeddings:
            seq.embeddings = embeddings[seq.name]
        start = time.perf_counter()
        n0 = len(out)
        for v in variants:
            if v.driver == "model" and model_factory is None:
                continue
            out.extend(simulate(seq, config, v, model_factory))
        log(f"  {seq.name}: {len(out) - n0} problems ({time.perf_counter() - start:.1f} s)")
    return out


def collate(problems: Sequence[Problem], rng: Optional[np.random.Generator] = None, appearance_dropout: float = 0.0):
    """Pad a list of problems into batch arrays (numpy float32 / bool / int64)."""
    b = len(problems)
    t_max = max(1, max(len(p.track_ids) for p in problems))
    n_max = max(1, max(len(p.det_ids) for p in problems))
    k = problems[0].history.shape[1] if len(problems[0].track_ids) else HISTORY_LEN
    hist = np.zeros((b, t_max, k, HISTORY_DIM), np.float32)
    hmask = np.zeros((b, t_max, k), bool)
    hmask[..., -1] = True  # padded tracks: one dummy token keeps attention finite
    glob = np.zeros((b, t_max, TRACK_DIM), np.float32)
    dets = np.zeros((b, n_max, DET_DIM), np.float32)
    pairs = np.zeros((b, t_max, n_max, PAIR_DIM), np.float32)
    tmask = np.zeros((b, t_max), bool)
    dmask = np.zeros((b, n_max), bool)
    tids = np.full((b, t_max), -1, np.int64)
    dids = np.full((b, n_max), -2, np.int64)
    known = np.ones((b, t_max, n_max), bool)
    for i, p in enumerate(problems):
        t, n = len(p.track_ids), len(p.det_ids)
        hist[i, :t] = p.history
        hmask[i, :t] = p.history_mask
        glob[i, :t] = p.track_globals
        dets[i, :n] = p.det_tokens
        pairs[i, :t, :n] = p.pairs
        tmask[i, :t] = True
        dmask[i, :n] = True
        tids[i, :t] = p.track_ids
        dids[i, :n] = p.det_ids
        if getattr(p, "pair_known", None) is not None:  # problems pickled before the field existed lack it
            known[i, :t, :n] = p.pair_known
    if rng is not None and appearance_dropout > 0:
        hide = rng.uniform(size=b) < appearance_dropout
        pairs[hide, :, :, PairCol.COSINE] = 0.0
        pairs[hide, :, :, PairCol.HAS_COSINE] = 0.0
        glob[hide, :, TrackCol.HAS_EMBEDDING] = 0.0
        dets[hide, :, DetCol.HAS_EMBEDDING] = 0.0
    return hist, hmask, glob, dets, pairs, tmask, dmask, tids, dids, known


def _batches(problems: Sequence[Problem], batch_size: int, rng: np.random.Generator) -> List[List[int]]:
    """Shuffled batches of similar size (sorted within chunks of 32 batches: little padding)."""
    order = rng.permutation(len(problems))
    chunk = batch_size * 32
    batches = []
    for s in range(0, len(order), chunk):
        part = sorted(order[s:s + chunk], key=lambda i: (len(problems[i].track_ids), len(problems[i].det_ids)))
        batches.extend(part[j:j + batch_size] for j in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def train_network(problems: Sequence[Problem], settings: TrainSettings = TrainSettings(),
                  log: Callable[[str], None] = lambda s: None, device: str = "cpu", initial=None):
    """-> (trained ``AssociatorNet`` on cpu, history of per-epoch dicts). ``initial``: a network
    to start from (fine-tuning after self-supervised pre-training; its width is kept and the
    settings' width ignored); None = a fresh one."""
    import torch

    from tracker.training.associator_model import AssociatorNet, AssociatorNetConfig, association_loss
    from tracker.training.consistency import view_consistency

    if settings.threads:
        torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    problems = [p for p in problems if len(p.track_ids) and len(p.det_ids)]
    if not problems:
        raise ValueError("no training problems (no sequence produced a track x detection problem)")
    if initial is not None:
        net = copy.deepcopy(initial).to(device)
    else:
        net = AssociatorNet(AssociatorNetConfig(settings.d_model, settings.heads, settings.ffn,
                                                settings.iou_prior)).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    steps = settings.epochs * len(_batches(problems, settings.batch_size, np.random.default_rng(0)))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=settings.lr, total_steps=max(steps, 1), pct_start=0.1)
    history = []
    for epoch in range(settings.epochs):
        start = time.perf_counter()
        tot = acc_r = acc_c = 0.0
        batches = _batches(problems, settings.batch_size, rng)
        net.train()
        for idx in batches:
            arrays = collate([problems[i] for i in idx], rng, settings.appearance_dropout)
            tens = [torch.from_numpy(a).to(device) for a in arrays]
            logits, unseen, newborn = net(*tens[:7])
            loss, ra, ca = association_loss(logits, unseen, newborn, tens[7], tens[8], tens[5], tens[6], tens[9])
            if settings.consistency_weight > 0:
                view = [torch.from_numpy(a).to(device) for a in hidden_view(*arrays[:5])]
                logits_b, unseen_b, _ = net(*view, tens[5], tens[6])
                valid = tens[5][:, :, None] & tens[6][:, None, :]
                loss = loss + settings.consistency_weight * view_consistency(logits, unseen, logits_b, unseen_b,
                                                                             valid, tens[5])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            tot += float(loss.detach())
            acc_r += float(ra)
            acc_c += float(ca)
        n = max(len(batches), 1)
        rec = {"epoch": epoch + 1, "loss": tot / n, "row_acc": acc_r / n, "col_acc": acc_c / n,
               "seconds": time.perf_counter() - start}
        history.append(rec)
        log(f"  epoch {epoch + 1}/{settings.epochs}: loss {rec['loss']:.4f} row acc {rec['row_acc']:.4f} "
            f"col acc {rec['col_acc']:.4f} ({rec['seconds']:.0f} s)")
    return net.cpu().eval(), history


def export_params(net) -> Dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in net.state_dict().items()}


def save_network(path, net, settings: TrainSettings, metadata: dict) -> None:
    from tracker.association.transformer import save_weights

    meta = {"history_len": HISTORY_LEN, "train_settings": settings.to_dict(), **metadata}
    save_weights(Path(path), export_params(net), net.config.to_dict(), meta)
