"""Do two installs of identitrack write the same results? (the run-layer refactor's check)

Runs the same three commands with a baseline checkout and with this one, each in its own
interpreter process (``PYTHONPATH`` set to the checkout), and compares what they wrote:

* ``track data/vtest.avi --no-video``                    (embedded detector + appearance)
* ``track mot ../shared/data/mot``                       (every development sequence, det files)
* ``track batch TUD-Campus.mp4 TUD-Stadtmitte/ --no-video``   (a video and a MOT sequence folder)

MOT files must be identical byte for byte; JSONL files too; summaries must be equal except
for the keys that record time or paths (``TIME_KEYS``). Prints a markdown table and exits 1
when anything differs.

Usage (from the repository root; the baseline is any checkout, e.g. ``git worktree add
/tmp/base 539124a``)::

    python benchmarks/run_layer_equivalence.py --baseline /tmp/base
    python benchmarks/run_layer_equivalence.py --baseline /tmp/base --only mot,batch
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

#: summary keys that record when, how fast or where: not part of the result
TIME_KEYS = {"seconds", "processing_seconds", "frames_per_second", "stage_seconds", "stage_share", "started_at",
             "finished_at", "output_dir", "worker", "folder", "tracker_seconds", "elapsed_seconds", "batch",
             "traceback", "engine", "workers", "threads"}

COMMANDS = {
    "vtest": lambda out: ["data/vtest.avi", "--no-video", "-q", "-o", str(out)],
    "mot": lambda out: ["mot", str(SHARED / "mot"), "--output-dir", str(out)],
    "batch": lambda out: ["batch", str(SHARED / "video" / "TUD-Campus.mp4"), str(SHARED / "mot" / "TUD-Stadtmitte"),
                          "--no-video", "-q", "-o", str(out), "--workers", "1", "--threads", "1"],
}


def run_track(checkout: Path, args: list, log: Path) -> int:
    """``track ARGS`` with the package of ``checkout``, in its own process (cwd = checkout)."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    code = "import sys; from tracker.cli import main; sys.exit(main(sys.argv[1:]))"
    with open(log, "w") as fh:
        return subprocess.call([sys.executable, "-c", code, *args], cwd=checkout, env=env, stdout=fh,
                               stderr=subprocess.STDOUT)


def strip_times(value):
    if isinstance(value, dict):
        return {k: strip_times(v) for k, v in value.items() if k not in TIME_KEYS}
    if isinstance(value, list):
        return [strip_times(v) for v in value]
    return value


def compare_trees(a: Path, b: Path) -> list:
    """-> a list of differences between two output folders (empty when equivalent)."""
    diffs = []
    names_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    names_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    for missing in sorted(names_a ^ names_b):
        diffs.append(f"{missing}: only in {'baseline' if missing in names_a else 'current'}")
    for rel in sorted(names_a & names_b):
        fa, fb = a / rel, b / rel
        if rel.name.endswith(".json"):
            if strip_times(json.loads(fa.read_text())) != strip_times(json.loads(fb.read_text())):
                diffs.append(f"{rel}: summaries differ (time keys ignored)")
        elif fa.read_bytes() != fb.read_bytes():
            diffs.append(f"{rel}: bytes differ")
    return diffs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout of the reference version")
    parser.add_argument("--only", default=",".join(COMMANDS), help=f"comma-separated subset of {list(COMMANDS)}")
    parser.add_argument("--keep", type=Path, help="keep the outputs in this folder")
    args = parser.parse_args(argv)
    if not (args.baseline / "tracker").is_dir():
        parser.error(f"--baseline {args.baseline}: not a checkout of identitrack (no tracker/ in it)")
    if not SHARED.is_dir():
        print(f"development data not found at {SHARED}: nothing to compare", file=sys.stderr)
        return 2
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="equivalence-"))
    work.mkdir(parents=True, exist_ok=True)
    rows, failed = [], False
    for name in args.only.split(","):
        outs = {}
        for label, checkout in (("baseline", args.baseline.resolve()), ("current", ROOT)):
            out = work / label / name
            code = run_track(checkout, COMMANDS[name](out), work / f"{label}-{name}.log")
            outs[label] = (out, code)
        (out_a, code_a), (out_b, code_b) = outs["baseline"], outs["current"]
        diffs = compare_trees(out_a, out_b)
        if code_a != code_b:
            diffs.insert(0, f"exit codes {code_a} vs {code_b}")
        n_files = sum(1 for p in out_b.rglob("*") if p.is_file())
        failed |= bool(diffs)
        rows.append((name, code_a, code_b, n_files, "identical" if not diffs else "; ".join(diffs[:5])))
    print("| run | exit (baseline) | exit (current) | files | result |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(str(v) for v in row) + " |")
    print(f"\noutputs in {work}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
