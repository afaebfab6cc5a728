"""``write_report(folder)``: ``identities.json``, ``crops/`` and ``report.html`` in a results folder."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from tracker.errors import InputError
from tracker.report.crops import extract_crops
from tracker.report.html import render
from tracker.report.identities import build_identities, identities_document
from tracker.report.results import load_results

REPORT_NAME = "report.html"
IDENTITIES_NAME = "identities.json"


@dataclass(frozen=True)
class ReportFiles:
    """What ``write_report`` wrote: the page, ``identities.json``, the crops folder, the number
    of identities and sources, and notes (sources without crops, metrics not computed)."""

    html: Path
    identities: Path
    crops: Path
    identity_count: int
    source_count: int
    notes: tuple


def _metrics(folder: Path, gt_root: Union[str, Path], names: Sequence[str]) -> Dict[str, dict]:
    from tracker.evaluation import evaluate_trackers
    from tracker.io.mot import find_sequences

    known = {f.name for f in find_sequences([Path(gt_root)])}
    seqs = [n for n in names if n in known]
    if not seqs:
        return {}
    report = evaluate_trackers(gt_root, {"results": folder}, seqs=seqs)["results"]
    out = {name: r.summary() for name, r in report.per_sequence.items()}
    if len(out) > 1:
        out["COMBINED"] = report.combined.summary()
    return out


def write_report(folder: Union[str, Path], *, global_ids: bool = False, gt_root: Optional[Union[str, Path]] = None,
                 title: str = "") -> ReportFiles:
    """Write ``report.html``, ``identities.json`` and ``crops/`` into ``folder`` (the output
    folder of one or several ``track`` runs). ``global_ids``: the ids are the same identity in
    every source (``track link`` output). ``gt_root``: MOTChallenge sequences; sources with the
    name of one are scored and the metrics shown."""
    folder = Path(folder)
    sources = load_results(folder)
    identities = build_identities(sources, global_ids=global_ids)
    notes: List[str] = extract_crops(folder, sources, identities)
    metrics = {}
    if gt_root is not None:
        if not Path(gt_root).is_dir():
            raise InputError(f"gt_root {gt_root}: not a folder of MOTChallenge sequences", "gt_root")
        metrics = _metrics(folder, gt_root, [s.name for s in sources])
        if not metrics:
            notes.append(f"no source is named like a sequence of {gt_root}: no metrics")
    from tracker.io.mot import write_text_atomic

    ids_path = folder / IDENTITIES_NAME
    write_text_atomic(ids_path, json.dumps(identities_document(sources, identities, global_ids), indent=1) + "\n")
    page = folder / REPORT_NAME
    write_text_atomic(page, render(folder, sources, identities, metrics, notes, title))
    return ReportFiles(page, ids_path, folder / "crops", len(identities), len(sources), tuple(notes))
