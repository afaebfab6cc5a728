"""End to end on the real video: ``track vtest.avi`` with the embedded detector produces the
three files, the MOT file reaches HOTA >= 30 against ``vtest.gt.txt`` (MOT15 conventions; an
absolute floor: ByteTrack on the same SSDLite detections reaches 25.0), and the annotated
video decodes with every frame."""
from __future__ import annotations

import json

import pytest

from tracker import cli
from tracker.evaluation import evaluate_files

HOTA_FLOOR = 0.30
VTEST_FRAMES = 795
VTEST_FPS = 10.0


@pytest.mark.slow
def test_track_vtest_end_to_end_hota(tmp_path, capsys, synth, shared_data):
    video = shared_data.require(shared_data.video / "vtest.avi")
    gt = shared_data.require(shared_data.video / "vtest.gt.txt")
    out = tmp_path / "out"
    code = cli.main([str(video), "--output-dir", str(out)])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["vtest.jsonl", "vtest.mp4", "vtest.summary.json", "vtest.txt"]
    summary = json.loads((out / "vtest.summary.json").read_text())
    assert summary["completed"] and summary["frames_processed"] == VTEST_FRAMES
    assert len((out / "vtest.jsonl").read_text().splitlines()) == VTEST_FRAMES
    report = evaluate_files(gt, out / "vtest.txt", fps=VTEST_FPS, seq_length=VTEST_FRAMES, benchmark="MOT15")
    metrics = report.combined.summary()
    print(f"\nvtest.avi end to end: HOTA {100 * metrics['HOTA']:.1f}, MOTA {100 * metrics['MOTA']:.1f}, "
          f"IDF1 {100 * metrics['IDF1']:.1f}, {summary['frames_per_second']:.1f} frames/s")
    assert metrics["HOTA"] >= HOTA_FLOOR, metrics
    assert synth.count_video_frames(out / "vtest.mp4") == VTEST_FRAMES
