"""``track report``: ``identities.json`` from real ``track`` outputs, and ``report.html`` in a real
headless browser (Debian's chromium; ``.ci/run`` installs it): it loads with no console message,
shows one card per identity, and its screenshot is not blank."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tracker.report import IDENTITIES_SCHEMA, build_identities, load_results

REPO = Path(__file__).resolve().parents[2]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
#: grey-level standard deviation below which a screenshot counts as blank
MIN_SCREENSHOT_STD = 10.0


def _track(video: Path, det: Path, out: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "tracker.cli", str(video), "--detections", str(det), "-o", str(out),
                           "--appearance", "off", "--quiet"], cwd=out.parent, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def results(shared_data, tmp_path_factory):
    """Two real videos tracked into one folder; the second from a copy that is then deleted
    (its crops must come from the annotated video)."""
    root = tmp_path_factory.mktemp("report")
    out = root / "out"
    campus = shared_data.require(shared_data.video / "TUD-Campus.mp4")
    _track(campus, shared_data.mot / "TUD-Campus" / "det" / "det.txt", out)
    copy = root / "Stadtmitte.mp4"
    shutil.copy(shared_data.require(shared_data.video / "TUD-Stadtmitte.mp4"), copy)
    _track(copy, shared_data.mot / "TUD-Stadtmitte" / "det" / "det.txt", out)
    copy.unlink()
    proc = subprocess.run([sys.executable, "-m", "tracker.cli", "report", str(out), "--gt-root",
                           str(shared_data.mot)], cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


def _jsonl_ids(path: Path) -> set:
    return {t["id"] for line in path.read_text().splitlines() for t in json.loads(line)["tracks"]}


def test_identities_json_describes_every_track_with_crops(results):
    doc = json.loads((results / "identities.json").read_text())
    assert doc["schema"] == IDENTITIES_SCHEMA and doc["global_ids"] is False
    assert [s["name"] for s in doc["sources"]] == ["Stadtmitte", "TUD-Campus"]
    by_name = {s["name"]: s for s in doc["sources"]}
    assert by_name["Stadtmitte"]["video"] is None and by_name["Stadtmitte"]["annotated_video"] == "Stadtmitte.mp4"
    assert by_name["TUD-Campus"]["video"].endswith("TUD-Campus.mp4")
    expected = {(s, i) for s in by_name for i in _jsonl_ids(results / f"{s}.jsonl")}
    got = set()
    for ident in doc["identities"]:
        (app,) = ident["appearances"]  # per-source ids: one source each
        got.update((app["source"], k) for k in app["track_ids"])
        assert app["spans"] and all(s["first_frame"] <= s["last_frame"] for s in app["spans"])
        assert ident["frames"] == sum(s["frames"] for s in app["spans"])
        assert ident["crops"] and ident["representative"] in ident["crops"]
        for crop in ident["crops"]:
            image = cv2.imread(str(results / crop))
            assert image is not None and image.shape[0] == 128 and image.std() > 5, crop
    assert got == expected
    assert [i["id"] for i in doc["identities"]] == list(range(1, len(expected) + 1))


def test_global_ids_join_the_sources(results):
    """With global ids (track link output) the same id in two sources is one identity."""
    sources = load_results(results)
    shared = set(sources[0].tracks) & set(sources[1].tracks)
    identities = build_identities(sources, global_ids=True)
    assert len(identities) == len(set(sources[0].tracks) | set(sources[1].tracks))
    both = [i for i in identities if len(i.appearances) == 2]
    assert {i.id for i in both} == shared and shared


def _browser():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no headless browser found (Debian: apt-get install -y chromium; .ci/run installs it)")


def _run_browser(browser: str, page: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([browser, "--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr", "--v=0",
                           "--window-size=1200,1600", "--virtual-time-budget=5000", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=180)


def _console(stderr: str) -> list:
    return [line for line in stderr.splitlines() if "CONSOLE" in line]


def test_report_in_a_headless_browser(results, tmp_path):
    browser = _browser()
    page = results / "report.html"
    doc = json.loads((results / "identities.json").read_text())
    shot = tmp_path / "report.png"
    proc = _run_browser(browser, page, f"--screenshot={shot}")
    assert shot.is_file(), proc.stderr[-2000:]
    assert _console(proc.stderr) == []
    image = cv2.imread(str(shot), cv2.IMREAD_GRAYSCALE)
    assert image is not None and float(np.std(image)) > MIN_SCREENSHOT_STD
    dom = _run_browser(browser, page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    cards = re.findall(r'<div class="card" id="id-(\d+)"', dom.stdout)
    assert sorted(map(int, cards)) == [i["id"] for i in doc["identities"]]
    assert dom.stdout.count("<svg") == len(doc["sources"])
    assert "Metrics against the ground truth" in dom.stdout


def test_the_console_check_sees_a_missing_crop(results, tmp_path):
    """The check above can fail: a page whose first crop is missing logs a console error."""
    browser = _browser()
    text = (results / "report.html").read_text()
    broken = results / "broken.html"
    first = re.search(r'<img src="([^"]+)"', text).group(1)
    broken.write_text(text.replace(f'src="{first}"', 'src="crops/missing.jpg"', 1))
    try:
        proc = _run_browser(browser, broken, f"--screenshot={tmp_path / 'broken.png'}")
    finally:
        broken.unlink()
    assert any("missing.jpg" in line for line in _console(proc.stderr)), proc.stderr[-2000:]
