"""Presenting evaluation results: markdown tables, JSON, and a comparison plot.

Tables show ratios as percentages (points); JSON keeps fractions in [0, 1] and every count.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterable, List, Mapping, Sequence, Union

from tracker.errors import InputError
from tracker.evaluation.api import EvalReport
from tracker.evaluation.results import COMBINED, SequenceResult

PERCENT = 100.0
PERCENT_DECIMALS = 2
MISSING = "-"
#: (column title, summary key, kind) of the single-tracker table; kind "pct" or "int".
TABLE_COLUMNS = (
    ("HOTA", "HOTA", "pct"), ("DetA", "DetA", "pct"), ("AssA", "AssA", "pct"), ("LocA", "LocA", "pct"),
    ("MOTA", "MOTA", "pct"), ("MOTP", "MOTP", "pct"), ("IDF1", "IDF1", "pct"), ("IDP", "IDP", "pct"),
    ("IDR", "IDR", "pct"), ("IDsw", "IDSW", "int"), ("Frag", "Frag", "int"), ("MT", "MT", "int"),
    ("PT", "PT", "int"), ("ML", "ML", "int"), ("FP", "CLR_FP", "int"), ("FN", "CLR_FN", "int"),
    ("Re-ID rec.", "ReentryRecall", "pct"), ("gaps rec/lost/unm", None, "gaps"),
)
#: metrics compared side by side per sequence (and plotted), higher is better for all of them.
COMPARISON_METRICS = ("HOTA", "IDF1", "MOTA", "ReentryRecall")
METRIC_TITLES = {"HOTA": "HOTA", "IDF1": "IDF1", "MOTA": "MOTA", "ReentryRecall": "Re-entry ID recall"}
SHORT_TITLES = {"IDSW": "IDsw", "ReentryRecall": "Re-ID rec."}
COMBINED_COMPARISON_COLUMNS = ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "ReentryRecall")

ReportsArg = Union[EvalReport, Mapping[str, EvalReport], Sequence[EvalReport]]


def check_plot_path(path, option: str = "plot") -> Path:
    """``InputError`` unless ``path`` ends with an extension matplotlib can write (``.png``,
    ``.pdf``, ``.svg``, ...); checked before any work, so a typo does not cost the evaluation."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    formats = FigureCanvasAgg(Figure()).get_supported_filetypes()
    if path.suffix[1:].lower() not in formats:
        raise InputError(f"{option} {path}: matplotlib cannot write {path.suffix or 'a file without an extension'}; "
                         f"use one of {', '.join('.' + f for f in sorted(formats))}", option)
    return path


def save_figure(fig, path) -> Path:
    """Lay out ``fig`` and write it to ``path`` (folders created); -> the path."""
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def _as_reports(reports: ReportsArg) -> List[EvalReport]:
    if isinstance(reports, EvalReport):
        return [reports]
    if isinstance(reports, Mapping):
        return list(reports.values())
    return list(reports)


def _pct(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return f"{PERCENT * value:.{PERCENT_DECIMALS}f}"


def _cell(result: SequenceResult, key, kind: str) -> str:
    if kind == "gaps":
        p = result.permanence
        return f"{p.recovered}/{p.lost}/{p.unmatched}"
    value = result.summary()[key]
    return _pct(value) if kind == "pct" else str(int(value))


def _md_row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def format_markdown_table(report: EvalReport) -> str:
    """One row per sequence plus COMBINED; ratios in percent, counts as integers."""
    head = ["Sequence"] + [c[0] for c in TABLE_COLUMNS]
    lines = [_md_row(head), _md_row(["---"] + ["---:"] * len(TABLE_COLUMNS))]
    rows = list(report.per_sequence.values()) + [report.combined]
    for r in rows:
        name = f"**{COMBINED}**" if r is report.combined else r.name
        lines.append(_md_row([name] + [_cell(r, key, kind) for _, key, kind in TABLE_COLUMNS]))
    return "\n".join(lines)


def _best_marked(values: Sequence[float]) -> List[str]:
    finite = [v for v in values if not math.isnan(v)]
    best = max(finite) if finite else None
    cells = []
    for v in values:
        text = _pct(v)
        cells.append(f"**{text}**" if best is not None and len(values) > 1 and v == best else text)
    return cells


def format_comparison_table(reports: ReportsArg) -> str:
    """Side-by-side tables for several trackers: the combined scores (one row per tracker),
    then HOTA, IDF1, MOTA and re-entry ID recall per sequence, one column per tracker (best in bold)."""
    reports = _as_reports(reports)
    if len(reports) == 1:
        return format_markdown_table(reports[0])
    names = [r.tracker for r in reports]
    out = ["Combined over all sequences:", ""]
    head = ["Tracker"] + [SHORT_TITLES.get(k, k) for k in COMBINED_COMPARISON_COLUMNS] + ["gaps rec/lost/unm"]
    out += [_md_row(head), _md_row(["---"] + ["---:"] * (len(head) - 1))]
    for r in reports:
        s = r.combined.summary()
        cells = [str(int(s[k])) if k == "IDSW" else _pct(s[k]) for k in COMBINED_COMPARISON_COLUMNS]
        p = r.combined.permanence
        out.append(_md_row([r.tracker] + cells + [f"{p.recovered}/{p.lost}/{p.unmatched}"]))
    out += ["", "Per sequence (best in bold):", ""]
    head = ["Sequence"] + [f"{SHORT_TITLES.get(m, m)} {n}" for m in COMPARISON_METRICS for n in names]
    out += [_md_row(head), _md_row(["---"] + ["---:"] * (len(head) - 1))]
    seqs = list(reports[0].per_sequence)
    for seq in seqs + [COMBINED]:
        results = [r.combined if seq == COMBINED else r.per_sequence[seq] for r in reports]
        cells = []
        for m in COMPARISON_METRICS:
            cells += _best_marked([res.summary()[m] for res in results])
        out.append(_md_row([f"**{seq}**" if seq == COMBINED else seq] + cells))
    return "\n".join(out)


def _json_safe(value):
    """NaN/inf -> None, numpy scalars -> Python numbers, tuples -> lists (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def reports_to_dict(reports: ReportsArg) -> dict:
    """Every number of every tracker, per sequence and combined, plus the settings (JSON-ready)."""
    from tracker import __version__

    reports = _as_reports(reports)
    return _json_safe({
        "tool": "identitrack track eval",
        "version": __version__,
        "units": "ratios are fractions in [0, 1] (tables show them x100); counts are boxes, ids or gaps",
        "settings": reports[0].settings if reports else {},
        "trackers": {r.tracker: r.to_dict() for r in reports},
    })


def write_json(path, reports: ReportsArg) -> Path:
    """Write ``reports_to_dict(reports)`` to ``path`` atomically (strict JSON: NaN becomes null)."""
    from tracker.io.mot import write_text_atomic

    path = Path(path)
    write_text_atomic(path, json.dumps(reports_to_dict(reports), indent=1, allow_nan=False) + "\n")
    return path


PLOT_WIDTH_PER_GROUP = 0.9  # inches per sequence group
PLOT_MIN_WIDTH = 8.0
PLOT_ROW_HEIGHT = 2.6
PLOT_DPI = 120
BAR_GROUP_WIDTH = 0.8
PLOT_LABEL_FONTSIZE = 7
PLOT_YTICKS = (-100, -80, -60, -40, -20, 0, 20, 40, 60, 80, 100)
PLOT_HEADROOM = 1.15  # y axis up to 115 % so value labels above 100 % bars stay inside


def plot_comparison(reports: ReportsArg, path, metrics: Sequence[str] = COMPARISON_METRICS,
                    title: str = "track eval") -> Path:
    """Save a PNG: one panel per metric (HOTA, IDF1, MOTA, re-entry ID recall by default), bars
    per sequence plus COMBINED, one bar colour per tracker, values in percent."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    reports = _as_reports(reports)
    if not reports:
        raise ValueError("plot_comparison needs at least one report")
    seqs = list(reports[0].per_sequence) + [COMBINED]
    n = len(reports)
    width = max(PLOT_MIN_WIDTH, PLOT_WIDTH_PER_GROUP * len(seqs) * max(1.0, n / 2))
    fig = Figure(figsize=(width, PLOT_ROW_HEIGHT * len(metrics) + 1.0), dpi=PLOT_DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(metrics), 1, sharex=True, squeeze=False)[:, 0]
    bar = BAR_GROUP_WIDTH / n
    xs = list(range(len(seqs)))
    for ax, metric in zip(axes, metrics):
        for i, r in enumerate(reports):
            vals = []
            for seq in seqs:
                res = r.combined if seq == COMBINED else r.per_sequence.get(seq)
                v = res.summary()[metric] if res is not None else math.nan
                vals.append(PERCENT * v)  # NaN (no re-entry gap) draws no bar
            centres = [x - BAR_GROUP_WIDTH / 2 + bar * (i + 0.5) for x in xs]
            ax.bar(centres, vals, width=bar, label=r.tracker)
            for cx, v in zip(centres, vals):  # value labels: tells 0 from "no gap" (n/a)
                text, y = ("n/a", 0.0) if math.isnan(v) else (f"{v:.1f}", max(v, 0.0))
                ax.text(cx, y, text, ha="center", va="bottom", fontsize=PLOT_LABEL_FONTSIZE, rotation=90)
        ax.set_ylabel(f"{METRIC_TITLES.get(metric, metric)} (%)")
        heights = [p.get_height() for p in ax.patches if math.isfinite(p.get_height())]
        lo = min([0.0] + heights)
        ax.set_ylim(lo, PERCENT * PLOT_HEADROOM)
        ax.set_yticks([t for t in PLOT_YTICKS if t >= lo])
        ax.grid(axis="y", alpha=0.3)
        ax.axvline(len(seqs) - 1.5, color="grey", lw=0.8, ls="--")
    axes[-1].set_xticks(xs)
    axes[-1].set_xticklabels(seqs, rotation=30, ha="right")
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", title="tracker")
    source = reports[0].settings.get("gt_root") or reports[0].settings.get("gt") or ""
    fig.suptitle(f"{title}: per-sequence scores in %, higher is better (gt: {source})\n"
                 "n/a = no re-entry gap of >= "
                 f"{reports[0].settings.get('reentry_seconds', '?')} s with a match on both sides", fontsize="medium")
    return save_figure(fig, path)
