"""Combined MOTA / IDF1 with motmetrics and our own IoU, under the benchmark conventions of
``../shared/data/README.md`` (used by the foundation quality gate and by tuning scripts)."""
from __future__ import annotations

from pathlib import Path

import motmetrics as mm
import numpy as np

from tracker.assignment import linear_assignment
from tracker.boxes import iou_matrix, xywh_to_xyxy
from tracker.io.mot import read_mot_file

MATCH_IOU = 0.5
MOT17_DISTRACTORS = (2, 7, 8, 12)
PEDESTRIAN = 1


def sequence_accumulator(seq_dir: Path, result_file: Path) -> mm.MOTAccumulator:
    gt = read_mot_file(seq_dir / "gt" / "gt.txt", "gt")
    res = read_mot_file(result_file, "result") if result_file.exists() else None
    mot17 = gt.columns >= 9 and seq_dir.name.startswith(("MOT16", "MOT17", "MOT20"))
    acc = mm.MOTAccumulator(auto_id=False)
    frames = sorted(set(gt.frames.tolist()) | (set(res.frames.tolist()) if res is not None else set()))
    for f in frames:
        g = gt.select(gt.frames == f)
        t = res.select(res.frames == f) if res is not None else None
        t_boxes = xywh_to_xyxy(t.xywh) if t is not None else np.zeros((0, 4))
        t_ids = t.ids if t is not None else np.zeros(0, int)
        g_boxes = xywh_to_xyxy(g.xywh)
        if mot17:
            iou = iou_matrix(g_boxes, t_boxes)
            m, _, _ = linear_assignment(1.0 - iou, 1.0 - MATCH_IOU)
            drop = np.zeros(len(t_boxes), bool)
            for gi, ti in m:
                if g.classes[gi] in MOT17_DISTRACTORS:
                    drop[ti] = True
            t_boxes, t_ids = t_boxes[~drop], t_ids[~drop]
            keep = (g.classes == PEDESTRIAN) & (g.scores != 0)
        else:
            keep = g.scores != 0
        g_boxes, g_ids = g_boxes[keep], g.ids[keep]
        dist = 1.0 - iou_matrix(g_boxes, t_boxes)
        dist[dist > 1.0 - MATCH_IOU] = np.nan
        acc.update(g_ids.tolist(), t_ids.tolist(), dist, frameid=int(f))
    return acc


def combined_mota_idf1(mot_root: Path, results_dir: Path, seqs=None) -> dict:
    """Returns {'MOTA': %, 'IDF1': %, 'per_sequence': {...}} with counts summed over sequences."""
    seq_dirs = [d for d in sorted(Path(mot_root).iterdir()) if (d / "gt" / "gt.txt").exists()]
    if seqs:
        seq_dirs = [d for d in seq_dirs if d.name in seqs]
    accs = [sequence_accumulator(d, Path(results_dir) / f"{d.name}.txt") for d in seq_dirs]
    mh = mm.metrics.create()
    names = [d.name for d in seq_dirs]
    summary = mh.compute_many(accs, names=names, metrics=["mota", "idf1", "num_switches"], generate_overall=True)
    per = {n: {"MOTA": 100 * summary.loc[n, "mota"], "IDF1": 100 * summary.loc[n, "idf1"],
               "IDsw": int(summary.loc[n, "num_switches"])} for n in names}
    return {"MOTA": 100 * summary.loc["OVERALL", "mota"], "IDF1": 100 * summary.loc["OVERALL", "idf1"],
            "IDsw": int(summary.loc["OVERALL", "num_switches"]), "per_sequence": per}
