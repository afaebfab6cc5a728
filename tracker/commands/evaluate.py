"""``track eval``: HOTA, CLEAR, Identity and re-entry ID recall against MOTChallenge ground truth."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict, List

from tracker.errors import InputError
from tracker.io.output_paths import OutputGuard
from tracker.evaluation import (
    BENCHMARK_CHOICES,
    EvalConfig,
    EvalReport,
    evaluate_files,
    evaluate_trackers,
    format_comparison_table,
    format_markdown_table,
    plot_comparison,
    write_json,
)
from tracker.evaluation.permanence import DEFAULT_GAP_SECONDS
from tracker.evaluation.report import check_plot_path

DESCRIPTION = """Evaluate tracking results against MOTChallenge ground truth, with the conventions and
numbers of TrackEval (the official evaluator): HOTA, DetA, AssA, LocA, MOTA, MOTP, IDF1, IDP,
IDR, IDsw, Frag, MT/PT/ML, FP, FN, plus re-entry ID recall (does a person get the same ID back
after >= 1 s out of view; see docs/evaluation.md). Prints a markdown table (percentages), one row
per sequence plus COMBINED (counts summed over sequences, then ratios formed).

folder form:  track eval --gt-root ../shared/data/mot --results out [--seqs TUD-Campus,MOT17-05-FRCNN]
              result files are <DIR>/<SEQ>.txt (or <DIR>/data/<SEQ>.txt); a missing one counts as
              empty, with a warning
compare:      track eval --gt-root ../shared/data/mot --results out_a out_b --plot cmp.png --json cmp.json
              track eval --gt-root ../shared/data/mot --results-root runs/   (one folder per tracker)
single file:  track eval --gt SEQ/gt/gt.txt --results RESULT.txt [--fps 25] [--seq-length 71]
across sources: track eval --link --gt-root CLIPS --results linked/ [unlinked/ ...]
              every sequence of CLIPS is a source whose gt ids are global (the same person has
              the same id in every source), and so are the result ids: global HOTA / IDF1 over
              the sources laid end to end, and pairwise cross-source identity precision /
              recall / F1, each beside the no-linking baseline (ids made distinct per source)

benchmark conventions (auto: MOT16/MOT17/MOT20 by sequence name or a 9-column gt, else MOT15):
  MOT15  gt rows with conf 0 dropped, nothing else removed
  MOT17  tracker boxes matched (IoU >= 0.5) to distractor gt (classes 2, 7, 8, 12) removed;
         gt of class 1 with conf != 0 scored (MOT20 adds class 6 to the distractors)"""


def configure(parser: argparse.ArgumentParser) -> None:
    gt = parser.add_mutually_exclusive_group(required=True)
    gt.add_argument("--gt-root", type=Path, metavar="ROOT", help="folder of MOTChallenge sequences (<SEQ>/gt/gt.txt)")
    gt.add_argument("--gt", type=Path, metavar="GT.txt", help="one gt file (single-file form)")
    res = parser.add_mutually_exclusive_group(required=True)
    res.add_argument("--results", type=Path, nargs="+", metavar="PATH",
                     help="result folder(s) (folder form) or result file(s) (single-file form); several = comparison")
    res.add_argument("--results-root", type=Path, metavar="DIR",
                     help="a folder holding one result folder per tracker (folder form)")
    parser.add_argument("--link", action="store_true",
                        help="identity across sources: gt and result ids are global over the sequences of "
                             "--gt-root (see above and docs/evaluation.md)")
    parser.add_argument("--names", metavar="A,B", help="display names of the result sets, comma-separated, in order")
    parser.add_argument("--benchmark", choices=BENCHMARK_CHOICES, default="auto",
                        help="evaluation conventions for every sequence (default: auto, per sequence)")
    parser.add_argument("--seqs", metavar="A,B", help="evaluate only these sequences (comma-separated names)")
    parser.add_argument("--json", type=Path, metavar="OUT.json", help="write every number and the settings as JSON")
    parser.add_argument("--plot", type=Path, metavar="OUT.png",
                        help="write bars of HOTA, IDF1, MOTA and re-entry recall per sequence and tracker")
    parser.add_argument("--fps", type=float, metavar="F",
                        help="frame rate of the single-file form (default: seqinfo.ini)")
    parser.add_argument("--seq-length", type=int, metavar="N", help="frames in the single-file form's sequence")
    parser.add_argument("--reentry-seconds", type=float, default=DEFAULT_GAP_SECONDS, metavar="K",
                        help="shortest absence that counts as a re-entry gap, seconds "
                             f"(default {DEFAULT_GAP_SECONDS:g})")


def _split(text) -> List[str]:
    return [s.strip() for s in text.split(",") if s.strip()] if text else []


def _result_sets(args) -> List[Path]:
    if args.results_root is not None:
        root = args.results_root
        if not root.is_dir():
            raise InputError(f"{root}: not a folder (--results-root takes a folder of result folders)")
        folders = sorted(p for p in root.iterdir() if p.is_dir())
        if not folders:
            raise InputError(f"{root}: no result folders in it")
        return folders
    return list(args.results)


def _names(args, paths: List[Path]) -> List[str]:
    names = _split(args.names)
    if names:
        if len(names) != len(paths):
            raise InputError(f"--names gives {len(names)} names for {len(paths)} result sets")
    else:
        names = [p.stem if p.is_file() else (p.name or str(p)) for p in paths]
        if len(set(names)) < len(names):
            names = [str(p) for p in paths]
    if len(set(names)) < len(names):
        raise InputError(f"--names must be distinct, got {', '.join(names)}")
    return names


def _input_files(args, paths: List[Path]) -> List[Path]:
    """Every file this evaluation reads: gt files and ``seqinfo.ini`` (of ``--gt`` or of each
    sequence under ``--gt-root``) and the result files (given, or ``<SEQ>.txt`` and
    ``data/<SEQ>.txt`` in each result folder)."""
    files: List[Path] = list(paths)
    if args.gt is not None:
        files += [args.gt, args.gt.parent.parent / "seqinfo.ini"]
    if args.gt_root is not None:
        for pattern in ("*/gt/*", "*/seqinfo.ini", "gt/*", "seqinfo.ini"):
            files += sorted(args.gt_root.glob(pattern))
    for folder in (p for p in paths if p.is_dir()):
        files += sorted(folder.glob("*.txt")) + sorted(folder.glob("data/*.txt"))
    return files


def _check_outputs(args, paths: List[Path]) -> None:
    """``--json`` and ``--plot`` follow the output-path rule: never onto an input."""
    guard = OutputGuard(_input_files(args, paths))
    for option, out in (("--json", args.json), ("--plot", args.plot)):
        if out is not None:
            guard.check(out, option)


def run(args) -> int:
    try:
        config = EvalConfig(benchmark=args.benchmark, reentry_seconds=args.reentry_seconds)
    except ValueError as exc:
        raise InputError(f"--reentry-seconds must be a number > 0 (seconds), got {args.reentry_seconds}") from exc
    if args.plot is not None:
        check_plot_path(args.plot)
    paths = _result_sets(args)
    names = _names(args, paths)
    if args.link:
        return _run_link(args, config, paths, names)
    reports: Dict[str, EvalReport]
    if args.gt is not None:
        if args.results_root is not None:
            raise InputError("--results-root needs --gt-root (the single-file form takes --results FILE ...)")
        if args.seqs:
            raise InputError("--seqs needs --gt-root (the single-file form evaluates one sequence)")
        _check_outputs(args, paths)
        reports = {name: evaluate_files(args.gt, path, fps=args.fps, seq_length=args.seq_length, config=config,
                                        tracker=name) for name, path in zip(names, paths)}
    else:
        if args.fps is not None or args.seq_length is not None:
            raise InputError("--fps and --seq-length belong to the single-file form (--gt); "
                             "with --gt-root they come from each seqinfo.ini")
        for p in paths:
            if p.is_file():
                raise InputError(f"{p}: is a file; with --gt-root, --results takes result folders (<SEQ>.txt inside)")
        _check_outputs(args, paths)
        seqs = _split(args.seqs) or None
        reports = evaluate_trackers(args.gt_root, dict(zip(names, paths)), seqs=seqs, config=config)

    seen = set()
    for report in reports.values():
        for w in report.warnings:
            if w not in seen:
                seen.add(w)
                print(f"warning: {w}", file=sys.stderr)
    if len(reports) == 1:
        print(format_markdown_table(next(iter(reports.values()))))
    else:
        print(format_comparison_table(reports))
    print("\nRatios in percent; Re-ID rec. = re-entry ID recall after gaps >= "
          f"{config.reentry_seconds:g} s (recovered / (recovered + lost)); see docs/evaluation.md.")
    if args.json is not None:
        write_json(args.json, reports)
        print(f"wrote {args.json}", file=sys.stderr)
    if args.plot is not None:
        plot_comparison(reports, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def _run_link(args, config: EvalConfig, paths: List[Path], names: List[str]) -> int:
    from tracker.evaluation.linking import evaluate_link_folder, format_link_table

    if args.gt_root is None:
        raise InputError("--link needs --gt-root (one sequence folder per source)")
    if args.plot is not None:
        raise InputError("--plot is not available with --link")
    for p in paths:
        if not p.is_dir():
            raise InputError(f"{p}: not a folder; with --link, --results takes result folders (<SEQ>.txt inside)")
    _check_outputs(args, paths)
    seqs = _split(args.seqs) or None
    evaluations = {name: evaluate_link_folder(args.gt_root, path, seqs=seqs, config=config, name=name)
                   for name, path in zip(names, paths)}
    seen = set()
    for ev in evaluations.values():
        for w in ev.warnings:
            if w not in seen:
                seen.add(w)
                print(f"warning: {w}", file=sys.stderr)
    first = next(iter(evaluations.values()))
    print(f"{len(first.sources)} sources laid end to end: {', '.join(first.sources)}\n")
    print(format_link_table(evaluations))
    print("\nRatios in percent. global = the result ids as given; no linking = the same results with ids made "
          "distinct per source. Link P / R / F1: pairs of (source, identity) of two sources joined under one id "
          "(see docs/evaluation.md).")
    if args.json is not None:
        import json

        from tracker.io.mot import write_text_atomic

        payload = {name: ev.to_dict() for name, ev in evaluations.items()}
        write_text_atomic(args.json, json.dumps(payload, indent=1, default=float) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0
