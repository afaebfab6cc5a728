"""``track batch`` on real inputs, both engines: the MOT files are byte-identical to ``track
SOURCE`` (and ``track mot``) run alone with the same settings; a missing and a damaged source
fail without stopping the rest; models load once per worker; a rerun skips complete sources
and redoes one left with only ``.partial`` files. Short inputs (15 frames of two videos, one
det-file sequence): CI has 2 cores. Ray is started once for the module (2 CPUs, no dashboard)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracker import cli, exit_codes

END = "15"
COMMON = ["--end", END, "--no-video", "--threads", "1"]
VIDEOS = ("TUD-Campus.mp4", "vtest.avi")
SEQUENCE = "TUD-Campus"
# TUD-Campus.mp4 and the TUD-Campus sequence share a stem: their folders get the parent's name
FOLDERS = {"TUD-Campus.mp4": "video_TUD-Campus", "vtest.avi": "vtest", SEQUENCE: "mot_TUD-Campus"}


def track_alone(video: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tracker.cli", str(video), *COMMON, "--output-dir", str(out),
                             "--quiet"], stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def inputs(shared_data):
    videos = [shared_data.require(shared_data.video / name) for name in VIDEOS]
    seq = shared_data.require(shared_data.mot / SEQUENCE / "det" / "det.txt").parents[1]
    return videos, seq


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory):
    """``track SOURCE`` for each video (separate processes, as a user runs them) and ``track mot``."""
    videos, seq = inputs
    root = tmp_path_factory.mktemp("reference")
    procs = [track_alone(v, root / v.stem) for v in videos]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert cli.main(["mot", str(seq), "--output-dir", str(root / "mot"), "--quiet"]) == 0
    files = {v.name: (root / v.stem / f"{v.stem}.txt").read_bytes() for v in videos}
    files[SEQUENCE] = (root / "mot" / f"{SEQUENCE}.txt").read_bytes()
    assert all(files.values())
    return files


def assert_identical(out: Path, reference: dict) -> None:
    for name, expected in reference.items():
        stem = Path(name).stem
        got = out / FOLDERS[name] / f"{stem}.txt"
        assert got.read_bytes() == expected, f"{got} differs from track run alone"


def batch_summary(out: Path) -> dict:
    return json.loads((out / "batch.summary.json").read_text())


@pytest.fixture(scope="module")
def local_run(inputs, reference, tmp_path_factory):
    """One local batch over the real sources plus a missing and a damaged one (one worker, so
    that one worker tracks both videos: the models must load once)."""
    videos, seq = inputs
    tmp = tmp_path_factory.mktemp("local")
    broken = tmp / "broken.mp4"
    broken.write_bytes(os.urandom(20000))
    args = [str(videos[0]), str(videos[1]), str(seq), str(tmp / "missing.mp4"), str(broken),
            "-o", str(tmp / "out"), "--workers", "1", "--quiet", *COMMON]
    code = cli.main(["batch", *args])
    return code, tmp / "out", args


def test_local_engine_same_bytes_as_track_alone_and_failures_isolated(local_run, reference):
    code, out, _ = local_run
    assert code == exit_codes.BAD_INPUT  # some sources failed, the others completed
    assert_identical(out, reference)
    results = {Path(r["source"]).name: r for r in batch_summary(out)["results"]}
    assert results["missing.mp4"]["status"] == "failed" and "not found" in results["missing.mp4"]["error"]
    assert results["broken.mp4"]["status"] == "failed" and "cannot open" in results["broken.mp4"]["error"]
    tracked = [results[name] for name in VIDEOS]
    assert all(r["status"] == "done" for r in tracked + [results[SEQUENCE]])
    # one worker tracked both videos and loaded the detector and the embedder once
    assert tracked[0]["worker"] == tracked[1]["worker"]
    assert [r["model_loads"] for r in tracked] == [2, 2]


def test_rerun_skips_complete_sources_and_redoes_partial_ones(local_run, reference):
    code, out, args = local_run
    folder = out / FOLDERS["vtest.avi"]
    (folder / "vtest.txt").rename(folder / "vtest.txt.partial")  # as a killed run leaves it
    (folder / "vtest.summary.json").unlink()
    kept = (out / FOLDERS["TUD-Campus.mp4"] / "TUD-Campus.summary.json").stat().st_mtime_ns
    assert cli.main(["batch", *args]) == exit_codes.BAD_INPUT
    results = {Path(r["source"]).name: r["status"] for r in batch_summary(out)["results"]}
    assert results == {"TUD-Campus.mp4": "skipped", "vtest.avi": "done", SEQUENCE: "skipped",
                       "missing.mp4": "failed", "broken.mp4": "failed"}
    assert (out / FOLDERS["TUD-Campus.mp4"] / "TUD-Campus.summary.json").stat().st_mtime_ns == kept
    assert not (folder / "vtest.txt.partial").exists()
    assert_identical(out, reference)


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray", reason="the Ray engine needs the optional extra: pip install 'identitrack[ray]'")
    import logging

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield ray
    ray.shutdown()


def test_ray_engine_same_bytes_as_track_alone(ray_local, inputs, reference, tmp_path):
    videos, seq = inputs
    out = tmp_path / "out"
    code = cli.main(["batch", *map(str, videos), str(seq), "-o", str(out), "--engine", "ray", "--workers", "2",
                     "--quiet", *COMMON])
    assert code == exit_codes.OK
    assert_identical(out, reference)
    summary = batch_summary(out)
    assert summary["engine"] == "ray" and summary["workers"] == 2
    assert all(r["status"] == "done" for r in summary["results"])
    assert summary["frames"] == 2 * int(END) + 71  # two videos' first 15 frames + the whole sequence
