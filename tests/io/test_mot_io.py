"""MOTChallenge file reading/writing: rules, errors with file:line, real files."""
import numpy as np
import pytest

from tracker.errors import FileFormatError, InputError
from tracker.io.mot import (find_sequences, load_detections, read_mot_file, read_seqinfo, rescale_scores,
                            write_mot_results)


def write(tmp_path, text, name="det.txt"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("line,problem", [
    ("1,-1,10,10,5", "columns"),
    ("1,-1,10,10,5,5,0.9,-1,-1,-1,7", "columns"),
    ("1,-1,ten,10,5,5,0.9", "non-numeric"),
    ("1,-1,nan,10,5,5,0.9", "NaN"),
    ("0,-1,10,10,5,5,0.9", "frame"),
    ("1.5,-1,10,10,5,5,0.9", "frame"),
    ("1,-1,10,10,0,5,0.9", "width and height"),
    ("1,-1,10,10,5,-2,0.9", "width and height"),
])
def test_malformed_line_names_file_and_line(tmp_path, line, problem):
    p = write(tmp_path, "1,-1,1,1,5,5,0.9\n\n" + line + "\n")
    with pytest.raises(FileFormatError, match=problem) as exc:
        read_mot_file(p)
    assert str(exc.value).startswith(f"{p}:3:")


def test_rows_any_order_duplicates_and_beyond_length(tmp_path):
    p = write(tmp_path, "# comment\n3,-1,1,1,5,5,0.5\n1,-1,1,1,5,5,0.9\n1,-1,1,1,5,5,0.9\n9,-1,1,1,5,5,0.9\n")
    t = read_mot_file(p, seq_length=5)
    assert t.frames.tolist() == [1, 3]
    assert t.duplicates_dropped == 1 and t.beyond_length_dropped == 1
    assert t.lines.tolist() == [3, 2]


def test_seven_and_six_column_files(tmp_path):
    t = read_mot_file(write(tmp_path, "2,-1,1,2,3,4,0.25\n"))
    np.testing.assert_allclose(t.xywh, [[1, 2, 3, 4]])
    assert t.scores.tolist() == [0.25]
    t6 = read_mot_file(write(tmp_path, "2,-1,1,2,3,4\n", "six.txt"))
    assert t6.scores.tolist() == [1.0]


def test_missing_and_binary_files_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_mot_file(tmp_path / "nope.txt")
    b = tmp_path / "bin.txt"
    b.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(InputError, match="not a text file"):
        read_mot_file(b)
    with pytest.raises(InputError, match="seqinfo.ini"):
        read_seqinfo(tmp_path)


def test_score_rescale_modes():
    s = np.array([-0.5, 0.0, 139.5])
    np.testing.assert_allclose(rescale_scores(s, "minmax"), [0.0, 0.5 / 140, 1.0])
    np.testing.assert_allclose(rescale_scores(s, "auto"), [0.0, 0.5 / 140, 1.0])
    np.testing.assert_allclose(rescale_scores(np.array([0.2, 0.9]), "auto"), [0.2, 0.9])
    np.testing.assert_allclose(rescale_scores(s, "none"), s)
    with pytest.raises(ValueError, match="one of"):
        rescale_scores(s, "sigmoid")


def test_load_detections_threshold_and_index(tmp_path):
    p = write(tmp_path, "1,-1,0,0,10,10,0.9\n1,-1,5,5,10,10,0.2\n1,-1,9,9,10,10,0.7\n2,-1,0,0,10,10,0.8\n")
    ds = load_detections(p, min_score=0.5)
    d1 = ds.get(1)
    assert d1.index.tolist() == [0, 2]  # position within the frame's input
    assert ds.below_min_score == 1
    assert len(ds.get(7)) == 0


def test_write_results_atomic_and_sorted(tmp_path):
    out = tmp_path / "sub" / "res.txt"
    n = write_mot_results(out, [(2, 1, [1, 2, 3, 4], 0.5), (1, 2, [5, 6, 7, 8], 1.0)])
    assert n == 2
    lines = out.read_text().splitlines()
    assert lines[0].startswith("1,2,5.00,6.00,7.00,8.00,1.0000,-1,-1,-1")
    assert [p.name for p in out.parent.iterdir()] == ["res.txt"]  # no temp file left
    t = read_mot_file(out, "result")
    assert t.ids.tolist() == [2, 1]


def test_real_sequences_and_acf_scores(shared_data):
    root = shared_data.require(shared_data.mot)
    seqs = find_sequences([root])
    assert len(seqs) == 12
    info = read_seqinfo(root / "PETS09-S2L1")
    assert (info.frame_rate, info.seq_length, info.width, info.height) == (7.0, 795, 768, 576)
    gt = read_mot_file(root / "MOT17-09-FRCNN" / "gt" / "gt.txt", "gt")
    assert len(gt) == 10411 and set(np.unique(gt.classes)) >= {1}
    acf = load_detections(root / "ETH-Sunnyday" / "det" / "det_acf.txt")
    assert acf.rescaled
    scores = np.concatenate([d.scores for d in acf.by_frame.values()])
    assert scores.min() >= 0.0 and scores.max() <= 1.0
