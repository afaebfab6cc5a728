"""MOT evaluation: HOTA, CLEAR and Identity metrics that agree with TrackEval, plus identity
permanence (re-entry ID recall).

Structure (as TrackEval): loaders (``tracker.io.mot``) -> ``SequenceData``, one canonical
per-sequence structure (``data.py``, benchmark conventions in ``conventions.py``) -> pure metric
functions (``hota.py``, ``clear.py``, ``identity.py``, ``permanence.py``) -> combination across
sequences by summing counts (``results.py``) -> tables, JSON, plots (``report.py``).

Typical use::

    from tracker.evaluation import evaluate_folder, format_markdown_table
    report = evaluate_folder("../shared/data/mot", "out/")
    print(format_markdown_table(report))
    report.combined.summary()["HOTA"]     # fraction in [0, 1]
"""
from tracker.evaluation.api import (
    EvalConfig,
    EvalReport,
    GroundTruthSequence,
    evaluate_data,
    evaluate_files,
    evaluate_folder,
    evaluate_sequence,
    evaluate_trackers,
    find_result_file,
    load_ground_truth,
)
from tracker.evaluation.clear import ClearCounts, ClearMatches, compute_clear, match_frames
from tracker.evaluation.conventions import BENCHMARK_CHOICES, detect_benchmark
from tracker.evaluation.data import SequenceData, build_sequence_data
from tracker.evaluation.hota import ALPHAS, HotaCounts, compute_hota
from tracker.evaluation.identity import IdentityCounts, compute_identity
from tracker.evaluation.permanence import GapEvent, PermanenceCounts, compute_permanence
from tracker.evaluation.report import (
    format_comparison_table,
    format_markdown_table,
    plot_comparison,
    reports_to_dict,
    write_json,
)
from tracker.evaluation.results import COMBINED, SequenceResult, combine_results

__all__ = [
    "ALPHAS", "BENCHMARK_CHOICES", "COMBINED", "ClearCounts", "ClearMatches", "EvalConfig", "EvalReport", "GapEvent",
    "GroundTruthSequence", "HotaCounts", "IdentityCounts", "PermanenceCounts", "SequenceData", "SequenceResult",
    "build_sequence_data", "combine_results", "compute_clear", "compute_hota", "compute_identity",
    "compute_permanence", "detect_benchmark", "evaluate_data", "evaluate_files", "evaluate_folder",
    "evaluate_sequence", "evaluate_trackers", "find_result_file", "format_comparison_table",
    "format_markdown_table", "load_ground_truth", "match_frames", "plot_comparison", "reports_to_dict", "write_json",
]
