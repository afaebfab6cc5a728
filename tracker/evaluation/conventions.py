"""Benchmark conventions of MOTChallenge evaluation (TrackEval's ``MotChallenge2DBox``).

Which ground-truth rows are scored and which tracker boxes are removed before scoring depends on
the benchmark a sequence belongs to (see ``../shared/data/README.md`` and
``docs/evaluation.md``):

* ``MOT15``: gt rows with ``conf == 0`` are dropped; nothing else is removed, so tracker boxes
  on those people count as false positives.
* ``MOT16`` / ``MOT17``: per frame, tracker boxes are matched to ALL gt boxes (Hungarian on
  IoU, a match needs IoU >= 0.5); tracker boxes matched to gt of a distractor class are
  removed; then only gt of the pedestrian class with ``conf != 0`` is scored.
* ``MOT20``: as MOT17, with class 6 (non-MOT vehicle) added to the distractors.
"""
from __future__ import annotations

from typing import Optional

AUTO = "auto"
MOT15 = "MOT15"
MOT16 = "MOT16"
MOT17 = "MOT17"
MOT20 = "MOT20"
BENCHMARKS = (MOT15, MOT16, MOT17, MOT20)
BENCHMARK_CHOICES = (AUTO,) + BENCHMARKS

PEDESTRIAN_CLASS = 1
#: gt classes whose matched tracker boxes are removed before scoring (MOTChallenge class ids:
#: 2 person on vehicle, 7 static person, 8 distractor, 12 reflection; MOT20 adds 6 non-MOT vehicle).
DISTRACTOR_CLASSES = {
    MOT16: (2, 7, 8, 12),
    MOT17: (2, 7, 8, 12),
    MOT20: (2, 6, 7, 8, 12),
}
#: the class ids a MOT16/17/20 gt file may hold (1 pedestrian ... 13 crowd).
VALID_GT_CLASSES = tuple(range(1, 14))
#: a MOT16/17/20 gt file has 9 columns ``frame,id,x,y,w,h,conf,class,visibility``; MOT15 has 10.
CLASSED_GT_COLUMNS = 9
#: IoU a tracker box needs with a distractor gt box to be removed (TrackEval's preprocessing).
DISTRACTOR_MATCH_IOU = 0.5


def has_class_preprocessing(benchmark: str) -> bool:
    """True for benchmarks whose gt has class and visibility columns (MOT16/17/20)."""
    return benchmark in DISTRACTOR_CLASSES


def detect_benchmark(sequence_name: str, gt_columns: Optional[int] = None) -> str:
    """Pick the conventions for one sequence.

    A name starting with ``MOT20`` -> MOT20; ``MOT16``/``MOT17`` -> MOT17; otherwise a gt file
    with exactly 9 columns (``...,conf,class,visibility``) -> MOT17; anything else -> MOT15.
    """
    upper = sequence_name.upper()
    if upper.startswith(MOT20):
        return MOT20
    if upper.startswith(MOT16) or upper.startswith(MOT17):
        return MOT17
    if gt_columns == CLASSED_GT_COLUMNS:
        return MOT17
    return MOT15


def resolve_benchmark(requested: str, sequence_name: str, gt_columns: Optional[int] = None) -> str:
    """``requested`` is one of ``BENCHMARK_CHOICES``; ``auto`` defers to ``detect_benchmark``."""
    if requested not in BENCHMARK_CHOICES:
        raise ValueError(f"benchmark must be one of {BENCHMARK_CHOICES}, got {requested!r}")
    if requested == AUTO:
        return detect_benchmark(sequence_name, gt_columns)
    return requested
