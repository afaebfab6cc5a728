"""Hand-computed box conversions, IoU and Detections validation."""
import numpy as np
import pytest

from tracker.boxes import cxcywh_to_xyxy, iou_matrix, xywh_to_xyxy, xyxy_to_cxcywh, xyxy_to_xywh
from tracker.detections import Detections


def test_box_conversions_by_hand():
    xywh = np.array([[10.0, 20.0, 30.0, 40.0]])
    np.testing.assert_allclose(xywh_to_xyxy(xywh), [[10, 20, 40, 60]])
    np.testing.assert_allclose(xyxy_to_xywh([[10, 20, 40, 60]]), xywh)
    np.testing.assert_allclose(xyxy_to_cxcywh([[10, 20, 40, 60]]), [[25, 40, 30, 40]])
    np.testing.assert_allclose(cxcywh_to_xyxy([[25, 40, 30, 40]]), [[10, 20, 40, 60]])


def test_iou_by_hand():
    a = np.array([[0, 0, 10, 10], [0, 0, 2, 2]], float)
    b = np.array([[5, 5, 15, 15], [0, 0, 10, 10], [20, 20, 30, 30]], float)
    iou = iou_matrix(a, b)
    # overlap 5x5=25, union 100+100-25=175
    assert iou[0, 0] == pytest.approx(25 / 175)
    assert iou[0, 1] == pytest.approx(1.0)
    assert iou[0, 2] == 0.0
    assert iou[1, 1] == pytest.approx(4 / 100)
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)


def test_detections_validation_names_the_row():
    with pytest.raises(ValueError, match="row 1.*x2 > x1"):
        Detections(np.array([[0, 0, 10, 10], [5, 5, 4, 8]], float))
    with pytest.raises(ValueError, match="row 0.*not finite"):
        Detections(np.array([[np.nan, 0, 10, 10]]))
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        Detections(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="scores has 1 rows"):
        Detections(np.array([[0, 0, 1, 1], [0, 0, 2, 2]]), scores=[0.5])
    with pytest.raises(ValueError, match="row 0: score"):
        Detections(np.array([[0, 0, 1, 1]]), scores=[np.inf])


def test_detections_do_not_mutate_or_alias_input():
    boxes = np.array([[0.0, 0.0, 10.0, 10.0]])
    det = Detections(boxes, scores=[0.9])
    boxes[0, 0] = 5.0
    assert det.xyxy[0, 0] == 0.0
    with pytest.raises(ValueError):
        det.xyxy[0, 0] = 1.0  # read-only


def test_mask_slicing_keeps_input_index_and_empty():
    det = Detections(np.array([[0, 0, 1, 1], [0, 0, 2, 2], [0, 0, 3, 3]], float), scores=[0.1, 0.9, 0.5],
                     class_ids=[0, 1, 0])
    sub = det[det.scores > 0.3]
    assert len(sub) == 2
    assert sub.index.tolist() == [1, 2]
    assert sub.class_ids.tolist() == [1, 0]
    assert len(sub[np.array([False, False])]) == 0
    assert len(Detections.empty()) == 0
    assert Detections.empty(8).embeddings.shape == (0, 8)
    with pytest.raises(ValueError, match="mask has 2 entries"):
        det[np.array([True, False])]


def test_clip_to_drops_boxes_outside_and_keeps_index():
    det = Detections(np.array([[-5, -5, 5, 5], [100, 100, 120, 130], [90, 10, 110, 20]], float))
    clipped = det.clip_to(100, 50)
    np.testing.assert_allclose(clipped.xyxy, [[0, 0, 5, 5], [90, 10, 100, 20]])
    assert clipped.index.tolist() == [0, 2]


def test_mot_xywh_round_trip():
    det = Detections.from_xywh([[1, 2, 3, 4]], [0.7])
    np.testing.assert_allclose(det.xyxy, [[1, 2, 4, 6]])
    np.testing.assert_allclose(det.to_xywh(), [[1, 2, 3, 4]])


def test_supervision_duck_typed_conversion():
    class FakeSv:  # supervision is optional; its Detections has these attributes
        xyxy = np.array([[0, 0, 4, 4]], float)
        confidence = np.array([0.8])
        class_id = np.array([2])

    det = Detections.from_supervision(FakeSv())
    assert det.class_ids.tolist() == [2] and det.scores[0] == pytest.approx(0.8)


def test_detections_data_is_row_aligned_set_at_construction_and_sliced():
    """``data`` columns travel with their rows through every view; a detection file's source
    lines stay joined to their boxes (they used to be written in after construction and not
    sliced: ``d[mask].data["lines"]`` kept every row)."""
    d = Detections(np.array([[0, 0, 1, 1], [1, 1, 3, 3], [2, 2, 5, 5]]), data={"lines": [4, 7, 9]})
    assert d[np.array([True, False, True])].data["lines"].tolist() == [4, 9]
    assert d[1:].data["lines"].tolist() == [7, 9]
    assert d[[2, 0]].data["lines"].tolist() == [9, 4]
    assert d.clip_to(2.5, 2.5).data["lines"].tolist() == [4, 7, 9]  # all three keep some area
    assert d.clip_to(0.5, 0.5).data["lines"].tolist() == [4]  # only the first keeps area
    assert d.with_embeddings(np.eye(3)).data["lines"].tolist() == [4, 7, 9]
    with pytest.raises(ValueError, match="read-only"):
        d.data["lines"][0] = 5
    with pytest.raises(ValueError, match=r"data\['lines'\] must have one entry per detection"):
        Detections(np.array([[0, 0, 1, 1]]), data={"lines": [1, 2]})


def test_detection_file_rows_carry_their_line_numbers(tmp_path):
    from tracker.io.mot import load_detections

    path = tmp_path / "det.txt"
    path.write_text("1,-1,0,0,10,10,0.9\n1,-1,20,0,10,10,0.2\n2,-1,0,0,10,10,0.8\n")
    frame1 = load_detections(path).get(1)
    assert frame1.data["lines"].tolist() == [1, 2]
    assert frame1[frame1.scores > 0.5].data["lines"].tolist() == [1]
