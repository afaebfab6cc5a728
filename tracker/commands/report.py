"""``track report DIR``: an HTML page of a results folder (one or several ``track`` runs)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = """Write DIR/report.html, DIR/identities.json and DIR/crops/ for a folder of track
results (<stem>.jsonl + <stem>.summary.json per source, as track SOURCE -o DIR or track batch
write them). The page is self-contained (no network): counts, a timeline per source of who is
visible when, one card per identity with crops over time (cut from the source video when it is
still there, else from the annotated video), links to the videos, and metrics with --gt-root."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("folder", type=Path, metavar="DIR", help="the results folder")
    parser.add_argument("--global-ids", action="store_true",
                        help="the ids are the same identity in every source (track link output); default: per source")
    parser.add_argument("--gt-root", type=Path, metavar="ROOT",
                        help="MOTChallenge sequences: sources named like one are scored and the metrics shown")
    parser.add_argument("--title", help="the page title (default: from the folder name)")


def run(args) -> int:
    from tracker.report import write_report

    files = write_report(args.folder, global_ids=args.global_ids, gt_root=args.gt_root, title=args.title or "")
    for note in files.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{files.identity_count} identities in {files.source_count} source"
          f"{'s' if files.source_count != 1 else ''}: wrote {files.html}, {files.identities.name}, "
          f"{files.crops.name}/")
    return 0
