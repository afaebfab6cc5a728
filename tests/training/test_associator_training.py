"""Training data and the ``track train-associator`` command (tiny runs)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from tracker import Detections
from tracker.config import TrackerConfig
from tracker.io.mot import MotTable
from tracker.training.associator import FOLDS, fold_of
from tracker.training.associator_data import Variant, label_detections, load_sequence, simulate


class _Dets:
    def __init__(self, by_frame):
        self.by_frame = by_frame

    def get(self, frame):
        return self.by_frame.get(frame) or Detections.empty()


def _gt(rows, columns=10):
    a = np.array(rows, float)
    n = len(a)
    return MotTable("gt", a[:, 0].astype(int), a[:, 1].astype(int), a[:, 2:6], a[:, 6], a[:, 7].astype(int),
                    np.ones(n), np.arange(n), columns=columns)


def test_detections_get_gt_identities_by_iou():
    gt = _gt([[1, 7, 0, 0, 10, 20, 1, -1], [1, 9, 100, 0, 10, 20, 1, -1], [1, 11, 200, 0, 10, 20, 0, -1]])
    dets = _Dets({1: Detections(np.array([[101, 0, 111, 20], [0, 1, 10, 21], [300, 0, 310, 20], [200, 0, 210, 20]]))})
    ids = label_detections(dets, gt, "MOT15", 1)[1]
    # 7 and 9 matched; a detection far from any gt is a false positive; conf == 0 gt is not a label (MOT15)
    assert ids.tolist() == [9, 7, -1, -1]


def test_mot17_labels_skip_vehicles():
    gt = _gt([[1, 3, 0, 0, 10, 20, 1, 1], [1, 4, 100, 0, 10, 20, 0, 3]], columns=9)
    dets = _Dets({1: Detections(np.array([[0, 0, 10, 20], [100, 0, 110, 20]]))})
    assert label_detections(dets, gt, "MOT17", 1)[1].tolist() == [3, -1]


def test_folds_cover_every_sequence_once_and_keep_pets_alone_with_its_copy():
    names = [n for fold in FOLDS for n in fold]
    assert len(names) == len(set(names)) == 12
    assert fold_of("PETS09-S2L1") >= 0 and fold_of("vtest") == -1


def test_simulation_records_labelled_problems(shared_data):
    seq = load_sequence(shared_data.require(shared_data.mot) / "TUD-Campus")
    problems = simulate(seq, TrackerConfig(), Variant(stride=2, drop=0.1, seed=1))
    assert problems
    p = max(problems, key=lambda q: len(q.track_ids) * len(q.det_ids))
    assert p.pairs.shape[:2] == (len(p.track_ids), len(p.det_ids))
    # most tracks continue with a detection of their own identity
    matched = sum(bool(((q.track_ids[:, None] == q.det_ids[None]) & (q.track_ids[:, None] >= 0)).any())
                  for q in problems)
    assert matched > len(problems) / 2
    oracle = simulate(seq, TrackerConfig(), Variant(driver="oracle"))
    assert len(oracle) > 0


@pytest.mark.slow
def test_train_associator_command_writes_loadable_weights(tmp_path, shared_data):
    root = tmp_path / "mot"
    root.mkdir()
    (root / "TUD-Campus").symlink_to(shared_data.require(shared_data.mot) / "TUD-Campus")
    out = tmp_path / "w" / "assoc.npz"
    proc = subprocess.run([sys.executable, "-m", "tracker.cli", "train-associator", "--mot-root", str(root),
                           "--output", str(out), "--epochs", "1"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["trained_on"] == ["TUD-Campus"] and meta["format"] == "identitrack-associator/1"
    from tracker.association.transformer import TransformerAssociator
    from tracker.core import Tracker
    from tracker.mot_runner import track_mot_sequence

    run = track_mot_sequence(root / "TUD-Campus", TrackerConfig(associator="transformer"),
                             tracker_factory=lambda c: Tracker(c, associator=TransformerAssociator.from_file(c, out)))
    assert run.rows


def test_train_associator_rejects_bad_input(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tracker.cli", "train-associator", "--mot-root",
                           str(tmp_path / "missing")], capture_output=True, text=True)
    assert proc.returncode == 2 and "not found" in proc.stderr and "Traceback" not in proc.stderr
