"""A report a person can look at, for any folder of ``track`` results (one video or many).

``write_report(folder)`` reads every ``<stem>.jsonl`` + ``<stem>.summary.json`` in the folder
(``results.load_results``), groups the tracks into identities (``identities``: per source, or
global when the ids already are, as ``track link`` writes them), cuts a few crops of each
identity out of the source video (or the annotated one) into ``crops/`` (``crops``), and writes
``identities.json`` and a self-contained ``report.html`` (``html``: no network; crops by
relative path, the timeline an inline SVG).
"""
from tracker.report.identities import IDENTITIES_SCHEMA, Identity, SourceAppearance, Span, build_identities
from tracker.report.results import ResultSource, load_results
from tracker.report.writer import ReportFiles, write_report

__all__ = ["IDENTITIES_SCHEMA", "Identity", "ReportFiles", "ResultSource", "SourceAppearance", "Span",
           "build_identities", "load_results", "write_report"]
