"""``report.html``: one self-contained page (no network, no script library): counts, metrics when
given, a timeline per source (inline SVG: one lane per identity, a bar per span, cuts as red
lines), and one card per identity with its crops over time. A small inline script only checks
that every crop loaded (a missing one is logged as a console error)."""
from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from tracker.report.identities import FALLBACK_FPS, Identity
from tracker.report.results import ResultSource
from tracker.viz import id_colour

#: timeline geometry (SVG user units = px): width of the time axis, height of one lane, the
#: left margin for the lane labels and the height of the axis
TIMELINE_WIDTH = 900
LANE_HEIGHT = 14
LABEL_WIDTH = 70
RIGHT_MARGIN = 24
AXIS_HEIGHT = 22
#: ticks along the time axis
AXIS_TICKS = 6

STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; background: #f6f7f9; color: #1d2330; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
.counts { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0; }
.count { background: #fff; border-radius: 8px; padding: 10px 16px; box-shadow: 0 1px 2px #0002; }
.count b { display: block; font-size: 22px; }
.source { background: #fff; border-radius: 8px; padding: 12px 16px; margin: 12px 0; box-shadow: 0 1px 2px #0002; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }
.card { background: #fff; border-radius: 8px; padding: 10px 12px; box-shadow: 0 1px 2px #0002;
        border-left: 6px solid var(--c); }
.card h3 { margin: 0 0 4px; font-size: 16px; } .meta { font-size: 12px; color: #5a6273; }
.crops { display: flex; gap: 4px; overflow-x: auto; margin-top: 6px; }
.crops img { height: 96px; border-radius: 3px; background: #ddd; }
table { border-collapse: collapse; background: #fff; } td, th { padding: 4px 10px; border-bottom: 1px solid #e3e6eb; }
a { color: #2457c5; }
"""

CHECK_SCRIPT = """
window.addEventListener('load', function () {
  document.querySelectorAll('img').forEach(function (img) {
    if (!img.complete || img.naturalWidth === 0) { console.error('crop not loaded: ' + img.getAttribute('src')); }
  });
});
"""


def _hex(track_id: int) -> str:
    b, g, r = id_colour(int(track_id))
    return f"#{r:02x}{g:02x}{b:02x}"


def _href(path: Path, folder: Path) -> str:
    try:
        rel = os.path.relpath(path, folder)
    except ValueError:  # another drive
        return path.resolve().as_uri()
    return html.escape(rel.replace(os.sep, "/"), quote=True)


def timeline_svg(source: ResultSource, identities: Sequence[Identity]) -> str:
    """One lane per identity seen in ``source``; bars at its spans; cuts as red lines."""
    fps = source.fps if source.fps > 0 else FALLBACK_FPS
    start = source.first_index / fps
    duration = max(source.duration_s, 1.0 / fps)
    lanes = [(i, a) for i in identities for a in i.appearances if a.source == source.name]
    height = AXIS_HEIGHT + LANE_HEIGHT * max(1, len(lanes))
    width = LABEL_WIDTH + TIMELINE_WIDTH + RIGHT_MARGIN

    def x(seconds: float) -> float:
        return LABEL_WIDTH + TIMELINE_WIDTH * (seconds - start) / duration

    parts = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="who is visible when in {html.escape(source.name)}">']
    for k in range(AXIS_TICKS + 1):
        t = start + duration * k / AXIS_TICKS
        parts.append(f'<line x1="{x(t):.1f}" y1="{AXIS_HEIGHT - 4}" x2="{x(t):.1f}" y2="{height}" stroke="#e3e6eb"/>'
                     f'<text x="{x(t):.1f}" y="{AXIS_HEIGHT - 8}" font-size="11" text-anchor="middle" '
                     f'fill="#5a6273">{t:.1f} s</text>')
    for row, (ident, app) in enumerate(lanes):
        y = AXIS_HEIGHT + row * LANE_HEIGHT
        colour = _hex(ident.id)
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + LANE_HEIGHT - 3}" font-size="11" text-anchor="end">'
                     f'<a href="#id-{ident.id}">#{ident.id}</a></text>')
        for span in app.spans:
            x1, x2 = x(span.start_s), x(span.end_s + 1.0 / fps)
            parts.append(f'<rect x="{x1:.1f}" y="{y + 2}" width="{max(1.0, x2 - x1):.1f}" height="{LANE_HEIGHT - 4}" '
                         f'rx="2" fill="{colour}"><title>#{ident.id}: frames {span.first_frame}-{span.last_frame}'
                         f'</title></rect>')
    for cut in source.cuts:
        cx = x((cut - 1) / fps)
        parts.append(f'<line class="cut" x1="{cx:.1f}" y1="{AXIS_HEIGHT - 4}" x2="{cx:.1f}" y2="{height}" '
                     f'stroke="#d22" stroke-width="1.5"><title>shot cut at frame {cut}</title></line>')
    parts.append("</svg>")
    return "".join(parts)


def _metrics_table(metrics: Dict[str, dict]) -> str:
    keys = ("HOTA", "IDF1", "MOTA", "AssA", "DetA", "IDSW")
    rows = ["<table><tr><th>source</th>" + "".join(f"<th>{k}</th>" for k in keys) + "</tr>"]
    for name, summary in metrics.items():
        cells = "".join(f"<td>{summary[k]:.3f}</td>" if k != "IDSW" else f"<td>{int(summary[k])}</td>" for k in keys)
        rows.append(f"<tr><td>{html.escape(name)}</td>{cells}</tr>")
    return "".join(rows) + "</table>"


def render(folder: Path, sources: Sequence[ResultSource], identities: Sequence[Identity],
           metrics: Optional[Dict[str, dict]] = None, notes: Sequence[str] = (), title: str = "") -> str:
    """The page's HTML text; links and crops relative to ``folder`` (where it is written)."""
    fps_of = {s.name: s.fps for s in sources}
    title = title or f"identitrack report: {folder.name}"
    out: List[str] = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
                      f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
                      f"<h1>{html.escape(title)}</h1>"]
    total_frames = sum(s.frames for s in sources)
    multi = sum(1 for i in identities if len(i.appearances) > 1)
    counts = [("sources", len(sources)), ("identities", len(identities)), ("in several sources", multi),
              ("frames", total_frames), ("shot cuts", sum(len(s.cuts) for s in sources))]
    out.append('<div class="counts">' + "".join(f'<div class="count"><b>{v}</b>{html.escape(k)}</div>'
                                                for k, v in counts) + "</div>")
    for note in notes:
        out.append(f'<p class="meta">note: {html.escape(note)}</p>')
    if metrics:
        out.append("<h2>Metrics against the ground truth</h2>" + _metrics_table(metrics))
    out.append("<h2>Who is visible when</h2>")
    for source in sources:
        links = []
        if source.source_video is not None:
            links.append(f'<a href="{_href(source.source_video, folder)}">source video</a>')
        if source.annotated_video is not None:
            links.append(f'<a href="{_href(source.annotated_video, folder)}">annotated video</a>')
        links.append(f'<a href="{_href(source.jsonl, folder)}">tracks (JSONL)</a>')
        ids_here = sum(1 for i in identities for a in i.appearances if a.source == source.name)
        out.append(f'<div class="source" id="source-{html.escape(source.name, quote=True)}">'
                   f"<h3>{html.escape(source.name)}</h3><p class='meta'>{source.frames} frames, "
                   f"{source.duration_s:.1f} s, {ids_here} identities, {len(source.cuts)} shot cuts · "
                   + " · ".join(links) + "</p>" + timeline_svg(source, identities) + "</div>")
    out.append("<h2>Identities</h2><div class=\"cards\">")
    for ident in identities:
        where = "; ".join(f"{html.escape(a.source)} (track {', '.join(map(str, a.track_ids))}, "
                          f"frames {a.spans[0].first_frame}-{a.spans[-1].last_frame})" for a in ident.appearances)
        crops = "".join(f'<img src="{html.escape(c, quote=True)}" alt="#{ident.id}" loading="eager">'
                        for c in ident.crops)
        out.append(f'<div class="card" id="id-{ident.id}" data-identity="{ident.id}" style="--c: {_hex(ident.id)}">'
                   f"<h3>#{ident.id}</h3><div class='meta'>{ident.seconds(fps_of):.1f} s in "
                   f"{len(ident.appearances)} source{'s' if len(ident.appearances) != 1 else ''}: {where}</div>"
                   f'<div class="crops">{crops}</div></div>')
    out.append("</div>")
    out.append(f"<script>{CHECK_SCRIPT}</script></body></html>")
    return "\n".join(out)
