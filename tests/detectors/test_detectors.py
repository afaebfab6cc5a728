"""Detectors: the embedded SSDLite default on real frames, user ONNX models (tiny models built
here with torch.onnx.export), det.txt replay, callables, and frame validation."""
from __future__ import annotations

import hashlib
import socket
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from tracker.boxes import iou_matrix
from tracker.detections import Detections
from tracker.detectors import (
    DetectionFileDetector,
    Detector,
    OnnxDetector,
    SSDLiteConfig,
    SSDLitePersonDetector,
    as_detector,
    default_detector,
    load_class_names,
    model_metadata,
    model_path,
    validate_frame,
)
from tracker.detectors._runtime import nms_xyxy
from tracker.detectors.onnx_yolo import letterbox
from tracker.detectors.ssdlite import tile_windows
from tracker.io.mot import read_mot_file

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
VTEST = DATA / "video" / "vtest.avi"
VTEST_GT = DATA / "video" / "vtest.gt.txt"


# ---------------------------------------------------------------------------------------
# frame validation
# ---------------------------------------------------------------------------------------
BAD_FRAMES = [
    (np.zeros((10, 10), np.uint8), "shape"),
    (np.zeros((10, 10, 4), np.uint8), "shape"),
    (np.zeros((10, 10, 3), np.float32), "uint8"),
    (np.zeros((0, 10, 3), np.uint8), "empty"),
    ([[0, 0, 0]], "numpy array"),
    (None, "numpy array"),
]


@pytest.mark.parametrize("frame,words", BAD_FRAMES)
def test_validate_frame_rejects_bad_frames(frame, words):
    with pytest.raises(ValueError, match=words):
        validate_frame(frame)


@pytest.fixture(scope="module")
def ssdlite():
    return SSDLitePersonDetector(threads=2)


@pytest.mark.parametrize("frame,words", BAD_FRAMES)
def test_ssdlite_rejects_bad_frames(ssdlite, frame, words):
    with pytest.raises(ValueError, match=words):
        ssdlite(frame)


# ---------------------------------------------------------------------------------------
# the embedded default
# ---------------------------------------------------------------------------------------
def test_shipped_model_matches_its_metadata_and_licence():
    path = model_path()
    assert path.is_file() and path.stat().st_size > 10_000_000
    meta = model_metadata()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == meta["sha256"]
    assert meta["classes"] == ["person"]
    assert meta["licence"] == "MIT"
    folder = path.parent
    licence = (folder / "LICENSE").read_text()
    assert "MIT License" in licence and "Permission is hereby granted" in licence
    provenance = (folder / "PROVENANCE.md").read_text()
    assert meta["source"]["graph_sha256"] in provenance


def test_default_detector_loads_and_runs_without_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the default detector tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    det = default_detector(threads=1)
    assert isinstance(det, Detector)
    out = det(np.full((120, 160, 3), 90, np.uint8))
    assert isinstance(out, Detections)
    assert np.all(out.class_ids == 0)
    assert np.all(out.scores >= det.config.score_threshold)


def test_ssdlite_boxes_are_frame_pixels_clipped(ssdlite):
    rng = np.random.default_rng(1)
    frame = cv2.resize(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8), (320, 240), interpolation=cv2.INTER_NEAREST)
    out = ssdlite(frame)
    assert np.all(out.xyxy[:, [0, 2]] >= 0) and np.all(out.xyxy[:, [0, 2]] <= 320)
    assert np.all(out.xyxy[:, [1, 3]] >= 0) and np.all(out.xyxy[:, [1, 3]] <= 240)
    assert np.all((out.scores >= 0) & (out.scores <= 1))
    # odd sizes and a tiny frame do not break the tiling
    assert isinstance(ssdlite(np.zeros((7, 5, 3), np.uint8)), Detections)
    assert isinstance(ssdlite(np.zeros((300, 2, 3), np.uint8)), Detections)


def test_ssdlite_config_validation():
    for kwargs, field in [
        (dict(score_threshold=1.5), "score_threshold"),
        (dict(score_threshold=-0.1), "score_threshold"),
        (dict(threads=0), "threads"),
        (dict(tiles=(0, 2)), "tiles"),
        (dict(tiles=(1, 2, 3)), "tiles"),
        (dict(tiles=(1, 9)), "tiles"),
        (dict(tile_overlap=0.7), "tile_overlap"),
        (dict(tile_edge_margin=-1), "tile_edge_margin"),
        (dict(model_path="/nonexistent/model.onnx"), "model_path"),
    ]:
        with pytest.raises(ValueError, match=field):
            SSDLiteConfig(**kwargs)
    assert SSDLiteConfig().tiles_for(640, 480) == (1, 2)
    assert SSDLiteConfig().tiles_for(480, 640) == (2, 1)
    assert SSDLiteConfig(tiles=[1, 1]).tiles_for(640, 480) == (1, 1)


def test_tile_windows_cover_the_frame_with_overlap():
    windows = tile_windows(768, 576, 1, 2, 0.2)
    assert windows == [(0, 0, 427, 576), (341, 0, 768, 576)]
    for w, h, r, c in [(640, 480, 2, 3), (33, 17, 4, 4), (1, 1, 2, 2)]:
        covered = np.zeros((h, w), bool)
        for x1, y1, x2, y2 in tile_windows(w, h, r, c, 0.25):
            assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
            covered[y1:y2, x1:x2] = True
        assert covered.all()


def _read_frames(indices):
    cap = cv2.VideoCapture(str(VTEST))
    frames, want, i = {}, set(indices), 0
    while len(frames) < len(want):
        ok, frame = cap.read()
        if not ok:
            break
        if i in want:
            frames[i] = frame
        i += 1
    cap.release()
    return frames


@pytest.mark.skipif(not VTEST.is_file(), reason=f"real video data not found at {VTEST} (../shared/data)")
def test_default_detector_finds_people_on_real_frames(ssdlite):
    """20 frames of vtest.avi (PETS09-S2L1, 480x360) against the ground truth, IoU >= 0.5.
    Measured on these frames: see docs/detector.md; the floors leave a margin."""
    table = read_mot_file(VTEST_GT, "gt")
    indices = list(range(0, 400, 20))
    frames = _read_frames(indices)
    assert len(frames) == 20
    tp = n_det = n_gt = 0
    for i, frame in frames.items():
        dets = ssdlite(frame)
        rows = (table.frames == i + 1) & (table.scores != 0)
        gt = np.concatenate([table.xywh[rows, :2], table.xywh[rows, :2] + table.xywh[rows, 2:]], axis=1)
        n_det += len(dets)
        n_gt += len(gt)
        if len(dets) and len(gt):
            from scipy.optimize import linear_sum_assignment

            iou = iou_matrix(dets.xyxy, gt)
            r, c = linear_sum_assignment(-iou)
            tp += int((iou[r, c] >= 0.5).sum())
    precision, recall = tp / max(n_det, 1), tp / max(n_gt, 1)
    assert n_gt > 100
    assert precision >= 0.65, f"precision {precision:.2f} ({tp}/{n_det})"
    assert recall >= 0.72, f"recall {recall:.2f} ({tp}/{n_gt})"


# ---------------------------------------------------------------------------------------
# NMS and letterbox helpers
# ---------------------------------------------------------------------------------------
def test_nms_is_greedy_and_class_wise():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10], [50, 50, 60, 60]], float)
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    assert nms_xyxy(boxes, scores, None, 0.5).tolist() == [0, 3]
    assert nms_xyxy(boxes, scores, np.array([0, 0, 1, 0]), 0.5).tolist() == [0, 2, 3]
    assert nms_xyxy(boxes, scores, None, 0.95).tolist() == [0, 1, 3]  # IoU(0,1)=0.82 < 0.95, IoU(0,2)=1
    assert nms_xyxy(np.zeros((0, 4)), np.zeros(0), None, 0.5).tolist() == []


def test_letterbox_geometry():
    frame = np.zeros((96, 128, 3), np.uint8)
    img, scale, px, py = letterbox(frame, (64, 64), centred=True)
    assert img.shape == (64, 64, 3) and scale == 0.5 and (px, py) == (0.0, 8.0)
    assert np.all(img[:8] == 114) and np.all(img[8:56] == 0) and np.all(img[56:] == 114)
    img, scale, px, py = letterbox(frame, (64, 64), centred=False)
    assert (px, py) == (0.0, 0.0) and np.all(img[:48] == 0) and np.all(img[48:] == 114)


# ---------------------------------------------------------------------------------------
# user ONNX detectors: tiny models exported from torch
# ---------------------------------------------------------------------------------------
S = 64  # network input size of the tiny models
ANCHORS = 32  # candidate boxes of the tiny yolov8 / yolox models
RED_BOX = (20.0, 30.0, 60.0, 70.0)  # xyxy in frame pixels of a 128x96 frame
BLUE_BOX = (80.0, 10.0, 112.0, 50.0)


def _frame(red=True, blue=True):
    frame = np.zeros((96, 128, 3), np.uint8)
    if red:
        x1, y1, x2, y2 = (int(v) for v in RED_BOX)
        frame[y1:y2, x1:x2] = (0, 0, 255)  # BGR red
    if blue:
        x1, y1, x2, y2 = (int(v) for v in BLUE_BOX)
        frame[y1:y2, x1:x2] = (255, 0, 0)  # BGR blue
    return frame


def _tiny_model_module(fmt):
    """A torch module that "detects" pure-red and pure-blue rectangles.

    For a colour, r = relu(colour - other two channels - 0.3) (0.7 inside a rectangle of that
    colour, 0 on black and on the grey letterbox padding); the box is r's centroid and
    sqrt(12 var) extent (exact for a rectangle), the score sum(r) / (sum(r) + 10). Outputs:
    red -> class 0, a slightly narrower red duplicate (suppressed by NMS), blue -> class 1,
    and red's box again as class 1 at half the score (kept: NMS is class-wise).
    ``yolov8``: RGB / 255 input, (1, 4 + 2, 32); ``yolox``: BGR 0-255 input, decoded (1, 32, 5 + 2);
    ``yolox_raw``: as yolox, not decoded, on the strides 8/16/32 grid (84 rows for 64x64);
    ``end2end``: RGB / 255 input, (1, 4, 6) ``x1, y1, x2, y2, score, class`` rows.
    """
    import torch

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            coords = torch.arange(S, dtype=torch.float32) + 0.5
            self.register_buffer("xs", coords.view(1, 1, S))
            self.register_buffer("ys", coords.view(1, S, 1))

        def moments(self, r):
            total = r.sum() + 1e-6
            cx = (r * self.xs).sum() / total
            cy = (r * self.ys).sum() / total
            vx = (r * self.xs * self.xs).sum() / total - cx * cx
            vy = (r * self.ys * self.ys).sum() / total - cy * cy
            w = torch.sqrt(torch.relu(12.0 * vx) + 1e-6)
            h = torch.sqrt(torch.relu(12.0 * vy) + 1e-6)
            return cx, cy, w, h, r.sum() / (r.sum() + 10.0)

        def forward(self, x):
            ultralytics = fmt in ("yolov8", "end2end")  # RGB / 255 input; YOLOX: BGR 0-255
            v = x if ultralytics else x / 255.0
            red, green, blue = (v[:, 0], v[:, 1], v[:, 2]) if ultralytics else (v[:, 2], v[:, 1], v[:, 0])
            r_red = torch.relu(red - green - blue - 0.3)
            r_blue = torch.relu(blue - green - red - 0.3)
            rx, ry, rw, rh, rs = self.moments(r_red)
            bx, by, bw, bh, bs = self.moments(r_blue)
            zero = rs * 0.0
            one = zero + 1.0
            rows = [
                # cx, cy, w, h, class-0 score, class-1 score
                torch.stack([rx, ry, rw, rh, rs, zero]),
                torch.stack([rx, ry, rw * 0.9, rh, rs * 0.8, zero]),
                torch.stack([bx, by, bw, bh, zero, bs]),
                torch.stack([rx, ry, rw, rh, zero, rs * 0.5]),
            ]
            # padding rows (score 0, size 1) so that, as in real models, anchors outnumber columns
            pad = [torch.stack([one, one, one, one, zero, zero])] * (ANCHORS - len(rows))
            if fmt == "yolov8":
                return torch.stack(rows + pad, dim=1).unsqueeze(0)  # (1, 6, ANCHORS)
            if fmt == "end2end":  # x1, y1, x2, y2, score, class; no NMS expected
                e2e = [torch.stack([r[0] - r[2] / 2, r[1] - r[3] / 2, r[0] + r[2] / 2, r[1] + r[3] / 2,
                                    torch.maximum(r[4], r[5]), zero + c]) for r, c in zip(rows, (0, 0, 1, 1))]
                return torch.stack(e2e, dim=0).unsqueeze(0)  # (1, 4, 6)
            # objectness x class score = the score above (objectness = sqrt of the best score)
            objs = [torch.sqrt(torch.maximum(r[4], r[5]) + 1e-9) for r in rows]
            with_obj = [torch.stack([r[0], r[1], r[2], r[3], o, r[4] / o, r[5] / o]) for r, o in zip(rows, objs)]
            if fmt == "yolox":
                pad = [torch.stack([one, one, one, one, zero, zero, zero])] * (ANCHORS - len(rows))
                return torch.stack(with_obj + pad, dim=0).unsqueeze(0)  # (1, ANCHORS, 7)
            # yolox_raw: put the red and blue rows on stride-32 cells (0, 0) and (1, 0) and the
            # rest on stride-16 cells; raw = (c / s - grid, log(size / s))
            def raw(r, gx, gy, s):
                return torch.stack([r[0] / s - gx, r[1] / s - gy, torch.log(r[2] / s), torch.log(r[3] / s),
                                    r[4], r[5], r[6]])
            n8, n16, n32 = (S // 8) ** 2, (S // 16) ** 2, (S // 32) ** 2
            background = torch.zeros(1, 7) + torch.tensor([[0.0, 0.0, -5.0, -5.0, 0.0, 0.0, 0.0]])
            parts = [background.expand(n8, 7)]
            parts.append(torch.stack([raw(with_obj[1], 0.0, 0.0, 16.0), raw(with_obj[3], 1.0, 0.0, 16.0)]))
            parts.append(background.expand(n16 - 2, 7))
            parts.append(torch.stack([raw(with_obj[0], 0.0, 0.0, 32.0), raw(with_obj[2], 1.0, 0.0, 32.0)]))
            parts.append(background.expand(n32 - 2, 7))
            return torch.cat(parts, dim=0).unsqueeze(0)  # (1, 84, 7)

    return Tiny().eval()


def _export(fmt, path, metadata=None):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx", reason="exporting the tiny test models needs the 'onnx' package (test extra)")
    module = _tiny_model_module(fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.zeros(1, 3, S, S),), str(path), dynamo=False, opset_version=17,
                          input_names=["images"], output_names=["output0"])
    if metadata:
        import onnx

        model = onnx.load(str(path))
        for key, value in metadata.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    return {fmt: _export(fmt, folder / f"{fmt}.onnx") for fmt in ("yolov8", "yolox", "yolox_raw")}


def _assert_expected(out, tol=2.0):
    """red box class 0 (duplicate suppressed), blue box class 1, red box again as class 1."""
    assert len(out) == 3, (out.xyxy, out.class_ids, out.scores)
    by = {(int(c), round(float(s), 2)): b for b, c, s in zip(out.xyxy, out.class_ids, out.scores)}
    red0 = [b for (c, s), b in by.items() if c == 0]
    cls1 = sorted(((s, b) for (c, s), b in by.items() if c == 1), key=lambda t: -t[0])
    assert len(red0) == 1 and len(cls1) == 2
    np.testing.assert_allclose(red0[0], RED_BOX, atol=tol)
    np.testing.assert_allclose(cls1[0][1], BLUE_BOX, atol=tol)
    np.testing.assert_allclose(cls1[1][1], RED_BOX, atol=tol)
    # scores: sum(r) / (sum(r) + 10) with r = 0.7 on a 20x20 (red) or 16x20 (blue) input area
    red, blue = 0.7 * 400 / (0.7 * 400 + 10), 0.7 * 320 / (0.7 * 320 + 10)
    np.testing.assert_allclose(out.scores, [red, blue, red / 2], atol=0.01)


@pytest.mark.parametrize("fmt", ["yolov8", "yolox", "yolox_raw"])
@pytest.mark.parametrize("explicit", [False, True])
def test_onnx_detector_decodes_and_maps_back_through_the_letterbox(tiny_models, fmt, explicit):
    det = OnnxDetector(tiny_models[fmt], output_format=fmt if explicit else "auto", score_threshold=0.3, threads=1)
    assert det.input_size == (S, S)  # read from the model's static input
    out = det(_frame())
    assert det.output_format == fmt
    _assert_expected(out)
    only_red = det(_frame(blue=False))
    assert sorted(only_red.class_ids.tolist()) == [0, 1]
    np.testing.assert_allclose(only_red.xyxy, [RED_BOX, RED_BOX], atol=2.0)
    assert len(det(_frame(red=False, blue=False))) == 0


def test_onnx_detector_preprocessing_follows_the_format(tiny_models):
    """The format drives the pre-processing: forcing RGB on the (BGR) YOLOX model swaps what
    it sees as red and blue, so the classes swap; forcing a 1/255 scale finds nothing."""
    swapped = OnnxDetector(tiny_models["yolox"], output_format="yolox", rgb=True, score_threshold=0.3)(_frame())
    blue_row = np.argmin(np.abs(swapped.xyxy - np.array(BLUE_BOX)).sum(axis=1))
    assert swapped.class_ids[blue_row] == 0
    scaled = OnnxDetector(tiny_models["yolox"], output_format="yolox", pixel_scale=1 / 255, score_threshold=0.3)
    assert len(scaled(_frame())) == 0
    with pytest.raises(ValueError, match="check output_format"):
        OnnxDetector(tiny_models["yolox"], output_format="yolov8")(_frame())
    with pytest.raises(ValueError, match="check output_format"):
        OnnxDetector(tiny_models["yolov8"], output_format="yolox")(_frame())


def test_onnx_detector_options(tiny_models, tmp_path):
    path = tiny_models["yolov8"]
    names_file = tmp_path / "names.txt"
    names_file.write_text("red\n\nblue\n")
    det = OnnxDetector(path, class_names=names_file, classes=["blue"], score_threshold=0.3)
    assert det.class_names == ("red", "blue")
    out = det(_frame())
    assert out.class_ids.tolist() == [1, 1]
    assert OnnxDetector(path, class_names="red,blue", classes=[0])(_frame()).class_ids.tolist() == [0]
    assert len(OnnxDetector(path, score_threshold=0.99)(_frame())) == 0
    assert len(OnnxDetector(path, score_threshold=0.3, max_detections=1)(_frame())) == 1
    # NMS threshold above the duplicate's IoU (0.9) keeps it
    assert len(OnnxDetector(path, score_threshold=0.3, nms_iou=0.95)(_frame())) == 4
    with pytest.raises(ValueError, match="2 classes but 3 class names"):
        OnnxDetector(path, class_names=["a", "b", "c"])(_frame())
    with pytest.raises(ValueError, match="unknown class name"):
        OnnxDetector(path, class_names="red,blue", classes=["green"])(_frame())
    with pytest.raises(ValueError, match="differs from the model's fixed input"):
        OnnxDetector(path, input_size=640)
    assert OnnxDetector(path, input_size="64x64").input_size == (64, 64)
    assert OnnxDetector(path, input_size="64", classes="0, 1").config.classes == ("0", "1")
    for kwargs, field in [(dict(score_threshold=2), "score_threshold"), (dict(nms_iou=-1), "nms_iou"),
                          (dict(output_format="yolov99"), "output_format"), (dict(backend="tensorrt"), "backend"),
                          (dict(input_size=(3, 3)), "input_size"), (dict(input_size="64y"), "input_size"),
                          (dict(max_detections=0), "max_detections"),
                          (dict(threads=0), "threads")]:
        with pytest.raises(ValueError, match=field):
            OnnxDetector(path, **kwargs)
    with pytest.raises(ValueError, match="not found"):
        OnnxDetector(tmp_path / "missing.onnx")
    with pytest.raises(ValueError, match="shape"):
        det(np.zeros((10, 10), np.uint8))


def test_onnx_detector_reads_class_names_from_ultralytics_metadata(tmp_path):
    path = _export("yolov8", tmp_path / "meta.onnx", {"names": "{0: 'person', 1: 'car'}", "imgsz": "[64, 64]"})
    det = OnnxDetector(path, classes=["car"], score_threshold=0.3)
    assert det.class_names == ("person", "car")
    out = det(_frame())
    assert out.class_ids.tolist() == [1, 1]


def test_onnx_detector_end2end_output(tmp_path):
    """NMS-free (1, K, 6) output: boxes mapped back, no NMS (the narrower red duplicate stays);
    ``auto`` recognises it from the model's metadata."""
    plain = _export("end2end", tmp_path / "e2e.onnx")
    tagged = _export("end2end", tmp_path / "e2e_meta.onnx", {"end2end": "True"})
    for det in (OnnxDetector(plain, output_format="end2end", score_threshold=0.3),
                OnnxDetector(tagged, score_threshold=0.3)):
        out = det(_frame())
        assert det.output_format == "end2end"
        assert out.class_ids.tolist() == [0, 1, 0, 1]
        red_w = RED_BOX[2] - RED_BOX[0]
        np.testing.assert_allclose(out.xyxy[[0, 1, 3]], [RED_BOX, BLUE_BOX, RED_BOX], atol=2.0)
        np.testing.assert_allclose(out.xyxy[2, [0, 2]], [RED_BOX[0] + 0.05 * red_w, RED_BOX[2] - 0.05 * red_w],
                                   atol=2.0)


def test_onnx_detector_on_opencv_dnn(tiny_models):
    det = OnnxDetector(tiny_models["yolov8"], backend="opencv", input_size=S, output_format="yolov8",
                       score_threshold=0.3)
    _assert_expected(det(_frame()))


def test_load_class_names():
    assert load_class_names(None) is None
    assert load_class_names(["a", "b"]) == ("a", "b")
    assert load_class_names("a, b") == ("a", "b")
    with pytest.raises(ValueError, match="empty name"):
        load_class_names("a,,b")


# ---------------------------------------------------------------------------------------
# det.txt replay
# ---------------------------------------------------------------------------------------
def test_detection_file_detector(tmp_path):
    path = tmp_path / "det.txt"
    path.write_text("1,-1,10,20,30,40,0.9\n1,-1,100,20,30,40,0.2\n3,-1,-5,0,20,20,0.8\n")
    det = DetectionFileDetector(path)
    frame = np.zeros((60, 120, 3), np.uint8)
    first = det(frame)
    np.testing.assert_allclose(first.xyxy, [[10, 20, 40, 60], [100, 20, 130, 60]])
    np.testing.assert_allclose(first.scores, [0.9, 0.2])
    assert len(det(frame)) == 0  # frame 2 has none
    third = det(None)  # no image needed
    np.testing.assert_allclose(third.xyxy, [[-5, 0, 15, 20]])  # replayed as is by default
    assert det.next_frame == 4 and det.last_frame == 3
    assert len(det.at(1)) == 2 and len(det(frame, frame_index=0)) == 2 and det.next_frame == 2
    det.reset()
    assert det.next_frame == 1
    clipped = DetectionFileDetector(path, clip=True, min_score=0.5)
    assert len(clipped(frame)) == 1
    clipped(frame)
    np.testing.assert_allclose(clipped(frame).xyxy, [[0, 0, 15, 20]])
    with pytest.raises(ValueError, match="1-based"):
        det.at(0)
    with pytest.raises(ValueError, match="uint8"):
        det(np.zeros((4, 4, 3), np.float64))
    with pytest.raises(ValueError, match="score_rescale"):
        DetectionFileDetector(path, score_rescale="log")
    with pytest.raises(ValueError, match="not found"):
        DetectionFileDetector(tmp_path / "missing.txt")


@pytest.mark.skipif(not (DATA / "video" / "vtest.det.txt").is_file(), reason="../shared/data not found")
def test_detection_file_detector_on_the_public_vtest_detections():
    det = DetectionFileDetector(DATA / "video" / "vtest.det.txt")
    counts = [len(det(None)) for _ in range(795)]
    assert sum(counts) == det.detection_set.rows and counts[0] > 0


# ---------------------------------------------------------------------------------------
# callables
# ---------------------------------------------------------------------------------------
def test_as_detector_wraps_and_checks_callables():
    def fn(frame):
        return Detections(np.array([[-10, 5, 30, 40], [200, 200, 220, 220]], float), [0.9, 0.5])

    det = as_detector(fn)
    assert isinstance(det, Detector)
    out = det(np.zeros((50, 100, 3), np.uint8))
    np.testing.assert_allclose(out.xyxy, [[0, 5, 30, 40]])  # clipped; the outside box dropped
    assert out.index.tolist() == [0]
    assert len(as_detector(fn, clip=False)(np.zeros((50, 100, 3), np.uint8))) == 2
    with pytest.raises(ValueError, match="shape"):
        det(np.zeros((50, 100), np.uint8))
    with pytest.raises(TypeError, match="must return"):
        as_detector(lambda frame: [[0, 0, 1, 1]])(np.zeros((5, 5, 3), np.uint8))
    with pytest.raises(ValueError, match="callable"):
        as_detector(42)

    class SvLike:  # duck-typed supervision.Detections
        xyxy = np.array([[1.0, 2.0, 3.0, 4.0]])
        confidence = np.array([0.7])
        class_id = np.array([2])

    out = as_detector(lambda frame: SvLike())(np.zeros((10, 10, 3), np.uint8))
    assert out.class_ids.tolist() == [2] and out.scores.tolist() == pytest.approx([0.7])
    ours = default_detector(threads=1)
    assert as_detector(ours) is ours
