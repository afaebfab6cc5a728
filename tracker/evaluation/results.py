"""Per-sequence results and their combination across sequences (sum the counts, then form the
ratios; never a mean of per-sequence ratios)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import reduce
from typing import Dict, Iterable, Optional

from tracker.evaluation.clear import ClearCounts
from tracker.evaluation.hota import HotaCounts
from tracker.evaluation.identity import IdentityCounts
from tracker.evaluation.permanence import PermanenceCounts

COMBINED = "COMBINED"
#: the metrics of the one-line summary, in table order; all fractions in [0, 1] except counts.
SUMMARY_ORDER = (
    "HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr",
    "MOTA", "MOTP", "MODA", "CLR_Re", "CLR_Pr", "IDSW", "Frag", "MT", "PT", "ML", "CLR_TP", "CLR_FP", "CLR_FN",
    "IDF1", "IDP", "IDR", "IDTP", "IDFP", "IDFN",
    "ReentryRecall", "ReentryRecovered", "ReentryLost", "ReentryUnmatched", "ReentryGaps",
    "GT_Dets", "Dets", "GT_IDs", "IDs",
)


@dataclass(frozen=True, eq=False)
class SequenceResult:
    """Every metric of one sequence (or of several combined, ``name == "COMBINED"``).

    hota, clear, identity, permanence: the summable counts of each metric family.
    num_gt_dets / num_tracker_dets / num_gt_ids / num_tracker_ids: after preprocessing
    (ids of a combined result are summed over sequences: identities are per sequence).
    info: bookkeeping (benchmark, frame rate, frames, rows dropped by the conventions, whether
    the result file was missing); for a combined result, the names of the sequences.
    """

    name: str
    hota: HotaCounts
    clear: ClearCounts
    identity: IdentityCounts
    permanence: PermanenceCounts
    num_gt_dets: int
    num_tracker_dets: int
    num_gt_ids: int
    num_tracker_ids: int
    info: dict = field(default_factory=dict)

    def summary(self) -> Dict[str, float]:
        """Flat ``metric -> value`` in ``SUMMARY_ORDER``: ratios as fractions, counts as ints."""
        out = {}
        out.update(self.hota.summary())
        out.update(self.clear.summary())
        out.update(self.identity.summary())
        out.update(self.permanence.summary())
        out.update({"GT_Dets": self.num_gt_dets, "Dets": self.num_tracker_dets,
                    "GT_IDs": self.num_gt_ids, "IDs": self.num_tracker_ids})
        return {k: out[k] for k in SUMMARY_ORDER}

    def to_dict(self, include_events: bool = True) -> dict:
        """Everything as plain Python values (NaN kept as float NaN; the JSON writer maps it to null)."""
        out = {"summary": self.summary(), "hota_per_alpha": self.hota.per_alpha(),
               "clear": {"MOTP_sum": self.clear.motp_sum, "CLR_Frames": self.clear.frames}, "info": dict(self.info)}
        if include_events:
            out["reentry_gaps"] = [asdict(e) for e in self.permanence.events]
        return out


def combine_results(results: Iterable[SequenceResult], name: str = COMBINED,
                    info: Optional[dict] = None) -> SequenceResult:
    """Sum the counts of several sequences; ratios are then formed from the sums."""
    results = list(results)
    seq_names = [r.name for r in results]
    base = dict(info or {})
    base.setdefault("sequences", seq_names)
    if not results:
        return SequenceResult(name, HotaCounts.zeros(), ClearCounts(), IdentityCounts(), PermanenceCounts(),
                              0, 0, 0, 0, base)
    return SequenceResult(
        name=name,
        hota=reduce(lambda a, b: a + b, (r.hota for r in results)),
        clear=reduce(lambda a, b: a + b, (r.clear for r in results)),
        identity=reduce(lambda a, b: a + b, (r.identity for r in results)),
        permanence=reduce(lambda a, b: a + b, (r.permanence for r in results)),
        num_gt_dets=sum(r.num_gt_dets for r in results),
        num_tracker_dets=sum(r.num_tracker_dets for r in results),
        num_gt_ids=sum(r.num_gt_ids for r in results),
        num_tracker_ids=sum(r.num_tracker_ids for r in results),
        info=base,
    )
