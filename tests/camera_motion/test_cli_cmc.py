"""``track VIDEO --cmc``: the camera's estimated motion per frame is in the JSONL (and matches
the virtual camera that made the video), its counts in the summary; ``off`` estimates nothing."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tracker.benchmarking.virtual_camera import make_virtual_sequence

from .conftest import read_frames

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def moving_video(shared_data, tmp_path_factory):
    """TUD-Campus (71 real frames, fixed camera) seen by a virtual moving camera."""
    frames = read_frames(shared_data.require(shared_data.video / "TUD-Campus.mp4"), 71)
    out = tmp_path_factory.mktemp("moving")
    return make_virtual_sequence(shared_data.mot / "TUD-Campus", out / "mot", seed=2, frames=frames,
                                 video_dir=out / "video")


def track(args, cwd):
    return subprocess.run([sys.executable, "-m", "tracker.cli", *args, "--quiet"], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def jsonl(path: Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_cmc_per_frame_in_jsonl_and_summary(moving_video, tmp_path):
    det = moving_video.path / "det" / "det.txt"
    proc = track([str(moving_video.video), "--detections", str(det), "-o", str(tmp_path / "on"), "--no-video",
                  "--appearance", "off"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    stem = moving_video.video.stem
    records = jsonl(tmp_path / "on" / f"{stem}.jsonl")
    assert len(records) == 71 and records[0]["camera_motion"]["status"] == "first"
    errors = []
    for prev, now, rec in zip(moving_video.affines[:-1], moving_video.affines[1:], records[1:]):
        truth = np.vstack([now, [0, 0, 1]]) @ np.linalg.inv(np.vstack([prev, [0, 0, 1]]))
        assert rec["camera_motion"]["status"] in ("ok", "fallback")
        errors.append(np.abs(np.array(rec["camera_motion"]["affine"])[:, 2] - truth[:2, 2]).max())
    assert np.median(errors) < 1.0  # px; mp4v compression of the generated video included
    summary = json.loads((tmp_path / "on" / f"{stem}.summary.json").read_text())
    assert summary["camera_motion"]["method"] == "sparse"
    assert summary["camera_motion"]["frames"]["ok"] >= 65
    assert summary["tracker_config"]["camera_motion"]["method"] == "auto"

    proc = track([str(moving_video.video), "--detections", str(det), "-o", str(tmp_path / "off"), "--no-video",
                  "--appearance", "off", "--cmc", "off"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert {r["camera_motion"]["status"] for r in jsonl(tmp_path / "off" / f"{stem}.jsonl")} == {"off"}
    summary = json.loads((tmp_path / "off" / f"{stem}.summary.json").read_text())
    assert summary["camera_motion"] == {"method": "off", "frames": {"first": 0, "ok": 0, "fallback": 0, "off": 71}}


def test_a_bad_cmc_value_names_the_flag(tmp_path, moving_video):
    proc = track([str(moving_video.video), "--cmc", "orb", "-o", str(tmp_path / "x")], tmp_path)
    assert proc.returncode == 2 and "--cmc" in proc.stderr and "Traceback" not in proc.stderr
    proc = track([str(moving_video.video), "--set", "camera_motion.method=orb", "-o", str(tmp_path / "x")], tmp_path)
    assert proc.returncode == 2 and "--set: CameraMotionConfig.method" in proc.stderr and "Traceback" not in proc.stderr
