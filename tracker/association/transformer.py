"""The learned associator: a small Transformer over track-history and detection tokens.

For one association problem (T tracks x N detections, see ``tracker.association.tokens``)
the network gives pair logits (T, N), an "unseen this frame" logit per track and a "new
object" logit per detection. Each track's row [N pairs, unseen] and each detection's column
[T pairs, newborn] is a softmax; a pair's probability is the geometric mean of its row and
column probabilities, and the cost handed to the Hungarian solver (``lap``, the core's
``linear_assignment``) is its negative log. A pair below ``min_probability`` never matches,
so "no match" is a real answer on both sides.

Inference is pure numpy (the weights are a small ``.npz`` shipped in
``tracker/models/associator/``); training is in ``tracker.training.associator`` with the
torch mirror ``tracker.training.associator_model`` (same parameter names, same math).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from tracker.association.base import AssociationContext, PairCosts, Stage, TrackLike, classes_differ
from tracker.association.iou import DENSE_PAIR_LIMIT, IouAssociator
from tracker.association.tokens import HISTORY_LEN, AssociationTokens, DetCol, PairCol, build_tokens
from tracker.detections import Detections
from tracker.errors import InputError
from tracker.model_registry import ASSOCIATOR, write_weights

DEFAULT_MIN_PROBABILITY = 0.3
MIN_PROBABILITY_FLOOR = 1e-6  # probabilities are clipped here before the log (finite costs)
#: the box extent (width, height, pixels) assumed before any box is seen when no image size is known
INITIAL_EXTENT = (1.0, 1.0)
NEG = -1e4
LN_EPS = 1e-5


def shipped_weights_path(name: str = "default") -> Path:
    """Path of a shipped weights file (``tracker.model_registry.ASSOCIATOR``)."""
    return ASSOCIATOR.shipped_path(name)


#: leave-sequences-out fold models of the development sequences (``benchmarks/associator_folds.py``):
#: ``fold<k>.npz`` + ``fold<k>.json``, whose ``held_out`` lists the sequences the model never saw
FOLDS_DIR = ASSOCIATOR.directory / "folds"


def heldout_weights_path(sequence: str, folds_dir: Path = FOLDS_DIR) -> Path:
    """Weights whose training never saw ``sequence``: the fold model that held it out for a
    development sequence, else the shipped weights (trained on the development sequences
    only, so any other sequence is held out for them)."""
    for meta in sorted(Path(folds_dir).glob("fold*.json")):
        try:
            held_out = json.loads(meta.read_text()).get("held_out", [])
        except (OSError, ValueError) as exc:
            raise InputError(f"{meta}: unreadable fold metadata ({exc})") from exc
        if sequence in held_out:
            return meta.with_suffix(".npz")
    return shipped_weights_path("default")


def save_weights(path, params: Dict[str, np.ndarray], net_config: dict, metadata: dict) -> None:
    """Write ``path`` (.npz: every parameter plus a JSON header) and ``path.json`` metadata."""
    header = json.dumps({"format": ASSOCIATOR.weights_format, "net": net_config, "metadata": metadata})
    arrays = {k: np.asarray(v, np.float32) for k, v in params.items()}
    write_weights(path, lambda temporary: np.savez(temporary, __header__=np.array(header), **arrays),
                  {"format": ASSOCIATOR.weights_format, "net": net_config, **metadata}, temporary_suffix=".tmp.npz")


def load_weights(path) -> Tuple[Dict[str, np.ndarray], dict, dict]:
    """-> (params, net config, metadata). ``InputError`` for a missing or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise ASSOCIATOR.missing(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["__header__"]))
            params = {k: data[k].astype(np.float32) for k in data.files if k != "__header__"}
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a bad file
        raise ASSOCIATOR.not_weights(path, exc) from None
    ASSOCIATOR.check_format(path, header.get("format") if isinstance(header, dict) else None)
    return params, dict(header.get("net", {})), dict(header.get("metadata", {}))


# ---------------------------------------------------------------------- BLAS threads
def _find_openblas_local_setter():
    """``openblas_set_num_threads_local`` of the OpenBLAS numpy uses, or None.

    The network's matrices are small: OpenBLAS's threads cost more (synchronization, and
    on a busy machine waiting for cores) than they save, so the forward pass runs on the
    calling thread alone. The setting is thread-local and restored afterwards."""
    import ctypes
    import glob
    import os

    libdir = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libdir, "*openblas*"))):
        try:
            fn = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
        return fn
    return None


_BLAS_LOCAL_THREADS = _find_openblas_local_setter()


class _OneBlasThread:
    def __enter__(self):
        self.previous = _BLAS_LOCAL_THREADS(1) if _BLAS_LOCAL_THREADS is not None else None

    def __exit__(self, *exc):
        if self.previous is not None:
            _BLAS_LOCAL_THREADS(self.previous)
        return False


# ---------------------------------------------------------------------- numpy network
def _linear(p: Dict[str, np.ndarray], name: str, x: np.ndarray) -> np.ndarray:
    """x (..., in) @ W^T + b; ``p[name + ".wt"]`` is the transposed weight (in, out)."""
    wt = p[name + ".wt"]
    y = (x.reshape(-1, x.shape[-1]) @ wt).reshape(*x.shape[:-1], wt.shape[1])
    bias = p.get(name + ".bias")
    return y if bias is None else y + bias


def _layer_norm(p, name, x):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + LN_EPS) * p[name + ".weight"] + p[name + ".bias"]


def _relu(x):
    return np.maximum(x, 0.0)


def _softmax(x, axis):
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


class AssociatorNetwork:
    """Numpy forward pass of ``tracker.training.associator_model.AssociatorNet`` for one
    problem: tokens -> logits (T, N), unseen (T,), newborn (N,) float32."""

    def __init__(self, params: Dict[str, np.ndarray], net_config: dict):
        self.p = {k: np.ascontiguousarray(v, np.float32) for k, v in params.items()}
        for k in [k for k in self.p if k.endswith(".weight") and self.p[k].ndim == 2]:
            self.p[k[:-len("weight")] + "wt"] = np.ascontiguousarray(self.p[k].T)
        self.d = int(net_config.get("d_model", 32))
        self.heads = int(net_config.get("heads", 2))

    @property
    def num_parameters(self) -> int:
        return int(sum(v.size for k, v in self.p.items() if not k.endswith(".wt")))

    def _history(self, history: np.ndarray, mask: np.ndarray) -> np.ndarray:
        p, d, heads = self.p, self.d, self.heads
        t, k, _ = history.shape
        hd = d // heads
        x = _linear(p, "hist_in", history)  # (T, K, d)
        qkv = _linear(p, "hist_qkv", _layer_norm(p, "hist_ln1", x))
        q, kk, v = (qkv[..., i * d:(i + 1) * d].reshape(t, k, heads, hd).transpose(0, 2, 1, 3) for i in range(3))
        att = q @ kk.transpose(0, 1, 3, 2) / np.float32(np.sqrt(hd))  # (T, H, K, K)
        att = np.where(mask[:, None, None, :], att, NEG)
        y = (_softmax(att, -1) @ v).transpose(0, 2, 1, 3).reshape(t, k, d)
        x = x + _linear(p, "hist_out", y)
        x = x + _linear(p, "hist_ff2", _relu(_linear(p, "hist_ff1", _layer_norm(p, "hist_ln2", x))))
        mf = mask.astype(np.float32)[..., None]
        mean = (x * mf).sum(1) / np.maximum(mf.sum(1), 1.0)
        return np.concatenate([x[:, -1], mean], axis=-1)

    def __call__(self, tok: AssociationTokens) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = self.p
        pooled = self._history(tok.history, tok.history_mask)
        h_t = _relu(_linear(p, "track_mlp2", _relu(_linear(p, "track_mlp1",
                                                            np.concatenate([pooled, tok.track_globals], -1)))))
        h_d = _relu(_linear(p, "det_mlp2", _relu(_linear(p, "det_mlp1", tok.det_tokens))))
        e = _relu(_linear(p, "pair_in", tok.pairs) + (h_t @ p["pair_track.wt"])[:, None]
                  + (h_d @ p["pair_det.wt"])[None])
        e = _relu(_linear(p, "pair_mid", e))  # (T, N, d)
        n_t, n_d = e.shape[0], e.shape[1]
        null = p["null_logit"]
        a_d = _linear(p, "att_det", e)[..., 0]
        a_d = _softmax(np.concatenate([a_d, np.full((1, n_d), null[0], np.float32)], 0), 0)[:-1]
        ctx_d = np.einsum("tn,tnd->nd", a_d, _linear(p, "val_det", e))
        a_t = _linear(p, "att_track", e)[..., 0]
        a_t = _softmax(np.concatenate([a_t, np.full((n_t, 1), null[1], np.float32)], 1), 1)[:, :-1]
        ctx_t = np.einsum("tn,tnd->td", a_t, _linear(p, "val_track", e))
        e2 = _relu(_linear(p, "out_pair", e) + (ctx_t @ p["out_ctx_track.wt"])[:, None]
                   + (ctx_d @ p["out_ctx_det.wt"])[None])
        logits = _linear(p, "out_logit", e2)[..., 0]
        if "prior_gain" in p:  # the core's IoU x score as a prior (see AssociatorNetConfig.iou_prior)
            second = tok.det_tokens[:, DetCol.STAGE_SECOND]
            weight = second + (1 - second) * tok.det_tokens[:, DetCol.SCORE]
            logits = logits + p["prior_gain"] * tok.pairs[..., PairCol.IOU_PREDICTED] * weight[None]
        unseen = _linear(p, "unseen2", _relu(_linear(p, "unseen1", np.concatenate([h_t, ctx_t], -1))))[..., 0]
        newborn = _linear(p, "newborn2", _relu(_linear(p, "newborn1", np.concatenate([h_d, ctx_d], -1))))[..., 0]
        return logits, unseen, newborn


def match_probabilities(logits: np.ndarray, unseen: np.ndarray, newborn: np.ndarray):
    """-> (pair (T, N), unseen (T,), newborn (N,)) probabilities: a pair's is the geometric
    mean of its row softmax [pairs, unseen] and column softmax [pairs, newborn]."""
    row = _softmax(np.concatenate([logits, unseen[:, None]], 1), 1)
    col = _softmax(np.concatenate([logits, newborn[None, :]], 0), 0)
    pair = np.sqrt(row[:, :-1] * col[:-1])
    return pair, row[:, -1], col[-1]


class TransformerAssociator:
    """``Associator`` backed by the learned network (see the module docstring).

    config: the ``TrackerConfig`` (its ``motion`` settings shape the Mahalanobis feature,
    ``match_probability`` is the least pair probability that may match).
    image_size: (width, height) used when the context carries none; when both are missing,
    the extent of the boxes seen so far stands in.
    """

    def __init__(self, config, params: Dict[str, np.ndarray], net_config: dict, metadata: Optional[dict] = None,
                 image_size: Optional[Tuple[int, int]] = None):
        self.config = config
        self.network = AssociatorNetwork(params, net_config)
        self.metadata = dict(metadata or {})
        self.history_len = int(self.metadata.get("history_len", HISTORY_LEN))
        self.image_size = image_size
        self._extent = np.array(INITIAL_EXTENT)
        self._fallback = IouAssociator(config)

    @classmethod
    def from_file(cls, config, path, **kwargs) -> "TransformerAssociator":
        params, net, meta = load_weights(path)
        return cls(config, params, net, meta, **kwargs)

    @classmethod
    def default(cls, config, **kwargs) -> "TransformerAssociator":
        """The shipped weights (package data; no network)."""
        return cls.from_file(config, shipped_weights_path("default"), **kwargs)

    @property
    def min_probability(self) -> float:
        return float(getattr(self.config, "match_probability", DEFAULT_MIN_PROBABILITY))

    def tokens(self, tracks: Sequence[TrackLike], detections: Detections, det_rows: np.ndarray, stage: Stage,
               context: AssociationContext) -> AssociationTokens:
        boxes = detections.xyxy[det_rows]
        if len(boxes):
            self._extent = np.maximum(self._extent, boxes[:, 2:4].max(axis=0))
        size = context.image_size or self.image_size or tuple(self._extent)
        # a model trained without appearance never sees the appearance features (they would be
        # out of its training distribution); the identity memory still uses the embeddings
        use_emb = self.metadata.get("appearance", False) and detections.embeddings is not None
        emb = detections.embeddings[det_rows] if use_emb else None
        return build_tokens(tracks, boxes, detections.scores[det_rows], stage, context.now, size,
                            self.config.motion, emb, self.history_len)

    def probabilities(self, tracks, detections, det_rows, stage, context):
        """-> (pair (T, N), unseen (T,), newborn (N,)) probabilities."""
        tokens = self.tokens(tracks, detections, det_rows, stage, context)
        with _OneBlasThread():
            logits, unseen, newborn = self.network(tokens)
        return match_probabilities(logits, unseen, newborn)

    def cost(self, tracks: Sequence[TrackLike], detections: Detections, det_rows: np.ndarray, stage: Stage,
             context: AssociationContext):
        min_p = self.min_probability
        max_cost = float(-np.log(min_p))
        if len(tracks) == 0 or len(det_rows) == 0:
            return PairCosts(np.zeros((len(tracks), len(det_rows))), max_cost)
        if len(tracks) * len(det_rows) > DENSE_PAIR_LIMIT:  # huge frames: the sparse IoU path
            return self._fallback.cost(tracks, detections, det_rows, stage, context)
        pair, _, _ = self.probabilities(tracks, detections, det_rows, stage, context)
        cost = -np.log(np.maximum(pair.astype(np.float64), MIN_PROBABILITY_FLOOR))
        return PairCosts(np.where(classes_differ(tracks, detections, det_rows), max_cost + 1.0, cost), max_cost)

    def reset(self) -> None:
        """Forget the extent of the previous stream's boxes (it stands in for a missing image size)."""
        self._extent = np.array(INITIAL_EXTENT)
