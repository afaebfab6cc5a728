"""Embedder speed: milliseconds to embed the detections of one frame (default 30 crops) on
CPU with a given number of threads, cropping included.

    python benchmarks/embedder_speed.py [--crops 30] [--threads 2] [--weights PATH] [--json OUT]

Prints a markdown table. Budget (issue): <= 30 ms per 30 crops on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.embedding import Embedder, colour_histograms  # noqa: E402
from tracker.embedding.crops import crop_patches  # noqa: E402


def _time(fn, repeats: int) -> list:
    for _ in range(5):
        fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000.0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--crops", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--weights", default=None,
                    help="weights file (default: the shipped embedder, or random init if absent)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    try:
        emb = Embedder.from_spec(args.weights, threads=args.threads)
    except ValueError:
        emb = Embedder.random(threads=args.threads)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (576, 768, 3), dtype=np.uint8)
    x1 = rng.uniform(0, 700, args.crops)
    y1 = rng.uniform(0, 400, args.crops)
    boxes = np.stack([x1, y1, x1 + rng.uniform(20, 60, args.crops), y1 + rng.uniform(50, 160, args.crops)], 1)
    rows = []
    for name, fn in (
        ("crop + resize", lambda: crop_patches(frame, boxes, emb.input_size)),
        ("learned embedding (crop included)", lambda: emb.embed(frame, boxes)),
        ("fused embedding + histogram (crop included)", lambda: emb.embed_fused(frame, boxes)),
        ("colour histogram only (crop included)",
         lambda: colour_histograms(crop_patches(frame, boxes, emb.input_size))),
    ):
        t = _time(fn, args.repeats)
        rows.append({"what": name, "median_ms": statistics.median(t), "p90_ms": float(np.percentile(t, 90))})
    print(f"| {args.crops} crops, {args.threads} threads, torch {torch.__version__} | median ms | p90 ms |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r['what']} | {r['median_ms']:.1f} | {r['p90_ms']:.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"crops": args.crops, "threads": args.threads, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
