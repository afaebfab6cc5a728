"""Batch throughput: frames per second over a whole ``track batch`` for 1, 2, ... workers.

Each configuration ``WxT`` (W workers of T threads each) tracks the same sources from
scratch (a fresh output folder, nothing skipped) with the same settings, and the table shows
wall-clock seconds (worker start-up and model loading included: what a user waits; with
``--engine ray`` the Ray instance or connection is made once before the runs), frames,
frames/s over the batch, the speed-up against the first configuration and the CPU seconds
spent (this process and the local engine's worker processes). Every run's MOT
files are compared with the first run's: they must be identical (``same MOT``).

Data (read from ``../shared/data``, never copied): the videos of ``video/`` named in
``--sources`` (default: TUD-Campus, TUD-Stadtmitte, PETS09-S2L1 and vtest), first ``--end``
frames of each.

Run from the repository root::

    python benchmarks/batch_throughput.py                       # local engine, 1x1, 2x1, 1x2
    python benchmarks/batch_throughput.py --end 100 --configs 1x1,2x1 --json out/batch.json
    python benchmarks/batch_throughput.py --engine ray --configs 2x1,4x1    # a local Ray instance
    python benchmarks/batch_throughput.py --engine ray --address auto --configs 8x1,16x1,32x1

On a multi-node Ray cluster: start the head (``ray start --head --port 6379``) and each
worker node (``ray start --address HEAD:6379``) with identitrack installed in the same
Python environment on every node, put the videos and the output folder on a filesystem every
node mounts at the same path (``--data``, ``--output``), then run this script on the head
with ``--engine ray --address auto`` (or from elsewhere with ``--address ray://HEAD:10001``).
The machine this was measured on has 2 cores shared with other work: numbers are noisy.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.batch import BatchRun, expand_sources, make_engine  # noqa: E402
from tracker.batch.worker import WorkerSettings  # noqa: E402
from tracker.run import DetectorSpec, OutputSpec, RunSpec, SourceSpec  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
DEFAULT_SOURCES = "TUD-Campus.mp4,TUD-Stadtmitte.mp4,PETS09-S2L1.mp4,vtest.avi"


def parse_configs(text: str) -> list:
    out = []
    for item in text.split(","):
        w, _, t = item.strip().lower().partition("x")
        out.append((int(w), int(t or 1)))
    return out


def run_config(sources, engine_name, address, workers, threads, end, output_root, appearance):
    out = Path(output_root) / f"{engine_name}_{workers}x{threads}"
    shutil.rmtree(out, ignore_errors=True)
    spec = RunSpec(source=SourceSpec(end=end), output=OutputSpec(output_dir=str(out.resolve()), video=False),
                   detector=DetectorSpec(threads=threads), appearance=appearance)
    settings = WorkerSettings(spec=spec, threads=threads)
    tasks, _ = expand_sources(sources)
    engine = make_engine(engine_name, settings, workers, address)
    batch = BatchRun(tasks, settings, engine, redo=True)
    cpu0 = _cpu_seconds()
    t0 = time.monotonic()
    for _ in batch:
        pass
    wall = time.monotonic() - t0
    cpu = _cpu_seconds() - cpu0  # this process + the pool's processes (reaped at the end); not Ray's
    failed = [r for r in batch.ordered() if r.status != "done"]
    if failed:
        raise SystemExit(f"{len(failed)} source(s) did not complete: {[(r.spec, r.status, r.error) for r in failed]}")
    mot = {t.folder: b"".join(p.read_bytes() for p in sorted((out / t.folder).glob("*.txt"))) for t in tasks}
    return {"engine": engine_name, "workers": engine.workers, "threads": threads, "sources": len(tasks),
            "frames": batch.frames, "wall_s": round(wall, 2), "frames_per_s": round(batch.frames / wall, 2),
            "cpu_s": round(cpu, 1) if engine_name == "local" else None,
            "source_seconds": round(sum(r.seconds for r in batch.ordered()), 2)}, mot


def _cpu_seconds() -> float:
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", default=DEFAULT_SOURCES, help="comma-separated video names under --data")
    ap.add_argument("--data", type=Path, default=DATA / "video", help="folder of the videos")
    ap.add_argument("--end", default="60", help="frames per source (default 60)")
    ap.add_argument("--configs", default="1x1,2x1,1x2", help="WORKERSxTHREADS, comma-separated (default 1x1,2x1,1x2)")
    ap.add_argument("--engine", choices=("local", "ray"), default="local")
    ap.add_argument("--address", help="Ray cluster address (default: start a local instance)")
    ap.add_argument("--appearance", choices=("auto", "on", "off"), default="auto")
    ap.add_argument("--output", type=Path, help="where the runs write (default: a temporary folder)")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = ap.parse_args()
    sources = [args.data / name.strip() for name in args.sources.split(",") if name.strip()]
    missing = [str(s) for s in sources if not s.exists()]
    if missing:
        print(f"skipped: data not found: {', '.join(missing)} (see ../shared/data/README.md)", file=sys.stderr)
        return 0
    output_root = args.output or Path(tempfile.mkdtemp(prefix="batch_throughput_"))
    if args.engine == "ray":  # connect once: the runs measure tracking, not starting a Ray instance
        import logging

        import ray

        ray.init(address=args.address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                 **({} if args.address else {"num_cpus": os.cpu_count()}))
    load_before = " ".join(f"{v:.1f}" for v in os.getloadavg())
    rows, first_mot = [], None
    for workers, threads in parse_configs(args.configs):
        row, mot = run_config([str(s) for s in sources], args.engine, args.address, workers, threads, args.end,
                              output_root, args.appearance)
        first_mot = first_mot or mot
        row["same_mot"] = mot == first_mot
        rows.append(row)
        print(f"  {workers}x{threads}: {row['frames']} frames in {row['wall_s']} s", file=sys.stderr, flush=True)
    base = rows[0]["frames_per_s"]
    print(f"\n`track batch` throughput, {args.engine} engine, {len(sources)} videos x first {args.end} frames, "
          f"annotated video off, appearance {args.appearance}; {os.cpu_count()} CPUs\n")
    print("| workers x threads | frames | wall s | frames/s | speed-up | CPU s | frames per CPU s | same MOT |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        cpu = "-" if r["cpu_s"] is None else f"{r['cpu_s']:.1f}"
        per_cpu = "-" if not r["cpu_s"] else f"{r['frames'] / r['cpu_s']:.1f}"
        print(f"| {r['workers']} x {r['threads']} | {r['frames']} | {r['wall_s']:.1f} | {r['frames_per_s']:.1f} | "
              f"{r['frames_per_s'] / base:.2f} | {cpu} | {per_cpu} | {'yes' if r['same_mot'] else 'NO'} |")
    print(f"\nload average before the runs: {load_before}; after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"engine": args.engine, "end": args.end, "sources": [s.name for s in sources],
                                         "rows": rows}, indent=2))
    if args.output is None:
        shutil.rmtree(output_root, ignore_errors=True)
    return 0 if all(r["same_mot"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
