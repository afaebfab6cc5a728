"""Batched, seeded image augmentations for contrastive training (torch, CPU).

Every function takes a ``torch.Generator`` so a run is reproducible from its seed, works on a
whole batch at once, and maps (B, 3, H, W) float images in [0, 1] to the same range.

The pipeline (:class:`Augmenter`) is the usual contrastive recipe, tuned for people crops:
random resized crop (partial-body crops included, small shifts beyond the box like a detector's
jitter, horizontal flip), colour jitter (brightness, contrast, saturation and a *mild* hue shift,
since clothing colour is identity evidence), random grayscale, Gaussian blur, pixel noise and
random erasing (a rectangle of noise or flat colour: an occluder).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Tuple

import torch
import torch.nn.functional as F

from tracker.config_base import check_known_keys, construct

# luma weights in BGR order
_LUMA_BGR = (0.114, 0.587, 0.299)


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities (p_*) in [0, 1] and ranges (lo, hi) of the augmentations."""

    out_size: Tuple[int, int] = (64, 32)
    scale: Tuple[float, float] = (0.35, 1.0)  # area fraction of the source crop
    ratio: Tuple[float, float] = (0.75, 1.33)  # aspect change relative to the source crop
    shift: float = 0.08  # how far (fraction of the crop) a view may extend beyond the box
    p_flip: float = 0.5
    p_jitter: float = 0.8
    brightness: float = 0.35
    contrast: float = 0.35
    saturation: float = 0.35
    hue: float = 0.03  # fraction of the colour circle
    p_gray: float = 0.1
    p_blur: float = 0.3
    blur_sigma: Tuple[float, float] = (0.3, 1.2)
    p_noise: float = 0.3
    noise_std: float = 0.04
    p_erase: float = 0.4
    erase_area: Tuple[float, float] = (0.05, 0.3)

    def __post_init__(self) -> None:
        for name in ("p_flip", "p_jitter", "p_gray", "p_blur", "p_noise", "p_erase"):
            v = float(getattr(self, name))
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"AugmentConfig.{name} must be in [0, 1], got {v}")
        for name, lo_min, hi_max in (("scale", 0.01, 1.0), ("ratio", 0.1, 10.0), ("blur_sigma", 0.0, 5.0),
                                     ("erase_area", 0.0, 1.0)):
            lo, hi = (float(v) for v in getattr(self, name))
            if not lo_min <= lo <= hi <= hi_max:
                raise ValueError(f"AugmentConfig.{name} must be (lo, hi) with {lo_min} <= lo <= hi <= {hi_max}, got "
                                 f"{(lo, hi)}")
        for name, hi_max in (("shift", 0.5), ("brightness", 1.0), ("contrast", 1.0), ("saturation", 1.0),
                             ("hue", 0.5), ("noise_std", 0.5)):
            v = float(getattr(self, name))
            if not 0.0 <= v <= hi_max:
                raise ValueError(f"AugmentConfig.{name} must be in [0, {hi_max}], got {v}")
        h, w = (int(v) for v in self.out_size)
        if h < 4 or w < 4:
            raise ValueError(f"AugmentConfig.out_size must be >= 4 pixels each, got {self.out_size}")

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "AugmentConfig":
        """Build from a mapping; unknown keys or wrong types raise ``ValueError``."""
        check_known_keys(cls, d)
        return construct(cls, {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()})


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def _coin(n: int, p: float, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=gen) < p


def random_resized_crop(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """x: (B, 3, h, w) in [0, 1] -> (B, 3, *cfg.out_size): a random sub-window (area fraction in
    ``cfg.scale``, aspect change in ``cfg.ratio``), possibly shifted up to ``cfg.shift`` beyond the
    crop (border pixels repeat) and mirrored."""
    b = x.shape[0]
    area = _uniform(b, *cfg.scale, gen)
    log_r = _uniform(b, float(torch.log(torch.tensor(cfg.ratio[0]))), float(torch.log(torch.tensor(cfg.ratio[1]))), gen)
    r = torch.exp(log_r)
    sw = torch.clamp(torch.sqrt(area * r), max=1.0)  # width fraction
    sh = torch.clamp(torch.sqrt(area / r), max=1.0)  # height fraction
    # centre anywhere the window fits, plus a small shift beyond the box
    cx = (torch.rand(b, generator=gen) * 2 - 1) * (1 - sw + cfg.shift)
    cy = (torch.rand(b, generator=gen) * 2 - 1) * (1 - sh + cfg.shift)
    flip = torch.where(_coin(b, cfg.p_flip, gen), -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = sw * flip
    theta[:, 0, 2] = cx
    theta[:, 1, 1] = sh
    theta[:, 1, 2] = cy
    grid = F.affine_grid(theta, (b, x.shape[1], int(cfg.out_size[0]), int(cfg.out_size[1])), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def colour_jitter(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Per-image brightness, contrast, saturation factors in [1-a, 1+a] and a hue rotation of
    up to ``cfg.hue`` of the circle (YIQ rotation), applied with probability ``cfg.p_jitter``."""
    b = x.shape[0]
    apply = _coin(b, cfg.p_jitter, gen).view(b, 1, 1, 1)
    bright = _uniform(b, 1 - cfg.brightness, 1 + cfg.brightness, gen).view(b, 1, 1, 1)
    contr = _uniform(b, 1 - cfg.contrast, 1 + cfg.contrast, gen).view(b, 1, 1, 1)
    satur = _uniform(b, 1 - cfg.saturation, 1 + cfg.saturation, gen).view(b, 1, 1, 1)
    hue = _uniform(b, -cfg.hue, cfg.hue, gen) * (2 * torch.pi)
    y = x * bright
    luma_w = torch.tensor(_LUMA_BGR).view(1, 3, 1, 1)
    mean = (y * luma_w).sum(1, keepdim=True).mean(dim=(2, 3), keepdim=True)
    y = (y - mean) * contr + mean
    gray = (y * luma_w).sum(1, keepdim=True)
    y = (y - gray) * satur + gray
    # hue: rotate chroma in YIQ space (RGB order for the standard matrix; flip BGR <-> RGB)
    rgb = y.flip(1)
    to_yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    from_yiq = torch.linalg.inv(to_yiq)
    cos, sin = torch.cos(hue), torch.sin(hue)
    rot = torch.zeros(b, 3, 3)
    rot[:, 0, 0] = 1
    rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = cos, -sin, sin, cos
    m = from_yiq.unsqueeze(0) @ rot @ to_yiq.unsqueeze(0)  # (B, 3, 3)
    rgb = torch.einsum("bij,bjhw->bihw", m, rgb)
    y = rgb.flip(1).clamp(0, 1)
    return torch.where(apply, y, x)


def random_grayscale(x: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    b = x.shape[0]
    apply = _coin(b, p, gen).view(b, 1, 1, 1)
    gray = (x * torch.tensor(_LUMA_BGR).view(1, 3, 1, 1)).sum(1, keepdim=True).expand_as(x)
    return torch.where(apply, gray, x)


def gaussian_blur(x: torch.Tensor, p: float, sigma: Tuple[float, float], gen: torch.Generator) -> torch.Tensor:
    """Separable 5-tap Gaussian blur with a per-image sigma, applied with probability p."""
    b, c, h, w = x.shape
    apply = _coin(b, p, gen)
    s = _uniform(b, max(sigma[0], 1e-3), max(sigma[1], 1e-3), gen)
    taps = torch.arange(-2, 3, dtype=x.dtype)
    k = torch.exp(-(taps.view(1, -1) ** 2) / (2 * s.view(-1, 1) ** 2))
    k = k / k.sum(1, keepdim=True)  # (B, 5)
    k = k.repeat_interleave(c, 0)  # (B*C, 5)
    y = x.reshape(1, b * c, h, w)
    y = F.conv2d(F.pad(y, (2, 2, 0, 0), mode="replicate"), k.view(b * c, 1, 1, 5), groups=b * c)
    y = F.conv2d(F.pad(y, (0, 0, 2, 2), mode="replicate"), k.view(b * c, 1, 5, 1), groups=b * c)
    y = y.view(b, c, h, w)
    return torch.where(apply.view(b, 1, 1, 1), y, x)


def pixel_noise(x: torch.Tensor, p: float, std: float, gen: torch.Generator) -> torch.Tensor:
    b = x.shape[0]
    apply = _coin(b, p, gen).view(b, 1, 1, 1)
    level = _uniform(b, 0.0, std, gen).view(b, 1, 1, 1)
    noise = torch.randn(x.shape, generator=gen) * level
    return torch.where(apply, (x + noise).clamp(0, 1), x)


def random_erasing(x: torch.Tensor, p: float, area: Tuple[float, float], gen: torch.Generator) -> torch.Tensor:
    """Replace one random rectangle (area fraction in ``area``, aspect 0.3-3.3) per selected image
    by uniform noise (half of the cases) or a flat random colour: a synthetic occluder."""
    b, c, h, w = x.shape
    apply = _coin(b, p, gen)
    a = _uniform(b, *area, gen)
    r = torch.exp(_uniform(b, -1.2, 1.2, gen))
    eh = torch.clamp(torch.sqrt(a * r) * h, 1, h)
    ew = torch.clamp(torch.sqrt(a / r) * w, 1, w)
    y0 = torch.rand(b, generator=gen) * (h - eh)
    x0 = torch.rand(b, generator=gen) * (w - ew)
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    mask = ((rows >= y0.view(b, 1, 1)) & (rows < (y0 + eh).view(b, 1, 1)) &
            (cols >= x0.view(b, 1, 1)) & (cols < (x0 + ew).view(b, 1, 1)) & apply.view(b, 1, 1))
    flat = torch.rand(b, c, 1, 1, generator=gen).expand(b, c, h, w)
    noisy = torch.rand(x.shape, generator=gen)
    fill = torch.where(_coin(b, 0.5, gen).view(b, 1, 1, 1), noisy, flat)
    return torch.where(mask.unsqueeze(1), fill, x)


class Augmenter:
    """The full augmentation pipeline. ``augment(images, gen)``: (B, 3, h, w) float in [0, 1]
    (any source size) -> (B, 3, *out_size) float in [0, 1]."""

    def __init__(self, config: AugmentConfig = AugmentConfig()):
        self.config = config

    def __call__(self, images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        cfg = self.config
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must have shape (B, 3, H, W), got {tuple(images.shape)}")
        x = random_resized_crop(images, cfg, gen)
        x = colour_jitter(x, cfg, gen)
        x = random_grayscale(x, cfg.p_gray, gen)
        x = gaussian_blur(x, cfg.p_blur, cfg.blur_sigma, gen)
        x = pixel_noise(x, cfg.p_noise, cfg.noise_std, gen)
        x = random_erasing(x, cfg.p_erase, cfg.erase_area, gen)
        return x.clamp(0.0, 1.0)


def uint8_to_float(patches) -> torch.Tensor:
    """(B, H, W, 3) uint8 (numpy or torch) -> (B, 3, H, W) float32 in [0, 1]."""
    t = torch.as_tensor(patches)
    return t.permute(0, 3, 1, 2).float().div_(255.0)
