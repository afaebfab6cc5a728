"""MoCo-style contrastive training of :class:`~tracker.embedding.model.PatchEncoder` on
unlabeled crops.

One step (batch of B crops, embedding width D, queue of K)::

    i ~ uniform over crops; j = i, or (prob. p_temporal) another crop of i's tracklet
    v1 = augment(crop i), v2 = augment(crop j)                         (B, 3, 64, 32)
    q  = normalize(proj(encoder(v1)))                                  (B, D)
    k  = normalize(proj_m(encoder_m(v2)))  (momentum encoder, no grad) (B, D)
    negatives: the queue (K, D) and the other keys of the batch, minus everything from i's
      own tracklet; with hard_negatives > 0 only the hard_negatives most similar of them
      (``mining.mine_hard_negatives``); with safe_negatives, only entries known to be another
      person (another video, or a tracklet that co-exists in time with i's)
    loss = InfoNCE: cross-entropy of [q.k, q.negatives] / temperature with target 0
    encoder_m <- m * encoder_m + (1 - m) * encoder; push k into the queue

BatchNorm statistics are computed in sub-batches, with the key batch shuffled ("shuffle BN",
as MoCo), so a batch cannot leak which query and key belong together.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tracker.embedding.augment import AugmentConfig, Augmenter
from tracker.embedding.model import EncoderConfig, PatchEncoder
from tracker.training.data import TrainingSet
from tracker.training.mining import EXCLUDED, mine_hard_negatives
from tracker.training.queue import MemoryQueue

CHECKPOINT_FORMAT = "identitrack-embedder-checkpoint/1"


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a training run (all validated; see the module docstring for their roles)."""

    steps: int = 2400
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 100
    temperature: float = 0.07
    momentum: float = 0.99
    queue_size: int = 2048
    hard_negatives: int = 0
    safe_negatives: bool = True
    p_temporal: float = 0.8
    proj_hidden: int = 256
    bn_group: int = 32
    seed: int = 0
    checkpoint_every: int = 100

    def __post_init__(self) -> None:
        checks = (
            ("steps", 1, 10_000_000), ("batch_size", 2, 65536), ("warmup_steps", 0, 10_000_000),
            ("queue_size", 1, 10_000_000), ("hard_negatives", 0, 10_000_000), ("proj_hidden", 0, 65536),
            ("bn_group", 2, 65536), ("checkpoint_every", 1, 10_000_000),
        )
        for name, lo, hi in checks:
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
                raise ValueError(f"TrainConfig.{name} must be an integer in [{lo}, {hi}], got {v!r}")
        for name, lo, hi in (("lr", 1e-8, 10.0), ("weight_decay", 0.0, 10.0), ("temperature", 1e-3, 10.0),
                             ("momentum", 0.0, 1.0), ("p_temporal", 0.0, 1.0)):
            v = float(getattr(self, name))
            if not lo <= v <= hi:
                raise ValueError(f"TrainConfig.{name} must be in [{lo}, {hi}], got {v}")

    def to_dict(self) -> dict:
        return asdict(self)


class ProjectionHead(nn.Module):
    """Training-only MLP: (B, D) -> (B, D) (not shipped; the embedding is its input).
    ``hidden`` 0: no head (the loss acts on the embedding itself, as when fine-tuning)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.net = (nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, dim)) if hidden
                    else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def info_nce(q: torch.Tensor, k: torch.Tensor, negatives: torch.Tensor, neg_mask: torch.Tensor,
             temperature: float) -> torch.Tensor:
    """q, k: (B, D) unit; negatives: (B, N, D) or (N, D) unit; neg_mask (B, N) bool (False =
    not a negative for that query) -> scalar InfoNCE loss (positive at index 0)."""
    pos = (q * k).sum(1, keepdim=True)  # (B, 1)
    neg = q @ negatives.T if negatives.ndim == 2 else torch.einsum("bd,bnd->bn", q, negatives)
    neg = torch.where(neg_mask, neg, torch.full_like(neg, EXCLUDED))
    logits = torch.cat([pos, neg], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long))


class ContrastiveTrainer:
    """Holds the networks, optimizer, queue and random state of a run; ``step()`` trains one
    batch; ``state_dict``/``load_state_dict`` make checkpoints that resume exactly."""

    def __init__(self, data: TrainingSet, config: TrainConfig = TrainConfig(),
                 encoder_config: EncoderConfig = EncoderConfig(), augment: AugmentConfig = AugmentConfig(),
                 init_encoder: Optional[PatchEncoder] = None):
        """init_encoder: start from these weights (fine-tuning; its architecture replaces
        ``encoder_config``) instead of a seeded random init."""
        if init_encoder is not None:
            encoder_config = init_encoder.config
        if len(data) < config.batch_size:
            raise ValueError(f"need at least batch_size={config.batch_size} training crops, got {len(data)}")
        if tuple(augment.out_size) != tuple(encoder_config.input_size):
            augment = AugmentConfig.from_dict({**augment.to_dict(), "out_size": list(encoder_config.input_size)})
        self.data = data
        self.config = config
        self.encoder_config = encoder_config
        self.augment_config = augment
        self.augmenter = Augmenter(augment)
        torch.manual_seed(config.seed)
        self.encoder = PatchEncoder(encoder_config) if init_encoder is None else copy.deepcopy(init_encoder).train()
        for p in self.encoder.parameters():
            p.requires_grad_(True)
        self.proj = ProjectionHead(encoder_config.dim, config.proj_hidden)
        self.encoder_m = copy.deepcopy(self.encoder)
        self.proj_m = copy.deepcopy(self.proj)
        for p in list(self.encoder_m.parameters()) + list(self.proj_m.parameters()):
            p.requires_grad_(False)
        params = list(self.encoder.parameters()) + list(self.proj.parameters())
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        self.optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                            {"params": no_decay, "weight_decay": 0.0}], lr=config.lr)
        self.queue = MemoryQueue(config.queue_size, encoder_config.dim)
        self.gen = torch.Generator().manual_seed(config.seed)
        self.step_index = 0
        self.loss_history: list = []
        # tracklet membership for temporal positives: crops sorted by tracklet
        self._order = np.argsort(data.tracklet, kind="stable")
        counts = np.bincount(data.tracklet, minlength=len(data.tracklet_video))
        self._starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self._counts = counts
        self._patches = torch.from_numpy(data.patches)  # (M, h, w, 3) uint8, shared memory
        self._trk = torch.from_numpy(data.tracklet)
        self._t_video = torch.from_numpy(data.tracklet_video)
        self._t_group = torch.from_numpy(data.tracklet_group)
        self._t_start = torch.from_numpy(data.tracklet_start)
        self._t_end = torch.from_numpy(data.tracklet_end)

    # ------------------------------------------------------------------ pieces
    def learning_rate(self, step: int) -> float:
        cfg = self.config
        if step < cfg.warmup_steps:
            return cfg.lr * (step + 1) / cfg.warmup_steps
        t = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))

    def sample(self) -> tuple:
        """-> (i, j) (B,) crop indices: anchors and their positives."""
        cfg = self.config
        i = torch.randint(len(self.data), (cfg.batch_size,), generator=self.gen)
        u = torch.rand(cfg.batch_size, generator=self.gen).numpy()
        pick = torch.rand(cfg.batch_size, generator=self.gen).numpy()
        trk = self.data.tracklet[i.numpy()]
        n = self._counts[trk]
        use = (u < cfg.p_temporal) & (n > 1)
        member = self._order[self._starts[trk] + np.minimum((pick * n).astype(np.int64), n - 1)]
        j = np.where(use, member, i.numpy())
        return i, torch.from_numpy(j)

    def _views(self, idx: torch.Tensor) -> torch.Tensor:
        x = self._patches[idx].permute(0, 3, 1, 2).float().div_(255.0)
        return self.augmenter(x, self.gen)

    def _grouped(self, encoder: PatchEncoder, proj: ProjectionHead, x: torch.Tensor, perm: Optional[torch.Tensor]):
        """Forward in BatchNorm groups of ``bn_group`` (optionally over a shuffled batch)."""
        if perm is not None:
            x = x[perm]
        g = self.config.bn_group
        out = torch.cat([proj(encoder(x[s:s + g], normalize=False)) for s in range(0, len(x), g)])
        out = F.normalize(out, dim=1)
        if perm is not None:
            out = out[torch.argsort(perm)]
        return out

    def _safe(self, q_trk: torch.Tensor, n_trk: torch.Tensor) -> torch.Tensor:
        """(B,), (N,) tracklet ids -> (B, N) bool: the two are certainly different people
        (different footage groups, or tracklets of one video that co-exist in some frame)."""
        qv, nv = self._t_video[q_trk].view(-1, 1), self._t_video[n_trk].view(1, -1)
        qg, ng = self._t_group[q_trk].view(-1, 1), self._t_group[n_trk].view(1, -1)
        overlap = (self._t_start[q_trk].view(-1, 1) <= self._t_end[n_trk].view(1, -1)) & \
                  (self._t_start[n_trk].view(1, -1) <= self._t_end[q_trk].view(-1, 1))
        return (qg != ng) | ((qv == nv) & overlap & (q_trk.view(-1, 1) != n_trk.view(1, -1)))

    # ------------------------------------------------------------------ training
    def step(self) -> float:
        cfg = self.config
        lr = self.learning_rate(self.step_index)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        i, j = self.sample()
        v1, v2 = self._views(i), self._views(j)
        self.encoder.train()
        self.proj.train()
        q = self._grouped(self.encoder, self.proj, v1, None)
        with torch.no_grad():
            self.encoder_m.train()
            perm = torch.randperm(len(v2), generator=self.gen)
            k = self._grouped(self.encoder_m, self.proj_m, v2, perm)
        q_trk = self._trk[i]
        bank = torch.cat([self.queue.embeddings, k]) if len(self.queue) else k
        bank_trk = torch.cat([self.queue.tracklets, q_trk]) if len(self.queue) else q_trk
        eligible = self._safe(q_trk, bank_trk) if cfg.safe_negatives else None
        if cfg.hard_negatives > 0:
            _, index, valid = mine_hard_negatives(q.detach(), bank, q_trk, bank_trk, cfg.hard_negatives, eligible)
            loss = info_nce(q, k, bank[index], valid, cfg.temperature)
        else:
            mask = q_trk.view(-1, 1) != bank_trk.view(1, -1)
            if eligible is not None:
                mask &= eligible
            loss = info_nce(q, k, bank, mask, cfg.temperature)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            m = cfg.momentum
            for pm, p in zip(list(self.encoder_m.parameters()) + list(self.proj_m.parameters()),
                             list(self.encoder.parameters()) + list(self.proj.parameters())):
                pm.mul_(m).add_(p.detach(), alpha=1 - m)
            for bm, b in zip(self.encoder_m.buffers(), self.encoder.buffers()):
                bm.copy_(b)
        self.queue.push(k, q_trk)
        self.step_index += 1
        value = float(loss.detach())
        self.loss_history.append(value)
        return value

    def train(self, until: Optional[int] = None, on_step: Optional[Callable[[int, float], None]] = None,
              on_checkpoint: Optional[Callable[[], None]] = None) -> list:
        """Run steps until ``until`` (default ``config.steps``); returns this call's losses."""
        until = self.config.steps if until is None else int(until)
        losses = []
        while self.step_index < until:
            value = self.step()
            losses.append(value)
            if on_step is not None:
                on_step(self.step_index, value)
            if on_checkpoint is not None and self.step_index % self.config.checkpoint_every == 0:
                on_checkpoint()
        return losses

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        return {
            "format": CHECKPOINT_FORMAT,
            "step": self.step_index,
            "config": self.config.to_dict(),
            "encoder_config": self.encoder_config.to_dict(),
            "augment_config": self.augment_config.to_dict(),
            "encoder": self.encoder.state_dict(),
            "proj": self.proj.state_dict(),
            "encoder_m": self.encoder_m.state_dict(),
            "proj_m": self.proj_m.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "queue": self.queue.state_dict(),
            "gen": self.gen.get_state(),
            "loss_history": list(self.loss_history),
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError("not an embedder training checkpoint")
        self.encoder.load_state_dict(state["encoder"])
        self.proj.load_state_dict(state["proj"])
        self.encoder_m.load_state_dict(state["encoder_m"])
        self.proj_m.load_state_dict(state["proj_m"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.queue.load_state_dict(state["queue"])
        self.gen.set_state(state["gen"])
        self.step_index = int(state["step"])
        self.loss_history = list(state.get("loss_history", []))

    def save_checkpoint(self, path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(self.state_dict(), tmp)
        tmp.replace(path)

    def load_checkpoint(self, path) -> None:
        self.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))

    def settings(self) -> dict:
        return {"train": self.config.to_dict(), "encoder": self.encoder_config.to_dict(),
                "augment": self.augment_config.to_dict()}


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
