"""The Transformer associator network in torch, for training (batched, padded).

Inference uses the numpy mirror in ``tracker.association.transformer`` (same parameter names,
same math; a test checks they agree), so the tracker never needs torch at run time.

Shapes (B problems, T tracks, K history tokens, N detections, d model width):

    history (B, T, K, HISTORY_DIM), history_mask (B, T, K) bool, track_globals (B, T, TRACK_DIM),
    det_tokens (B, N, DET_DIM), pairs (B, T, N, PAIR_DIM), track_mask (B, T), det_mask (B, N)
    -> logits (B, T, N), unseen (B, T), newborn (B, N)

1. history encoder: one pre-norm Transformer layer (self-attention across the K frames of
   each track, then a feed-forward block); pooled as [last token, masked mean].
2. track embedding = MLP([pooled history, track_globals]); detection embedding = MLP(det).
3. pair embedding e_ij = MLP(pair features_ij + track_i + detection_j).
4. cross-attention across tracks and detections: each detection attends over the tracks'
   pair embeddings (and a learned "nobody" slot), each track over the detections'.
5. heads: logit_ij from e_ij and both contexts; unseen_i from track_i and its context;
   newborn_j from detection_j and its context.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from tracker.association.tokens import DET_DIM, HISTORY_DIM, PAIR_DIM, TRACK_DIM, DetCol, PairCol

#: identity of a track or detection without a trusted label (``associator_data.UNKNOWN_ID``)
UNKNOWN_ID = -3
NEG = -1e4  # masked logits (finite: keeps softmax and its gradient NaN-free)


@dataclass(frozen=True)
class AssociatorNetConfig:
    d_model: int = 32
    heads: int = 2
    ffn: int = 64
    iou_prior: bool = False  # add a learned multiple of the core's fused IoU to the pair logits

    def to_dict(self) -> dict:
        return asdict(self)


class AssociatorNet(nn.Module):
    def __init__(self, config: AssociatorNetConfig = AssociatorNetConfig()):
        super().__init__()
        self.config = config
        d = config.d_model
        self.hist_in = nn.Linear(HISTORY_DIM, d)
        self.hist_ln1 = nn.LayerNorm(d)
        self.hist_qkv = nn.Linear(d, 3 * d)
        self.hist_out = nn.Linear(d, d)
        self.hist_ln2 = nn.LayerNorm(d)
        self.hist_ff1 = nn.Linear(d, config.ffn)
        self.hist_ff2 = nn.Linear(config.ffn, d)
        self.track_mlp1 = nn.Linear(2 * d + TRACK_DIM, d)
        self.track_mlp2 = nn.Linear(d, d)
        self.det_mlp1 = nn.Linear(DET_DIM, d)
        self.det_mlp2 = nn.Linear(d, d)
        self.pair_in = nn.Linear(PAIR_DIM, d)
        self.pair_track = nn.Linear(d, d, bias=False)
        self.pair_det = nn.Linear(d, d, bias=False)
        self.pair_mid = nn.Linear(d, d)
        self.att_det = nn.Linear(d, 1)  # detection j attends over tracks i
        self.att_track = nn.Linear(d, 1)  # track i attends over detections j
        self.val_det = nn.Linear(d, d)
        self.val_track = nn.Linear(d, d)
        self.null_logit = nn.Parameter(torch.zeros(2))  # "nobody" slots: [det side, track side]
        self.out_pair = nn.Linear(d, d)
        self.out_ctx_track = nn.Linear(d, d, bias=False)
        self.out_ctx_det = nn.Linear(d, d, bias=False)
        self.out_logit = nn.Linear(d, 1)
        self.unseen1 = nn.Linear(2 * d, d)
        self.unseen2 = nn.Linear(d, 1)
        self.newborn1 = nn.Linear(2 * d, d)
        self.newborn2 = nn.Linear(d, 1)
        if config.iou_prior:
            # the core's similarity (IoU x score; IoU alone in the second stage) as a prior:
            # the network starts from the core's ranking and learns corrections
            self.prior_gain = nn.Parameter(torch.tensor(8.0))

    def encode_history(self, history: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """history (..., K, HISTORY_DIM), mask (..., K) -> (..., 2d) [last token, masked mean]."""
        cfg = self.config
        lead = history.shape[:-2]
        k = history.shape[-2]
        x = self.hist_in(history.reshape(-1, k, HISTORY_DIM))
        m = mask.reshape(-1, k)
        h = self.hist_ln1(x)
        q, kk, v = self.hist_qkv(h).chunk(3, dim=-1)
        hd = cfg.d_model // cfg.heads

        def split(t):
            return t.reshape(t.shape[0], k, cfg.heads, hd).transpose(1, 2)  # (M, H, K, hd)

        att = split(q) @ split(kk).transpose(-1, -2) / math.sqrt(hd)  # (M, H, K, K)
        att = att.masked_fill(~m[:, None, None, :], NEG).softmax(-1)
        y = (att @ split(v)).transpose(1, 2).reshape(-1, k, cfg.d_model)
        x = x + self.hist_out(y)
        x = x + self.hist_ff2(torch.relu(self.hist_ff1(self.hist_ln2(x))))
        mf = m.to(x.dtype)[..., None]
        mean = (x * mf).sum(1) / mf.sum(1).clamp(min=1.0)
        pooled = torch.cat([x[:, -1], mean], dim=-1)
        return pooled.reshape(*lead, 2 * cfg.d_model)

    def forward(self, history, history_mask, track_globals, det_tokens, pairs, track_mask, det_mask):
        pooled = self.encode_history(history, history_mask)  # (B, T, 2d)
        h_t = torch.relu(self.track_mlp2(torch.relu(self.track_mlp1(torch.cat([pooled, track_globals], -1)))))
        h_d = torch.relu(self.det_mlp2(torch.relu(self.det_mlp1(det_tokens))))
        e = torch.relu(self.pair_in(pairs) + self.pair_track(h_t)[:, :, None] + self.pair_det(h_d)[:, None])
        e = torch.relu(self.pair_mid(e))  # (B, T, N, d)
        valid = track_mask[:, :, None] & det_mask[:, None, :]  # (B, T, N)
        b = e.shape[0]
        # detection j attends over tracks (dim 1) plus a "nobody" slot
        a_d = self.att_det(e)[..., 0].masked_fill(~valid, NEG)  # (B, T, N)
        a_d = torch.cat([a_d, self.null_logit[0].expand(b, 1, a_d.shape[2])], dim=1).softmax(1)[:, :-1]
        ctx_d = torch.einsum("btn,btnd->bnd", a_d, self.val_det(e))  # (B, N, d)
        a_t = self.att_track(e)[..., 0].masked_fill(~valid, NEG)
        a_t = torch.cat([a_t, self.null_logit[1].expand(b, a_t.shape[1], 1)], dim=2).softmax(2)[:, :, :-1]
        ctx_t = torch.einsum("btn,btnd->btd", a_t, self.val_track(e))  # (B, T, d)
        e2 = torch.relu(self.out_pair(e) + self.out_ctx_track(ctx_t)[:, :, None] + self.out_ctx_det(ctx_d)[:, None])
        logits = self.out_logit(e2)[..., 0]
        if self.config.iou_prior:
            logits = logits + self.prior_gain * iou_prior(pairs, det_tokens)
        unseen = self.unseen2(torch.relu(self.unseen1(torch.cat([h_t, ctx_t], -1))))[..., 0]
        newborn = self.newborn2(torch.relu(self.newborn1(torch.cat([h_d, ctx_d], -1))))[..., 0]
        return logits, unseen, newborn


def iou_prior(pairs, det_tokens):
    """(..., T, N) the core's similarity: IoU with the prediction x detection score, IoU alone
    for second-stage (low-score) detections."""
    second = det_tokens[..., DetCol.STAGE_SECOND]
    weight = second + (1 - second) * det_tokens[..., DetCol.SCORE]
    return pairs[..., PairCol.IOU_PREDICTED] * weight[..., None, :]


def association_loss(logits, unseen, newborn, track_ids, det_ids, track_mask, det_mask, pair_known=None):
    """MOTIP-style cross-entropy over each track's row (N detections + "unseen") and each
    detection's column (T tracks + "newborn"); several positives (duplicate tracks of one
    identity) share the probability mass. ids: (B, T) / (B, N) int64, -1 = no identity.

    Self-supervised data: ``pair_known`` (B, T, N) bool marks the pairs whose answer is
    certain (None: all); the others take no part in any row or column, and tracks or
    detections with ``UNKNOWN_ID`` have no row or column of their own.
    Returns (loss, row accuracy, column accuracy)."""
    pos = (track_ids[:, :, None] == det_ids[:, None, :]) & (track_ids[:, :, None] >= 0)
    valid = track_mask[:, :, None] & det_mask[:, None, :]
    if pair_known is not None:
        valid = valid & pair_known
    pos = pos & valid
    row_logits = torch.cat([logits.masked_fill(~valid, NEG), unseen[..., None]], dim=2)  # (B, T, N+1)
    row_pos = torch.cat([pos, ~pos.any(2, keepdim=True)], dim=2)
    row_lse = row_logits.logsumexp(2)
    row_loss = row_lse - row_logits.masked_fill(~row_pos, NEG).logsumexp(2)
    col_logits = torch.cat([logits.masked_fill(~valid, NEG), newborn[:, None, :]], dim=1)  # (B, T+1, N)
    col_pos = torch.cat([pos, ~pos.any(1, keepdim=True)], dim=1)
    col_loss = col_logits.logsumexp(1) - col_logits.masked_fill(~col_pos, NEG).logsumexp(1)
    tm = (track_mask & (track_ids != UNKNOWN_ID)).to(logits.dtype)
    dm = (det_mask & (det_ids != UNKNOWN_ID)).to(logits.dtype)
    loss = (row_loss * tm).sum() / tm.sum().clamp(min=1) + (col_loss * dm).sum() / dm.sum().clamp(min=1)
    with torch.no_grad():
        row_hit = row_pos.gather(2, row_logits.argmax(2, keepdim=True))[..., 0].to(tm.dtype)
        col_hit = col_pos.gather(1, col_logits.argmax(1, keepdim=True))[:, 0].to(dm.dtype)
        row_acc = (row_hit * tm).sum() / tm.sum().clamp(min=1)
        col_acc = (col_hit * dm).sum() / dm.sum().clamp(min=1)
    return loss, row_acc, col_acc


def load_network(path) -> AssociatorNet:
    """A weights file of ``tracker.association.transformer`` (``.npz``) -> the trainable
    network with those parameters (to fine-tune it)."""
    from tracker.association.transformer import load_weights

    params, net_config, _ = load_weights(path)
    fields = AssociatorNetConfig.__dataclass_fields__
    net = AssociatorNet(AssociatorNetConfig(**{k: v for k, v in net_config.items() if k in fields}))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
    return net.eval()
