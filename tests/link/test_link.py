"""``tracker.link``: greedy linking under the co-existence rule (a case by hand), results rewritten
under global ids and scored by ``track eval --link``, and track embeddings from a real video."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tracker.evaluation.linking import evaluate_link_folder
from tracker.link import GlobalIdentities, Unit, link_greedy, track_embeddings
from tracker.report import load_results

REPO = Path(__file__).resolve().parents[2]


def test_greedy_links_across_sources_but_never_two_coexisting_tracks():
    units = [Unit("A", 1, 1, 10), Unit("A", 2, 5, 15), Unit("B", 1, 1, 10), Unit("C", 1, 1, 5), Unit("C", 2, 1, 5)]
    s = np.full((5, 5), -1.0)
    for (i, j), v in {(0, 2): 0.9, (1, 2): 0.8, (1, 3): 0.75, (2, 3): 0.7, (0, 3): 0.2, (0, 1): 0.99}.items():
        s[i, j] = s[j, i] = v
    ids = link_greedy(units, s, threshold=0.5)
    # A1-B1 (0.9) joins; A2-B1 (0.8) would put A1 and A2 (co-existing in A) together: refused;
    # A2-C1 (0.75) joins; B1-C1 (0.7) refused for the same reason; A1-A2 is within one source;
    # C2 has no score above the threshold: alone (open set)
    assert ids.groups() == {1: [("A", 1), ("B", 1)], 2: [("A", 2), ("C", 1)], 3: [("C", 2)]}
    assert [d["score"] for d in ids.decisions] == [0.9, 0.75]


def test_bad_scores_are_refused():
    with pytest.raises(Exception, match="scores"):
        link_greedy([Unit("A", 1, 1, 2)], np.zeros((2, 2)), 0.5)


def _write_case(root: Path) -> tuple:
    """The three sources of tests/evaluation/test_link_eval.py with per-source (local) ids."""
    place = {1: 0, 2: 100, 3: 200}
    local = {"A": {1: 1, 2: 2}, "B": {1: 1, 3: 2}, "C": {1: 1, 2: 2}}
    gt_root, results = root / "gt", root / "local"
    results.mkdir()
    for seq, ids in local.items():
        (gt_root / seq / "gt").mkdir(parents=True)
        (gt_root / seq / "seqinfo.ini").write_text(
            f"[Sequence]\nname={seq}\nframeRate=10\nseqLength=4\nimWidth=640\nimHeight=480\n")
        gt = res = ""
        jsonl = []
        for f in range(1, 5):
            for g, k in ids.items():
                gt += f"{f},{g},{place[g]},10,50,100,1,1,1\n"
                res += f"{f},{k},{place[g]},10,50,100,1,-1,-1,-1\n"
            jsonl.append(json.dumps({"frame": f, "index": f - 1, "time": (f - 1) / 10,
                                     "tracks": [{"id": k, "box": [place[g], 10, place[g] + 50, 110]}
                                                for g, k in ids.items()]}))
        (gt_root / seq / "gt" / "gt.txt").write_text(gt)
        (results / f"{seq}.txt").write_text(res)
        (results / f"{seq}.jsonl").write_text("\n".join(jsonl) + "\n")
    return gt_root, results


def test_rewritten_results_score_as_linked(tmp_path):
    gt_root, local = _write_case(tmp_path)
    ids = GlobalIdentities.from_groups([[("A", 1), ("B", 1), ("C", 1)], [("A", 2), ("C", 2)], [("B", 2)]])
    out = tmp_path / "global"
    out.mkdir()
    for seq in ("A", "B", "C"):
        assert ids.rewrite_mot(seq, local / f"{seq}.txt", out / f"{seq}.txt") == 8
        assert ids.rewrite_jsonl(seq, local / f"{seq}.jsonl", out / f"{seq}.jsonl") == 4
    record = json.loads((out / "B.jsonl").read_text().splitlines()[0])
    assert {(t["local_id"], t["id"]) for t in record["tracks"]} == {(1, 1), (2, 3)}
    ev = evaluate_link_folder(gt_root, out)
    assert ev.linked.summary()["IDF1"] == 1.0 and ev.linked_pairs.f1 == 1.0
    assert ev.unlinked.summary()["IDF1"] == pytest.approx(0.5)
    before = evaluate_link_folder(gt_root, local)  # local ids read as global: 1 and 2 everywhere
    # id 1: A-B, A-C, B-C all gt 1 (3 right); id 2: A-C right, A-B and B-C wrong -> 4 of 6
    assert before.linked_pairs.precision == pytest.approx(4 / 6)


def test_track_embeddings_from_a_real_video(shared_data, tmp_path):
    from tracker.embedding import Embedder

    video = shared_data.require(shared_data.video / "TUD-Campus.mp4")
    det = shared_data.mot / "TUD-Campus" / "det" / "det.txt"
    proc = subprocess.run([sys.executable, "-m", "tracker.cli", str(video), "--detections", str(det), "-o",
                           str(tmp_path / "out"), "--no-video", "--appearance", "off", "--quiet"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (source,) = load_results(tmp_path / "out")
    embedder = Embedder.default(threads=1)
    emb = track_embeddings(source, embedder.embed, per_track=4)
    observed = {k for k, rows in source.tracks.items() if rows.observed.any()}
    assert set(emb) == observed and len(emb) >= 5
    vectors = np.stack(list(emb.values()))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    again = track_embeddings(source, embedder.embed, per_track=4)
    assert all(np.allclose(emb[k], again[k], atol=1e-6) for k in emb)
