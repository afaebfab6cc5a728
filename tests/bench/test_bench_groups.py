"""``track bench --groups``: one row per tracker per group, counts summed over the group's
sequences (real static, real moving, virtual moving; MOT15 / MOT17; or a user's file)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tracker.benchmarking.groups import camera_group, conventions_group, resolve_groups
from tracker.benchmarking.virtual_camera import make_virtual_sequence
from tracker.errors import InputError

REPO = Path(__file__).resolve().parents[2]
SEQS = ("TUD-Campus", "KITTI-13")


def bench(args, timeout=600):
    return subprocess.run([sys.executable, "-m", "tracker.cli", "bench", *args, "--quiet"], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def small_root(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("groups_root")
    for name in SEQS:
        (root / name).symlink_to(shared_data.require(shared_data.mot / name))
    make_virtual_sequence(shared_data.mot / "TUD-Campus", root, seed=1)
    return root


def test_group_rows_sum_their_sequences(small_root, tmp_path):
    out = tmp_path / "b"
    proc = bench(["--mot-root", str(small_root), "--trackers", "ours-iou,sort", "--groups", "all",
                  "--output-dir", str(out)])
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "bench.json").read_text())
    groups = data["groups"]
    assert groups["real static"]["sequences"] == ["TUD-Campus"]
    assert groups["real moving"]["sequences"] == ["KITTI-13"]
    assert groups["virtual moving"]["sequences"] == ["TUD-Campus-vcam1"]
    assert sorted(groups["MOT15"]["sequences"]) == sorted(["KITTI-13", "TUD-Campus", "TUD-Campus-vcam1"])
    for tracker in ("ours-iou", "sort"):
        per_seq = data["trackers"][tracker]["per_sequence"]
        # a one-sequence group is that sequence; the MOT15 group holds all three: the combined row
        assert groups["real moving"]["trackers"][tracker]["HOTA"] == pytest.approx(per_seq["KITTI-13"]["HOTA"])
        combined = data["trackers"][tracker]["combined"]
        assert groups["MOT15"]["trackers"][tracker]["IDF1"] == pytest.approx(combined["IDF1"])
        assert groups["MOT15"]["trackers"][tracker]["IDSW"] == sum(s["IDSW"] for s in per_seq.values())
    assert "| virtual moving | 1 | ours-iou |" in proc.stdout and "| all | 3 | sort |" in proc.stdout


def test_a_group_file_and_its_errors(small_root, tmp_path):
    sequences = ["TUD-Campus", "KITTI-13", "TUD-Campus-vcam1"]
    good = tmp_path / "groups.tsv"
    good.write_text("# my groups\nTUD-Campus\tcampus both\nTUD-Campus-vcam1 campus both\nKITTI-13 car\n")
    assert resolve_groups(str(good), sequences) == {"campus both": ["TUD-Campus", "TUD-Campus-vcam1"],
                                                    "car": ["KITTI-13"]}
    bad = tmp_path / "bad.tsv"
    bad.write_text("TUD-Campus static\nTUD-Campos static\n")
    with pytest.raises(InputError, match=r"bad.tsv:2: sequence 'TUD-Campos'"):
        resolve_groups(str(bad), sequences)
    proc = bench(["--mot-root", str(small_root), "--trackers", "sort", "--groups", str(bad),
                  "--output-dir", str(tmp_path / "x")])
    assert proc.returncode == 2 and "--groups" in proc.stderr and "TUD-Campos" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "x").exists()


def test_builtin_group_names():
    assert camera_group("MOT17-05-FRCNN") == "real moving" and camera_group("MOT17-05-SDP") == "real moving"
    assert camera_group("MOT17-09-FRCNN") == "real static" and camera_group("ETH-Bahnhof-vcam3") == "virtual moving"
    assert conventions_group("MOT17-02-FRCNN-vcam1") == "MOT17" and conventions_group("PETS09-S2L1") == "MOT15"
    with pytest.raises(InputError, match="neither a grouping"):
        resolve_groups("cameras", ["TUD-Campus"])
