"""Entry points: evaluate one sequence, one result folder, several result folders, or a single
pair of files. Library code: nothing is printed; warnings are returned in ``EvalReport.warnings``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from tracker.errors import InputError, parameter_error
from tracker.evaluation.clear import DEFAULT_IOU_THRESHOLD, compute_clear, match_frames
from tracker.evaluation.conventions import (
    BENCHMARK_CHOICES,
    DISTRACTOR_CLASSES,
    resolve_benchmark,
)
from tracker.evaluation.data import SequenceData, build_sequence_data
from tracker.evaluation.hota import ALPHAS, compute_hota
from tracker.evaluation.identity import compute_identity
from tracker.evaluation.permanence import DEFAULT_GAP_SECONDS, DEFAULT_MIN_VISIBILITY, compute_permanence
from tracker.evaluation.results import COMBINED, SequenceResult, combine_results
from tracker.io.lengths import check_length
from tracker.io.mot import MotTable, find_sequences, read_mot_file, read_seqinfo

PathLike = Union[str, Path]
#: frame rate assumed in the single-file form when neither ``fps`` nor a ``seqinfo.ini`` gives one.
DEFAULT_FPS = 30.0
GT_RELATIVE_PATH = Path("gt") / "gt.txt"
RESULT_SUFFIX = ".txt"
#: TrackEval's tracker layout puts result files in ``<tracker>/data/``; we accept both.
RESULT_SUBFOLDERS = ("", "data")


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation settings.

    benchmark: ``auto`` (per sequence, from its name / gt columns) or ``MOT15``, ``MOT16``,
        ``MOT17``, ``MOT20`` for every sequence.
    reentry_seconds: shortest absence (s) that counts as a re-entry gap; > 0.
    reentry_min_visibility: MOT16/17/20 gt boxes less visible than this count as absent for
        re-entry gaps; in [0, 1].
    iou_threshold: IoU a pair needs to match in CLEAR and Identity; in (0, 1] (0.5 = TrackEval).
    """

    benchmark: str = "auto"
    reentry_seconds: float = DEFAULT_GAP_SECONDS
    reentry_min_visibility: float = DEFAULT_MIN_VISIBILITY
    iou_threshold: float = DEFAULT_IOU_THRESHOLD

    def __post_init__(self) -> None:
        if self.benchmark not in BENCHMARK_CHOICES:
            raise ValueError(f"EvalConfig.benchmark must be one of {BENCHMARK_CHOICES}, got {self.benchmark!r}")
        if not (isinstance(self.reentry_seconds, (int, float)) and math.isfinite(self.reentry_seconds)
                and self.reentry_seconds > 0):
            raise ValueError("EvalConfig.reentry_seconds must be a finite number > 0 (seconds), got "
                             f"{self.reentry_seconds!r}")
        if not 0.0 <= self.reentry_min_visibility <= 1.0:
            raise ValueError("EvalConfig.reentry_min_visibility must be in [0, 1], "
                             f"got {self.reentry_min_visibility!r}")
        if not 0.0 < self.iou_threshold <= 1.0:
            raise ValueError(f"EvalConfig.iou_threshold must be in (0, 1], got {self.iou_threshold!r}")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["hota_alphas"] = [round(float(a), 2) for a in ALPHAS]
        out["distractor_classes"] = {k: list(v) for k, v in DISTRACTOR_CLASSES.items()}
        return out


@dataclass(frozen=True, eq=False)
class GroundTruthSequence:
    """A loaded gt sequence: its table, frame rate (frames/s), length (frames) and benchmark."""

    name: str
    table: MotTable
    frame_rate: float
    num_frames: int
    benchmark: str
    path: str


@dataclass(frozen=True, eq=False)
class EvalReport:
    """The evaluation of one tracker's results.

    tracker: display name. results_path: the folder or file evaluated.
    per_sequence: ``name -> SequenceResult`` in sequence order. combined: all sequences summed.
    settings: the configuration used (JSON-ready). warnings: human-readable notes (missing
    result files, rows dropped), for the caller to show.
    """

    tracker: str
    results_path: str
    per_sequence: Dict[str, SequenceResult]
    combined: SequenceResult
    settings: dict
    warnings: Tuple[str, ...] = ()

    def to_dict(self, include_events: bool = True) -> dict:
        return {
            "tracker": self.tracker,
            "results": self.results_path,
            "settings": dict(self.settings),
            "warnings": list(self.warnings),
            "per_sequence": {k: v.to_dict(include_events) for k, v in self.per_sequence.items()},
            "combined": self.combined.to_dict(include_events=False),
        }


# ---------------------------------------------------------------------------------------------
# pure core: canonical data -> metrics
# ---------------------------------------------------------------------------------------------
def evaluate_data(data: SequenceData, config: Optional[EvalConfig] = None) -> SequenceResult:
    """All metrics of one preprocessed sequence."""
    config = config or EvalConfig()
    matches = match_frames(data, config.iou_threshold)
    return SequenceResult(
        name=data.name,
        hota=compute_hota(data),
        clear=compute_clear(data, matches),
        identity=compute_identity(data, config.iou_threshold),
        permanence=compute_permanence(data, matches, config.reentry_seconds, config.reentry_min_visibility),
        num_gt_dets=data.num_gt_dets,
        num_tracker_dets=data.num_tracker_dets,
        num_gt_ids=data.num_gt_ids,
        num_tracker_ids=data.num_tracker_ids,
        info={"benchmark": data.benchmark, "frame_rate": data.frame_rate, "frames": data.num_frames,
              "gt_rows_not_scored": data.gt_rows_dropped, "tracker_rows_removed": data.tracker_rows_removed},
    )


def empty_table(path: PathLike = "") -> MotTable:
    """A ``MotTable`` with no rows (a missing result file)."""
    z = np.zeros(0)
    zi = np.zeros(0, np.int64)
    return MotTable(str(path), zi, zi.copy(), np.zeros((0, 4)), z, zi.copy(), z.copy(), zi.copy())


def _as_table(table_or_path, kind: str, seq_length: Optional[int]) -> MotTable:
    if isinstance(table_or_path, MotTable):
        return table_or_path
    return read_mot_file(table_or_path, kind, seq_length)


def evaluate_sequence(gt: Union[MotTable, PathLike], results: Union[MotTable, PathLike], *, name: str,
                      frame_rate: float, num_frames: int, config: Optional[EvalConfig] = None) -> SequenceResult:
    """Evaluate one sequence.

    gt: a gt ``MotTable`` or the path of ``gt.txt``; results: a result ``MotTable`` or file path.
    frame_rate: frames per second (> 0); num_frames: sequence length in frames (rows after it
    are ignored). The benchmark conventions come from ``config.benchmark`` (``auto``: from the
    name and the gt columns).
    """
    config = config or EvalConfig()
    gt_table = _as_table(gt, "gt", num_frames)
    res_table = _as_table(results, "result", num_frames)
    benchmark = resolve_benchmark(config.benchmark, name, gt_table.columns)
    data = build_sequence_data(gt_table, res_table, name=name, benchmark=benchmark, frame_rate=frame_rate,
                               num_frames=num_frames)
    return evaluate_data(data, config)


# ---------------------------------------------------------------------------------------------
# loaders
# ---------------------------------------------------------------------------------------------
def _table_warnings(table: MotTable, num_frames: int) -> List[str]:
    out = []
    if table.beyond_length_dropped:
        out.append(f"{table.path}: {table.beyond_length_dropped} rows after the last frame ({num_frames}) ignored")
    if table.duplicates_dropped:
        out.append(f"{table.path}: {table.duplicates_dropped} exact duplicate rows ignored")
    return out


def load_ground_truth(gt_root: PathLike, seqs: Optional[Sequence[str]] = None,
                      benchmark: str = "auto") -> Tuple[List[GroundTruthSequence], List[str]]:
    """Load every MOTChallenge sequence under ``gt_root`` (``<SEQ>/seqinfo.ini`` + ``<SEQ>/gt/gt.txt``).

    seqs: names to keep (all when None); a name that is not there is an ``InputError``.
    Returns the sequences in name order and warnings (sequences skipped for lack of gt).
    """
    gt_root = Path(gt_root)
    if not gt_root.is_dir():
        raise InputError(f"gt_root {gt_root}: not a folder (expected a folder of MOTChallenge sequences)", "gt_root")
    folders = find_sequences([gt_root])
    by_name = {f.name: f for f in folders}
    if seqs is not None:
        unknown = [s for s in seqs if s not in by_name]
        if unknown:
            raise InputError(f"{gt_root}: no sequence named {', '.join(unknown)} (found: {', '.join(sorted(by_name))})")
        folders = [by_name[s] for s in seqs]
    warnings, out = [], []
    for folder in folders:
        gt_file = folder / GT_RELATIVE_PATH
        if not gt_file.is_file():
            if seqs is not None:
                raise InputError(f"{gt_file}: not found (sequence {folder.name} has no ground truth)")
            warnings.append(f"{folder.name}: no {GT_RELATIVE_PATH} (a test sequence?); skipped")
            continue
        info = read_seqinfo(folder)
        table = read_mot_file(gt_file, "gt", info.seq_length)
        check_length(info.seq_length, table.last_frame, f"{folder / 'seqinfo.ini'}: seqLength", str(gt_file))
        warnings.extend(_table_warnings(table, info.seq_length))
        out.append(GroundTruthSequence(folder.name, table, info.frame_rate, info.seq_length,
                                       resolve_benchmark(benchmark, folder.name, table.columns), str(gt_file)))
    if not out:
        raise InputError(f"{gt_root}: no sequence with {GT_RELATIVE_PATH} to evaluate")
    return out, warnings


def find_result_file(results_dir: PathLike, seq: str) -> Optional[Path]:
    """``<results_dir>/<seq>.txt`` or ``<results_dir>/data/<seq>.txt`` (TrackEval layout); None if neither."""
    for sub in RESULT_SUBFOLDERS:
        candidate = Path(results_dir) / sub / (seq + RESULT_SUFFIX)
        if candidate.is_file():
            return candidate
    return None


def _evaluate_results_dir(sequences: Sequence[GroundTruthSequence], results_dir: Path, tracker: str,
                          config: EvalConfig, settings: dict, base_warnings: Sequence[str]) -> EvalReport:
    warnings = list(base_warnings)
    per_seq: Dict[str, SequenceResult] = {}
    for seq in sequences:
        path = find_result_file(results_dir, seq.name)
        if path is None:
            warnings.append(f"{tracker}: {seq.name}: no result file {results_dir / (seq.name + RESULT_SUFFIX)}; "
                            "counted as empty (every gt box missed)")
            table = empty_table(results_dir / (seq.name + RESULT_SUFFIX))
        else:
            table = read_mot_file(path, "result", seq.num_frames)
            warnings.extend(_table_warnings(table, seq.num_frames))
        data = build_sequence_data(seq.table, table, name=seq.name, benchmark=seq.benchmark,
                                   frame_rate=seq.frame_rate, num_frames=seq.num_frames)
        result = evaluate_data(data, config)
        result.info["results_file"] = None if path is None else str(path)
        result.info["results_missing"] = path is None
        per_seq[seq.name] = result
    combined = combine_results(per_seq.values(), COMBINED)
    return EvalReport(tracker, str(results_dir), per_seq, combined, dict(settings), tuple(warnings))


def _tracker_names(paths: Sequence[Path]) -> List[str]:
    names = [p.name or str(p) for p in paths]
    if len(set(names)) < len(names):  # same folder name twice: fall back to the paths as given
        names = [str(p) for p in paths]
    return names


def evaluate_trackers(gt_root: PathLike, results: Union[Mapping[str, PathLike], Sequence[PathLike]],
                      benchmark: str = "auto", seqs: Optional[Sequence[str]] = None,
                      reentry_seconds: float = DEFAULT_GAP_SECONDS,
                      config: Optional[EvalConfig] = None) -> Dict[str, EvalReport]:
    """Evaluate several result folders against the same gt (loaded once).

    results: ``{display name: folder}`` or a list of folders (named after the folder).
    Each folder holds ``<SEQ>.txt`` (or ``data/<SEQ>.txt``) per sequence; a missing one counts
    as empty, with a warning. ``config`` overrides ``benchmark`` and ``reentry_seconds``.
    Returns ``{name: EvalReport}`` in the given order.
    """
    config = config or EvalConfig(benchmark=benchmark, reentry_seconds=reentry_seconds)
    if isinstance(results, Mapping):
        named = [(str(k), Path(v)) for k, v in results.items()]
    else:
        paths = [Path(p) for p in results]
        named = list(zip(_tracker_names(paths), paths))
    if not named:
        raise InputError("no result folder given")
    for _, path in named:
        if not path.is_dir():
            raise InputError(f"results {path}: not a folder (expected a folder of <SEQ>.txt result files)", "results")
    sequences, warnings = load_ground_truth(gt_root, seqs, config.benchmark)
    settings = {"gt_root": str(gt_root), "sequences": [s.name for s in sequences],
                "benchmarks": {s.name: s.benchmark for s in sequences}, **config.to_dict()}
    return {name: _evaluate_results_dir(sequences, path, name, config, settings, warnings) for name, path in named}


def evaluate_folder(gt_root: PathLike, results_dir: PathLike, benchmark: str = "auto",
                    seqs: Optional[Sequence[str]] = None, reentry_seconds: float = DEFAULT_GAP_SECONDS,
                    config: Optional[EvalConfig] = None, name: Optional[str] = None) -> EvalReport:
    """Evaluate one result folder (``<SEQ>.txt`` per sequence) against every sequence of ``gt_root``."""
    results_dir = Path(results_dir)
    label = name or results_dir.name or str(results_dir)
    return evaluate_trackers(gt_root, {label: results_dir}, benchmark, seqs, reentry_seconds, config)[label]


def _sequence_name_for(gt_path: Path) -> str:
    # .../<SEQ>/gt/gt.txt -> SEQ; otherwise the file stem
    if gt_path.parent.name == "gt" and gt_path.parent.parent.name:
        return gt_path.parent.parent.name
    return gt_path.stem


def evaluate_files(gt_path: PathLike, results_path: PathLike, fps: Optional[float] = None,
                   seq_length: Optional[int] = None, benchmark: str = "auto",
                   reentry_seconds: float = DEFAULT_GAP_SECONDS, config: Optional[EvalConfig] = None,
                   name: Optional[str] = None, tracker: Optional[str] = None) -> EvalReport:
    """Evaluate one result file against one gt file.

    fps: frame rate (frames/s) for re-entry gaps; default: the ``seqinfo.ini`` beside the gt
    (``<SEQ>/seqinfo.ini`` for ``<SEQ>/gt/gt.txt``), else ``DEFAULT_FPS`` with a warning.
    seq_length: frames in the sequence; default: ``seqinfo.ini``, else the last frame in either file.
    name: sequence name (default: ``<SEQ>`` or the gt file stem; it also drives ``auto`` benchmark).
    """
    config = config or EvalConfig(benchmark=benchmark, reentry_seconds=reentry_seconds)
    gt_path, results_path = Path(gt_path), Path(results_path)
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise parameter_error("fps", f"must be a number > 0 (frames per second), got {fps}")
    if seq_length is not None and seq_length < 1:
        raise parameter_error("seq_length", f"must be >= 1 (frames), got {seq_length}")
    if not gt_path.is_file():
        raise InputError(f"gt_path {gt_path}: not found (expected a MOTChallenge gt.txt file)", "gt_path")
    if not results_path.is_file():
        raise InputError(f"results_path {results_path}: not found (expected a MOTChallenge result file)",
                         "results_path")
    warnings = []
    seq_name = name or _sequence_name_for(gt_path)
    info = None
    for folder in (gt_path.parent.parent, gt_path.parent):
        if (folder / "seqinfo.ini").is_file():
            info = read_seqinfo(folder)
            break
    frame_rate = fps if fps is not None else (info.frame_rate if info else None)
    if frame_rate is None:
        frame_rate = DEFAULT_FPS
        warnings.append(f"{gt_path}: no frame rate (fps, seqinfo.ini); re-entry gaps assume {DEFAULT_FPS:g} fps")
    length = seq_length if seq_length is not None else (info.seq_length if info else None)
    gt_table = read_mot_file(gt_path, "gt", length)
    res_table = read_mot_file(results_path, "result", length)
    last_frame = max(gt_table.last_frame, res_table.last_frame)
    if length is None:
        length = last_frame
    else:
        check_length(length, last_frame, "seq_length" if seq_length is not None else "seqLength",
                     f"{gt_path} and {results_path}")
    warnings.extend(_table_warnings(gt_table, length) + _table_warnings(res_table, length))
    bench = resolve_benchmark(config.benchmark, seq_name, gt_table.columns)
    data = build_sequence_data(gt_table, res_table, name=seq_name, benchmark=bench, frame_rate=frame_rate,
                               num_frames=length)
    result = evaluate_data(data, config)
    result.info["results_file"] = str(results_path)
    result.info["results_missing"] = False
    settings = {"gt": str(gt_path), "sequences": [seq_name], "benchmarks": {seq_name: bench},
                "fps": frame_rate, "seq_length": length, **config.to_dict()}
    label = tracker or results_path.stem
    return EvalReport(label, str(results_path), {seq_name: result}, combine_results([result], COMBINED), settings,
                      tuple(warnings))
