"""The memory bank: a fixed-size FIFO queue of past (momentum-encoder) embeddings with the
tracklet id each came from, used as the negatives of the contrastive loss."""
from __future__ import annotations

import torch


class MemoryQueue:
    """FIFO of at most ``size`` rows: ``embeddings`` (K, D) float32, ``tracklets`` (K,) int64.

    ``push`` writes a batch over the oldest rows (ring buffer); ``embeddings``/``tracklets`` return
    only the filled rows (K = min(pushed, size)), oldest first.
    """

    def __init__(self, size: int, dim: int):
        if size < 1:
            raise ValueError(f"MemoryQueue size must be >= 1, got {size}")
        if dim < 1:
            raise ValueError(f"MemoryQueue dim must be >= 1, got {dim}")
        self.size = int(size)
        self.dim = int(dim)
        self._emb = torch.zeros(self.size, self.dim)
        self._trk = torch.full((self.size,), -1, dtype=torch.int64)
        self._ptr = 0
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def push(self, embeddings: torch.Tensor, tracklets: torch.Tensor) -> None:
        """embeddings: (B, D); tracklets: (B,). If B > size only the last ``size`` rows are kept."""
        embeddings = embeddings.detach().to(torch.float32)
        tracklets = torch.as_tensor(tracklets, dtype=torch.int64).reshape(-1)
        if embeddings.ndim != 2 or embeddings.shape[1] != self.dim or len(tracklets) != len(embeddings):
            raise ValueError(f"push needs (B, {self.dim}) embeddings and (B,) tracklets, got "
                             f"{tuple(embeddings.shape)} and {tuple(tracklets.shape)}")
        if len(embeddings) > self.size:
            embeddings, tracklets = embeddings[-self.size:], tracklets[-self.size:]
        b = len(embeddings)
        idx = (self._ptr + torch.arange(b)) % self.size
        self._emb[idx] = embeddings
        self._trk[idx] = tracklets
        self._ptr = int((self._ptr + b) % self.size)
        self._count = min(self.size, self._count + b)

    def _order(self) -> torch.Tensor:
        if self._count < self.size:
            return torch.arange(self._count)
        return (self._ptr + torch.arange(self.size)) % self.size

    @property
    def embeddings(self) -> torch.Tensor:
        """(K, D), oldest first."""
        return self._emb[self._order()]

    @property
    def tracklets(self) -> torch.Tensor:
        """(K,), oldest first."""
        return self._trk[self._order()]

    def state_dict(self) -> dict:
        return {"emb": self._emb.clone(), "trk": self._trk.clone(), "ptr": self._ptr, "count": self._count}

    def load_state_dict(self, state: dict) -> None:
        if tuple(state["emb"].shape) != (self.size, self.dim):
            raise ValueError(f"queue state has shape {tuple(state['emb'].shape)}, expected {(self.size, self.dim)}")
        self._emb = state["emb"].clone()
        self._trk = state["trk"].clone()
        self._ptr = int(state["ptr"])
        self._count = int(state["count"])
