"""End-to-end speed of ``track VIDEO``: decode, detect, embed, associate, annotate, write.

Prints a markdown table (and writes JSON with ``--json``): for each variant, the frames/s of
the whole loop (files written as ``track`` writes them), the real-time factor (frames/s over
the video's own frame rate: > 1 is faster than real time) and the share of time per stage.
With ``--gt`` (a MOTChallenge gt file for the video) it also reports HOTA / MOTA / IDF1.

Variants run one after another in this process on the same video:

* ``default``: what ``track VIDEO`` does (embedded detector with its automatic tile grid,
  appearance ``auto``, annotated video);
* ``motion-only``: ``default`` without the appearance embedder (``--appearance off``);
* ``whole-frame``: the embedded detector on the whole frame only (``--tiles 1x1``);
* ``no-video``: ``default`` without the annotated video.

With ``--baseline REF`` (a reference install: its Python interpreter, e.g. the previous
release in its own venv, or a source folder run with this interpreter) it instead runs
``track VIDEO`` (the command itself, in a subprocess, with ``--end`` when ``--frames`` is given)
with REF and with this checkout, alternating, ``--repeats`` times on each video, and prints
per video: the ratio of wall times (median over repeats of baseline / current, each pair run
back to back), frames/s and CPU seconds per frame of both, the current run's per-stage shares,
peak memory, and HOTA / MOTA / IDF1 of both (scored by this checkout's evaluator). The
machine (CPU model, cores, load average before and after) is printed with the table;
``--write-docs`` also replaces the generated blocks of README.md and docs/detector.md.

Usage (from the repository root)::

    python benchmarks/end_to_end.py                                   # data/vtest.avi, 2 threads
    python benchmarks/end_to_end.py --gt ../shared/data/video/vtest.gt.txt --json out/e2e.json
    python benchmarks/end_to_end.py --video ../shared/data/video/TUD-Stadtmitte.mp4 \\
        --gt ../shared/data/mot/TUD-Stadtmitte/gt/gt.txt --variants default
    python benchmarks/end_to_end.py --baseline /tmp/baseline-venv/bin/python --repeats 3 --write-docs
    python benchmarks/end_to_end.py --baseline /tmp/baseline-src --frames 200 --repeats 1
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.detectors import default_detector  # noqa: E402
from tracker.pipeline import STAGES, FileRun  # noqa: E402
from tracker.io.sources import open_source  # noqa: E402
from side_by_side import add_baseline_arguments, run_side_by_side  # noqa: E402

VARIANTS = {
    # name: (tiles: "auto" or (rows, cols), write the annotated video, appearance: None = --appearance)
    "default": ("auto", True, None),
    "motion-only": ("auto", True, "off"),
    "whole-frame": ((1, 1), True, None),
    "no-video": ("auto", False, None),
}


def run_variant(video: Path, name: str, threads: int, appearance: str, end, gt, out_dir: Path) -> dict:
    tiles, write_video, forced = VARIANTS[name]
    appearance = forced or appearance
    source = open_source(video, end=end)
    detector = default_detector(threads=threads, **({} if tiles == "auto" else {"tiles": tiles}))
    tiles_for = getattr(detector.config, "tiles_for", None)
    grid = tiles_for(source.info.width, source.info.height) if tiles_for else detector.config.tiles
    t0 = time.perf_counter()
    with FileRun(source, detector, output_dir=out_dir / name, video=write_video, embedder=appearance) as job:
        for _ in job:
            pass
    wall = time.perf_counter() - t0
    s = job.summary
    row = {
        "variant": name, "tiles": f"{grid[0]}x{grid[1]}", "frames": s["frames_processed"],
        "seconds": round(wall, 2), "frames_per_second": round(s["frames_processed"] / wall, 2),
        "realtime_factor": round(s["frames_processed"] / wall / source.info.fps, 2),
        "stage_seconds": s["stage_seconds"], "stage_share": s["stage_share"], "appearance": s["appearance"],
    }
    if gt is not None:
        from tracker.evaluation import evaluate_files

        report = evaluate_files(gt, out_dir / name / s["files"]["mot"], fps=source.info.fps,
                                seq_length=source.info.frame_count if end is None else s["frames_processed"],
                                benchmark="MOT15" if "MOT17" not in Path(gt).as_posix() else "MOT17")
        m = report.combined.summary()
        row.update({k: round(100 * m[k], 2) for k in ("HOTA", "MOTA", "IDF1")})
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", type=Path, default=ROOT / "data" / "vtest.avi")
    ap.add_argument("--gt", type=Path, help="MOTChallenge gt file of the video (adds HOTA, MOTA, IDF1)")
    ap.add_argument("--threads", type=int, default=2, help="detector CPU threads (default 2)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, from {list(VARIANTS)}")
    ap.add_argument("--appearance", default="auto", choices=("auto", "on", "off"))
    ap.add_argument("--end", help="stop early (frames, or seconds with 's')")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON here")
    add_baseline_arguments(ap)
    args = ap.parse_args()
    os.environ.setdefault("OPENCV_LOG_LEVEL", "FATAL")
    if args.baseline is not None:
        return run_side_by_side(args, ROOT)
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    if args.gt is not None and not args.gt.is_file():
        ap.error(f"{args.gt}: not found")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            rows.append(run_variant(args.video, name, args.threads, args.appearance, args.end, args.gt, Path(tmp)))
    source = open_source(args.video)
    info = source.info
    source.close()
    print(f"\n{args.video.name}: {info.width}x{info.height}, {info.fps:g} frames/s; detector threads {args.threads}; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible\n")
    quality = args.gt is not None
    head = "| variant | tiles | frames | frames/s | x real time | " + " | ".join(f"{s} %" for s in STAGES)
    head += " | HOTA | MOTA | IDF1 |" if quality else " |"
    print(head)
    print("|" + "---|" * (5 + len(STAGES) + (3 if quality else 0)))
    base = rows[0]["frames_per_second"] if rows else 1.0
    for r in rows:
        line = (f"| {r['variant']} | {r['tiles']} | {r['frames']} | {r['frames_per_second']:.1f} "
                f"({r['frames_per_second'] / base:.2f}x) | {r['realtime_factor']:.2f} | "
                + " | ".join(f"{100 * r['stage_share'][s]:.0f}" for s in STAGES))
        line += f" | {r['HOTA']:.1f} | {r['MOTA']:.1f} | {r['IDF1']:.1f} |" if quality else " |"
        print(line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"video": str(args.video), "threads": args.threads, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
