"""The shots of one edited video linked like separate sources, on a real montage: TUD-Campus
frames 1-25, a hard cut to PETS09-S2L1 frames 1-30 (resized to 640x480), a hard cut back to
TUD-Campus frames 41-71, written with ``cv2.VideoWriter`` (MJPG) with the public detections
of both sequences. ``track link montage.avi`` must find the two cuts, give the people seen in
the first and the last shot (TUD-Campus gt 3 and 4, side by side the whole time) one global id
each across the cuts, never one id to two people of one shot, and no TUD-Campus person the
id of a PETS09 one; the files say which shot each local track is in."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
#: 0-based frames of each shot: (sequence, frames, gt id offset)
SHOTS = (("TUD-Campus", range(0, 25), 0), ("PETS09-S2L1", range(0, 30), 1000), ("TUD-Campus", range(40, 71), 0))
SIZE = (640, 480)
#: the first frames of the second and third shot (1-based), by construction
CUTS = [26, 56]
#: least IoU of a result box with a gt box to take the gt id
MATCH_IOU = 0.5


def _frames(path: Path, wanted) -> list:
    cap = cv2.VideoCapture(str(path))
    out, i = {}, 0
    try:
        while i <= max(wanted):
            ok, frame = cap.read()
            if not ok:
                break
            if i in wanted:
                out[i] = frame
            i += 1
    finally:
        cap.release()
    return [out[i] for i in wanted]


def _rows(path: Path, wanted, scale: float, start: int, id_offset: int = 0, gt: bool = False) -> np.ndarray:
    """MOT rows of the 0-based frames ``wanted``, renumbered from ``start`` + 1, boxes scaled."""
    d = np.loadtxt(path, delimiter=",", ndmin=2)
    if gt:
        d = d[d[:, 6] != 0]
    out = []
    for k, i in enumerate(wanted):
        r = d[d[:, 0] == i + 1].copy()
        r[:, 0] = start + k + 1
        r[:, 2:6] *= scale
        r[:, 1] += id_offset
        out.append(r)
    return np.concatenate(out)


@pytest.fixture(scope="module")
def montage(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("montage")
    video = root / "montage.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, SIZE)
    assert writer.isOpened()
    det, gt, start = [], [], 0
    for seq, frames, offset in SHOTS:
        src = shared_data.require(shared_data.video / f"{seq}.mp4")
        scale = SIZE[0] / cv2.VideoCapture(str(src)).get(cv2.CAP_PROP_FRAME_WIDTH)
        for f in _frames(src, list(frames)):
            writer.write(cv2.resize(f, SIZE, interpolation=cv2.INTER_AREA) if f.shape[1] != SIZE[0] else f)
        det.append(_rows(shared_data.mot / seq / "det" / "det.txt", frames, scale, start)[:, :10])
        gt.append(_rows(shared_data.mot / seq / "gt" / "gt.txt", frames, scale, start, offset, gt=True))
        start += len(frames)
    writer.release()
    np.savetxt(root / "montage.det.txt", np.concatenate(det), delimiter=",", fmt="%.2f")
    out = root / "linked"
    proc = subprocess.run([sys.executable, "-m", "tracker.cli", "link", str(video), "--detections",
                           str(root / "montage.det.txt"), "-o", str(out), "--no-video", "-q"], cwd=root,
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr
    return out, np.concatenate(gt), proc.stdout


def _gt_of_tracks(out: Path, gt: np.ndarray) -> dict:
    """(local id, global id, shot) -> the gt id most of its observed boxes match (IoU >= MATCH_IOU)."""
    votes = {}
    for record in map(json.loads, (out / "montage.jsonl").read_text().splitlines()):
        here = gt[gt[:, 0] == record["frame"]]
        for t in record["tracks"]:
            if not t.get("observed", True) or not len(here):
                continue
            x1, y1, x2, y2 = t["box"]
            bx2, by2 = here[:, 2] + here[:, 4], here[:, 3] + here[:, 5]
            iw = np.clip(np.minimum(x2, bx2) - np.maximum(x1, here[:, 2]), 0, None)
            ih = np.clip(np.minimum(y2, by2) - np.maximum(y1, here[:, 3]), 0, None)
            iou = iw * ih / ((x2 - x1) * (y2 - y1) + here[:, 4] * here[:, 5] - iw * ih)
            if iou.max() >= MATCH_IOU:
                votes.setdefault((t["local_id"], t["id"], record["shot"]), []).append(int(here[iou.argmax(), 1]))
    return {k: Counter(v).most_common(1)[0][0] for k, v in votes.items()}


def test_the_cuts_are_found_and_every_track_is_in_one_shot(montage):
    out, _, stdout = montage
    summary = json.loads((out / "montage.summary.json").read_text())
    assert summary["shot_cuts"]["cuts"] == CUTS
    doc = json.loads((out / "link.json").read_text())
    assert doc["sources"] == [{"name": "montage", "cuts": CUTS, "shots": 3, "camera": "montage",
                              "clock_offset": 0.0}]
    for u in doc["units"]:  # a track lies in the shot its frames say
        shot = sum(c <= u["first_frame"] for c in CUTS)
        assert u["shot"] == shot and sum(c <= u["last_frame"] for c in CUTS) == shot
    assert {u["shot"] for u in doc["units"]} == {0, 1, 2}
    assert "(3 shots)" in stdout


def test_a_person_on_both_sides_of_the_cuts_gets_one_global_id(montage):
    out, gt, _ = montage
    tracks = _gt_of_tracks(out, gt)
    for person in (3, 4):  # TUD-Campus people in shot 0 and shot 2
        ids = {(shot, gid) for (local, gid, shot), g in tracks.items() if g == person}
        assert {s for s, _ in ids} == {0, 2}, (person, tracks)
        assert len({gid for _, gid in ids}) == 1, (person, tracks)
    # people 3 and 4 are side by side in both shots: different ids
    id_of = {g: gid for (_, gid, _), g in tracks.items()}
    assert id_of[3] != id_of[4]
    # nobody of the PETS09 shot shares an id with a TUD-Campus track
    pets = {gid for (_, gid, shot) in tracks if shot == 1}
    tud = {gid for (_, gid, shot) in tracks if shot != 1}
    assert not pets & tud
    # no frame holds one global id twice (people of one shot are never merged)
    rows = np.loadtxt(out / "montage.txt", delimiter=",", ndmin=2)
    assert max(Counter((int(f), int(k)) for f, k in rows[:, :2]).values()) == 1


def test_the_files_say_which_shot_each_local_track_is_in(montage):
    out, _, _ = montage
    doc = json.loads((out / "link.json").read_text())
    shot_of = {u["local_id"]: u["shot"] for u in doc["units"]}
    assert doc["decisions"] and all(d["shot_a"] != d["shot_b"] for d in doc["decisions"])
    identities = json.loads((out / "identities.json").read_text())
    across = [i for i in identities["identities"] if len(i["appearances"][0]["shots"]) > 1]
    assert across
    for ident in identities["identities"]:
        (app,) = ident["appearances"]
        local = app["local_tracks"]
        assert sorted({t["shot"] for t in local}) == app["shots"]
        assert all(shot_of[t["local_id"]] == t["shot"] for t in local)
    for record in map(json.loads, (out / "montage.jsonl").read_text().splitlines()):
        assert record["shot"] == sum(c <= record["frame"] for c in CUTS)
        assert all(shot_of[t["local_id"]] == record["shot"] for t in record["tracks"])


def test_the_api_links_the_shots_of_a_result_folder_alike(montage):
    from tracker.link import link
    from tracker.report import load_results

    out, _, _ = montage
    doc = json.loads((out / "link.json").read_text())
    (source,) = load_results(out)  # the linked folder: ids are global there, local ids in the JSONL
    # re-link from the folder's JSONL read back with its local ids
    local = out.parent / "local"
    local.mkdir(exist_ok=True)
    lines = []
    for record in map(json.loads, (out / "montage.jsonl").read_text().splitlines()):
        for t in record["tracks"]:
            t["id"] = t.pop("local_id")
        lines.append(json.dumps(record))
    (local / "film.jsonl").write_text("\n".join(lines) + "\n")
    (local / "film.summary.json").write_text((out / "montage.summary.json").read_text())
    ids = link({"film": local})
    assert ids.shots() == {("film", u["local_id"]): u["shot"] for u in doc["units"]}
    expected = {}
    for u in doc["units"]:
        expected.setdefault(u["global_id"], []).append(("film", u["local_id"]))
    assert sorted(ids.groups().values()) == sorted(sorted(g) for g in expected.values())
    assert source.cuts == CUTS
