"""Kalman filter and assignment, checked against values computed by hand."""
import numpy as np
import pytest

from tracker import motion
from tracker.assignment import linear_assignment
from tracker.motion import MotionConfig

CFG = MotionConfig(position_noise=0.1, velocity_noise=0.2, measurement_noise=0.05, initial_velocity_std=1.0)


def test_initiate_by_hand():
    mean, cov = motion.initiate(np.array([50.0, 60.0, 20.0, 40.0]), CFG)
    np.testing.assert_allclose(mean, [50, 60, 20, 40, 0, 0, 0, 0])
    # position std = 2 * 0.05 * (w, h, w, h) = (2, 4, 2, 4); velocity std = 1.0 * (20, 40, 20, 40)
    np.testing.assert_allclose(np.diag(cov), [4, 16, 4, 16, 400, 1600, 400, 1600])


def test_predict_by_hand_uses_seconds():
    mean = np.array([50.0, 60.0, 20.0, 40.0, 10.0, -5.0, 0.0, 0.0])
    cov = np.eye(8)
    m, c = motion.predict(mean, cov, 0.5, CFG)
    np.testing.assert_allclose(m[:4], [55.0, 57.5, 20.0, 40.0])
    # P' = F P F^T + Q dt: position var 1 + 0.25 * 1 + (0.1*w)^2*0.5
    assert c[0, 0] == pytest.approx(1 + 0.25 + (0.1 * 20) ** 2 * 0.5)
    assert c[1, 1] == pytest.approx(1 + 0.25 + (0.1 * 40) ** 2 * 0.5)
    assert c[4, 4] == pytest.approx(1 + (0.2 * 20) ** 2 * 0.5)
    assert c[0, 4] == pytest.approx(0.5)
    # two half steps cover the same distance as one full step
    m2, _ = motion.predict(*motion.predict(mean, cov, 0.5, CFG), 0.5, CFG)
    m1, _ = motion.predict(mean, cov, 1.0, CFG)
    np.testing.assert_allclose(m2[:4], m1[:4])
    # inputs untouched
    assert mean[0] == 50.0 and cov[0, 0] == 1.0


def test_update_by_hand_scalar_gain():
    mean = np.array([0.0, 0.0, 10.0, 10.0, 0, 0, 0, 0])
    cov = np.eye(8)
    z = np.array([1.0, 0.0, 10.0, 10.0])
    m, c = motion.update(mean, cov, z, CFG)
    r = (0.05 * 10) ** 2  # measurement variance 0.25
    gain = 1.0 / (1.0 + r)  # 0.8
    assert m[0] == pytest.approx(gain * 1.0)
    assert c[0, 0] == pytest.approx(1 - gain)
    assert m[4] == 0.0  # no position-velocity correlation -> velocity untouched


def test_filter_learns_constant_velocity():
    cfg = MotionConfig()
    mean, cov = motion.initiate(np.array([0.0, 0.0, 20.0, 50.0]), cfg)
    for k in range(1, 30):
        mean, cov = motion.predict(mean, cov, 0.1, cfg)
        mean, cov = motion.update(mean, cov, np.array([k * 3.0, 0.0, 20.0, 50.0]), cfg)
    assert mean[4] == pytest.approx(30.0, rel=0.05)  # 3 px per 0.1 s = 30 px/s


def test_assignment_basic_and_ceiling():
    cost = np.array([[0.1, 0.9], [0.2, 0.3]])
    m, ur, uc = linear_assignment(cost, 0.5)
    assert m.tolist() == [[0, 0], [1, 1]] and ur.size == 0 and uc.size == 0
    m, ur, uc = linear_assignment(cost, 0.25)
    assert m.tolist() == [[0, 0]] and ur.tolist() == [1] and uc.tolist() == [1]


def test_assignment_rectangular_and_empty():
    m, ur, uc = linear_assignment(np.array([[0.5, 0.1, 0.3]]), 1.0)
    assert m.tolist() == [[0, 1]] and ur.size == 0 and uc.tolist() == [0, 2]
    m, ur, uc = linear_assignment(np.array([[0.5], [0.1], [0.3]]), 1.0)
    assert m.tolist() == [[1, 0]] and ur.tolist() == [0, 2] and uc.size == 0
    for shape in [(0, 0), (0, 3), (4, 0)]:
        m, ur, uc = linear_assignment(np.zeros(shape), 1.0)
        assert m.shape == (0, 2) and len(ur) == shape[0] and len(uc) == shape[1]


def test_assignment_all_infeasible_and_no_mutation():
    cost = np.full((3, 2), 5.0)
    before = cost.copy()
    m, ur, uc = linear_assignment(cost, 1.0)
    assert m.shape == (0, 2) and ur.tolist() == [0, 1, 2] and uc.tolist() == [0, 1]
    np.testing.assert_array_equal(cost, before)
    with pytest.raises(ValueError, match="inf"):
        linear_assignment(np.array([[np.inf]]), 1.0)


def test_assignment_is_global_not_greedy():
    # greedy would take (0,0)=0.1 then (1,1)=0.9 -> total 1.0; optimum (0,1)+(1,0) = 0.4
    cost = np.array([[0.1, 0.2], [0.2, 0.9]])
    m, _, _ = linear_assignment(cost, 1.0)
    assert sorted(map(tuple, m.tolist())) == [(0, 1), (1, 0)]


def test_warp_moves_state_and_covariance_by_hand():
    """Scale 2 and a shift: centre (10, 20) -> (2*10+5, 2*20-3); sizes and all velocities
    double; the covariance is J P J^T with J = diag(2, ..., 2)."""
    from tracker.motion import warp

    mean = np.array([10.0, 20.0, 4.0, 8.0, 1.0, -2.0, 0.5, 0.25])
    cov = np.diag(np.arange(1.0, 9.0))
    matrix = np.array([[2.0, 0.0, 5.0], [0.0, 2.0, -3.0]])
    new_mean, new_cov = warp(mean, cov, matrix)
    np.testing.assert_allclose(new_mean, [25.0, 37.0, 8.0, 16.0, 2.0, -4.0, 1.0, 0.5])
    np.testing.assert_allclose(new_cov, 4.0 * cov)
    # a 90-degree turn swaps the centre axes (x' = -y, y' = x) and their variances; sizes stay
    turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0]])
    m2, c2 = warp(mean, cov, turn)
    np.testing.assert_allclose(m2[:6], [-20.0, 10.0, 4.0, 8.0, 2.0, 1.0])
    np.testing.assert_allclose(np.diag(c2)[:2], [2.0, 1.0])
    np.testing.assert_allclose(np.diag(c2)[4:6], [6.0, 5.0])
    # batched
    bm, bc = warp(np.stack([mean, mean]), np.stack([cov, cov]), matrix)
    np.testing.assert_allclose(bm[1], new_mean) and np.testing.assert_allclose(bc[1], new_cov)


# ------------------------------------------------ observation-centric re-update
#: position and measurement noise negligible: observed positions are exact, only the velocity is uncertain
EXACT = MotionConfig(position_noise=1e-6, velocity_noise=1.0, measurement_noise=1e-6)


def test_reupdate_gives_the_velocity_of_the_straight_path_across_a_gap():
    """A 40 x 80 box known exactly at cx 100 moving 200 px/s is seen again 0.5 s later (5 steps of
    0.1 s) at cx 150: the straight path is 100 px/s. The re-update ends at the new observation with
    that velocity. One plain correction after 5 predictions does not: by hand, P_xx = 48 and
    P_xv = 160 after the 5 steps (velocity variance grows by (1.0 * 40)^2 * 0.1 = 160 a step), the
    innovation is 150 - 200 = -50, so v = 200 - 50 * 160 / 48 = 33.33 px/s."""
    mean = np.array([100.0, 50.0, 40.0, 80.0, 200.0, 0.0, 0.0, 0.0])
    cov = np.zeros((8, 8))
    new = np.array([150.0, 50.0, 40.0, 80.0])
    m, c = motion.reupdate(mean, cov, mean[:4], new, 5, 0.1, EXACT)
    np.testing.assert_allclose(m[:4], new, atol=1e-6)
    np.testing.assert_allclose(m[4:], [100.0, 0.0, 0.0, 0.0], atol=1e-4)
    plain_m, plain_c = mean, cov
    for _ in range(5):
        plain_m, plain_c = motion.predict(plain_m, plain_c, 0.1, EXACT)
    assert plain_c[0, 0] == pytest.approx(48.0, rel=1e-6) and plain_c[0, 4] == pytest.approx(160.0, rel=1e-6)
    plain_m, _ = motion.update(plain_m, plain_c, new, EXACT)
    assert plain_m[4] == pytest.approx(200.0 - 50.0 * 160.0 / 48.0, rel=1e-6)


def test_reupdate_of_one_step_is_one_predict_and_update():
    mean, cov = motion.initiate(np.array([10.0, 20.0, 30.0, 60.0]), CFG)
    z = np.array([13.0, 21.0, 30.0, 61.0])
    m, c = motion.reupdate(mean, cov, mean[:4], z, 1, 0.2, CFG)
    m2, c2 = motion.update(*motion.predict(mean, cov, 0.2, CFG), z, CFG)
    np.testing.assert_array_equal(m, m2)
    np.testing.assert_array_equal(c, c2)
    with pytest.raises(ValueError, match="steps"):
        motion.reupdate(mean, cov, mean[:4], z, 0, 0.2, CFG)


def test_noise_scale_height_uses_the_height_for_every_coordinate():
    cfg = MotionConfig(position_noise=0.1, velocity_noise=0.2, measurement_noise=0.05, noise_scale="height")
    mean, cov = motion.initiate(np.array([50.0, 60.0, 20.0, 40.0]), cfg)
    # position std = 2 * 0.05 * 40 = 4 for all four; velocity std = 1.0 * 40
    np.testing.assert_allclose(np.diag(cov), [16, 16, 16, 16, 1600, 1600, 1600, 1600])
    _, c = motion.predict(mean, np.eye(8), 0.5, cfg)
    assert c[0, 0] == pytest.approx(1 + 0.25 + (0.1 * 40) ** 2 * 0.5)  # x by the height, not the width 20
    _, s = motion.project(mean, np.zeros((8, 8)), cfg)
    np.testing.assert_allclose(np.diag(s), [(0.05 * 40) ** 2] * 4)
    with pytest.raises(ValueError, match="noise_scale"):
        MotionConfig(noise_scale="width")
