"""Where the tracks that take a person over in one frame come from (our tracker's internals).

``benchmarks/idsw_breakdown.py`` finds that most of our one-frame ID switches are a track that
matched no person the frame before taking a person over from the track that had them. This
script runs ``ours-heldout`` (MOT files, no frames, the fold weights that never saw the
sequence) with a recorder on the tracker's stages, finds those events with the same CLEAR
matching, and tells, for each, what the taking track was the frame before and where it was born:

* ``before``: ``lost, N frames unseen`` (coasting, not reported) or ``reported, unmatched``
  (a reported box that matched no gt: e.g. a second box on the same person);
* ``stage``: which association gave it the detection now (first / second / recovery);
* ``born as``: ``duplicate`` when, at its birth, its detection overlapped (IoU >= ``DUP_IOU``)
  a detection another track matched in that frame, ``beside a live track`` when it overlapped
  (same IoU) the box of a live track left unmatched, else ``alone``;
* ``last box``: the taking track's last observed box against the owner's box in that frame
  (a second track on the same person, or one beside it);
* ``previous owner now``: the state of the track that had the person (lost = it got no
  detection this frame), and whether its predicted box overlapped the detection it lost.

    python benchmarks/takeover_sources.py [--virtual-root build/virtual/mot] [--set KEY=VALUE ...]
        [--write-docs]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DOCS = ROOT / "docs" / "takeover_sources.md"
#: a birth's detection overlapping another box at least this much (IoU) is a duplicate birth
DUP_IOU = 0.5
#: the taking track's last observed box "near" the owner's at this IoU (below: apart)
NEAR_IOU = 0.1
#: unseen-frame buckets (upper bounds) of a lost track that takes a person over
UNSEEN_BOUNDS = (1, 2, 5)


def unseen_bucket(frames: int) -> str:
    low = 1
    for bound in UNSEEN_BOUNDS:
        if frames <= bound:
            return f"lost, {bound} frame{'s' if bound > 1 else ''} unseen" if low == bound else \
                f"lost, {low}-{bound} frames unseen"
        low = bound + 1
    return f"lost, > {UNSEEN_BOUNDS[-1]} frames unseen"


class Recorder:
    """Wraps one ``Tracker``'s stage methods; after each frame, ``snapshot`` holds every
    ID'd live track's state, the stage that matched it and its birth."""

    def __init__(self, tracker) -> None:
        from tracker.boxes import iou_matrix

        self.tracker, self.iou = tracker, iou_matrix
        self.frames: Dict[int, dict] = {}
        self._stage = None
        orig_assoc, orig_recovery, orig_apply, orig_birth = (tracker._associate, tracker._recovery_costs,
                                                            tracker._apply, tracker._birth)

        def associate(tracks, detections, det_rows, stage, context):
            self._stage = stage.name.lower()
            return orig_assoc(tracks, detections, det_rows, stage, context)

        def recovery(tracks, detections, det_rows):
            self._stage = "recovery"
            return orig_recovery(tracks, detections, det_rows)

        def apply(tracks, detections, det_rows, matches, now):
            for ti in (matches[:, 0] if len(matches) else []):
                tracks[ti]._rec_stage = self._stage
            return orig_apply(tracks, detections, det_rows, matches, now)

        def birth(detections, d, now):
            box = detections.xyxy[d][None].astype(np.float64)
            live = tracker._tracks
            matched = [t.det_xyxy for t in live if t.observed and t.det_xyxy is not None]
            unmatched = [t.xyxy for t in live if not t.observed and t.state.name in ("LOST", "CONFIRMED")]
            dup = len(matched) and float(self.iou(box, np.stack(matched)).max()) >= DUP_IOU
            beside = len(unmatched) and float(self.iou(box, np.stack(unmatched)).max()) >= DUP_IOU
            orig_birth(detections, d, now)
            tracker._tracks[-1]._rec_birth = ("duplicate" if dup else "beside a live track" if beside else "alone")

        tracker._associate, tracker._recovery_costs = associate, recovery
        tracker._apply, tracker._birth = apply, birth

    def record(self) -> None:
        tr = self.tracker
        snap = {}
        for t in tr._tracks:
            if t.track_id > 0:
                snap[t.track_id] = {"state": t.state.name, "observed": t.observed, "unseen": t.unseen_steps,
                                    "stage": getattr(t, "_rec_stage", None) if t.observed else None,
                                    "born": getattr(t, "_rec_birth", "before the recorder"),
                                    "pred": t.xyxy.copy(),
                                    "det": t.det_xyxy.copy() if t.observed and t.det_xyxy is not None else None}
            t._rec_stage = None
        self.frames[tr.frame_index + 1] = snap


def run_sequence_recorded(seq_dir: Path, overrides: dict, out_file: Path) -> Recorder:
    from tracker.benchmarking.adapters import make_adapter
    from tracker.benchmarking.runner import FrameOrigin, run_sequence
    from tracker.config import TrackerConfig
    from tracker.io.mot import load_detections, read_seqinfo, write_mot_results

    info = read_seqinfo(seq_dir)
    dets = load_detections(seq_dir / "det" / "det.txt", seq_length=info.seq_length)
    adapter = make_adapter("ours-heldout", info.frame_rate, config=TrackerConfig().with_overrides(overrides),
                           image_size=(info.width, info.height), sequence=info.name)
    rec = Recorder(adapter.tracker)
    update = adapter.update

    def recorded_update(detections, frame, timestamp):
        out = update(detections, frame, timestamp)
        rec.record()
        return out

    adapter.update = recorded_update
    run = run_sequence(adapter, dets, info, FrameOrigin(None, None, "no frames"))
    write_mot_results(out_file, run.rows)
    return rec


def classify(events: List[dict], rec: Recorder) -> List[dict]:
    """The one-frame takeovers by a track that matched no person before, with its internals."""
    out = []
    for e in events:
        if not e["takeover"].endswith("new ID matched no person before") or e["outcome"] == "kept":
            continue
        f, new, old = e["frame"], e["new_id"], e["old_id"]
        before = rec.frames.get(f - 1, {}).get(new)
        now = rec.frames.get(f, {}).get(new)
        old_now = rec.frames.get(f, {}).get(old)
        if before is None:
            where = "not live the frame before (confirmed now)"
        elif before["observed"]:
            where = "reported, unmatched"
        else:
            where = unseen_bucket(before["unseen"])
        owner = "gone" if old_now is None else ("observed elsewhere" if old_now["observed"] else "lost now")
        twin = "?"
        if before is not None:  # the taking track's last observation: beside the owner's box then?
            last = f - 1 - (0 if before["observed"] else before["unseen"])
            mine, theirs = rec.frames.get(last, {}).get(new), rec.frames.get(last, {}).get(old)
            if mine is not None and mine["det"] is not None and theirs is not None:
                box = theirs["det"] if theirs["det"] is not None else theirs["pred"]
                iou = float(rec.iou(mine["det"][None], box[None])[0, 0])
                twin = (f"on the owner's person (IoU >= {DUP_IOU})" if iou >= DUP_IOU else
                        "near it (IoU 0.1-0.5)" if iou >= NEAR_IOU else "apart (IoU < 0.1)")
            elif theirs is None:
                twin = "owner not live then"
        out.append({"outcome": e["outcome"], "before": where, "stage": (now or {}).get("stage") or "?",
                    "born": (now or {}).get("born", "?"), "owner": owner, "twin": twin, "group": e.get("group", "")})
    return out


def main(argv=None) -> int:
    from benchmarks.idsw_breakdown import sequence_events
    from tracker.benchmarking.groups import camera_group
    from tracker.io.mot import find_sequences

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mot-root", type=Path, default=DATA / "mot")
    parser.add_argument("--virtual-root", type=Path, default=ROOT / "build" / "virtual" / "mot")
    parser.add_argument("--set", action="append", default=[], help="KEY=VALUE TrackerConfig override (repeatable)")
    parser.add_argument("--seqs", default="", help="comma-separated sequences (default: all)")
    parser.add_argument("--write-docs", action="store_true", help=f"write {DOCS.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    import json

    overrides = {k: json.loads(v) for k, _, v in (s.partition("=") for s in args.set)}
    seq_dirs = {s.name: s for s in find_sequences([r for r in (args.mot_root, args.virtual_root) if r.is_dir()])
                if (s / "gt" / "gt.txt").is_file()}
    if args.seqs:
        seq_dirs = {k: v for k, v in seq_dirs.items() if k in set(args.seqs.split(","))}
    if not seq_dirs:
        print("no sequences with gt found (development data absent); nothing measured", file=sys.stderr)
        return 2
    rows: Dict[str, List[dict]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(seq_dirs):
            print(f"{name} ...", file=sys.stderr, flush=True)
            out_file = Path(tmp) / f"{name}.txt"
            rec = run_sequence_recorded(seq_dirs[name], overrides, out_file)
            rows[camera_group(name)] += classify(sequence_events(seq_dirs[name], out_file), rec)
    lines = []
    for key, title in (("before", "what the taking track was the frame before"),
                       ("stage", "the association that gave it the detection"),
                       ("born", "how it was born"),
                       ("twin", "its last observed box against the owner's box in that frame"),
                       ("owner", "the previous owner in this frame")):
        groups = [g for g in ("real static", "real moving", "virtual moving") if g in rows]
        values = sorted({r[key] for g in groups for r in rows[g]})
        lines += [f"**{title}** (switch to old / switch to new)", "",
                  "| " + key + " | " + " | ".join(groups) + " |", "|---" + "|---:" * len(groups) + "|"]
        for v in values:
            cells = []
            for g in groups:
                c = Counter(r["outcome"] for r in rows[g] if r[key] == v)
                cells.append(f"{c['switch to old']} / {c['switch to new']}")
            lines.append(f"| {v} | " + " | ".join(cells) + " |")
        lines += ["| all | " + " | ".join(f"{sum(r['outcome'] == 'switch to old' for r in rows[g])} / "
                                          f"{sum(r['outcome'] == 'switch to new' for r in rows[g])}"
                                          for g in groups) + " |", ""]
    cross = Counter((g, r["before"], r["twin"], r["stage"]) for g in rows for r in rows[g]
                    if r["outcome"] == "switch to old")
    lines += ["**switch to old: before x last box x stage** (count)", "",
              "| group | before | last box | stage | count |", "|---|---|---|---|---:|"]
    lines += [f"| {g} | {b} | {o} | {st} | {n} |" for (g, b, o, st), n in sorted(cross.items())]
    text = "\n".join(lines)
    print(text)
    if args.write_docs:
        from tracker.io.mot import write_text_atomic

        command = "python benchmarks/takeover_sources.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_text_atomic(DOCS, "\n".join([
            "# Where one-frame takeovers come from (our tracker's internals)", "",
            "Generated by `benchmarks/takeover_sources.py`; do not edit by hand.", "",
            f"Command: `{command.strip()}`", "",
            "Events: one-frame ID switches (CLEAR, IoU 0.5) where the ID that takes the person over matched "
            f"no person the frame before (`benchmarks/idsw_breakdown.py`). Duplicate birth: IoU >= {DUP_IOU} "
            "with a detection matched by another track in the birth frame.", "", text, ""]))
        print(f"wrote {DOCS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
