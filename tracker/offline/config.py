"""``OfflineConfig``: the settings of the offline identity stage (frozen, validated).

Units: times in seconds, distances and speeds in box heights (the geometric mean of the two
boxes' heights compared), probabilities in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from tracker.config_base import ConfigBase, check_range

#: the pair scorers: the hand-built likelihoods (scoring.py) or the learned network (learned.py)
SCORERS = ("hand", "learned")
#: the longest time any bound may name (one day): a larger value is a unit mistake
MAX_SECONDS = 86400.0


@dataclass(frozen=True)
class OfflineConfig(ConfigBase):
    """Settings of ``link_tracklets``. ``threshold``, ``max_gap_s`` and ``max_fill_s`` are the
    values every one of the 4 leave-sequences-out folds chose on the development sequences for
    the hand-built scorer, and ``threshold`` the one 10 of the 12 (fold, seed) runs chose for the
    learned one (``benchmarks/offline_linking.py``, docs/offline.md); the hand-built scorer's
    spreads are hand-set.

    Tracklets (``tracklets.py``):
      cut_speed: an online track is cut where its box moves faster than this between two
        consecutive observations (box heights per second): a wrong online match that the
        linker may undo. cut_size_ratio: ... or where its height changes by more than this
        factor between them. cut_after_gap_s: ... or where it is observed again after being
        unseen for at least this long (None: never cut there).
      velocity_window_s: the velocity at a tracklet's start and end is fitted over its
        observations within this many seconds of that end.
    Scorer (``scoring.py``), a likelihood ratio "same identity" / "another one" per pair:
      max_gap_s: the longest gap between a tracklet's end and the next one's start that may be
        linked. max_speed: the fastest plausible motion across a gap (heights/s; a hard bound,
        also the radius of the disc a stranger may appear in). position_sigma: the spread of
        the predicted position at a gap of 0 (heights); position_sigma_rate: its growth per
        second of gap (heights/s). velocity_horizon_s: the tracklet velocity is extrapolated
        for at most this long. size_sigma / size_sigma_other: spread of log(height ratio) for
        one identity / two identities; max_size_ratio: a hard bound on the height ratio.
      appearance_mean_same / appearance_mean_other / appearance_sigma: the cosine of two
        tracklets' mean embeddings for one identity / two identities and its spread (used
        when both tracklets carry embeddings).
      prior_log_odds: log-odds of "same identity" for two candidate tracklets before any
        evidence, at a gap of 0; gap_decay_s: they fall by 1 per this many seconds of gap.
      scorer: "learned" (``learned.py``: a small network trained without labels,
        ``tracker.training.offline_scorer``; the hard constraints stay) or "hand" (these
        likelihoods). The default is the learned one: held out it beat the hand-built one in
        the static and the moving group (mean of 3 training seeds, docs/offline.md).
        scorer_weights: the learned scorer's ``.npz`` (None: the shipped
        ``tracker/models/offline/pair_scorer.npz``).
    Linking (``linking.py``):
      threshold: the least probability a link needs (pairs below stay separate identities).
      link: False turns linking off (and cutting): each online ID stays one identity, and
        only its gaps are filled (the ``<peer>+interp`` baseline of ``track bench``).
    Gap filling (``interpolation.py``):
      max_fill_s: gaps inside one identity up to this long are filled by linear
        interpolation (0: never).
    """

    cut_speed: float = 6.0
    cut_size_ratio: float = 1.6
    cut_after_gap_s: Optional[float] = None
    velocity_window_s: float = 1.0
    max_gap_s: float = 4.0
    max_speed: float = 1.5
    position_sigma: float = 0.25
    position_sigma_rate: float = 0.25
    velocity_horizon_s: float = 1.0
    size_sigma: float = 0.12
    size_sigma_other: float = 0.5
    max_size_ratio: float = 2.0
    appearance_mean_same: float = 0.8
    appearance_mean_other: float = 0.4
    appearance_sigma: float = 0.15
    prior_log_odds: float = 0.0
    gap_decay_s: float = 4.0
    scorer: str = "learned"
    scorer_weights: Optional[str] = None
    threshold: float = 0.9
    link: bool = True
    max_fill_s: float = 2.0

    def __post_init__(self) -> None:
        name = type(self).__name__
        for field in ("cut_speed", "velocity_window_s", "max_gap_s", "max_speed", "position_sigma",
                      "position_sigma_rate", "velocity_horizon_s", "size_sigma", "size_sigma_other",
                      "appearance_sigma", "gap_decay_s"):
            check_range(f"{name}.{field}", getattr(self, field), 0.0, MAX_SECONDS, low_inclusive=False)
        for field in ("cut_size_ratio", "max_size_ratio"):
            check_range(f"{name}.{field}", getattr(self, field), 1.0, None, low_inclusive=False)
        if self.cut_after_gap_s is not None:
            check_range(f"{name}.cut_after_gap_s", self.cut_after_gap_s, 0.0, MAX_SECONDS, low_inclusive=False)
        for field in ("appearance_mean_same", "appearance_mean_other"):
            check_range(f"{name}.{field}", getattr(self, field), -1.0, 1.0)
        check_range(f"{name}.prior_log_odds", self.prior_log_odds, -100.0, 100.0)
        check_range(f"{name}.threshold", self.threshold, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
        if self.scorer not in SCORERS:
            raise ValueError(f"{name}.scorer must be one of {', '.join(SCORERS)}, got {self.scorer!r}")
        if self.scorer_weights is not None and (not isinstance(self.scorer_weights, str) or not self.scorer_weights):
            raise ValueError(f"{name}.scorer_weights must be a path or None, got {self.scorer_weights!r}")
        if not isinstance(self.link, bool):
            raise ValueError(f"{name}.link must be true or false, got {self.link!r}")
        check_range(f"{name}.max_fill_s", self.max_fill_s, 0.0, MAX_SECONDS)
