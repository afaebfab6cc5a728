"""Large frames: sparse candidate pairs keep cost and memory bounded and results correct."""
import resource
import time

import numpy as np

from tracker import Detections, Tracker, TrackerConfig
from tracker.assignment import linear_assignment, sparse_linear_assignment
from tracker.boxes import iou_matrix, overlapping_pairs


def test_overlapping_pairs_equals_dense_iou_support():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 500, (300, 2))
    a = np.concatenate([xy, xy + rng.uniform(5, 60, (300, 2))], 1)
    xy2 = rng.uniform(0, 500, (200, 2))
    b = np.concatenate([xy2, xy2 + rng.uniform(5, 60, (200, 2))], 1)
    rows, cols = overlapping_pairs(a, b)
    dense = np.argwhere(iou_matrix(a, b) > 0)
    assert sorted(zip(rows.tolist(), cols.tolist())) == sorted(map(tuple, dense.tolist()))


def test_sparse_assignment_matches_dense_optimum():
    rng = np.random.default_rng(2)
    for _ in range(20):
        cost = rng.uniform(0, 1, (12, 9))
        cost[rng.uniform(size=cost.shape) < 0.6] = 5.0  # forbidden
        r, c = np.nonzero(cost < 5.0)
        sm, sur, suc = sparse_linear_assignment(r, c, cost[r, c], cost.shape, 0.8)
        dm, dur, duc = linear_assignment(cost, 0.8)
        assert cost[sm[:, 0], sm[:, 1]].sum() == np.float64(cost[dm[:, 0], dm[:, 1]].sum()).round(12) or \
            abs(cost[sm[:, 0], sm[:, 1]].sum() - cost[dm[:, 0], dm[:, 1]].sum()) < 1e-9
        assert len(sm) == len(dm)


def test_ten_thousand_detections_in_one_frame_stay_correct():
    rng = np.random.default_rng(3)
    n = 10_000
    grid = np.stack(np.meshgrid(np.arange(100), np.arange(100)), -1).reshape(-1, 2).astype(float)
    xy = grid * [40.0, 80.0] + rng.uniform(0, 10, (n, 2))  # a crowd: 10,000 people, none overlapping
    boxes = np.concatenate([xy, xy + [20, 50]], 1)
    tracker = Tracker(TrackerConfig(min_hits=1))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    first = tracker.update(Detections(boxes, np.full(n, 0.9)), timestamp=0.0)
    second = tracker.update(Detections(boxes + [2, 1, 2, 1], np.full(n, 0.9)), timestamp=0.1)
    elapsed = time.perf_counter() - start
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    print(f"\n10,000 detections: 2 frames in {elapsed:.1f} s, peak RSS grew {grown_mb:.0f} MB")
    # every detection keeps its identity from frame 1 to frame 2
    id_of_det_1 = dict(zip(first.det_index.tolist(), first.track_ids.tolist()))
    id_of_det_2 = dict(zip(second.det_index.tolist(), second.track_ids.tolist()))
    assert len(id_of_det_1) == n and id_of_det_1 == id_of_det_2
    assert grown_mb < 2048
