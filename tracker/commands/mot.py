"""``track mot``: track MOTChallenge sequences from their detection files."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict

from tracker.config import ASSOCIATOR_CHOICES_HELP, ASSOCIATORS, TrackerConfig
from tracker.errors import InputError
from tracker.io.mot import SCORE_RESCALE_MODES, find_sequences, read_seqinfo, write_mot_results
from tracker.io.output_paths import OutputGuard, resolved, safe_component
from tracker.mot_runner import track_mot_sequence
from tracker.offline import OfflineConfig

DESCRIPTION = """Track MOTChallenge sequences from their detection files (no frames needed).

PATH is a sequence folder (holding seqinfo.ini and det/) or a folder of sequences.
Writes DIR/<SEQ>.txt in MOTChallenge format (frame,id,x,y,w,h,score,-1,-1,-1; score -1 on
rows filled by interpolation) and prints a per-sequence summary. By default the tracklets are
linked over the whole sequence (docs/offline.md); --online writes the online tracker's rows.
Each sequence's real frame rate (seqinfo.ini) is used.

example:  track mot ../shared/data/mot --output-dir out"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="sequence folder(s) or folder(s) of sequences")
    parser.add_argument("--output-dir", required=True, type=Path, metavar="DIR", help="where <SEQ>.txt files go")
    parser.add_argument("--det-name", default="det.txt", help="detection file inside <SEQ>/det/ (default: det.txt)")
    parser.add_argument("--min-score", type=float, default=None,
                        help="drop detections below this score (after rescaling)")
    parser.add_argument("--score-rescale", choices=SCORE_RESCALE_MODES, default="auto",
                        help="map scores to [0,1]: auto = min-max only when some score is outside [0,1] (default)")
    parser.add_argument("--associator", choices=ASSOCIATORS + ("default",), default="default",
                        help=ASSOCIATOR_CHOICES_HELP + "; 'default' = the shipped default (TrackerConfig: learned)")
    parser.add_argument("--online", action="store_true",
                        help="the online tracker's rows only (default: link the tracklets over the whole sequence "
                             "and fill short gaps, docs/offline.md)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def plan_outputs(sequences, output_dir: Path, det_name: str) -> Dict[Path, Path]:
    """``{sequence folder: its result file}`` under the output-path rule: the name is the
    ``seqinfo.ini`` ``name=`` made one path component; every result file lies in
    ``output_dir`` and is none of the inputs (detection files, ``seqinfo.ini``, gt) and no two
    sequences share one. ``InputError`` before anything is written."""
    inputs = []
    for seq in sequences:
        inputs += [seq / "det" / det_name, seq / "seqinfo.ini", seq / "gt" / "gt.txt"]
    guard = OutputGuard(inputs, root=output_dir)
    outputs: Dict[Path, Path] = {}
    owner: Dict[Path, Path] = {}
    for seq in sequences:
        out = output_dir / f"{safe_component(read_seqinfo(seq).name, safe_component(seq.name, 'sequence'))}.txt"
        guard.check(out, "--output-dir")
        key = resolved(out)
        if key in owner:
            raise InputError(f"{seq} and {owner[key]}: both are named {out.stem} (seqinfo.ini name=); their results "
                             f"would overwrite each other in {out}")
        owner[key] = seq
        outputs[seq] = out
    return outputs


def run(args) -> int:
    sequences = find_sequences(args.paths)
    missing = [s for s in sequences if not (s / "det" / args.det_name).is_file()]
    for s in missing:
        print(f"warning: {s.name}: no det/{args.det_name}, skipped", file=sys.stderr)
    sequences = [s for s in sequences if s not in missing]
    if not sequences:
        raise InputError(f"no sequence has det/{args.det_name}")
    outputs = plan_outputs(sequences, args.output_dir, args.det_name)
    config = TrackerConfig() if args.associator == "default" else TrackerConfig(associator=args.associator)
    if not args.quiet:
        print("| sequence | frames | detections | tracks | frames/s | notes |")
        print("|---|---:|---:|---:|---:|---|")
    total_frames = total_time = 0.0
    for seq in sequences:
        result = track_mot_sequence(seq, config, args.det_name, args.min_score, args.score_rescale,
                                    offline=None if args.online else OfflineConfig())
        write_mot_results(outputs[seq], result.rows)
        total_frames += result.frames
        total_time += result.tracker_seconds
        if not args.quiet:
            print(f"| {result.name} | {result.frames} | {result.detections} | {result.tracks} | "
                  f"{result.frames_per_second:.0f} | {'; '.join(result.notes)} |", flush=True)
    if not args.quiet:
        fps = total_frames / total_time if total_time > 0 else float("inf")
        print(f"\n{len(sequences)} sequence(s), {int(total_frames)} frames, tracker {fps:.0f} frames/s; "
              f"results in {args.output_dir}/")
    return 0
