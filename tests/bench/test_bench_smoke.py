"""``track bench`` keeps working: one short sequence, our tracker only (a benchmark is never a
test of its numbers; this only checks that the command runs and writes what it promises)."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "benchmarks.md"


def test_bench_smoke_one_sequence_ours_only(tmp_path, shared_data):
    shared_data.require(shared_data.mot / "TUD-Campus")
    docs_before = DOCS.read_bytes() if DOCS.is_file() else None
    out = tmp_path / "bench"
    proc = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "bench", "--mot-root", str(shared_data.mot), "--seqs", "TUD-Campus",
         "--trackers", "ours", "--output-dir", str(out), "--quiet"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "| ours |" in proc.stdout
    data = json.loads((out / "bench.json").read_text())
    assert list(data["trackers"]) == ["ours"]
    combined = data["trackers"]["ours"]["combined"]
    for key in ("HOTA", "DetA", "AssA", "MOTA", "IDF1"):
        assert math.isfinite(combined[key]) and -1.0 <= combined[key] <= 1.0, (key, combined[key])
    for key in ("IDSW", "CLR_FP", "CLR_FN"):
        assert combined[key] >= 0
    assert data["trackers"]["ours"]["tracker_fps"] > 0
    assert data["fairness"] and data["machine"]["cpu_count"]
    assert (out / "ours" / "TUD-Campus.txt").stat().st_size > 0
    assert (out / "bench.png").read_bytes()[:4] == b"\x89PNG"
    # without --docs the checkout's generated benchmark page is left alone (it used to be rewritten)
    assert (DOCS.read_bytes() if DOCS.is_file() else None) == docs_before
    page = tmp_path / "page.md"
    proc = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "bench", "--mot-root", str(shared_data.mot), "--seqs", "TUD-Campus",
         "--trackers", "ours", "--output-dir", str(out), "--docs", str(page), "--quiet"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "| ours |" in page.read_text() and f"--docs {page}" in page.read_text()
    assert (DOCS.read_bytes() if DOCS.is_file() else None) == docs_before
