"""Fixtures for the evaluation tests. ``combined_mota_idf1``: combined MOTA / IDF1 with
motmetrics and our own IoU distances, under the benchmark conventions of
``../shared/data/README.md`` (applied by ``tracker.evaluation``'s preprocessing). Used by the
foundation quality gate and by ``benchmarks/tune_core.py`` (which loads this file); an
independent cross-check of our own CLEAR implementation."""
from __future__ import annotations

from pathlib import Path

import motmetrics as mm
import numpy as np
import pytest

from tracker.evaluation.api import empty_table, find_result_file, load_ground_truth
from tracker.evaluation.data import build_sequence_data
from tracker.io.mot import read_mot_file

MATCH_IOU = 0.5


def sequence_accumulator(gt_seq, results_dir: Path) -> mm.MOTAccumulator:
    result_file = find_result_file(results_dir, gt_seq.name)
    results = read_mot_file(result_file, "result") if result_file else empty_table()
    data = build_sequence_data(gt_seq.table, results, name=gt_seq.name, benchmark=gt_seq.benchmark,
                               frame_rate=gt_seq.frame_rate, num_frames=gt_seq.num_frames)
    acc = mm.MOTAccumulator(auto_id=False)
    for f, (g, t, sim) in enumerate(zip(data.gt_ids, data.tracker_ids, data.similarity)):
        dist = 1.0 - np.asarray(sim, dtype=np.float64)
        dist[dist > 1.0 - MATCH_IOU] = np.nan
        acc.update(g.tolist(), t.tolist(), dist, frameid=f + 1)
    return acc


def combined_mota_idf1(mot_root: Path, results_dir: Path, seqs=None) -> dict:
    """Returns {'MOTA': %, 'IDF1': %, 'IDsw': n, 'per_sequence': {...}}, counts summed over
    sequences before forming ratios."""
    gt_seqs, _ = load_ground_truth(mot_root, seqs)
    accs = [sequence_accumulator(s, Path(results_dir)) for s in gt_seqs]
    names = [s.name for s in gt_seqs]
    summary = mm.metrics.create().compute_many(accs, names=names, metrics=["mota", "idf1", "num_switches"],
                                               generate_overall=True)
    per = {n: {"MOTA": 100 * summary.loc[n, "mota"], "IDF1": 100 * summary.loc[n, "idf1"],
               "IDsw": int(summary.loc[n, "num_switches"])} for n in names}
    return {"MOTA": 100 * summary.loc["OVERALL", "mota"], "IDF1": 100 * summary.loc["OVERALL", "idf1"],
            "IDsw": int(summary.loc["OVERALL", "num_switches"]), "per_sequence": per}


@pytest.fixture(scope="session", name="combined_mota_idf1")
def combined_mota_idf1_fixture():
    """``combined_mota_idf1(mot_root, results_dir, seqs=None)`` (above)."""
    return combined_mota_idf1
