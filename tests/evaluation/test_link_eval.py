"""``track eval --link``: identity across sources against a case computed by hand.

Three sources A, B, C of 4 frames; every identity stands at its own place (boxes exact):

    A: gt 1 -> pred 10, gt 2 -> pred 20
    B: gt 1 -> pred 10, gt 3 -> pred 20   (20 joins two different people)
    C: gt 1 -> pred 11, gt 2 -> pred 20   (gt 1 not linked to A / B)

Pairs (docs/evaluation.md): predicted links: id 10 A-B (correct); id 20 A-B (wrong), A-C
(correct), B-C (wrong) -> P = 2/4. gt links: gt 1 A-B (recovered), A-C, B-C (not); gt 2 A-C
(recovered) -> R = 2/4. No linking: no predicted link, none recovered.

Global IDF1 (12 frames end to end): gt boxes 12 + 8 + 4 = 24, predicted 8 + 12 + 4 = 24; best
one-to-one: gt 1 <-> 10 (8), gt 2 <-> 20 (8) -> IDTP 16, IDF1 = 16 / 24. No linking: each of
the 6 (source, id) matches one gt for 4 frames, the best assignment takes one per gt -> 12 / 24.

AssA (exact boxes, so DetA = 1 and HOTA = sqrt(AssA)): a match of gt g with pred k weighs
TPA / (TPA + FNA + FPA). Global: (1,10) 8/12 on 8 boxes, (1,11) 4/12 on 4, (2,20) 8/12 on 8,
(3,20) 4/12 on 4 -> AssA = (64 + 16 + 64 + 16) / 12 / 24 = 5/9. No linking: gt 1's three
units 4/12 each on 12 boxes, gt 2's two 4/8 on 8, gt 3's 4/4 on 4 -> (4 + 4 + 4) / 24 = 1/2.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tracker.evaluation.linking import evaluate_link_folder

REPO = Path(__file__).resolve().parents[2]
FRAMES = 4
PLACE = {1: 0, 2: 100, 3: 200}  # x of each gt identity's box
GT = {"A": {1: 10, 2: 20}, "B": {1: 10, 3: 20}, "C": {1: 11, 2: 20}}  # gt id -> predicted id


def _rows(ids: dict, gt: bool) -> str:
    lines = []
    for f in range(1, FRAMES + 1):
        for g, k in ids.items():
            ident = g if gt else k
            tail = "1,1,1" if gt else "1,-1,-1,-1"
            lines.append(f"{f},{ident},{PLACE[g]},10,50,100,{tail}")
    return "\n".join(lines) + "\n"


@pytest.fixture()
def case(tmp_path):
    gt_root, results = tmp_path / "gt", tmp_path / "linked"
    results.mkdir()
    for seq, ids in GT.items():
        (gt_root / seq / "gt").mkdir(parents=True)
        (gt_root / seq / "seqinfo.ini").write_text(
            f"[Sequence]\nname={seq}\nframeRate=10\nseqLength={FRAMES}\nimWidth=640\nimHeight=480\n")
        (gt_root / seq / "gt" / "gt.txt").write_text(_rows(ids, gt=True))
        (results / f"{seq}.txt").write_text(_rows(ids, gt=False))
    return gt_root, results


def test_global_and_pairwise_metrics_match_the_hand_computed_case(case):
    ev = evaluate_link_folder(*case)
    assert ev.sources == ("A", "B", "C")
    linked, base = ev.linked.summary(), ev.unlinked.summary()
    assert linked["IDF1"] == pytest.approx(16 / 24)
    assert base["IDF1"] == pytest.approx(12 / 24)
    assert linked["AssA"] == pytest.approx(5 / 9)
    assert base["AssA"] == pytest.approx(1 / 2)
    assert linked["HOTA"] == pytest.approx(math.sqrt(5 / 9))
    assert base["HOTA"] == pytest.approx(math.sqrt(1 / 2))
    p = ev.linked_pairs
    assert (p.predicted_links, p.correct_links, p.gt_links, p.recovered_links) == (4, 2, 4, 2)
    assert (p.precision, p.recall, p.f1) == (0.5, 0.5, 0.5)
    b = ev.unlinked_pairs
    assert (b.predicted_links, b.correct_links, b.gt_links, b.recovered_links) == (0, 0, 4, 0)
    assert b.f1 == 0.0


def test_track_eval_link_prints_both_rows_and_writes_json(case, tmp_path):
    gt_root, results = case
    out = tmp_path / "link.json"
    proc = subprocess.run([sys.executable, "-m", "tracker.cli", "eval", "--link", "--gt-root", str(gt_root),
                           "--results", str(results), "--json", str(out)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| linked")]
    assert len(rows) == 2 and "global" in rows[0] and "no linking" in rows[1]
    assert "| 66.7 |" in rows[0] and "| 50.0 |" in rows[1]  # IDF1
    payload = json.loads(out.read_text())["linked"]
    assert payload["linked"]["pairs"]["LinkF1"] == 0.5
    assert payload["no_linking"]["summary"]["IDF1"] == pytest.approx(0.5)


def test_link_needs_a_gt_root(case, tmp_path):
    _, results = case
    proc = subprocess.run([sys.executable, "-m", "tracker.cli", "eval", "--link", "--gt", str(tmp_path / "x.txt"),
                           "--results", str(results)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "--link needs --gt-root" in proc.stderr
