"""The virtual moving camera: frames and boxes move together, a seed fixes everything, and no
box leaves the view."""
from __future__ import annotations

import filecmp

import cv2
import numpy as np
import pytest

from tracker.benchmarking.virtual_camera import (VirtualCameraConfig, camera_path, make_virtual_sequence, output_size,
                                                 transform_boxes, warp_frame)
from tracker.io.mot import read_mot_file, read_seqinfo

CONFIG = VirtualCameraConfig()


def test_a_box_drawn_on_the_source_lands_on_the_same_pixels(shared_data):
    cap = cv2.VideoCapture(str(shared_data.require(shared_data.video / "TUD-Stadtmitte.mp4")))
    ok, frame = cap.read()
    cap.release()
    assert ok
    src = (frame.shape[1], frame.shape[0])
    size = output_size(src, CONFIG)
    affines = camera_path(60, 25.0, src, CONFIG, seed=7)
    box = np.array([[300.0, 200.0, 360.0, 330.0]])
    marked = frame.copy()
    cv2.rectangle(marked, (300, 200), (359, 329), (0, 0, 255), -1)  # pixels 300..359 x 200..329
    for affine in affines[::10]:
        keep, mapped = transform_boxes(box, affine, size, CONFIG.min_visible)
        assert list(keep) == [0]
        red = np.all(warp_frame(marked, affine, size) == (0, 0, 255), axis=2)
        x1, y1, x2, y2 = mapped[0]
        inner = red[int(np.ceil(y1)) + 1:int(np.floor(y2)) - 1, int(np.ceil(x1)) + 1:int(np.floor(x2)) - 1]
        assert inner.all()  # the whole mapped box is the drawn colour ...
        ys, xs = np.nonzero(red)  # ... and the drawn colour is nowhere outside it (1.5 px of blur)
        assert xs.min() >= x1 - 1.5 and xs.max() <= x2 + 1.5 and ys.min() >= y1 - 1.5 and ys.max() <= y2 + 1.5


def test_path_bounds_pan_speed_and_zoom():
    src, fps = (1920, 1080), 30.0
    affines = camera_path(3000, fps, src, CONFIG, seed=1)
    out_w, out_h = output_size(src, CONFIG)
    zoom = affines[:, 0, 0]
    assert zoom.min() >= CONFIG.zoom_min - 1e-9 and zoom.max() <= CONFIG.zoom_max + 1e-9
    assert zoom.max() - zoom.min() > 0.3  # it does zoom
    # the view always lies inside the source: the output corners map back into the source
    for affine in affines[::50]:
        inv = cv2.invertAffineTransform(affine)
        corners = np.array([[0, 0, 1], [out_w, out_h, 1]], float) @ inv.T
        assert corners.min() >= -CONFIG.shake_px * 5 and corners[1, 0] <= src[0] + 5 and corners[1, 1] <= src[1] + 5
    # pan speed of the source point under the view's centre, in output widths per second
    centre = np.array([out_w / 2, out_h / 2])
    under = np.array([cv2.invertAffineTransform(a) @ np.r_[centre, 1] for a in affines])
    speed = np.linalg.norm(np.diff(under, axis=0), axis=1) * fps * zoom[1:] / out_w
    assert 0.15 < np.percentile(speed, 95) and speed.max() <= CONFIG.max_pan_speed * 1.05 + 0.05  # + shake


def test_sequences_are_deterministic_and_never_leave_the_view(shared_data, tmp_path):
    seq = shared_data.require(shared_data.mot / "ETH-Sunnyday")
    a = make_virtual_sequence(seq, tmp_path / "a", seed=4)
    b = make_virtual_sequence(seq, tmp_path / "b", seed=4)
    c = make_virtual_sequence(seq, tmp_path / "c", seed=5)
    for rel in ("seqinfo.ini", "gt/gt.txt", "det/det.txt"):
        assert filecmp.cmp(a.path / rel, b.path / rel, shallow=False)
    assert not filecmp.cmp(a.path / "gt/gt.txt", c.path / "gt/gt.txt", shallow=False)
    info = read_seqinfo(a.path)
    assert (info.width, info.height) == a.size and info.seq_length == 354 and info.name == "ETH-Sunnyday-vcam4"
    for kind in ("gt", "det"):
        table = read_mot_file(a.path / kind / f"{kind}.txt", kind=kind)
        x1, y1 = table.xywh[:, 0], table.xywh[:, 1]
        x2, y2 = x1 + table.xywh[:, 2], y1 + table.xywh[:, 3]
        assert len(table) > 0
        assert x1.min() >= 0 and y1.min() >= 0 and x2.max() <= info.width + 0.01 and y2.max() <= info.height + 0.01
        assert (table.xywh[:, 2:] > 0).all()
    # gt identities and their extra columns survive; some boxes left the view and were dropped
    src_gt = read_mot_file(seq / "gt" / "gt.txt", kind="gt")
    gt = read_mot_file(a.path / "gt" / "gt.txt", kind="gt")
    assert set(gt.ids) <= set(src_gt.ids) and 0.3 * len(src_gt) < len(gt) < len(src_gt)


def test_transform_boxes_by_hand():
    affine = np.array([[2.0, 0.0, -10.0], [0.0, 2.0, 5.0]])
    boxes = np.array([[10, 10, 20, 20], [0, 0, 10, 10], [95, 0, 105, 10]], float)
    keep, out = transform_boxes(boxes, affine, (200, 100), min_visible=0.5)
    # box 1 -> (10, 25, 30, 45) inside; box 2 -> (-10, 5, 10, 25): half visible, kept and clipped;
    # box 3 -> (180, 5, 200, 25): inside (touches the edge)
    assert keep.tolist() == [0, 1, 2]
    np.testing.assert_allclose(out, [[10, 25, 30, 45], [0, 5, 10, 25], [180, 5, 200, 25]])
    keep, _ = transform_boxes(boxes, affine, (200, 100), min_visible=0.6)
    assert keep.tolist() == [0, 2]


def test_config_is_validated():
    with pytest.raises(ValueError, match="must fit in the source"):
        VirtualCameraConfig(view_fraction=0.9, zoom_min=0.8)
    with pytest.raises(ValueError, match="max_pan_speed"):
        VirtualCameraConfig(max_pan_speed=-1)


def test_a_virtual_sequence_is_held_out_with_its_source():
    from tracker.association.transformer import heldout_weights_path
    from tracker.benchmarking.virtual_camera import source_sequence

    assert source_sequence("ETH-Bahnhof-vcam2") == "ETH-Bahnhof"
    assert source_sequence("MOT17-02-FRCNN") == "MOT17-02-FRCNN"
    assert source_sequence("x-vcamy") == "x-vcamy"
    assert heldout_weights_path(source_sequence("ETH-Bahnhof-vcam2")) == heldout_weights_path("ETH-Bahnhof")
    assert heldout_weights_path("ETH-Bahnhof").name.startswith("fold")
