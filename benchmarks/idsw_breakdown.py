"""Where ID switches and fragmentations come from, per tracker and camera group.

For every gt identity, the CLEAR matching (``tracker.evaluation.clear.match_frames``, IoU 0.5,
the evaluation's own) gives the tracker ID it is matched to in each frame. Each time a gt
identity is matched again, the event is classified by

* gap: the time since the identity was last matched (one frame = continuous; else it was
  missed, i.e. the track was lost or not reported, for that long);
* outcome: ``kept`` (same tracker ID as before: a fragment repaired), ``switch to new`` (a
  tracker ID born after the last match: the old track was not recovered), ``switch to old``
  (an ID that existed before: a swap or a hijack by another track);
* displacement: how far the gt box centre moved since the last match, in gt box heights;
* score: the detector score of the detection that best covers the gt box now (IoU >= 0.5):
  ``high`` (>= 0.5, the first association), ``low`` (below: the second association) or none;
* for a one-frame switch (no gap): whether the previous ID is still reported in this frame and
  whether the ID that takes over matched another person the frame before (``takeover``).

Each event also names its MOT frame and the previous and the new tracker ID (``frame``,
``old_id``, ``new_id``: the result file's IDs), for ``benchmarks/takeover_sources.py``.

Result files: ``ours`` from ``benchmarks/tune_folds.py`` (``--ours DIR``), the peers from a
``track bench --output-dir DIR`` (``--peers DIR``, one folder per peer). MOT files, no frames.

    python benchmarks/idsw_breakdown.py --ours build/tune_folds/ours/default --peers build/peers --write-docs
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DOCS = ROOT / "docs" / "idsw_breakdown.md"
PEERS = ("ocsort", "botsort", "bytetrack")
#: gap buckets (upper bounds, seconds; a continuous match is its own bucket)
GAP_BOUNDS_S = (0.5, 2.0, 4.0)
#: displacement buckets (upper bounds, gt box heights)
DISP_BOUNDS_H = (0.25, 0.5, 1.0)
#: detector score of the first association (TrackerConfig.high_score default)
HIGH_SCORE = 0.5
#: a detection covers a gt box at this IoU (the CLEAR threshold)
COVER_IOU = 0.5
OUTCOMES = ("kept", "switch to new", "switch to old")


def gap_bucket(gap_frames: int, fps: float) -> str:
    if gap_frames <= 1:
        return "continuous"
    gap_s = gap_frames / fps
    low = 0.0
    for bound in GAP_BOUNDS_S:
        if gap_s <= bound:
            return f"gap {low:g}-{bound:g} s"
        low = bound
    return f"gap > {GAP_BOUNDS_S[-1]:g} s"


def disp_bucket(disp_h: float) -> str:
    low = 0.0
    for bound in DISP_BOUNDS_H:
        if disp_h <= bound:
            return f"{low:g}-{bound:g} h"
        low = bound
    return f"> {DISP_BOUNDS_H[-1]:g} h"


def sequence_events(seq_dir: Path, result_file: Path) -> List[dict]:
    """Every re-match event of one sequence (see the module docstring)."""
    from tracker.boxes import iou_matrix
    from tracker.evaluation.clear import match_frames
    from tracker.evaluation.conventions import resolve_benchmark
    from tracker.evaluation.data import build_sequence_data
    from tracker.io.mot import load_detections, read_mot_file, read_seqinfo

    info = read_seqinfo(seq_dir)
    gt = read_mot_file(seq_dir / "gt" / "gt.txt", "gt", info.seq_length)
    res = read_mot_file(result_file, "result", info.seq_length)
    bench = resolve_benchmark("auto", seq_dir.name, gt.columns)
    data = build_sequence_data(gt, res, name=seq_dir.name, benchmark=bench, frame_rate=info.frame_rate,
                               num_frames=info.seq_length)
    matches = match_frames(data)
    dets = load_detections(seq_dir / "det" / "det.txt", seq_length=info.seq_length).by_frame
    boxes = {(int(f), int(i)): b for f, i, b in zip(gt.frames, gt.ids, gt.xywh)}
    first_seen = np.full(data.num_tracker_ids, np.iinfo(np.int64).max)
    for t, k in enumerate(data.tracker_ids):
        first_seen[k] = np.minimum(first_seen[k], t)
    last_t = np.full(data.num_gt_ids, -1)
    last_k = np.full(data.num_gt_ids, -1)
    events = []
    prev_owner: dict = {}  # tracker id -> gt id it matched in the previous frame
    for t, (g, k) in enumerate(zip(matches.gt, matches.tracker)):
        frame_dets = dets.get(t + 1)
        reported = set(data.tracker_ids[t].tolist())
        owner = dict(zip(k.tolist(), g.tolist()))
        for gi, ki in zip(g.tolist(), k.tolist()):
            if last_t[gi] >= 0:
                gap = t - last_t[gi]
                if ki == last_k[gi]:
                    outcome = "kept"
                elif first_seen[ki] > last_t[gi]:
                    outcome = "switch to new"
                else:
                    outcome = "switch to old"
                if gap > 1 or outcome != "kept":  # continuous keeps are not events
                    label = int(data.gt_id_labels[gi])
                    now_b, then_b = boxes[(t + 1, label)], boxes[(last_t[gi] + 1, label)]
                    disp = float(np.hypot(*(now_b[:2] + now_b[2:] / 2 - then_b[:2] - then_b[2:] / 2)))
                    score = "none"
                    if frame_dets is not None and len(frame_dets):
                        xyxy = np.array([[*now_b[:2], *(now_b[:2] + now_b[2:])]])
                        iou = iou_matrix(xyxy, frame_dets.xyxy)[0]
                        j = int(np.argmax(iou))
                        if iou[j] >= COVER_IOU:
                            score = "high" if frame_dets.scores[j] >= HIGH_SCORE else "low"
                    takeover = ""
                    if gap == 1 and outcome != "kept":
                        old_id = int(last_k[gi])
                        takeover = ("previous ID on another person" if old_id in owner else
                                    "previous ID reported, off the person" if old_id in reported else
                                    "previous ID not reported") + (
                            ", new ID matched another person before" if prev_owner.get(ki, gi) != gi else
                            ", new ID matched no person before")
                    events.append({"gap": gap_bucket(gap, info.frame_rate), "outcome": outcome,
                                   "disp": disp_bucket(disp / max(then_b[3], 1.0)), "score": score,
                                   "takeover": takeover, "frame": t + 1,
                                   "old_id": int(data.tracker_id_labels[last_k[gi]]),
                                   "new_id": int(data.tracker_id_labels[ki])})
            last_t[gi], last_k[gi] = t, ki
        prev_owner = owner
    return events


def table(title: str, key: str, per_tracker: Dict[str, List[dict]], order: List[str]) -> List[str]:
    """Rows ``bucket | per tracker: kept / to new / to old`` for one classification."""
    trackers = list(per_tracker)
    lines = [f"**{title}** (per tracker: kept / switch to new / switch to old)", "",
             "| " + key + " | " + " | ".join(trackers) + " |", "|---" + "|---:" * len(trackers) + "|"]
    counts = {n: Counter((e[key], e["outcome"]) for e in ev) for n, ev in per_tracker.items()}
    for b in order:
        if not any(counts[n][(b, o)] for n in trackers for o in OUTCOMES):
            continue
        lines.append(f"| {b} | " + " | ".join(" / ".join(str(counts[n][(b, o)]) for o in OUTCOMES)
                                              for n in trackers) + " |")
    lines.append("| all | " + " | ".join(" / ".join(str(sum(counts[n][(b, o)] for b in order)) for o in OUTCOMES)
                                        for n in trackers) + " |")
    return lines + [""]


def main(argv=None) -> int:
    from tracker.benchmarking.groups import camera_group, conventions_group

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mot-root", type=Path, default=DATA / "mot")
    parser.add_argument("--virtual-root", type=Path, default=ROOT / "build" / "virtual" / "mot")
    parser.add_argument("--ours", type=Path, action="append", default=[],
                        help="NAME=DIR (NAME without '=' or '/') or DIR (named ours) of our result files; repeatable")
    parser.add_argument("--peers", type=Path, default=ROOT / "build" / "peers")
    parser.add_argument("--write-docs", action="store_true", help=f"write {DOCS.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    from tracker.io.mot import find_sequences

    seq_dirs = {s.name: s for s in find_sequences([r for r in (args.mot_root, args.virtual_root) if r.is_dir()])
                if (s / "gt" / "gt.txt").is_file()}
    if not seq_dirs:
        print("no sequences with gt found (development data absent); nothing measured", file=sys.stderr)
        return 2
    sources = {}
    for spec in args.ours or [ROOT / "build" / "tune_folds" / "ours" / "default"]:
        name, sep, path = str(spec).partition("=")
        if not sep or "/" in name:  # a bare DIR (its name may hold "=")
            name, path = "ours", str(spec)
        sources[name] = Path(path)
    sources.update({p: args.peers / p for p in PEERS})
    groups: Dict[str, List[str]] = defaultdict(list)
    for seq in sorted(seq_dirs):
        cam = camera_group(seq)
        groups[cam].append(seq)
        if cam == "virtual moving":
            from tracker.io.mot import read_seqinfo

            fps = read_seqinfo(seq_dirs[seq]).frame_rate
            groups[f"virtual moving, {conventions_group(seq)} {'>= 25' if fps >= 25 else '< 25'} fps"].append(seq)
    gap_order = ["continuous"] + [gap_bucket(int(b * 1000) - 1, 1000.0) for b in GAP_BOUNDS_S] + \
        [f"gap > {GAP_BOUNDS_S[-1]:g} s"]
    disp_order = [disp_bucket(b - 1e-9) for b in DISP_BOUNDS_H] + [f"> {DISP_BOUNDS_H[-1]:g} h"]
    out = ["Every time a gt identity is matched again after a gap, or matched to a different tracker ID, "
           "one event (module docstring of `benchmarks/idsw_breakdown.py`). `switch to new` + `switch to old` "
           "= the CLEAR ID switches.", ""]
    for group in ("real static", "real moving", "virtual moving", *sorted(g for g in groups if "," in g)):
        members = groups.get(group, [])
        if not members:
            continue
        per_tracker = {}
        for name, folder in sources.items():
            ev = []
            for seq in members:
                f = folder / f"{seq}.txt"
                if not f.is_file():
                    raise SystemExit(f"{name}: no result file {f}")
                ev += sequence_events(seq_dirs[seq], f)
            per_tracker[name] = ev
        out += [f"### {group} ({len(members)} sequences)", ""]
        out += table("by gap since the last match", "gap", per_tracker, gap_order)
        switches = {n: [e for e in ev if e["outcome"] != "kept" or e["gap"] != "continuous"]
                    for n, ev in per_tracker.items()}
        out += table("by gt displacement since the last match", "disp", switches, disp_order)
        out += table("by the detection score now", "score", switches, ["high", "low", "none"])
        takeovers = sorted({e["takeover"] for ev in per_tracker.values() for e in ev if e["takeover"]})
        out += table("one-frame switches: what happened to the previous ID, where the new one was", "takeover",
                     {n: [e for e in ev if e["takeover"]] for n, ev in per_tracker.items()}, takeovers)
    text = "\n".join(out)
    print(text)
    if args.write_docs:
        from tracker.io.mot import write_text_atomic

        command = "python benchmarks/idsw_breakdown.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_text_atomic(DOCS, "\n".join(["# Where ID switches come from (moving cameras, no frames)", "",
                                           "Generated by `benchmarks/idsw_breakdown.py`; do not edit by hand.", "",
                                           f"Command: `{command.strip()}`", "", text]))
        print(f"wrote {DOCS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
