"""benchmarks/idsw_breakdown.py on real ground truth turned into tracker results: a perfect
result has no switch, a relabelled identity is one switch to a new ID, two swapped identities
are two switches to old IDs."""
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SEQ = "TUD-Campus"



def _write(rows: np.ndarray, path: Path) -> Path:
    lines = [f"{int(r[0])},{int(r[1])},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},1,-1,-1,-1" for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_switch_events_on_real_ground_truth(shared_data, tmp_path, benchmark_module):
    seq_dir = shared_data.require(shared_data.mot / SEQ)
    gt = np.loadtxt(seq_dir / "gt" / "gt.txt", delimiter=",")[:, :6]
    gt = gt[np.lexsort((gt[:, 1], gt[:, 0]))]
    mod = benchmark_module("idsw_breakdown")
    perfect = mod.sequence_events(seq_dir, _write(gt, tmp_path / "perfect.txt"))
    assert all(e["outcome"] == "kept" for e in perfect)
    # two identities present in frames 30 and 31 (1-based): one renamed from 31 on, or both swapped
    frames = {int(f): set(gt[gt[:, 0] == f, 1].astype(int)) for f in (30, 31)}
    a, b = sorted(frames[30] & frames[31])[:2]
    later = gt[:, 0] >= 31
    renamed = gt.copy()
    renamed[later & (gt[:, 1] == a), 1] = 999
    events = [e for e in mod.sequence_events(seq_dir, _write(renamed, tmp_path / "renamed.txt"))
              if e["outcome"] != "kept"]
    assert [(e["outcome"], e["gap"]) for e in events] == [("switch to new", "continuous")]
    assert [(e["frame"], e["old_id"], e["new_id"]) for e in events] == [(31, a, 999)]
    swapped = gt.copy()
    swapped[later & (gt[:, 1] == a), 1] = b
    swapped[later & (gt[:, 1] == b), 1] = a
    swapped = swapped[np.lexsort((swapped[:, 1], swapped[:, 0]))]
    events = [e for e in mod.sequence_events(seq_dir, _write(swapped, tmp_path / "swapped.txt"))
              if e["outcome"] != "kept"]
    assert [(e["outcome"], e["gap"]) for e in events] == [("switch to old", "continuous")] * 2
    assert sorted((e["frame"], e["old_id"], e["new_id"]) for e in events) == [(31, a, b), (31, b, a)]
    assert mod.gap_bucket(1, 25.0) == "continuous" and mod.gap_bucket(13, 25.0) == "gap 0.5-2 s"
    assert mod.disp_bucket(0.3) == "0.25-0.5 h" and mod.disp_bucket(3.0) == "> 1 h"
