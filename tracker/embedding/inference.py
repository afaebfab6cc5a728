"""``Embedder``: frame + boxes -> unit appearance vectors, with the shipped weights by default.

Weights file format (``torch.save`` of a dict, loaded with ``weights_only=True``)::

    {"format": "identitrack-embedder/1", "encoder": EncoderConfig.to_dict(),
     "state_dict": PatchEncoder.state_dict(), "metadata": {...}}

The shipped files live in ``tracker/models/embedder/`` (package data) and never need a network.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Optional, Sequence, Union

import cv2
import numpy as np
import torch

from tracker.embedding.crops import crop_patches
from tracker.embedding.histogram import HIST_DIM, colour_histograms
from tracker.embedding.model import EncoderConfig, PatchEncoder, fold_batchnorm
from tracker.errors import InputError
from tracker.model_registry import EMBEDDER, write_weights

#: the shipped embedder files by name (``tracker.model_registry.EMBEDDER``)
SHIPPED = EMBEDDER.shipped
# weight of the colour-histogram half in the fused vector (cosine of the fused vectors =
# (1 - w) * cos(learned) + w * cos(histogram))
DEFAULT_FUSE_WEIGHT = 0.3


def shipped_weights_path(name: str = "default") -> Path:
    """Path of a shipped weights file: ``default`` (the 4 development videos), ``holdout``
    (trained without frames 478-795 of vtest / PETS09-S2L1, for honest evaluation on those
    frames) or ``unlabeled`` (the unlabeled clips plus the development videos; docs/embedder.md)."""
    return EMBEDDER.shipped_path(name)


def save_weights(path, model: PatchEncoder, metadata: dict) -> None:
    """Write a weights file (see the module docstring) and a ``.json`` metadata file beside it."""
    metadata = json.loads(json.dumps(metadata))  # plain JSON types only (loadable with weights_only=True)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    payload = {"format": EMBEDDER.weights_format, "encoder": model.config.to_dict(), "state_dict": state,
               "metadata": metadata}
    write_weights(path, lambda temporary: torch.save(payload, temporary),
                  {"encoder": model.config.to_dict(), **metadata})


def load_weights(path) -> tuple:
    """-> (PatchEncoder in eval mode, metadata dict). Raises ``InputError`` for a missing or
    foreign file."""
    path = Path(path)
    if not path.is_file():
        raise EMBEDDER.missing(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling problem is a bad file
        raise EMBEDDER.not_weights(path, exc) from None
    EMBEDDER.check_format(path, payload.get("format") if isinstance(payload, dict) else None)
    try:
        model = PatchEncoder(EncoderConfig.from_dict(payload["encoder"]))
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise InputError(f"{path}: a damaged identitrack embedder weights file ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    model.eval()
    return model, dict(payload.get("metadata", {}))


class Embedder:
    """Appearance embeddings of detection boxes.

    ``embed(frame, xyxy)``: frame (H, W, 3) uint8 BGR, xyxy (N, 4) float pixels (clipped to
    the frame here) -> (N, dim) float32 unit vectors of the learned encoder.
    ``embed_fused(frame, xyxy)``: (N, dim + 256) unit vectors: the learned embedding and the
    colour histogram (:mod:`tracker.embedding.histogram`), each weighted then re-normalized.

    threads: torch intra-op threads to use while embedding (``torch.set_num_threads`` is
    process-wide: it is set before each call and restored after); None leaves it alone. On a CPU
    shared with other busy processes use 1: torch's OpenMP threads spin-wait against each other
    and 2 threads on 2 busy cores measured 10-20x slower than 1.
    fuse_weight: weight w of the colour histogram in :meth:`embed_fused` (0.3 measured best or
    tied on the development sets; see docs/embedder.md).
    """

    def __init__(self, model: PatchEncoder, metadata: Optional[dict] = None, threads: Optional[int] = None,
                 batch_size: int = 256, fuse_weight: float = DEFAULT_FUSE_WEIGHT):
        if threads is not None and int(threads) < 1:
            raise ValueError(f"Embedder threads must be >= 1 or None, got {threads}")
        if batch_size < 1:
            raise ValueError(f"Embedder batch_size must be >= 1, got {batch_size}")
        if not 0.0 <= fuse_weight <= 1.0:
            raise ValueError(f"Embedder fuse_weight must be in [0, 1], got {fuse_weight}")
        self.config = model.config
        self.metadata = dict(metadata or {})
        self.threads = None if threads is None else int(threads)
        self.batch_size = int(batch_size)
        self.fuse_weight = float(fuse_weight)
        # the unfolded weights, for fine-tuning (``trainable_model``); folding changes the model
        self._state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model = fold_batchnorm(copy.deepcopy(model).eval())  # the caller's model is left as it is
        self._model = model.to(memory_format=torch.channels_last)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def default(cls, threads: Optional[int] = None, **kwargs) -> "Embedder":
        """The shipped embedder (package data; no network)."""
        return cls.from_file(shipped_weights_path("default"), threads=threads, **kwargs)

    @classmethod
    def from_file(cls, path, threads: Optional[int] = None, **kwargs) -> "Embedder":
        model, meta = load_weights(path)
        return cls(model, meta, threads=threads, **kwargs)

    @classmethod
    def from_spec(cls, spec: Union[str, Path, None], threads: Optional[int] = None, **kwargs) -> "Embedder":
        """``None``/``"default"``/``"holdout"``/``"unlabeled"`` (shipped) or a weights file path."""
        if spec is None:
            return cls.default(threads=threads, **kwargs)
        if str(spec) in SHIPPED:
            return cls.from_file(shipped_weights_path(str(spec)), threads=threads, **kwargs)
        return cls.from_file(spec, threads=threads, **kwargs)

    @classmethod
    def random(cls, seed: int = 0, config: EncoderConfig = EncoderConfig(), **kwargs) -> "Embedder":
        """A randomly initialized network of the given architecture (a sanity-check baseline)."""
        with torch.random.fork_rng(devices=[]):  # leave the caller's global RNG alone
            torch.manual_seed(seed)
            model = PatchEncoder(config).eval()
        return cls(model, {"weights": f"random init, seed {seed}"}, **kwargs)

    def trainable_model(self) -> PatchEncoder:
        """A fresh copy of the network before BatchNorm folding (eval mode), e.g. to fine-tune
        it; this embedder is not changed."""
        model = PatchEncoder(self.config)
        model.load_state_dict(self._state)
        return model.eval()

    # ------------------------------------------------------------------ properties
    @property
    def dim(self) -> int:
        return self.config.dim

    @property
    def fused_dim(self) -> int:
        return self.config.dim + HIST_DIM

    @property
    def input_size(self) -> tuple:
        return self.config.input_size

    # ------------------------------------------------------------------ embedding
    def embed(self, frame: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
        """frame (H, W, 3) uint8 BGR; xyxy (N, 4) float pixels -> (N, dim) float32 unit vectors."""
        return self.embed_patches(crop_patches(frame, xyxy, self.input_size))

    def embed_fused(self, frame: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
        """frame, xyxy as in :meth:`embed` -> (N, dim + 256) float32 unit vectors."""
        patches = crop_patches(frame, xyxy, self.input_size)
        return self.fuse(self.embed_patches(patches), colour_histograms(patches))

    def fuse(self, learned: np.ndarray, hist: np.ndarray) -> np.ndarray:
        """(N, dim) and (N, 256) unit vectors -> (N, dim + 256) unit vectors whose dot products
        are ``(1 - w) * learned-cosine + w * histogram-cosine`` (w = ``fuse_weight``)."""
        w = self.fuse_weight
        out = np.concatenate([np.sqrt(1 - w) * learned, np.sqrt(w) * hist], axis=1).astype(np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def embed_images(self, images: Sequence[np.ndarray], fused: bool = False) -> np.ndarray:
        """A list of (h, w, 3) uint8 BGR crops of any size -> (N, dim[+256]) unit vectors."""
        h, w = self.input_size
        patches = np.zeros((len(images), h, w, 3), np.uint8)
        for i, im in enumerate(images):
            patches[i] = cv2.resize(im, (w, h), interpolation=cv2.INTER_AREA if im.shape[0] > h else cv2.INTER_LINEAR)
        emb = self.embed_patches(patches)
        return self.fuse(emb, colour_histograms(patches)) if fused else emb

    def embed_patches(self, patches: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 BGR patches already at ``input_size`` -> (N, dim) float32 unit vectors."""
        patches = np.asarray(patches)
        n = len(patches)
        if n == 0:
            return np.zeros((0, self.dim), np.float32)
        if patches.shape[1:] != (*self.input_size, 3) or patches.dtype != np.uint8:
            raise ValueError(f"patches must be (N, {self.input_size[0]}, {self.input_size[1]}, 3) uint8, "
                             f"got {patches.shape} {patches.dtype}")
        previous = torch.get_num_threads()
        if self.threads is not None and self.threads != previous:
            torch.set_num_threads(self.threads)
        try:
            out = []
            with torch.inference_mode():
                for start in range(0, n, self.batch_size):
                    x = torch.from_numpy(np.ascontiguousarray(patches[start:start + self.batch_size]))
                    x = x.permute(0, 3, 1, 2).float().div_(255.0).contiguous(memory_format=torch.channels_last)
                    out.append(self._model(x).numpy())
        finally:
            if self.threads is not None and self.threads != previous:
                torch.set_num_threads(previous)
        return np.concatenate(out).astype(np.float32, copy=False)
