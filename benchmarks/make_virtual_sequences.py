"""Generate virtual moving-camera variants of the development sequences (deterministic, seeded).

For every MOTChallenge sequence under --mot-root and every seed, writes
``OUT/mot/<SEQ>-vcam<seed>/`` (seqinfo.ini, gt/gt.txt, det/*.txt mapped by the virtual camera,
``tracker.benchmarking.virtual_camera``) and, where ``--video-root/<SEQ>.mp4`` exists, the moving
view of its real frames as ``OUT/video/<SEQ>-vcam<seed>.mp4``. The generated sequences are a
separate benchmark group (``-vcam`` in the name); they never replace the real ones.

Usage: python benchmarks/make_virtual_sequences.py [--seeds 1,2,3] [--out build/virtual]
Then:  track bench --mot-root build/virtual/mot --groups camera ...
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def decoded_frames(path: Path):
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield frame
    finally:
        cap.release()


def generate(mot_root: Path, video_root: Path, out: Path, seeds, with_video: bool = True, seqs=None) -> list:
    from tracker.benchmarking.virtual_camera import make_virtual_sequence
    from tracker.io.mot import find_sequences

    made = []
    for seq in find_sequences([mot_root]):
        if seqs and seq.name not in seqs:
            continue
        video = video_root / f"{seq.name}.mp4"
        for seed in seeds:
            frames = decoded_frames(video) if with_video and video.is_file() else None
            made.append(make_virtual_sequence(seq, out / "mot", seed, frames=frames, video_dir=out / "video"))
    return made


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mot-root", type=Path, default=DATA / "mot")
    parser.add_argument("--video-root", type=Path, default=DATA / "video")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "virtual")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated integer seeds (default 1,2,3)")
    parser.add_argument("--seqs", default="", help="comma-separated sequence names (default: all)")
    parser.add_argument("--no-video", action="store_true", help="boxes only: skip the moving-view videos")
    args = parser.parse_args(argv)
    if not args.mot_root.is_dir():
        print(f"--mot-root {args.mot_root}: not a folder (the development data is absent)", file=sys.stderr)
        return 2
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    seqs = {s.strip() for s in args.seqs.split(",") if s.strip()}
    t0 = time.perf_counter()
    made = generate(args.mot_root, args.video_root, args.out, seeds, not args.no_video, seqs)
    for v in made:
        print(f"{v.name}: {v.size[0]}x{v.size[1]}" + (f", video {v.video}" if v.video else ""))
    print(f"{len(made)} sequences in {time.perf_counter() - t0:.0f} s under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
