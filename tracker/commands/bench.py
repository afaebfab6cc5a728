"""``track bench``: ours against the established trackers on identical detections; speed and scaling."""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import List, Optional

from tracker.errors import InputError
from tracker.io.output_paths import OutputGuard
from tracker.io.mot import SCORE_RESCALE_MODES

DESCRIPTION = """Benchmark ours against the established trackers, side by side, on identical detections.

Accuracy run (the default): runs each tracker of --trackers (ours = the default tracker as
shipped with the offline identity stage, as `track mot` runs a file; ours-online = the same
with --online; ours-heldout, ours-iou = online variants; SORT, ByteTrack, OC-SORT, BoT-SORT from
Roboflow's `trackers` package, the optional `bench` extra, and each of them + the offline
stage's gap filling, e.g. sort+interp) on <SEQ>/det/<det-name> of every sequence under
--mot-root, writes DIR/<tracker>/<SEQ>.txt, evaluates them as `track eval` does, and prints one
table: HOTA, DetA, AssA, MOTA, IDF1, IDsw, FP, FN, re-entry ID recall, tracker-only frames/s
(time inside update) and its ratio to SORT. A peer that is not installed is reported and skipped.

Frames: with --video-root VDIR, VDIR/<SEQ>.mp4 supplies a sequence's frames (decoded frame i-1 =
MOT frame i): ours uses appearance (when the default embedder loads; its time is counted) and
BoT-SORT its camera-motion compensation. A complete <SEQ>/img1/ folder also counts; a partial
one (fewer images than seqLength) does not. Without frames BoT-SORT runs without CMC.

Writes DIR/bench.json (every number, settings, fairness statements, machine), DIR/bench.png
(combined scores and speed), DIR/bench_per_sequence.png, DIR/eval.json (the full evaluation),
and, with --docs PATH (e.g. docs/benchmarks.md of a checkout), rewrites the accuracy section of
that page with the table, settings and date. Without --docs no page is touched.

Scaling run (--scaling): time per frame of ours and SORT for 10..400 objects per frame on
synthetic crossing scenes, next to the assignment alone, and resident memory of ours over a
--soak-frames stream (default 100,000); writes DIR/scaling.json and DIR/scaling.png (DIR
default: bench_scaling) and, with --docs PATH, the scaling section of that page.

These are benchmarks: they print numbers and never fail on a number.

examples:
  track bench --mot-root ../shared/data/mot --output-dir bench --docs docs/benchmarks.md
  track bench --mot-root ../shared/data/mot --video-root ../shared/data/video --output-dir bench_video \\
      --seqs TUD-Campus,TUD-Stadtmitte,PETS09-S2L1,MOT17-09-FRCNN
  track bench --mot-root ../shared/data/mot --seqs TUD-Campus --trackers ours --output-dir /tmp/b
  track bench --scaling --soak-frames 20000 --output-dir /tmp/scaling"""


def _csv(text: str) -> List[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def configure(parser: argparse.ArgumentParser) -> None:
    from tracker.benchmarking.adapters import ALL_TRACKERS
    from tracker.benchmarking.scaling import (DEFAULT_MEASURE_FRAMES, DEFAULT_OBJECTS, DEFAULT_SOAK_FRAMES,
                                              DEFAULT_SOAK_OBJECTS)

    parser.add_argument("--mot-root", type=Path, metavar="ROOT",
                        help="folder of MOTChallenge sequences (with gt/ and det/)")
    parser.add_argument("--video-root", type=Path, metavar="VDIR", help="folder of <SEQ>.mp4 frame sources")
    parser.add_argument("--seqs", type=_csv, metavar="A,B", help="only these sequences (default: all with det and gt)")
    parser.add_argument("--trackers", type=_csv, default=list(ALL_TRACKERS), metavar="T1,T2",
                        help=f"trackers in table order (default: {','.join(ALL_TRACKERS)})")
    parser.add_argument("--det-name", default="det.txt", help="detection file inside <SEQ>/det/ (default: det.txt)")
    parser.add_argument("--min-score", type=float, default=None,
                        help="drop detections below this score, for every tracker (default: unfiltered)")
    parser.add_argument("--score-rescale", choices=SCORE_RESCALE_MODES, default="auto",
                        help="map scores to [0,1] for every tracker: auto = min-max only when some score is "
                             "outside [0,1]")
    parser.add_argument("--no-appearance", action="store_true",
                        help="do not give ours the appearance embedder even when frames exist")
    parser.add_argument("--groups", metavar="SPEC",
                        help="also print one row per tracker per group: 'camera' (real static / real moving / "
                             "virtual moving), 'conventions' (MOT15 / MOT17), 'all' (both), or a file of "
                             "'<sequence> <group>' lines (default: no group rows)")
    parser.add_argument("--output-dir", type=Path, metavar="DIR", help="where results, bench.json and plots go")
    docs = parser.add_mutually_exclusive_group()
    docs.add_argument("--docs", type=Path, metavar="PATH",
                      help="a benchmark page (markdown) whose section this run rewrites (default: none)")
    docs.add_argument("--no-docs", action="store_true", help=argparse.SUPPRESS)  # the default since --docs
    parser.add_argument("--scaling", action="store_true", help="run the synthetic scaling and memory benchmark instead")
    parser.add_argument("--objects", type=lambda s: [int(v) for v in _csv(s)], default=list(DEFAULT_OBJECTS),
                        metavar="N1,N2", help="objects per frame for --scaling (default: 10,25,50,100,200,400)")
    parser.add_argument("--measure-frames", type=int, default=DEFAULT_MEASURE_FRAMES,
                        help=f"frames timed per object count (default: {DEFAULT_MEASURE_FRAMES})")
    parser.add_argument("--soak-frames", type=int, default=DEFAULT_SOAK_FRAMES,
                        help=f"length of the memory stream, 0 to skip it (default: {DEFAULT_SOAK_FRAMES})")
    parser.add_argument("--soak-objects", type=int, default=DEFAULT_SOAK_OBJECTS,
                        help=f"objects in view during the memory stream (default: {DEFAULT_SOAK_OBJECTS})")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _command_line(args) -> str:
    """The command, rebuilt from the parsed options (for bench.json and the docs)."""
    from tracker.benchmarking.adapters import ALL_TRACKERS

    parts = ["track", "bench"]
    if args.scaling:
        parts.append("--scaling")
        parts += ["--objects", ",".join(map(str, args.objects)), "--measure-frames", str(args.measure_frames),
                  "--soak-frames", str(args.soak_frames), "--soak-objects", str(args.soak_objects)]
    else:
        parts += ["--mot-root", str(args.mot_root)]
        if args.video_root:
            parts += ["--video-root", str(args.video_root)]
        if args.seqs:
            parts += ["--seqs", ",".join(args.seqs)]
        if tuple(args.trackers) != ALL_TRACKERS:
            parts += ["--trackers", ",".join(args.trackers)]
        if args.det_name != "det.txt":
            parts += ["--det-name", args.det_name]
        if args.min_score is not None:
            parts += ["--min-score", str(args.min_score)]
        if args.score_rescale != "auto":
            parts += ["--score-rescale", args.score_rescale]
        if args.no_appearance:
            parts.append("--no-appearance")
        if args.groups:
            parts += ["--groups", args.groups]
    if args.output_dir:
        parts += ["--output-dir", str(args.output_dir)]
    if args.docs:
        parts += ["--docs", str(args.docs)]
    return " ".join(shlex.quote(p) for p in parts)


def _docs_path(args) -> Optional[Path]:
    """The page to rewrite: only one given with ``--docs`` (never a file of the installed package)."""
    return args.docs


def _progress(args):
    if args.quiet:
        return None
    return lambda msg: print(msg, file=sys.stderr, flush=True)


def _relative(path: Path, start: Path) -> str:
    try:
        return str(path.resolve().relative_to(start.resolve()))
    except ValueError:
        return str(path.resolve())


def run(args) -> int:
    return _run_scaling(args) if args.scaling else _run_accuracy(args)


def _run_accuracy(args) -> int:
    from tracker.benchmarking.report import (accuracy_markdown, fairness_statements, format_group_table,
                                             format_table, plot_bench, update_docs_section, write_bench_json)
    from tracker.benchmarking.runner import BenchSettings, run_bench
    from tracker.evaluation import plot_comparison, write_json

    if args.mot_root is None:
        raise InputError("--mot-root is required (or --scaling for the synthetic benchmark)")
    if args.output_dir is None:
        raise InputError("--output-dir is required")
    if not args.trackers:
        raise InputError("--trackers is empty")
    settings = BenchSettings(mot_root=args.mot_root, output_dir=args.output_dir, trackers=tuple(args.trackers),
                             seqs=None if args.seqs is None else tuple(args.seqs), video_root=args.video_root,
                             det_name=args.det_name, min_score=args.min_score, score_rescale=args.score_rescale,
                             use_embedder=not args.no_appearance, groups=args.groups)
    result = run_bench(settings, _progress(args))
    if not result.trackers:
        raise InputError("no tracker could run: " + "; ".join(f"{k}: {v}" for k, v in result.skipped.items()))
    out = Path(args.output_dir)
    command = _command_line(args)
    plot = plot_bench(result, out / "bench.png")
    plot_comparison(result.reports, out / "bench_per_sequence.png", title="track bench")
    write_json(out / "eval.json", result.reports)
    write_bench_json(out / "bench.json", result, command, str(plot))
    print(f"track bench: {len(result.sequences)} sequence(s), combined (counts summed); "
          "frames/s = tracker-only (time inside update); x SORT = its ratio to SORT, same run\n")
    print(format_table(result))
    if result.groups:
        print("\nPer group (counts summed over each group's sequences; best of a group in bold):\n")
        print(format_group_table(result))
    print("\nFairness:")
    for line in fairness_statements(result):
        print(f"- {line}")
    for name, why in result.skipped.items():
        print(f"- not run: {name}: {why}")
    for note in result.notes + result.eval_warnings:
        print(f"- note: {note}")
    docs = _docs_path(args)
    if docs is not None:
        png = docs.parent / f"{docs.stem}_accuracy.png"
        png.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plot, png)
        update_docs_section(docs, "accuracy", accuracy_markdown(result, command, _relative(png, docs.parent)))
        print(f"\nbenchmark page updated: {docs}")
    print(f"results, bench.json, eval.json and plots in {out}/ (wall time {result.wall_seconds:.0f} s)")
    return 0


def _run_scaling(args) -> int:
    from tracker.benchmarking.report import update_docs_section
    from tracker.benchmarking.scaling import (growth_sentence, memory_soak, plot_scaling, scaling_markdown,
                                              scaling_table, scaling_to_dict, soak_summary, time_per_frame)
    from tracker.io.mot import write_text_atomic

    if any(n < 1 for n in args.objects):
        raise InputError(f"--objects must be positive counts, got {args.objects}")
    if args.measure_frames < 1:
        raise InputError(f"--measure-frames must be >= 1, got {args.measure_frames}")
    if args.soak_frames < 0:
        raise InputError(f"--soak-frames must be >= 0, got {args.soak_frames}")
    if args.soak_objects < 1:
        raise InputError(f"--soak-objects must be >= 1, got {args.soak_objects}")
    out = Path(args.output_dir or "bench_scaling")
    OutputGuard(root=out).check_all([out / "scaling.json", out / "scaling.png"], "--output-dir")
    say = _progress(args)
    started = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    t0 = time.perf_counter()
    soak = None
    if args.soak_frames:  # first, so the heap is not already grown by the 400-object timing runs
        sample_every = min(1000, max(1, args.soak_frames // 20))
        soak = memory_soak(args.soak_frames, args.soak_objects, sample_every=sample_every, progress=say)
    scaling = time_per_frame(args.objects, frames=args.measure_frames, progress=say)
    wall = time.perf_counter() - t0
    command = _command_line(args)
    plot = plot_scaling(scaling, soak, out / "scaling.png")
    data = scaling_to_dict(scaling, soak, command, started, wall)
    write_text_atomic(out / "scaling.json", json.dumps(data, indent=1, allow_nan=False) + "\n")
    print("Time per frame inside update (synthetic crossing scenes; mean ms):\n")
    print(scaling_table(scaling))
    print("\n" + growth_sentence(scaling))
    for note in scaling.notes:
        print(f"- note: {note}")
    if soak is not None:
        print("\nMemory: " + soak_summary(soak))
    docs = _docs_path(args)
    if docs is not None:
        png = docs.parent / f"{docs.stem}_scaling.png"
        png.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plot, png)
        update_docs_section(docs, "scaling", scaling_markdown(scaling, soak, command, started, wall,
                                                              _relative(png, docs.parent)))
        print(f"\nbenchmark page updated: {docs}")
    print(f"scaling.json and scaling.png in {out}/ (wall time {wall:.0f} s)")
    return 0
