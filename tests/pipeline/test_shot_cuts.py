"""Shot cuts: the detector on real montages and cut-free clips, and the tracker never carrying a
track across a cut (two real videos joined into one)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tracker import Detections
from tracker.config import TrackerConfig
from tracker.pipeline import track, video_config
from tracker.shots import ShotCutConfig, ShotCutDetector

#: frames taken from each of the two joined videos
JOIN_FRAMES = 40
#: boxes the fixed detector reports in every frame (x1, y1, x2, y2 px of a 640x480 frame)
FIXED_BOXES = np.array([[100, 100, 160, 260], [300, 120, 360, 280], [480, 90, 540, 250]], np.float32)


def _frames(path: Path, count=None, size=None) -> list:
    cap = cv2.VideoCapture(str(path))
    out = []
    try:
        while count is None or len(out) < count:
            ok, frame = cap.read()
            if not ok:
                break
            out.append(cv2.resize(frame, size) if size else frame)
    finally:
        cap.release()
    return out


def _cuts(frames) -> list:
    """1-based frame numbers where the shipped detector starts a new shot."""
    detector = ShotCutDetector()
    return [i + 1 for i, f in enumerate(frames) if detector.update(f)]


@pytest.mark.parametrize("clip", ["arpn0z+YOLOv9-object-tracking/football.mp4",
                                  "pavan0543+Realtime-People-tracking/videos_example_02.mp4",
                                  "GUTOMADON+MultiAnomalyDetector/PeopleStealingItem.mp4",
                                  "GUTOMADON+MultiAnomalyDetector/pedestre.mp4"])
def test_the_montages_scene_cuts_are_found_where_they_are(shared_data, benchmark_module, clip):
    """Every scene cut found by eye is found at its frame, and nothing else but jump cuts (the
    same view a moment later; docs/shot_cuts.md reports how many of those are found)."""
    path = shared_data.require(shared_data.root / "unlabeled" / clip)
    labels = benchmark_module("shot_cuts").CUT_FRAMES[clip]  # the cuts found by eye
    found = _cuts(_frames(path))
    scene = sorted(k for k, kind in labels.items() if kind == "scene")
    assert set(scene) <= set(found), (found, scene)
    assert set(found) <= set(labels), f"false cuts at {sorted(set(found) - set(labels))}"


@pytest.mark.parametrize("clip", ["video/TUD-Stadtmitte.mp4", "video/MOT17-09-FRCNN.mp4",
                                  pytest.param("unlabeled/atharvagodse+yolo_people_detection/crowd.mp4",
                                               marks=pytest.mark.xfail(strict=True, reason=(
                                                   "known miss (docs/shot_cuts.md): the whip pan at frame 224 "
                                                   "scores 0.228, the shipped threshold is 0.225"))),
                                  "unlabeled/vighnesh2709+pedestrian_detection_tracking/football.mp4",
                                  "unlabeled/johngarrett+opencv-explore/videos_pedestrians.mp4",
                                  "unlabeled/Mafeuz+FootballPlayerPoseTracking/football3.mp4"])
def test_cut_free_clips_have_no_cut(shared_data, clip):
    """Including a pan whose colours jump (vighnesh2709 football.mp4, which SOURCES.tsv counts 4
    cuts for); a handheld whip pan with motion blur (crowd.mp4) is a known false cut."""
    path = shared_data.require(shared_data.root / clip)
    assert _cuts(_frames(path)) == []


def test_off_finds_nothing_and_config_is_validated():
    detector = ShotCutDetector(ShotCutConfig(method="off"))
    assert not detector.update(np.zeros((48, 64, 3), np.uint8))
    assert not detector.update(np.full((48, 64, 3), 255, np.uint8))
    with pytest.raises(ValueError, match="method"):
        ShotCutConfig(method="on")
    with pytest.raises(ValueError, match="pixel_threshold"):
        ShotCutConfig(pixel_threshold=2.0)


@pytest.fixture(scope="module")
def joined(shared_data):
    """TUD-Campus then PETS09-S2L1, 40 real frames each at 640x480: one hard cut at frame 41."""
    first = _frames(shared_data.require(shared_data.video / "TUD-Campus.mp4"), JOIN_FRAMES, (640, 480))
    second = _frames(shared_data.require(shared_data.video / "PETS09-S2L1.mp4"), JOIN_FRAMES, (640, 480))
    return first + second


def _fixed_detector(frame, frame_index=None):
    """Three boxes at the same places in every frame: motion alone would carry them on forever."""
    return Detections(FIXED_BOXES, np.full(len(FIXED_BOXES), 0.9, np.float32))


def _ids_by_shot(config: TrackerConfig, frames) -> tuple:
    before, after, shots, cuts = set(), set(), [], []
    for r in track(frames, _fixed_detector, config=config, embedder="off", fps=10):
        (before if r.frame_index < JOIN_FRAMES else after).update(int(i) for i in r.tracks.track_ids)
        shots.append(r.tracks.shot)
        cuts.append(r.tracks.cut)
    return before, after, shots, cuts


def test_no_track_continues_across_a_cut(joined):
    config = video_config().replace(associator="iou")
    before, after, shots, cuts = _ids_by_shot(config, joined)
    assert len(before) == 3 and len(after) == 3 and not before & after
    assert shots == [0] * JOIN_FRAMES + [1] * JOIN_FRAMES
    assert [i + 1 for i, c in enumerate(cuts) if c] == [JOIN_FRAMES + 1]
    # without cut detection the same three tracks run through both videos
    before, after, shots, _ = _ids_by_shot(config.replace(shot_cuts=ShotCutConfig(method="off")), joined)
    assert before == after and len(before) == 3 and set(shots) == {None}


def test_track_reports_cuts_in_summary_and_jsonl(joined, tmp_path):
    video = tmp_path / "joined.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 480))
    for frame in joined:
        writer.write(frame)
    writer.release()
    det = tmp_path / "det.txt"
    det.write_text("".join(f"{f},-1,{x1},{y1},{x2 - x1},{y2 - y1},0.9,-1,-1,-1\n"
                           for f in range(1, 2 * JOIN_FRAMES + 1) for x1, y1, x2, y2 in FIXED_BOXES.tolist()))

    def run(*extra):
        out = tmp_path / ("out" + "".join(extra).replace("-", ""))
        proc = subprocess.run([sys.executable, "-m", "tracker.cli", str(video), "--detections", str(det), "-o",
                               str(out), "--no-video", "--appearance", "off", "--quiet", *extra], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        summary = json.loads((out / "joined.summary.json").read_text())
        records = [json.loads(line) for line in (out / "joined.jsonl").read_text().splitlines()]
        return summary, records

    summary, records = run()
    assert summary["shot_cuts"] == {"method": "auto", "cuts": [JOIN_FRAMES + 1], "count": 1, "shots": 2}
    assert [r["shot"] for r in records] == [0] * JOIN_FRAMES + [1] * JOIN_FRAMES
    assert [r["frame"] for r in records if r.get("cut")] == [JOIN_FRAMES + 1]
    ids = [{t["id"] for t in r["tracks"]} for r in records]
    assert not set().union(*ids[:JOIN_FRAMES]) & set().union(*ids[JOIN_FRAMES:])

    summary, records = run("--shot-cuts", "off")
    assert summary["shot_cuts"]["cuts"] == [] and summary["shot_cuts"]["shots"] is None
    assert all("shot" not in r for r in records)
