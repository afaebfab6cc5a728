"""Synthetic scenes: objects moving, crossing, leaving and entering, as per-frame detections.

A scene keeps ``objects`` objects in view at all times: each one walks with a slowly turning
velocity; when it leaves the canvas a new identity enters from a random edge. Directions are
random, so paths cross constantly. Detections are the true boxes plus pixel noise, with a miss
rate and scores in [min_score, 1].

The canvas grows with the object count at a fixed density (``area_per_object``; the default,
1920x1080 / 25, is a busy MOT17 street), so 400 objects are a bigger crowd at the same density,
not 400 boxes piled on one full-HD frame.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Tuple

import numpy as np

from tracker.config_base import ConfigBase, check_int, check_range
from tracker.detections import Detections

FULL_HD_AREA = 1920.0 * 1080.0
CANVAS_ASPECT = 16.0 / 9.0


@dataclass(frozen=True)
class SceneConfig(ConfigBase):
    """objects: objects in view per frame (>= 1). fps: frames/s. area_per_object: canvas pixels
    per object. speed_px_s: (low, high) walking speed in px/s. width_px: (low, high) box width;
    aspect: (low, high) height / width. turn_rate: std of the heading change, rad/s.
    noise_px: std of the detection box corner noise. miss_rate: probability a visible object is
    not detected in a frame. min_score: lowest detection score (scores uniform in [min_score, 1]).
    seed: random seed (scenes are reproducible)."""

    objects: int = 25
    fps: float = 30.0
    area_per_object: float = FULL_HD_AREA / 25.0
    speed_px_s: Tuple[float, float] = (30.0, 150.0)
    width_px: Tuple[float, float] = (30.0, 80.0)
    aspect: Tuple[float, float] = (2.0, 3.0)
    turn_rate: float = 0.3
    noise_px: float = 2.0
    miss_rate: float = 0.05
    min_score: float = 0.3
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("SceneConfig.objects", self.objects, 1, 1_000_000)
        check_range("SceneConfig.fps", self.fps, 0.0, 1000.0, low_inclusive=False)
        check_range("SceneConfig.area_per_object", self.area_per_object, 0.0, None, low_inclusive=False)
        for name in ("speed_px_s", "width_px", "aspect"):
            lo, hi = getattr(self, name)
            check_range(f"SceneConfig.{name}[0]", lo, 0.0, None, low_inclusive=name != "speed_px_s")
            if hi < lo:
                raise ValueError(f"SceneConfig.{name} must be (low, high) with low <= high, got {(lo, hi)}")
        check_range("SceneConfig.turn_rate", self.turn_rate, 0.0, 100.0)
        check_range("SceneConfig.noise_px", self.noise_px, 0.0, 1000.0)
        check_range("SceneConfig.miss_rate", self.miss_rate, 0.0, 1.0, high_inclusive=False)
        check_range("SceneConfig.min_score", self.min_score, 0.0, 1.0)

    @property
    def canvas(self) -> Tuple[float, float]:
        """(width, height) pixels of the canvas at this density."""
        area = self.area_per_object * self.objects
        height = math.sqrt(area / CANVAS_ASPECT)
        return height * CANVAS_ASPECT, height


class SyntheticScene:
    """``frames()`` yields ``(timestamp s, Detections, true ids (N,))`` forever (or ``n`` frames).

    ``identities`` counts the identities issued so far (each entry is a new one)."""

    def __init__(self, config: SceneConfig = SceneConfig()):
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self.width, self.height = config.canvas
        n = config.objects
        self.size = np.zeros((n, 2))
        self.pos = np.zeros((n, 2))
        self.heading = np.zeros(n)
        self.speed = np.zeros(n)
        self.ids = np.zeros(n, np.int64)
        self.identities = 0
        self._spawn(np.arange(n), inside=True)
        self.frame_index = 0

    def _spawn(self, rows: np.ndarray, inside: bool = False) -> None:
        cfg, rng, k = self.config, self.rng, len(rows)
        if k == 0:
            return
        w = rng.uniform(*cfg.width_px, k)
        self.size[rows] = np.stack([w, w * rng.uniform(*cfg.aspect, k)], axis=1)
        self.speed[rows] = rng.uniform(*cfg.speed_px_s, k)
        if inside:
            self.pos[rows] = rng.uniform([0, 0], [self.width, self.height], (k, 2))
            self.heading[rows] = rng.uniform(-math.pi, math.pi, k)
        else:  # enter from a random edge, heading inwards (within +-60 degrees of the normal)
            edge = rng.integers(0, 4, k)
            t = rng.uniform(0, 1, k)
            half = self.size[rows] / 2
            x = np.select([edge == 0, edge == 1], [-half[:, 0], self.width + half[:, 0]], t * self.width)
            y = np.select([edge == 2, edge == 3], [-half[:, 1], self.height + half[:, 1]], t * self.height)
            normal = np.select([edge == 0, edge == 1, edge == 2], [0.0, math.pi, math.pi / 2], -math.pi / 2)
            self.pos[rows] = np.stack([x, y], axis=1)
            self.heading[rows] = normal + rng.uniform(-math.pi / 3, math.pi / 3, k)
        self.ids[rows] = np.arange(self.identities + 1, self.identities + 1 + k)
        self.identities += k

    def step(self) -> Tuple[float, Detections, np.ndarray]:
        """Advance one frame; return (timestamp, detections, true ids of the detected rows)."""
        cfg, rng = self.config, self.rng
        dt = 1.0 / cfg.fps
        if self.frame_index > 0:
            self.heading += rng.normal(0.0, cfg.turn_rate * math.sqrt(dt), len(self.heading))
            self.pos += dt * self.speed[:, None] * np.stack([np.cos(self.heading), np.sin(self.heading)], axis=1)
            half = self.size / 2
            gone = ((self.pos[:, 0] + half[:, 0] < 0) | (self.pos[:, 0] - half[:, 0] > self.width)
                    | (self.pos[:, 1] + half[:, 1] < 0) | (self.pos[:, 1] - half[:, 1] > self.height))
            self._spawn(np.flatnonzero(gone))
        timestamp = self.frame_index / cfg.fps
        self.frame_index += 1
        half = self.size / 2
        xyxy = np.concatenate([self.pos - half, self.pos + half], axis=1)
        xyxy = xyxy + rng.normal(0.0, cfg.noise_px, xyxy.shape)
        xyxy[:, 2:] = np.maximum(xyxy[:, 2:], xyxy[:, :2] + 1.0)
        keep = rng.uniform(0, 1, len(xyxy)) >= cfg.miss_rate
        scores = rng.uniform(cfg.min_score, 1.0, int(keep.sum()))
        return timestamp, Detections(xyxy[keep], scores), self.ids[keep].copy()

    def frames(self, n: int = -1) -> Iterator[Tuple[float, Detections, np.ndarray]]:
        """Yield ``n`` frames (forever when n < 0)."""
        i = 0
        while n < 0 or i < n:
            yield self.step()
            i += 1


__all__ = ["SceneConfig", "SyntheticScene"]
