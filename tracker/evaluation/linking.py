"""Identity across sources: metrics for results whose ids are global over several sources
(videos, cameras, clips, shots), given per-source gt whose ids are global too.

- **Global HOTA / IDF1**: the sources are laid end to end in time (``concatenate``: source 2's
  first frame follows source 1's last one) and scored as one sequence by the ordinary metric
  code. IDF1's one-to-one assignment of gt to predicted identities then spans every source: an
  identity scores its boxes in a second source only when it keeps the same id there; HOTA's
  association accuracy likewise counts the id switches between sources.
- **Pairwise cross-source identity precision / recall / F1** (``compute_link_pairs``): units are
  (source, identity) pairs. In each source gt and predicted boxes are matched frame by frame
  (the CLEAR matching, IoU >= the threshold); a predicted unit stands for the gt identity it is
  matched with in the most frames, and a gt unit for the predicted id it is matched with in the
  most frames (none when never matched; ties: the smallest id). A *predicted link* is a pair of
  predicted units of two different sources with the same predicted id; it is correct when both
  units stand for the same gt identity. A *gt link* is a pair of gt units of two different
  sources with the same gt id; it is recovered when both units stand for the same predicted id.
  precision = correct predicted links / predicted links, recall = recovered gt links / gt links
  (0 when there is none, as TrackEval's empty ratios), F1 = their harmonic mean.
- **No-linking baseline** (``disjoint_tracker_ids=True``): the same results with ids made
  distinct per source, as every tracker that restarts its identities with each file.

Pure functions over ``SequenceData``; loading is in ``evaluate_link_folder``.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from tracker.errors import InputError
from tracker.evaluation.clear import DEFAULT_IOU_THRESHOLD, match_frames
from tracker.evaluation.data import SequenceData, build_sequence_data
from tracker.evaluation.results import SequenceResult

#: name of the concatenated sequence
LINKED = "LINKED"


def _relabel(labels: List[np.ndarray]) -> Tuple[List[np.ndarray], np.ndarray]:
    """Per-frame arrays of hashable labels -> per-frame int64 indices into the sorted unique labels."""
    flat = np.concatenate(labels) if labels else np.zeros(0, np.int64)
    unique, inverse = np.unique(flat, return_inverse=True)
    out, start = [], 0
    for arr in labels:
        out.append(inverse[start:start + len(arr)].astype(np.int64))
        start += len(arr)
    return out, unique


def concatenate(sequences: Sequence[SequenceData], name: str = LINKED,
                disjoint_tracker_ids: bool = False) -> SequenceData:
    """The sources one after another in time, as one ``SequenceData``.

    gt ids keep their original labels (global across sources); tracker ids too, unless
    ``disjoint_tracker_ids``: then id k of source s becomes its own identity (the no-linking
    baseline). The benchmark and frame rate are the first source's."""
    if not sequences:
        raise InputError("sequences: no source to concatenate", "sequences")
    gt_labels, tr_labels = [], []
    for s, seq in enumerate(sequences):
        for g, k in zip(seq.gt_ids, seq.tracker_ids):
            gt_labels.append(seq.gt_id_labels[g])
            labels = seq.tracker_id_labels[k]
            # a source's ids shifted into a range of their own: distinct from every other source
            tr_labels.append(labels + (s << 40) if disjoint_tracker_ids else labels)
    gt_ids, gt_unique = _relabel(gt_labels)
    tr_ids, tr_unique = _relabel(tr_labels)
    first = sequences[0]
    return SequenceData(
        name=name, benchmark=first.benchmark, frame_rate=first.frame_rate,
        gt_ids=tuple(gt_ids), tracker_ids=tuple(tr_ids),
        similarity=tuple(m for seq in sequences for m in seq.similarity),
        gt_visibility=tuple(v for seq in sequences for v in seq.gt_visibility),
        gt_id_labels=gt_unique.astype(np.int64), tracker_id_labels=tr_unique.astype(np.int64),
        gt_rows_dropped=sum(seq.gt_rows_dropped for seq in sequences),
        tracker_rows_removed=sum(seq.tracker_rows_removed for seq in sequences))


@dataclass(frozen=True)
class LinkPairCounts:
    """Cross-source link counts (see the module docstring)."""

    predicted_links: int = 0
    correct_links: int = 0
    gt_links: int = 0
    recovered_links: int = 0

    @property
    def precision(self) -> float:
        return self.correct_links / max(1, self.predicted_links)

    @property
    def recall(self) -> float:
        return self.recovered_links / max(1, self.gt_links)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0

    def summary(self) -> dict:
        return {"LinkP": self.precision, "LinkR": self.recall, "LinkF1": self.f1,
                "PredictedLinks": self.predicted_links, "CorrectLinks": self.correct_links,
                "GTLinks": self.gt_links, "RecoveredLinks": self.recovered_links}


def unit_representatives(seq: SequenceData, iou_threshold: float = DEFAULT_IOU_THRESHOLD) -> Tuple[dict, dict]:
    """-> ({predicted label: gt label}, {gt label: predicted label}) of one source: each unit's
    most-matched counterpart (frames matched by the CLEAR matching; ties: the smallest label)."""
    matches = match_frames(seq, iou_threshold)
    counts = np.zeros((seq.num_gt_ids, seq.num_tracker_ids), np.int64)
    for g, k in zip(matches.gt, matches.tracker):
        np.add.at(counts, (g, k), 1)
    pred_to_gt, gt_to_pred = {}, {}
    if counts.size:
        for k in np.flatnonzero(counts.max(axis=0) > 0):
            pred_to_gt[int(seq.tracker_id_labels[k])] = int(seq.gt_id_labels[int(np.argmax(counts[:, k]))])
        for g in np.flatnonzero(counts.max(axis=1) > 0):
            gt_to_pred[int(seq.gt_id_labels[g])] = int(seq.tracker_id_labels[int(np.argmax(counts[g]))])
    return pred_to_gt, gt_to_pred


def _cross_pairs(units: Dict[int, List[Optional[int]]]) -> Tuple[int, int]:
    """units: identity -> the representative of each source it appears in (None: unmatched).
    -> (pairs of sources sharing the identity, pairs whose representatives are equal, not None)."""
    total = agreeing = 0
    for reps in units.values():
        n = len(reps)
        total += n * (n - 1) // 2
        known = defaultdict(int)
        for r in reps:
            if r is not None:
                known[r] += 1
        agreeing += sum(c * (c - 1) // 2 for c in known.values())
    return total, agreeing


def compute_link_pairs(sequences: Sequence[SequenceData], iou_threshold: float = DEFAULT_IOU_THRESHOLD,
                       disjoint_tracker_ids: bool = False) -> LinkPairCounts:
    """Pairwise cross-source identity counts of per-source data with global ids."""
    pred_units: Dict[int, List[Optional[int]]] = defaultdict(list)
    gt_units: Dict[int, List[Optional[int]]] = defaultdict(list)
    for s, seq in enumerate(sequences):
        pred_to_gt, gt_to_pred = unit_representatives(seq, iou_threshold)
        for k in seq.tracker_id_labels:
            key = (s, int(k)) if disjoint_tracker_ids else int(k)
            pred_units[key].append(pred_to_gt.get(int(k)))
        for g in seq.gt_id_labels:
            rep = gt_to_pred.get(int(g))
            gt_units[int(g)].append(None if rep is None else ((s, rep) if disjoint_tracker_ids else rep))
    predicted, correct = _cross_pairs(pred_units)
    gt_links, recovered = _cross_pairs(gt_units)
    return LinkPairCounts(predicted, correct, gt_links, recovered)


@dataclass(frozen=True, eq=False)
class LinkEvaluation:
    """One result set scored across sources: ``linked`` (global ids as given) and ``unlinked``
    (the no-linking baseline), each a ``SequenceResult`` of the concatenated sources and its
    ``LinkPairCounts``; ``sources`` their names in order; ``warnings`` for the caller."""

    tracker: str
    sources: Tuple[str, ...]
    linked: SequenceResult
    linked_pairs: LinkPairCounts
    unlinked: SequenceResult
    unlinked_pairs: LinkPairCounts
    warnings: Tuple[str, ...] = ()

    def to_dict(self) -> dict:
        def part(result, pairs):
            return {"summary": result.summary(), "pairs": pairs.summary()}

        return {"tracker": self.tracker, "sources": list(self.sources), "warnings": list(self.warnings),
                "linked": part(self.linked, self.linked_pairs),
                "no_linking": part(self.unlinked, self.unlinked_pairs)}


def evaluate_link_data(sequences: Sequence[SequenceData], tracker: str = "results", config=None,
                       warnings: Sequence[str] = ()) -> LinkEvaluation:
    """Score per-source data (gt and tracker ids global across sources)."""
    from tracker.evaluation.api import EvalConfig, evaluate_data

    config = config or EvalConfig()
    linked = evaluate_data(concatenate(sequences), config)
    unlinked = evaluate_data(concatenate(sequences, disjoint_tracker_ids=True), config)
    return LinkEvaluation(tracker, tuple(s.name for s in sequences), linked,
                          compute_link_pairs(sequences, config.iou_threshold), unlinked,
                          compute_link_pairs(sequences, config.iou_threshold, disjoint_tracker_ids=True),
                          tuple(warnings))


def evaluate_link_folder(gt_root: Union[str, Path], results_dir: Union[str, Path],
                         seqs: Optional[Sequence[str]] = None, config=None,
                         name: Optional[str] = None) -> LinkEvaluation:
    """Every sequence of ``gt_root`` is a source (in name order, or ``seqs``' order); its gt ids
    and the ids of ``<results_dir>/<SEQ>.txt`` are global. A missing result file counts as
    empty, with a warning."""
    from tracker.evaluation.api import EvalConfig, empty_table, find_result_file, load_ground_truth
    from tracker.io.mot import read_mot_file

    config = config or EvalConfig()
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise InputError(f"results {results_dir}: not a folder (expected a folder of <SEQ>.txt result files)",
                         "results")
    sources, warnings = load_ground_truth(gt_root, seqs, config.benchmark)
    datas = []
    for seq in sources:
        path = find_result_file(results_dir, seq.name)
        if path is None:
            warnings.append(f"{seq.name}: no result file in {results_dir}; counted as empty")
            table = empty_table(results_dir / f"{seq.name}.txt")
        else:
            table = read_mot_file(path, "result", seq.num_frames)
        datas.append(build_sequence_data(seq.table, table, name=seq.name, benchmark=seq.benchmark,
                                         frame_rate=seq.frame_rate, num_frames=seq.num_frames))
    return evaluate_link_data(datas, name or results_dir.name or str(results_dir), config, warnings)


#: columns of the ``track eval --link`` table: (header, key, percent)
LINK_COLUMNS = (("HOTA", "HOTA", True), ("AssA", "AssA", True), ("IDF1", "IDF1", True), ("IDsw", "IDSW", False),
                ("IDs", "IDs", False))
PAIR_COLUMNS = (("Link P", "LinkP", True), ("Link R", "LinkR", True), ("Link F1", "LinkF1", True),
                ("links", "PredictedLinks", False), ("gt links", "GTLinks", False))


def format_link_table(evaluations: Dict[str, LinkEvaluation]) -> str:
    """Markdown: per result set, its global metrics with the no-linking baseline beside."""
    header = ["results", "ids"] + [c[0] for c in LINK_COLUMNS + PAIR_COLUMNS]
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * (len(header) - 2)]

    def cells(result, pairs):
        summary, ps = result.summary(), pairs.summary()
        out = []
        for _, key, pct in LINK_COLUMNS:
            v = summary[key]
            out.append(f"{100 * v:.1f}" if pct else str(int(v)))
        for _, key, pct in PAIR_COLUMNS:
            v = ps[key]
            out.append(f"{100 * v:.1f}" if pct else str(int(v)))
        return out

    for name, ev in evaluations.items():
        lines.append("| " + " | ".join([name, "global"] + cells(ev.linked, ev.linked_pairs)) + " |")
        lines.append("| " + " | ".join([name, "no linking"] + cells(ev.unlinked, ev.unlinked_pairs)) + " |")
    return "\n".join(lines)
