"""The patch encoder: a light convolutional stem whose mid-level feature map becomes patch
tokens for a small Transformer encoder, pooled and projected to a unit-length embedding.

Shapes (defaults, people crops ``H x W = 64 x 32``)::

    crops  (B, 3, 64, 32) float in [0, 1], BGR channel order
      stem conv 3x3/2  -> (B, 32, 32, 16)
           conv 3x3/2  -> (B, 48, 16, 8)
           conv 3x3/1  -> (B, 64, 16, 8)
           conv 3x3/2  -> (B, 96, 8, 4)      = 32 patch tokens of width 96
      + learned position embedding (32, 96)
      Transformer encoder, 2 layers, 4 heads, MLP 192     -> (B, 32, 96)
      LayerNorm, mean over tokens -> features (B, 96)
      Linear 96 -> 128, L2 normalize                       -> embedding (B, 128)

The training-only projection head (an MLP on top of the embedding, as in MoCo v2 / SimCLR)
lives in :mod:`tracker.training.contrastive` and is not shipped.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from tracker.config_base import check_known_keys, construct

# mean / std of [0, 1] pixel values used to standardize the input (BGR order; generic values)
PIXEL_MEAN = (0.43, 0.44, 0.45)
PIXEL_STD = (0.23, 0.23, 0.23)


@dataclass(frozen=True)
class EncoderConfig:
    """Architecture of :class:`PatchEncoder`.

    input_size: (height, width) of the crops in pixels; both divisible by 8.
    stem_channels: output channels of the 4 stem convolutions (strides 2, 2, 1, 2).
    depth: Transformer encoder layers (0 = a pure CNN: mean-pooled stem features).
    heads: attention heads (must divide ``stem_channels[-1]``).
    mlp_ratio: Transformer MLP width / token width.
    dim: embedding size.
    """

    input_size: Tuple[int, int] = (64, 32)
    stem_channels: Tuple[int, int, int, int] = (32, 48, 64, 96)
    depth: int = 2
    heads: int = 4
    mlp_ratio: float = 2.0
    dim: int = 128

    def __post_init__(self) -> None:
        h, w = (int(v) for v in self.input_size)
        if h < 8 or w < 8 or h % 8 or w % 8:
            raise ValueError(f"EncoderConfig.input_size must be two multiples of 8 >= 8, got {self.input_size}")
        if len(self.stem_channels) != 4 or any(int(c) < 1 for c in self.stem_channels):
            raise ValueError(f"EncoderConfig.stem_channels must be 4 positive ints, got {self.stem_channels}")
        if not 0 <= int(self.depth) <= 12:
            raise ValueError(f"EncoderConfig.depth must be in [0, 12], got {self.depth}")
        if int(self.heads) < 1 or int(self.stem_channels[-1]) % int(self.heads):
            raise ValueError(f"EncoderConfig.heads must divide stem_channels[-1]={self.stem_channels[-1]}, got "
                             f"{self.heads}")
        if not 0.5 <= float(self.mlp_ratio) <= 8:
            raise ValueError(f"EncoderConfig.mlp_ratio must be in [0.5, 8], got {self.mlp_ratio}")
        if not 8 <= int(self.dim) <= 2048:
            raise ValueError(f"EncoderConfig.dim must be in [8, 2048], got {self.dim}")
        object.__setattr__(self, "input_size", (h, w))
        object.__setattr__(self, "stem_channels", tuple(int(c) for c in self.stem_channels))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        d["stem_channels"] = list(self.stem_channels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "EncoderConfig":
        """Build from a mapping; unknown keys or wrong types raise ``ValueError``."""
        check_known_keys(cls, d)
        known = dict(d)
        try:
            for key in ("input_size", "stem_channels"):
                if key in known:
                    known[key] = tuple(known[key])
        except TypeError:
            raise ValueError("EncoderConfig.input_size and stem_channels must be sequences of ints, "
                             f"got {d!r}") from None
        return construct(cls, known)


def _conv_bn(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class PatchEncoder(nn.Module):
    """Crops -> unit embeddings. See the module docstring for shapes."""

    def __init__(self, config: EncoderConfig = EncoderConfig()):
        super().__init__()
        self.config = config
        c = config.stem_channels
        self.stem = nn.Sequential(_conv_bn(3, c[0], 2), _conv_bn(c[0], c[1], 2), _conv_bn(c[1], c[2], 1),
                                  _conv_bn(c[2], c[3], 2))
        h, w = config.input_size
        self.num_tokens = (h // 8) * (w // 8)
        width = c[3]
        if config.depth > 0:
            self.pos = nn.Parameter(torch.zeros(1, self.num_tokens, width))
            nn.init.trunc_normal_(self.pos, std=0.02)
            layer = nn.TransformerEncoderLayer(width, config.heads, int(width * config.mlp_ratio), dropout=0.0,
                                               activation="gelu", batch_first=True, norm_first=True)
            self.blocks = nn.TransformerEncoder(layer, config.depth, enable_nested_tensor=False)
        else:
            self.pos = None
            self.blocks = None
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, config.dim)
        self.register_buffer("mean", torch.tensor(PIXEL_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(PIXEL_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def feature_dim(self) -> int:
        return self.config.stem_channels[-1]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 3, H, W) float in [0, 1] BGR -> pooled features (B, C) (pre-projection)."""
        x = (x - self.mean) / self.std
        fmap = self.stem(x)  # (B, C, H/8, W/8)
        tokens = fmap.flatten(2).transpose(1, 2)  # (B, T, C)
        if self.blocks is not None:
            tokens = self.blocks(tokens + self.pos)
        return self.norm(tokens).mean(dim=1)

    def forward(self, x: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """x: (B, 3, H, W) float in [0, 1] BGR -> (B, dim) embeddings (unit length when
        ``normalize``)."""
        z = self.head(self.features(x))
        return F.normalize(z, dim=1) if normalize else z


def fold_batchnorm(model: PatchEncoder) -> PatchEncoder:
    """Fold each stem BatchNorm into its convolution (inference only; eval-mode statistics).

    Returns the same model with ``BatchNorm2d`` replaced by ``Identity`` and conv biases set.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval  # no random init (leaves the global RNG alone)

    for block in model.stem:
        conv, bn = block[0], block[1]
        if not isinstance(bn, nn.BatchNorm2d):
            continue
        block[0] = fuse_conv_bn_eval(conv.eval(), bn.eval())
        block[1] = nn.Identity()
    return model
