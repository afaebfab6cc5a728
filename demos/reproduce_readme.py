"""Reproduce the README's example result: ``track data/vtest.avi`` and its numbers.

Runs the README's main command (the embedded detector, default settings) on the shipped
sample ``data/vtest.avi`` into ``--output-dir`` (default ``out/readme/``), then, when the
development data is present, scores the MOT file against ``../shared/data/video/vtest.gt.txt``
(MOT15 conventions, our TrackEval-compatible evaluator) and prints the README table.

    python demos/reproduce_readme.py
    python demos/reproduce_readme.py --output-dir /tmp/readme --no-video
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GT = ROOT.parent / "shared" / "data" / "video" / "vtest.gt.txt"
VIDEO = ROOT / "data" / "vtest.avi"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--output-dir", type=Path, default=ROOT / "out" / "readme")
    ap.add_argument("--no-video", action="store_true", help="skip the annotated video (faster)")
    args = ap.parse_args()
    cmd = [sys.executable, "-m", "tracker.cli", str(VIDEO), "--output-dir", str(args.output_dir)]
    if args.no_video:
        cmd.append("--no-video")
    print("$ track data/vtest.avi --output-dir", args.output_dir, "--no-video" if args.no_video else "", flush=True)
    code = subprocess.call(cmd, cwd=ROOT)
    if code != 0:
        return code
    summary = json.loads((args.output_dir / "vtest.summary.json").read_text())
    print()
    if not GT.is_file():
        print(f"(ground truth not found at {GT}: numbers skipped, see ../shared/data/README.md)")
        return 0
    sys.path.insert(0, str(ROOT))
    from tracker.evaluation import evaluate_files

    report = evaluate_files(GT, args.output_dir / "vtest.txt", fps=summary["source"]["fps"],
                            seq_length=summary["source"]["frame_count"], benchmark="MOT15")
    m = report.combined.summary()
    print("| video | frames | HOTA | MOTA | IDF1 | ID switches | tracks | frames/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| vtest.avi (480x360, 10 fps) | {summary['frames_processed']} | {100 * m['HOTA']:.1f} | "
          f"{100 * m['MOTA']:.1f} | {100 * m['IDF1']:.1f} | {int(m['IDSW'])} | {summary['tracks']} | "
          f"{summary['frames_per_second']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
