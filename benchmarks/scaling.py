"""Scaling and memory benchmark on synthetic crossing scenes (same as ``track bench --scaling``).

Time per frame (inside ``update``) of ours and SORT for 10, 25, 50, 100, 200 and 400 objects
per frame, next to the assignment alone; resident memory of ours over a 100,000-frame stream of
objects entering and leaving. Prints markdown tables, writes DIR/scaling.json and
DIR/scaling.png, and rewrites the scaling section of docs/benchmarks.md (``--no-docs`` to skip).
A benchmark, not a test: it never fails on a number.

Usage:
    python benchmarks/scaling.py                         # full run (several minutes)
    python benchmarks/scaling.py --soak-frames 20000 --objects 10,50,200 --no-docs --output-dir /tmp/s
    python benchmarks/scaling.py --help                  # every option of `track bench`
"""
from __future__ import annotations

import sys

from tracker.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--scaling", *sys.argv[1:]]))
