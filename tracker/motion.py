"""Constant-velocity Kalman filter on box centre and size, as pure functions.

State ``mean`` (8,) = ``cx, cy, w, h, vcx, vcy, vw, vh``: pixels and pixels per **second**;
``cov`` (8, 8). Batched forms take (T, 8) and (T, 8, 8). Time steps ``dt`` are in seconds,
so skipped frames and any frame rate behave: process noise grows linearly with ``dt``
(a random walk on velocity and position), and all noise is scaled by the box size
(``MotionConfig.noise_scale``: each coordinate by its own side, or every one by the height).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np

from tracker.camera_motion import similarity_scale
from tracker.config_base import ConfigBase, check_range

STATE_DIM = 8
MEAS_DIM = 4
MIN_BOX_SIDE_PX = 1.0  # predicted sizes are kept at least this large
#: ``MotionConfig.noise_scale`` choices: "side" = x and w noise by the width, y and h by the
#: height; "height" = every coordinate by the height (ByteTrack / BoT-SORT / OC-SORT)
NOISE_SCALES = ("side", "height")


@dataclass(frozen=True)
class MotionConfig(ConfigBase):
    """Noise levels, each a fraction of the box side (w for x/w, h for y/h).

    position_noise: std of the position random walk per sqrt(second).
    velocity_noise: std of the velocity random walk (pixels/s) per sqrt(second).
    measurement_noise: std of a detector box coordinate.
    initial_velocity_std: std of the unknown velocity of a new track (pixels/s).
    noise_scale: which box side scales each coordinate's noise (``NOISE_SCALES``): "side" (the
        default) or "height".
    """

    position_noise: float = 0.5  # chosen by every leave-sequences-out fold (docs/tuning.md)
    velocity_noise: float = 0.5
    measurement_noise: float = 0.05
    initial_velocity_std: float = 1.0
    noise_scale: str = "side"

    def __post_init__(self) -> None:
        for name in ("position_noise", "velocity_noise", "measurement_noise", "initial_velocity_std"):
            check_range(f"MotionConfig.{name}", getattr(self, name), 0.0, 100.0, low_inclusive=False)
        if not isinstance(self.noise_scale, str) or self.noise_scale not in NOISE_SCALES:
            raise ValueError(f"MotionConfig.noise_scale must be one of {NOISE_SCALES}, got {self.noise_scale!r}")


def _size_scale(wh: np.ndarray, cfg: MotionConfig) -> np.ndarray:
    """(..., 2) w, h -> (..., 4) per-coordinate scale: ``w, h, w, h`` ("side") or
    ``h, h, h, h`` ("height")."""
    wh = np.maximum(wh, MIN_BOX_SIDE_PX)
    if cfg.noise_scale == "height":
        wh = np.repeat(wh[..., 1:2], 2, axis=-1)
    return np.concatenate([wh, wh], axis=-1)


def initiate(measurement: np.ndarray, cfg: MotionConfig) -> Tuple[np.ndarray, np.ndarray]:
    """Start a track from one measurement.

    measurement: (4,) or (T, 4) ``cx, cy, w, h`` pixels -> mean (…, 8), cov (…, 8, 8).
    """
    z = np.asarray(measurement, dtype=np.float64)
    mean = np.concatenate([z, np.zeros_like(z)], axis=-1)
    scale = _size_scale(z[..., 2:4], cfg)
    std = np.concatenate([2.0 * cfg.measurement_noise * scale, cfg.initial_velocity_std * scale], axis=-1)
    cov = np.zeros(z.shape[:-1] + (STATE_DIM, STATE_DIM))
    idx = np.arange(STATE_DIM)
    cov[..., idx, idx] = std ** 2
    return mean, cov


def predict(mean: np.ndarray, cov: np.ndarray, dt, cfg: MotionConfig) -> Tuple[np.ndarray, np.ndarray]:
    """Propagate (…, 8) means and (…, 8, 8) covariances by ``dt`` seconds (scalar or (…,)).

    Returns new arrays; inputs are not modified. Sizes are kept >= 1 px."""
    mean = np.asarray(mean, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    dt = np.asarray(dt, dtype=np.float64)
    dt_b = np.broadcast_to(dt, mean.shape[:-1])
    new_mean = mean.copy()
    new_mean[..., :4] = mean[..., :4] + mean[..., 4:] * dt_b[..., None]
    new_mean[..., 2:4] = np.maximum(new_mean[..., 2:4], MIN_BOX_SIDE_PX)
    # F = [[I, dt I], [0, I]]: F P F^T written blockwise
    p11, p12, p21, p22 = cov[..., :4, :4], cov[..., :4, 4:], cov[..., 4:, :4], cov[..., 4:, 4:]
    d = dt_b[..., None, None]
    n11 = p11 + d * (p12 + p21) + d * d * p22
    n12 = p12 + d * p22
    n21 = p21 + d * p22
    new_cov = np.concatenate([np.concatenate([n11, n12], -1), np.concatenate([n21, p22], -1)], -2)
    scale = _size_scale(mean[..., 2:4], cfg)
    q = np.concatenate([(cfg.position_noise * scale) ** 2, (cfg.velocity_noise * scale) ** 2], axis=-1)
    idx = np.arange(STATE_DIM)
    new_cov[..., idx, idx] += q * dt_b[..., None]
    return new_mean, new_cov


def project(mean: np.ndarray, cov: np.ndarray, cfg: MotionConfig) -> Tuple[np.ndarray, np.ndarray]:
    """Measurement-space (…, 4) mean and (…, 4, 4) covariance including measurement noise."""
    scale = _size_scale(mean[..., 2:4], cfg)
    r = (cfg.measurement_noise * scale) ** 2
    s = cov[..., :4, :4].copy()
    idx = np.arange(MEAS_DIM)
    s[..., idx, idx] += r
    return mean[..., :4].copy(), s


def update(mean: np.ndarray, cov: np.ndarray, measurement: np.ndarray,
           cfg: MotionConfig) -> Tuple[np.ndarray, np.ndarray]:
    """Correct (…, 8)/(…, 8, 8) with a (…, 4) ``cx, cy, w, h`` measurement; new arrays."""
    z = np.asarray(measurement, dtype=np.float64)
    z_pred, s = project(mean, cov, cfg)
    p_ht = cov[..., :, :4]  # P H^T, (…, 8, 4)
    gain = np.swapaxes(np.linalg.solve(s, np.swapaxes(p_ht, -1, -2)), -1, -2)  # (…, 8, 4)
    innovation = z - z_pred
    new_mean = mean + np.einsum("...ij,...j->...i", gain, innovation)
    new_cov = cov - gain @ np.swapaxes(p_ht, -1, -2)
    new_cov = 0.5 * (new_cov + np.swapaxes(new_cov, -1, -2))
    new_mean[..., 2:4] = np.maximum(new_mean[..., 2:4], MIN_BOX_SIDE_PX)
    return new_mean, new_cov


def reupdate(mean: np.ndarray, cov: np.ndarray, last_measurement: np.ndarray, measurement: np.ndarray,
             steps: int, dt: float, cfg: MotionConfig) -> Tuple[np.ndarray, np.ndarray]:
    """Observation-centric re-update (the idea of OC-SORT's ORU) of one track found again.

    mean (8,) / cov (8, 8): the state right after its last observation ``last_measurement``
    (4,) ``cx, cy, w, h``; ``measurement`` (4,): the observation that ends a gap of ``steps``
    frame steps of ``dt`` seconds each. The filter is run again through the gap on virtual
    observations on the straight line between the two (``predict`` then ``update`` at step
    ``i`` with ``last + (new - last) * i / steps``), so the velocity it ends with follows the
    path across the gap instead of the unobserved drift. ``steps`` = 1 is one ordinary
    predict + update. New arrays."""
    if steps < 1:
        raise ValueError(f"reupdate: steps must be >= 1, got {steps}")
    last = np.asarray(last_measurement, dtype=np.float64)
    step = (np.asarray(measurement, dtype=np.float64) - last) / steps
    for i in range(1, steps + 1):
        mean, cov = predict(mean, cov, dt, cfg)
        mean, cov = update(mean, cov, last + step * i, cfg)
    return mean, cov


def mahalanobis_sq(mean: np.ndarray, cov: np.ndarray, measurements: np.ndarray, cfg: MotionConfig) -> np.ndarray:
    """Squared Mahalanobis distance of each of N measurements (N, 4) to each of T states.

    mean (T, 8), cov (T, 8, 8) -> (T, N)."""
    z_pred, s = project(mean, cov, cfg)
    diff = measurements[None, :, :] - z_pred[:, None, :]  # (T, N, 4)
    chol = np.linalg.cholesky(s)  # (T, 4, 4)
    sol = np.linalg.solve(chol[:, None, :, :], diff[..., None])[..., 0]
    return np.sum(sol ** 2, axis=-1)


def warp(mean: np.ndarray, cov: np.ndarray, matrix: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Move (…, 8) states and (…, 8, 8) covariances by a camera motion.

    matrix: (2, 3) similarity transform ``[M | t]`` from the previous frame's pixels to this
    frame's (``tracker.camera_motion``). Centres map by ``M c + t``; sizes scale by
    ``s = sqrt(|det M|)``; centre velocities turn by ``M``, size velocities scale by ``s``.
    The covariance is moved by the same linear map ``J``: ``J P J^T``. New arrays."""
    mean = np.asarray(mean, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    matrix = np.asarray(matrix, dtype=np.float64)
    m, t = matrix[:, :2], matrix[:, 2]
    s = similarity_scale(matrix)
    jac = np.zeros((STATE_DIM, STATE_DIM))
    jac[0:2, 0:2] = m
    jac[2:4, 2:4] = s * np.eye(2)
    jac[4:6, 4:6] = m
    jac[6:8, 6:8] = s * np.eye(2)
    new_mean = mean @ jac.T
    new_mean[..., 0:2] += t
    new_mean[..., 2:4] = np.maximum(new_mean[..., 2:4], MIN_BOX_SIDE_PX)
    new_cov = jac @ cov @ jac.T
    return new_mean, new_cov
