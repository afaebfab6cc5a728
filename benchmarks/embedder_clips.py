"""Detect, cut and crop every unlabeled clip once (cache for ``track train --unlabeled``).

    python benchmarks/embedder_clips.py [--unlabeled ../shared/data/unlabeled] [--threads 1]

Prints one line per clip (crops, detected frames, cuts, seconds); the crops are cached under
``~/.cache/identitrack/embedder-clips`` (``tracker.training.clips``).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.detectors import default_detector  # noqa: E402
from tracker.training.data import CLIP_CACHE, CropConfig, detect_unlabeled_clip  # noqa: E402
from tracker.training.unlabeled import read_sources  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--unlabeled", default=str(ROOT.parent / "shared" / "data" / "unlabeled"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    detector = default_detector(threads=args.threads)
    total = 0
    for clip in read_sources(args.unlabeled):
        t0 = time.time()
        data = detect_unlabeled_clip(clip.path, detector, CropConfig(), CLIP_CACHE)
        total += len(data["frames"])
        print(f"{clip.path.relative_to(args.unlabeled)}\t{len(data['frames'])} crops\t{len(data['sampled'])} frames\t"
              f"cuts {list(data['cuts'])}\t{time.time() - t0:.1f} s", flush=True)
    print(f"total {total} crops")
    return 0


if __name__ == "__main__":
    sys.exit(main())
