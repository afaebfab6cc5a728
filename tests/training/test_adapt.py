"""Adaptation of the embedder to one video: no gt read, deterministic, bounded in time, and an
interrupt keeps the first pass's results."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tracker.embedding import Embedder
from tracker.io.mot import read_mot_file
from tracker.pipeline import FileRun
from tracker.training.adapt import AdaptConfig, TrackletCollector, adapt_embedder

REPO = Path(__file__).resolve().parents[2]


def _pass1(shared_data, tmp_path):
    video = shared_data.require(shared_data.video / "TUD-Campus.mp4")
    det = shared_data.require(shared_data.mot / "TUD-Campus" / "det" / "det.txt")
    from tracker.detectors import DetectionFileDetector

    emb = Embedder.default(threads=1)
    collector = TrackletCollector()
    with FileRun(video, DetectionFileDetector(det), output_dir=tmp_path / "p1", video=False, embedder=emb) as run:
        for result in run:
            collector.add(result)
    return emb, collector


def test_collector_and_adaptation_are_deterministic_and_read_no_gt(shared_data, tmp_path):
    opened = []

    def audit(event, args):
        if event == "open" and isinstance(args[0], (str, Path)):
            opened.append(str(args[0]))

    sys.addaudithook(audit)  # records every file opened from here on (hooks cannot be removed)
    start = len(opened)
    emb, collector = _pass1(shared_data, tmp_path)
    data = collector.training_set()
    assert len(data) == collector.crops > 100
    sizes = np.bincount(data.tracklet)
    assert (sizes >= 2).sum() >= 4
    cfg = AdaptConfig(max_steps=3, batch_size=32, seed=5, threads=1)
    a = adapt_embedder(emb.trainable_model(), data, cfg, bound_seconds=600)
    b = adapt_embedder(emb.trainable_model(), data, cfg, bound_seconds=600)
    assert a.steps == b.steps == 3
    for (ka, va), (kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    base = emb.trainable_model().state_dict()
    assert any(not torch.equal(base[k], v) for k, v in a.model.state_dict().items())  # it did change
    code = (".py", ".pyc", ".so")  # modules imported meanwhile (sympy has a gtk.py) are not data
    gt_reads = [p for p in opened[start:] if Path(p).suffix not in code
                and ("gt" in Path(p).parts or Path(p).name.startswith("gt"))]
    assert gt_reads == []


def test_adaptation_honours_its_time_bound(shared_data, tmp_path):
    emb, collector = _pass1(shared_data, tmp_path)
    data = collector.training_set()
    cfg = AdaptConfig(max_steps=100000, batch_size=32, threads=1)
    t0 = time.monotonic()
    result = adapt_embedder(emb.trainable_model(), data, cfg, bound_seconds=1.5)
    took = time.monotonic() - t0
    assert result.steps < 100000
    step = took / max(1, result.steps)
    assert took <= 1.5 + 3 * step + 1.0  # stops at the first step boundary after the bound
    assert cfg.bound(10.0) == pytest.approx(3.0)  # default: 30 % of pass 1
    skipped = adapt_embedder(emb.trainable_model(), data, cfg, bound_seconds=0.0)
    assert skipped.model is None and skipped.steps == 0


def test_too_few_tracklets_skip_adaptation(shared_data, tmp_path):
    emb, _ = _pass1(shared_data, tmp_path)
    result = adapt_embedder(emb.trainable_model(), TrackletCollector().training_set(), AdaptConfig(), 60)
    assert result.model is None and "too few" in result.skipped


def test_cli_adapt_interrupted_keeps_pass1_results(shared_data, tmp_path):
    video = shared_data.require(shared_data.video / "TUD-Campus.mp4")
    det = shared_data.require(shared_data.mot / "TUD-Campus" / "det" / "det.txt")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "tracker.cli", str(video), "--detections", str(det), "-o", str(out),
                             "--no-video", "--adapt", "300", "--adapt-steps", "100000"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    seen = ""
    while time.monotonic() < deadline and proc.poll() is None:
        seen += proc.stderr.read(1)
        if "adapt:" in seen and "step" in seen.split("adapt:")[-1]:
            break
    assert proc.poll() is None, seen
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, seen + err
    assert "pass-1 results are kept" in err
    rows = read_mot_file(out / "TUD-Campus.txt")
    assert len(rows) > 100
    import json

    summary = json.loads((out / "TUD-Campus.summary.json").read_text())
    assert summary["completed"] and summary["frames_processed"] == 71
    assert not list(out.glob("*.partial*")) and not list(out.glob("TUD-Campus.adapted*"))


def test_cli_adapt_saves_and_reuses_weights(shared_data, tmp_path):
    video = shared_data.require(shared_data.video / "TUD-Campus.mp4")
    det = shared_data.require(shared_data.mot / "TUD-Campus" / "det" / "det.txt")
    out = tmp_path / "out"
    common = [sys.executable, "-m", "tracker.cli", str(video), "--detections", str(det), "--no-video", "-q"]
    subprocess.run([*common, "-o", str(out), "--adapt", "60", "--adapt-steps", "2", "--save-embedder",
                    str(tmp_path / "cam.pt")], cwd=REPO, check=True, timeout=300)
    assert (out / "TUD-Campus.txt").is_file() and (out / "TUD-Campus.adapted.txt").is_file()
    emb = Embedder.from_file(tmp_path / "cam.pt")
    assert emb.metadata["adapted"]["steps"] == 2 and "none" in emb.metadata["adapted"]["labels_used"]
    subprocess.run([*common, "-o", str(tmp_path / "again"), "--embedder-weights", str(tmp_path / "cam.pt")], cwd=REPO,
                   check=True, timeout=300)
    assert (tmp_path / "again" / "TUD-Campus.txt").is_file()
    bad = subprocess.run([*common, "-o", str(tmp_path / "bad"), "--embedder-weights", str(det)], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "not an identitrack weights file" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_track_api_adapt_flag(shared_data):
    from tracker.detectors import DetectionFileDetector
    from tracker.errors import InputError
    from tracker.pipeline import track

    video = shared_data.require(shared_data.video / "TUD-Campus.mp4")
    det = shared_data.require(shared_data.mot / "TUD-Campus" / "det" / "det.txt")
    results = list(track(video, DetectionFileDetector(det), adapt=AdaptConfig(max_steps=1, batch_size=32)))
    assert len(results) == 71 and sum(len(r.tracks) for r in results) > 100
    with pytest.raises(InputError, match="adapt"):
        track([np.zeros((50, 50, 3), np.uint8)], lambda f: None, adapt=True)
    with pytest.raises(InputError, match="adapt"):
        track(video, DetectionFileDetector(det), adapt=True, embedder="off")
