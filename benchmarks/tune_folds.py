"""Choose core settings by leave-sequences-out folds; report held-out numbers per group.

Every candidate setting (``CANDIDATES``: one lever, or one named set of levers such as "OC-SORT
set", changed from the shipped default) runs once on every sequence, real and virtual
(``benchmarks/make_virtual_sequences.py``), with
the learned associator's fold weights that never saw the sequence (``ours-heldout``; a virtual
sequence is held out with its source). Each sequence's result depends on that sequence alone,
so fold selection is exact on the stored per-sequence counts: for each fold of the shipped
associator folds (``tracker/models/associator/folds/fold*.json``; a virtual sequence is in its
source's fold), the candidate with the best combined HOTA on the OTHER folds' sequences (real
and virtual) is chosen and scored on the fold's own sequences. The held-out rows combine the
four folds' held-out sequences, each scored with the candidate its fold chose (nested: no
sequence's score ever came from a choice made on it). The peers (ByteTrack, BoT-SORT, OC-SORT)
run once on the same detections.

Usage:
  python benchmarks/make_virtual_sequences.py --seeds 1,2 --no-video
  python benchmarks/tune_folds.py [--virtual-root build/virtual/mot] [--write-docs]
Writes docs/tuning.md with --write-docs (the tables, the choice per fold and the command).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
import time
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
FOLDS_DIR = ROOT / "tracker" / "models" / "associator" / "folds"
DOCS = ROOT / "docs" / "tuning.md"
PEERS = ("bytetrack", "botsort", "ocsort")
#: one lever at a time, from the shipped ``TrackerConfig()`` (the candidates the issue names:
#: process noise relative to box size, the second association on low scores, the lost horizon,
#: the IoU gates; then OC-SORT's observation-centric re-update and direction consistency, and
#: noise scaled by the box height for every coordinate as ByteTrack / BoT-SORT do)
CANDIDATES: Dict[str, dict] = {
    "default": {},
    "reupdate after a gap": {"reupdate_after_gap": True},
    "direction_weight=0.1": {"direction_weight": 0.1},
    "direction_weight=0.2": {"direction_weight": 0.2},
    "reupdate + direction_weight=0.2": {"reupdate_after_gap": True, "direction_weight": 0.2},
    "recovery_match_iou=0.3": {"recovery_match_iou": 0.3},
    "recovery 0.3 within 0.5 s": {"recovery_match_iou": 0.3, "recovery_max_gap_s": 0.5},
    "lost tracks follow the scene": {"lost_follow_scene": True},
    "scene motion": {"lost_follow_scene": True, "birth_scene_velocity": True},  # lost follow + births
    "OC-SORT set": {"reupdate_after_gap": True, "direction_weight": 0.2, "recovery_match_iou": 0.3},
    "noise_scale=height": {"motion.noise_scale": "height"},
    "first_match_iou=0.3": {"first_match_iou": 0.3},
    "report_detection_box": {"report_detection_box": True},  # the peers report the detection's box
    "associator=iou": {"associator": "iou"},
    "velocity_noise=1.0": {"motion.velocity_noise": 1.0},
    "velocity_noise=2.0": {"motion.velocity_noise": 2.0},
    "no second association": {"low_score": 0.5},
    "lost_horizon_s=2": {"lost_horizon_s": 2.0},
    "lost_horizon_s=8": {"lost_horizon_s": 8.0},
    "first_match_iou=0.1": {"first_match_iou": 0.1},
    "new_track_score=0.5": {"new_track_score": 0.5},
    "min_hits=1": {"min_hits": 1},
    "min_hits=3": {"min_hits": 3},  # OC-SORT confirms after 3 (fewer duplicate tracks to switch to)
    "new_track_score=0.8": {"new_track_score": 0.8},
    "refit velocity after a gap": {"refit_velocity_after_gap": True},
    "position_noise=0.27": {"motion.position_noise": 0.27},  # the previous default
    "second_match_iou=0.3": {"second_match_iou": 0.3},
    "high_score=0.6": {"high_score": 0.6},
    # the one-frame takeovers of docs/takeover_sources.md: a lost track taking a person over in
    # the first association from the track that had them
    "recent first": {"recent_first": True},
    "rematch_hits=2": {"rematch_hits": 2},
    "rematch_hits=3": {"rematch_hits": 3},
    "recent first + rematch_hits=2": {"recent_first": True, "rematch_hits": 2},
    "recent first + reupdate after a gap": {"recent_first": True, "reupdate_after_gap": True},
}
#: the virtual variants of the 30 fps MOT17 sequences: where the unseen-data gap of issue #15
#: (30 fps moving cameras) is reproduced
VIRTUAL_30FPS = "virtual moving, MOT17 30 fps"
GROUP_ORDER = ("real static", "real moving", "virtual moving", VIRTUAL_30FPS, "MOT15", "MOT17")
#: frame rate (frames/s) from which a sequence counts as 30 fps
HIGH_FRAME_RATE = 25.0
METRICS = (("HOTA", "HOTA", "pct"), ("AssA", "AssA", "pct"), ("IDF1", "IDF1", "pct"), ("MOTA", "MOTA", "pct"),
           ("IDsw", "IDSW", "int"))


def read_folds() -> List[List[str]]:
    folds = []
    for meta in sorted(FOLDS_DIR.glob("fold*.json")):
        folds.append(list(json.loads(meta.read_text())["held_out"]))
    return folds


def combined_root(out: Path, roots: List[Path]) -> Path:
    """One folder of links to every sequence of ``roots`` (the evaluation reads one root)."""
    from tracker.io.mot import find_sequences

    root = out / "sequences"
    root.mkdir(parents=True, exist_ok=True)
    for seq in find_sequences([r for r in roots if r.is_dir()]):
        link = root / seq.name
        if not link.exists():
            link.symlink_to(seq.resolve())
    return root


def cached(path: Path, key, compute):
    """``compute()``, stored in ``path`` (pickle) with ``key``; a later call with an equal key
    reads it back instead of computing again."""
    import pickle

    if path.is_file():
        stored_key, stored = pickle.loads(path.read_bytes())
        if stored_key == key:
            return stored
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps((key, value)))
    return value


def run_tracker(name: str, overrides: dict, root: Path, seqs: List[str], out_dir: Path) -> dict:
    """{sequence: SequenceResult} of one tracker on every sequence (no frames: MOT files),
    cached in ``out_dir/results.pkl`` with the settings that made it (a rerun with the same
    settings and sequences reads it back)."""
    from tracker.config import TrackerConfig

    # the whole configuration, not only the overrides: a changed default must not reuse old runs
    key = (name, TrackerConfig().with_overrides(overrides).to_dict(), list(seqs))
    return cached(out_dir / "results.pkl", key, lambda: _run_tracker(name, overrides, root, seqs, out_dir))


def evaluate_peer_files(root: Path, folder: Path, seqs: List[str], cache: Path) -> dict:
    """{sequence: SequenceResult} of a peer's earlier result files, cached in ``cache`` with
    each file's size and modification time (changed files are evaluated again)."""
    from tracker.evaluation import evaluate_trackers

    stamps = [(s, (f.stat().st_size, f.stat().st_mtime_ns) if f.is_file() else None)
              for s, f in ((s, folder / f"{s}.txt") for s in seqs)]
    return cached(cache, (str(folder.resolve()), stamps),
                  lambda: dict(evaluate_trackers(root, {folder.name: folder}, seqs=seqs)[folder.name].per_sequence))


def _run_tracker(name: str, overrides: dict, root: Path, seqs: List[str], out_dir: Path) -> dict:
    from tracker.benchmarking.adapters import make_adapter
    from tracker.benchmarking.runner import FrameOrigin, run_sequence
    from tracker.config import TrackerConfig
    from tracker.evaluation import evaluate_trackers
    from tracker.io.mot import load_detections, read_seqinfo, write_mot_results

    config = TrackerConfig().with_overrides(overrides) if name == "ours-heldout" else None
    for seq in seqs:
        info = read_seqinfo(root / seq)
        dets = load_detections(root / seq / "det" / "det.txt", seq_length=info.seq_length)
        adapter = make_adapter(name, info.frame_rate, config=config, image_size=(info.width, info.height),
                               sequence=info.name)
        run = run_sequence(adapter, dets, info, FrameOrigin(None, None, "no frames"))
        write_mot_results(out_dir / f"{seq}.txt", run.rows)
    report = evaluate_trackers(root, {name: out_dir}, seqs=seqs)[name]
    return dict(report.per_sequence)


def group_of(seq: str, root: Path) -> List[str]:
    from tracker.benchmarking.groups import VIRTUAL_MOVING, camera_group, conventions_group
    from tracker.io.mot import read_seqinfo

    out = [camera_group(seq), conventions_group(seq)]
    if out == [VIRTUAL_MOVING, "MOT17"] and read_seqinfo(root / seq).frame_rate >= HIGH_FRAME_RATE:
        out.append(VIRTUAL_30FPS)
    return out


def fold_of(seq: str, folds: List[List[str]]) -> int:
    from tracker.benchmarking.virtual_camera import source_sequence

    src = source_sequence(seq)
    for k, members in enumerate(folds):
        if src in members:
            return k
    raise SystemExit(f"{seq}: its source {src} is in no fold")


def summarize(results: list):
    from tracker.evaluation.results import combine_results

    return combine_results(results).summary()


def cell(summary: dict, key: str, kind: str) -> str:
    return f"{100 * summary[key]:.2f}" if kind == "pct" else str(int(summary[key]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mot-root", type=Path, default=DATA / "mot")
    parser.add_argument("--virtual-root", type=Path, default=ROOT / "build" / "virtual" / "mot")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "tune_folds")
    parser.add_argument("--candidates", default="", help="comma-separated candidate names (default: all)")
    parser.add_argument("--peer-results", type=Path, default=None,
                        help="evaluate the peers' result files DIR/<peer>/<SEQ>.txt of an earlier `track bench` on "
                             "the same sequences and detections instead of running them again")
    parser.add_argument("--seqs", default="", help="comma-separated sequences (default: all; for a quick check)")
    parser.add_argument("--write-docs", action="store_true", help=f"write {DOCS.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    if not args.mot_root.is_dir():
        print(f"--mot-root {args.mot_root}: not found (development data absent); nothing measured", file=sys.stderr)
        return 2
    if not args.virtual_root.is_dir():
        print(f"--virtual-root {args.virtual_root}: not found; run benchmarks/make_virtual_sequences.py first",
              file=sys.stderr)
        return 2
    started = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    t0 = time.perf_counter()
    folds = read_folds()
    root = combined_root(args.out, [args.mot_root, args.virtual_root])
    seqs = sorted(p.name for p in root.iterdir() if (p / "gt" / "gt.txt").is_file())
    if args.seqs:
        seqs = [s for s in seqs if s in set(args.seqs.split(","))]
    names = [c for c in args.candidates.split(",") if c] or list(CANDIDATES)
    results: Dict[str, dict] = {}
    for name in names:
        print(f"candidate {name} ...", file=sys.stderr, flush=True)
        results[name] = run_tracker("ours-heldout", CANDIDATES[name], root, seqs, args.out / "ours" / name)
    peers = {}
    for peer in PEERS:
        print(f"peer {peer} ...", file=sys.stderr, flush=True)
        if args.peer_results is not None:
            peers[peer] = evaluate_peer_files(root, args.peer_results / peer, seqs, args.out / "peers" / f"{peer}.pkl")
        else:
            peers[peer] = run_tracker(peer, {}, root, seqs, args.out / "peers" / peer)
    fold_index = {s: fold_of(s, folds) for s in seqs}
    chosen, heldout = [], {}
    for k in range(len(folds)):
        train = [s for s in seqs if fold_index[s] != k]
        best = max(names, key=lambda n: summarize([results[n][s] for s in train])["HOTA"])
        chosen.append(best)
        for s in seqs:
            if fold_index[s] == k:
                heldout[s] = results[best][s]
    seq_groups = {s: group_of(s, root) for s in seqs}
    groups = {g: [s for s in seqs if g in seq_groups[s]] for g in GROUP_ORDER}
    groups["all"] = list(seqs)
    rows = []
    head = "| group | seqs | tracker | " + " | ".join(m[0] for m in METRICS) + " |"
    rows += [head, "|---|---:|---" + "|---:" * len(METRICS) + "|"]
    for g, members in groups.items():
        if not members:
            continue
        shipped = [results["default"][s] for s in members] if "default" in results else None
        entries = [("ours, fold-chosen (held out)", [heldout[s] for s in members]),
                   ("ours, `TrackerConfig()` of this run", shipped)]
        entries += [(p, [peers[p][s] for s in members]) for p in PEERS]
        for label, res in entries:
            if res is None:
                continue
            summary = summarize(res)
            rows.append(f"| {g} | {len(members)} | {label} | " + " | ".join(cell(summary, k, kind)
                                                                           for _, k, kind in METRICS) + " |")
    cand_rows = ["| candidate | " + " | ".join(f"fold {k} train HOTA" for k in range(len(folds))) + " |",
                 "|---" + "|---:" * len(folds) + "|"]
    for n in names:
        vals = [summarize([results[n][s] for s in seqs if fold_index[s] != k])["HOTA"] for k in range(len(folds))]
        cand_rows.append(f"| {n} | " + " | ".join(f"{100 * v:.2f}" for v in vals) + " |")
    fold_lines = [f"- fold {k} (held out: {', '.join(folds[k])} and their virtual variants): chose `{chosen[k]}`"
                  for k in range(len(folds))]
    wall = time.perf_counter() - t0
    text = "\n".join(["Held-out results (each fold's sequences scored with the candidate chosen on the other folds):",
                      "", *rows, "", "Choice per fold:", "", *fold_lines, "",
                      "Training-fold HOTA of every candidate (the selection criterion):", "", *cand_rows, ""])
    print(text)
    print(f"wall time {wall:.0f} s", file=sys.stderr)
    if args.write_docs:
        from tracker.io.mot import write_text_atomic

        command = "python benchmarks/tune_folds.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_text_atomic(DOCS, "\n".join([
            "# Tuning by leave-sequences-out folds", "",
            "Generated by `benchmarks/tune_folds.py`; do not edit by hand.", "",
            f"Command: `{command.strip()}`  ", f"Date: {started} (UTC), wall time {wall:.0f} s.", "",
            f"Sequences: {len(seqs)} ({sum(1 for s in seqs if '-vcam' not in s)} real development sequences and "
            f"{sum(1 for s in seqs if '-vcam' in s)} virtual moving-camera variants of them, "
            "`benchmarks/make_virtual_sequences.py`); MOT files, public detections, no frames. "
            "`ours` = `TrackerConfig()` with the learned associator's fold weights that never saw the sequence; "
            "peers from Roboflow `trackers` on identical detections. Groups: `real moving` = ETH-Bahnhof, "
            "ETH-Sunnyday, KITTI-13, MOT17-05 (filmed from a moving platform); `virtual moving` = the generated "
            "variants (a separate group, never mixed with the real ones)."
            + (" The peers' result files come from an earlier `track bench --mot-root <the same sequences> "
               "--trackers bytetrack,botsort,ocsort --output-dir build/peers` (identical detections; peers have "
               "no settings to choose)." if args.peer_results is not None else ""), "",
            text]))
        print(f"wrote {DOCS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
