"""Do two installs of identitrack write the same results? (the run-layer refactor's check)

Runs the same three commands with a baseline checkout and with this one, each in its own
interpreter process (``PYTHONPATH`` set to the checkout), and compares what they wrote:

* ``track data/vtest.avi --no-video``                    (embedded detector + appearance)
* ``track mot ../shared/data/mot``                       (every development sequence, det files)
* ``track batch TUD-Campus.mp4 TUD-Stadtmitte/ --no-video``   (a video and a MOT sequence folder)
* the associator-training simulation (``tracker.training.associator_data.simulate``) on two
  sequences with every default variant: a hash of all recorded problems' arrays
* ``track bench`` on three sequences with ours, the core, SORT, ByteTrack and BoT-SORT (their
  ``<tracker>/<SEQ>.txt`` results only: the report and plots record speed)

MOT files must be identical byte for byte; JSONL files too; summaries must be equal on every
key both record, except the keys that record time or paths (``TIME_KEYS``); keys only the
current one records (fields added since the baseline) are listed, not counted as differences.
Prints a markdown table and exits 1 when anything differs.

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
             "finished_at", "output_dir", "worker", "folder", "tracker_seconds", "elapsed_seconds",
             "traceback", "engine", "workers", "threads", "wait_seconds"}

COMMANDS = {
    "vtest": lambda out: ["data/vtest.avi", "--no-video", "-q", "-o", str(out)],
    "mot": lambda out: ["mot", str(SHARED / "mot"), "--output-dir", str(out)],
    "batch": lambda out: ["batch", str(SHARED / "video" / "TUD-Campus.mp4"), str(SHARED / "mot" / "TUD-Stadtmitte"),
                          "--no-video", "-q", "-o", str(out), "--workers", "1", "--threads", "1"],
    "bench": lambda out: ["bench", "--mot-root", str(SHARED / "mot"),
                          "--seqs", "TUD-Campus,ETH-Sunnyday,MOT17-05-FRCNN",
                          "--trackers", "ours,ours-iou,sort,bytetrack,botsort", "--output-dir", str(out), "--quiet",
                          "--no-docs"],  # the baseline rewrote its checkout's docs page without it
}
#: runs that are Python code, not a ``track`` command: they write their result into the folder
SIMULATION = """
import hashlib, sys
from pathlib import Path
import numpy as np
from tracker.config import TrackerConfig
from tracker.training.associator_data import default_variants, load_sequence, simulate
digest = hashlib.sha256()
for name in ("TUD-Campus", "ETH-Sunnyday"):
    seq = load_sequence(Path(sys.argv[1]) / name)
    for variant in default_variants(0):
        for p in simulate(seq, TrackerConfig(associator="iou"), variant):
            for a in (p.history, p.history_mask, p.track_globals, p.det_tokens, p.pairs, p.track_ids, p.det_ids):
                digest.update(np.ascontiguousarray(a).tobytes())
out = Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
(out / "problems.sha256").write_text(digest.hexdigest() + "\\n")
"""
CODE = {"simulation": lambda out: [SIMULATION, str(SHARED / "mot"), str(out)]}
#: the files compared per run (all when not listed)
COMPARED = {"bench": "*/*.txt"}


def run_track(checkout: Path, args: list, log: Path, code: str = "") -> int:
    """``track ARGS`` (or Python ``code`` with ``ARGS``) with the package of ``checkout``, in its
    own process (cwd = checkout)."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    code = code or "import sys; from tracker.cli import main; sys.exit(main(sys.argv[1:]))"
    with open(log, "w") as fh:
        return subprocess.call([sys.executable, "-c", code, *args], cwd=checkout, env=env, stdout=fh,
                               stderr=subprocess.STDOUT)


def _commit(checkout: Path) -> str:
    """The short commit of a checkout (with ``+changes`` when its tree differs from it)."""
    def git(*args):
        return subprocess.run(["git", "-C", str(checkout), *args], capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def strip_times(value):
    if isinstance(value, dict):
        return {k: strip_times(v) for k, v in value.items() if k not in TIME_KEYS}
    if isinstance(value, list):
        return [strip_times(v) for v in value]
    return value


#: summary keys only the current install writes (filled by ``compare_trees``)
ADDED_KEYS: set = set()


def compare_trees(a: Path, b: Path, pattern: str = "**/*") -> list:
    """-> a list of differences between two output folders (empty when equivalent); only the
    files matching ``pattern`` (relative to the folder) are compared."""
    diffs = []
    names_a = {p.relative_to(a) for p in a.glob(pattern) if p.is_file()}
    names_b = {p.relative_to(b) for p in b.glob(pattern) if p.is_file()}
    for missing in sorted(names_a ^ names_b):
        diffs.append(f"{missing}: only in {'baseline' if missing in names_a else 'current'}")
    for rel in sorted(names_a & names_b):
        fa, fb = a / rel, b / rel
        if rel.name.endswith(".json"):
            old, new = strip_times(json.loads(fa.read_text())), strip_times(json.loads(fb.read_text()))
            added = sorted(set(new) - set(old)) if isinstance(new, dict) and isinstance(old, dict) else []
            if added:
                ADDED_KEYS.update(added)
                new = {k: v for k, v in new.items() if k not in added}
            if old != new:
                both_dicts = isinstance(old, dict) and isinstance(new, dict)
                keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k)) if both_dicts else []
                diffs.append(f"{rel}: summaries differ (time keys ignored): {', '.join(keys)}")
        elif fa.read_bytes() != fb.read_bytes():
            diffs.append(f"{rel}: bytes differ")
    return diffs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout of the reference version")
    runs = list(COMMANDS) + list(CODE)
    parser.add_argument("--only", default=",".join(runs), help=f"comma-separated subset of {runs}")
    parser.add_argument("--keep", type=Path, help="keep the outputs in this folder")
    parser.add_argument("--docs", type=Path, help="also write the table to this markdown page")
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
            if name in CODE:
                source, *rest = CODE[name](out)
                code = run_track(checkout, rest, work / f"{label}-{name}.log", source)
            else:
                code = run_track(checkout, COMMANDS[name](out), work / f"{label}-{name}.log")
            outs[label] = (out, code)
        (out_a, code_a), (out_b, code_b) = outs["baseline"], outs["current"]
        diffs = compare_trees(out_a, out_b, COMPARED.get(name, "**/*"))
        if code_a != code_b:
            diffs.insert(0, f"exit codes {code_a} vs {code_b}")
        n_files = sum(1 for p in out_b.rglob("*") if p.is_file())
        failed |= bool(diffs)
        rows.append((name, code_a, code_b, n_files, "identical" if not diffs else "; ".join(diffs[:5])))
    lines = ["| run | exit (baseline) | exit (current) | files | result |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    if ADDED_KEYS:
        lines += ["", f"Summary keys added since the baseline (not compared): {', '.join(sorted(ADDED_KEYS))}."]
    print("\n".join(lines))
    print(f"\noutputs in {work}")
    if args.docs:
        import datetime

        head = [f"# Run-layer equivalence: {args.baseline.name} vs this checkout", "",
                "Generated by `python benchmarks/run_layer_equivalence.py --baseline BASELINE --docs "
                f"{args.docs}` on {datetime.date.today().isoformat()} (BASELINE: a checkout of "
                f"`{_commit(args.baseline)}`; this checkout: `{_commit(ROOT)}`); do not edit by hand. MOT and "
                "JSONL files are compared byte for byte, summaries on every key both record except time and "
                "paths, the training simulation by a hash of every recorded problem.", ""]
        args.docs.write_text("\n".join(head + lines) + "\n")
        print(f"wrote {args.docs}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
