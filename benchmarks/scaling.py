"""Scaling and memory benchmark on synthetic crossing scenes (same as ``track bench --scaling``).

Time per frame (inside ``update``) of ours and SORT for 10, 25, 50, 100, 200 and 400 objects
per frame, next to the assignment alone; resident memory of ours over a 100,000-frame stream of
objects entering and leaving. Prints markdown tables, writes DIR/scaling.json and
DIR/scaling.png, and rewrites the scaling section of docs/benchmarks.md (``--docs PATH`` for
another page).
A benchmark, not a test: it never fails on a number.

Usage:
    python benchmarks/scaling.py                         # full run (several minutes)
    python benchmarks/scaling.py --soak-frames 20000 --objects 10,50,200 --docs /tmp/s.md --output-dir /tmp/s
    python benchmarks/scaling.py --help                  # every option of `track bench`
"""
from __future__ import annotations

import sys

from pathlib import Path

from tracker.cli import main

#: the page this script regenerates (``track bench`` itself writes a page only when given one)
DOCS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--docs" not in args:
        args += ["--docs", str(DOCS_PAGE)]
    sys.exit(main(["bench", "--scaling", *args]))
