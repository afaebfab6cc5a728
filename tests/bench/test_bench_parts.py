"""Small, data-free checks of the benchmark parts: peer adapter output, synthetic scenes, the
generated docs sections, and the scaling run end to end at toy size."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tracker import Detections
from tracker.benchmarking.adapters import OursAdapter, make_adapter
from tracker.benchmarking.report import update_docs_section
from tracker.benchmarking.synthetic import SceneConfig, SyntheticScene
from tracker.cli import main


def _walkers(frame: int) -> Detections:
    boxes = np.array([[10 + 5 * frame, 20, 50 + 5 * frame, 120], [300 - 5 * frame, 40, 340 - 5 * frame, 140]])
    return Detections(boxes, np.array([0.9, 0.8]))


@pytest.mark.parametrize("name", ["sort", "bytetrack", "ocsort", "botsort"])
def test_peer_adapter_drops_unconfirmed_and_ids_are_positive(name):
    pytest.importorskip("trackers")
    adapter = make_adapter(name, 25.0)
    outputs = [adapter.update(_walkers(f), None, f / 25.0) for f in range(10)]
    assert all(len(o) <= 2 for o in outputs)
    ids = np.concatenate([o.ids for o in outputs])
    assert len(ids) and ids.min() >= 1  # -1 rows dropped, 0-based ids shifted
    assert len(set(outputs[-1].ids.tolist())) == 2
    assert adapter.seconds > 0


def test_botsort_cmc_follows_frame_availability():
    pytest.importorskip("trackers")
    assert make_adapter("botsort", 25.0, frames_available=False).tracker.enable_cmc is False
    with_frames = make_adapter("botsort", 25.0, frames_available=True)
    assert with_frames.tracker.enable_cmc is True and with_frames.uses_frames


def test_ours_adapter_passes_frames_only_with_an_embedder():
    calls = []

    def embedder(frame, xyxy):
        calls.append(frame.shape)
        e = np.ones((len(xyxy), 4), np.float32)
        return e / 2.0

    frame = np.zeros((240, 400, 3), np.uint8)
    ours = make_adapter("ours", 25.0, frames_available=True, embedder=embedder)
    for f in range(4):
        ours.update(_walkers(f), frame, f / 25.0)
    assert calls and ours.uses_frames
    plain = make_adapter("ours-iou", 25.0, frames_available=True, embedder=embedder)
    assert not plain.uses_frames and plain.config.associator == "iou"
    assert isinstance(plain, OursAdapter) and plain.config.frame_rate == 25.0


def test_synthetic_scene_is_reproducible_and_keeps_its_count():
    cfg = SceneConfig(objects=30, miss_rate=0.0, seed=3)
    a = list(SyntheticScene(cfg).frames(200))
    b = list(SyntheticScene(cfg).frames(200))
    assert all(np.array_equal(x[1].xyxy, y[1].xyxy) for x, y in zip(a, b))
    assert all(len(d) == 30 for _, d, _ in a)
    ids = np.concatenate([i for _, _, i in a])
    assert len(np.unique(ids)) > 30  # objects left and new identities entered
    with pytest.raises(ValueError, match="SceneConfig.objects"):
        SceneConfig(objects=0)


def test_docs_sections_are_replaced_independently(tmp_path):
    page = tmp_path / "benchmarks.md"
    update_docs_section(page, "accuracy", "ACC one")
    update_docs_section(page, "scaling", "SCALE one")
    update_docs_section(page, "accuracy", "ACC two")
    text = page.read_text()
    assert "ACC two" in text and "SCALE one" in text and "ACC one" not in text
    assert text.count("<!-- bench:accuracy:begin -->") == 1


def test_scaling_run_toy_size(tmp_path, capsys):
    pytest.importorskip("trackers")
    rc = main(["bench", "--scaling", "--objects", "5,10", "--measure-frames", "10", "--soak-frames", "400",
               "--output-dir", str(tmp_path), "--quiet"])
    assert rc == 0
    data = json.loads((tmp_path / "scaling.json").read_text())
    assert set(data["scaling"]["ms_per_frame"]) == {"ours", "sort", "assignment"}
    assert len(data["soak"]["samples"]) == 21
    assert (tmp_path / "scaling.png").read_bytes()[:4] == b"\x89PNG"
    assert "growth exponent" in capsys.readouterr().out


def test_bench_input_errors(tmp_path):
    assert main(["bench", "--output-dir", str(tmp_path)]) == 2  # no --mot-root
    assert main(["bench", "--mot-root", str(tmp_path / "nope"), "--output-dir", str(tmp_path)]) == 2
    assert main(["bench", "--mot-root", str(tmp_path), "--trackers", "ours,deepsort", "--output-dir",
                 str(tmp_path)]) == 2
