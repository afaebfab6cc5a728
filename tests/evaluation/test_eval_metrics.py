"""Hand-computed scenarios for HOTA, CLEAR, Identity, identity permanence, the benchmark
conventions and the combination across sequences. Every expected value is derived in the
comments from the definitions (docs/evaluation.md)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tracker.errors import InputError
from tracker.evaluation import (
    ALPHAS,
    EvalConfig,
    combine_results,
    detect_benchmark,
    evaluate_sequence,
)
from tracker.evaluation.permanence import min_gap_frames
from tracker.io.mot import MotTable

A = (0.0, 0.0, 10.0, 10.0)  # a 10x10 box at the origin (x, y, w, h)
FAR = (100.0, 100.0, 10.0, 10.0)  # overlaps nothing near the origin


def table(rows, columns=None, path="<memory>") -> MotTable:
    """rows: (frame, id, x, y, w, h[, conf[, class[, visibility]]]) -> a MotTable sorted by frame."""
    rows = sorted(rows, key=lambda r: r[0])
    n = len(rows)

    def col(i, default):
        return np.array([r[i] if len(r) > i else default for r in rows], dtype=float)

    return MotTable(
        path=path, frames=col(0, 0).astype(np.int64), ids=col(1, 0).astype(np.int64),
        xywh=np.array([r[2:6] for r in rows], dtype=float).reshape(n, 4), scores=col(6, 1.0),
        classes=col(7, -1).astype(np.int64), visibility=col(8, 1.0), lines=np.arange(1, n + 1, dtype=np.int64),
        columns=columns or (len(rows[0]) if rows else 0),
    )


def row(frame, tid, box, *extra):
    return (frame, tid) + tuple(box) + tuple(extra)


def evaluate(gt_rows, res_rows, num_frames, benchmark="MOT15", fps=25.0, **config):
    return evaluate_sequence(table(gt_rows), table(res_rows), name="toy", frame_rate=fps, num_frames=num_frames,
                             config=EvalConfig(benchmark=benchmark, **config))


def test_perfect_tracking_scores_one():
    gt = [row(f, i, (10.0 * i, 0, 5, 5)) for f in (1, 2, 3) for i in (1, 2)]
    s = evaluate(gt, gt, 3).summary()
    for key in ("HOTA", "DetA", "AssA", "LocA", "MOTA", "MOTP", "IDF1", "IDP", "IDR"):
        assert s[key] == pytest.approx(1.0), key
    assert (s["IDSW"], s["CLR_FP"], s["CLR_FN"], s["MT"], s["ML"]) == (0, 0, 0, 2, 0)


def test_one_id_switch():
    # gt 1 in frames 1-4; the tracker covers it exactly with id 10 in frames 1-2, id 11 in 3-4.
    gt = [row(f, 1, A) for f in (1, 2, 3, 4)]
    res = [row(f, 10, A) for f in (1, 2)] + [row(f, 11, A) for f in (3, 4)]
    r = evaluate(gt, res, 4)
    s = r.summary()
    # CLEAR: TP 4, FN 0, FP 0, one switch (frame 3): MOTA = (4 - 0 - 1) / 4 = 0.75; never
    # interrupted: Frag 0; matched in 4/4 frames: MT.
    assert (s["CLR_TP"], s["CLR_FN"], s["CLR_FP"], s["IDSW"], s["Frag"], s["MT"]) == (4, 0, 0, 1, 0, 1)
    assert s["MOTA"] == pytest.approx(0.75)
    # Identity: gt 1 -> tracker 10 (or 11) for 2 frames: IDTP 2, IDFN 2, IDFP 2 (the other id):
    # IDF1 = 2 / (2 + 1 + 1) = 0.5, IDP = IDR = 0.5.
    assert (s["IDTP"], s["IDFN"], s["IDFP"]) == (2, 2, 2)
    assert (s["IDF1"], s["IDP"], s["IDR"]) == pytest.approx((0.5, 0.5, 0.5))
    # HOTA (all IoU = 1, so every alpha is the same): DetA = 4 / 4 = 1. Each TP's identity pair
    # (1,10) and (1,11) has TPA 2, FNA = 4 - 2 = 2, FPA = 2 - 2 = 0: A = 2 / 4 = 0.5, so
    # AssA = 0.5, AssRe = TPA / (TPA + FNA) = 0.5, AssPr = TPA / (TPA + FPA) = 1,
    # HOTA = sqrt(1 * 0.5) = 0.70711.
    assert s["DetA"] == pytest.approx(1.0)
    assert (s["AssA"], s["AssRe"], s["AssPr"]) == pytest.approx((0.5, 0.5, 1.0))
    assert s["HOTA"] == pytest.approx(math.sqrt(0.5))


def _fp_scenario():
    # gt 1 = box A in frames 1-2. Tracker id 7: A in frame 1 (IoU 1), a 10x7.2 box in frame 2
    # (intersection 72, union 100: IoU 0.72). Tracker id 8: a false positive far away in frame 2.
    gt = [row(1, 1, A), row(2, 1, A)]
    res = [row(1, 7, A), row(2, 7, (0, 0, 10, 7.2)), row(2, 8, FAR)]
    return gt, res


def test_false_positive_and_partial_overlap_hand_computed_hota():
    gt, res = _fp_scenario()
    s = evaluate(gt, res, 2).summary()
    # CLEAR: both frames matched (IoU 1 and 0.72 >= 0.5), one FP: MOTA = (2 - 1 - 0) / 2 = 0.5,
    # MOTP = (1 + 0.72) / 2 = 0.86.
    assert (s["CLR_TP"], s["CLR_FP"], s["CLR_FN"], s["IDSW"]) == (2, 1, 0, 0)
    assert s["MOTA"] == pytest.approx(0.5)
    assert s["MOTP"] == pytest.approx(0.86)
    # Identity: IDTP 2, IDFP 1 (id 8), IDFN 0: IDF1 = 2 / (2 + 0.5) = 0.8, IDP = 2/3, IDR = 1.
    assert (s["IDF1"], s["IDP"], s["IDR"]) == pytest.approx((0.8, 2 / 3, 1.0))
    # HOTA. Global alignment of (1, 7) is 1 (it overlaps gt 1 in both frames, alone), so the
    # Hungarian pairs gt 1 with id 7 in both frames; the TP IoUs are 1.0 and 0.72.
    #  * 14 thresholds alpha = 0.05..0.70 (<= 0.72): TP 2, FN 0, FP 1 -> DetA = 2/3;
    #    pair (1,7): TPA 2, FNA 0, FPA 0 -> A = 1 -> AssA = 1; HOTA_a = sqrt(2/3); LocA_a = 0.86.
    #  * 5 thresholds alpha = 0.75..0.95: only the IoU-1 match counts: TP 1, FN 1, FP 2 ->
    #    DetA = 1/4; pair (1,7): TPA 1, FNA 1, FPA 1 -> A = 1/3 -> AssA = 1/3;
    #    HOTA_a = sqrt(1/4 * 1/3) = sqrt(1/12); LocA_a = 1.
    # Reported values are the means over the 19 thresholds.
    lo, hi = int(np.sum(ALPHAS <= 0.72)), int(np.sum(ALPHAS > 0.72))
    assert (lo, hi) == (14, 5)
    assert s["DetA"] == pytest.approx((14 * 2 / 3 + 5 * 1 / 4) / 19)
    assert s["AssA"] == pytest.approx((14 * 1 + 5 * 1 / 3) / 19)
    assert s["LocA"] == pytest.approx((14 * 0.86 + 5 * 1.0) / 19)
    assert s["HOTA"] == pytest.approx((14 * math.sqrt(2 / 3) + 5 * math.sqrt(1 / 12)) / 19)
    assert s["DetRe"] == pytest.approx((14 * 1.0 + 5 * 0.5) / 19)
    assert s["DetPr"] == pytest.approx((14 * 2 / 3 + 5 * 1 / 3) / 19)


def test_combined_sums_counts_not_ratios():
    gt1 = [row(f, 1, A) for f in (1, 2, 3, 4)]
    res1 = [row(f, 10, A) for f in (1, 2)] + [row(f, 11, A) for f in (3, 4)]
    gt2, res2 = _fp_scenario()
    r1, r2 = evaluate(gt1, res1, 4), evaluate(gt2, res2, 2)
    c = combine_results([r1, r2]).summary()
    # MOTA: TP 4 + 2, FN 0, FP 0 + 1, IDSW 1 + 0 -> (6 - 1 - 1) / 6 = 2/3 (the mean of the
    # per-sequence MOTAs, (0.75 + 0.5) / 2 = 0.625, would be wrong).
    assert c["MOTA"] == pytest.approx(2 / 3)
    # IDF1: IDTP 2 + 2, IDFP 2 + 1, IDFN 2 + 0 -> 4 / (4 + 1.5 + 1) = 8/13.
    assert c["IDF1"] == pytest.approx(8 / 13)
    # HOTA: alpha <= 0.72: TP 6, FN 0, FP 1 -> DetA 6/7; AssA = (4 * 0.5 + 2 * 1) / 6 = 2/3.
    #       alpha > 0.72: TP 5, FN 1, FP 2 -> DetA 5/8; AssA = (4 * 0.5 + 1 * 1/3) / 5 = 7/15.
    expected = (14 * math.sqrt(6 / 7 * 2 / 3) + 5 * math.sqrt(5 / 8 * 7 / 15)) / 19
    assert c["HOTA"] == pytest.approx(expected)
    assert (c["GT_Dets"], c["Dets"], c["CLR_TP"]) == (6, 7, 6)


def test_clear_prefers_previous_frame_pair_over_higher_iou():
    # Frame 1: tracker 10 sits exactly on gt 1. Frame 2: tracker 10 overlaps gt 1 with IoU 0.6,
    # tracker 20 with IoU 0.9. Maximising IoU would switch to 20 (an IDSW); CLEAR keeps the
    # previous pair (10): no switch, 20 is a FP, MOTP = (1 + 0.6) / 2.
    box = (0, 0, 100, 10)
    gt = [row(1, 1, box), row(2, 1, box)]
    res = [row(1, 10, box), row(2, 10, (0, 0, 60, 10)), row(2, 20, (0, 0, 90, 10))]
    s = evaluate(gt, res, 2).summary()
    assert (s["IDSW"], s["CLR_TP"], s["CLR_FP"]) == (0, 2, 1)
    assert s["MOTP"] == pytest.approx(0.8)


def test_fragmentation_and_mostly_tracked_lost():
    # gt 1 present in frames 1-10, tracked in 1-3 and 6-10 (same id): one interruption -> Frag 1,
    # matched 8/10 = 0.8 -> not > 0.8 -> PT. gt 2 present in frames 1-10, tracked only in frame 1:
    # 1/10 < 0.2 -> ML. gt 3 tracked everywhere -> MT.
    gt = [row(f, i, (30.0 * i, 0, 10, 10)) for f in range(1, 11) for i in (1, 2, 3)]
    res = [row(f, 1, (30.0, 0, 10, 10)) for f in (1, 2, 3, 6, 7, 8, 9, 10)]
    res += [row(1, 2, (60.0, 0, 10, 10))] + [row(f, 3, (90.0, 0, 10, 10)) for f in range(1, 11)]
    s = evaluate(gt, res, 10).summary()
    assert (s["Frag"], s["MT"], s["PT"], s["ML"]) == (1, 1, 1, 1)
    assert (s["CLR_TP"], s["CLR_FN"], s["CLR_FP"], s["IDSW"]) == (19, 11, 0, 0)


def test_empty_results_follow_trackeval_conventions():
    gt = [row(f, 1, A) for f in (1, 2, 3)]
    s = evaluate(gt, [], 3).summary()
    assert (s["HOTA"], s["MOTA"], s["IDF1"]) == (0.0, 0.0, 0.0)
    assert (s["CLR_FN"], s["ML"], s["IDFN"]) == (3, 1, 3)
    assert s["LocA"] == 1.0  # TrackEval reports LocA 1 when nothing is matched
    assert math.isnan(s["ReentryRecall"])


def test_mot15_drops_zero_conf_gt_and_keeps_everything_else():
    # gt 2 has conf 0: not scored, and the tracker box on it is a false positive under MOT15.
    gt = [row(1, 1, A, 1), row(1, 2, FAR, 0)]
    res = [row(1, 5, A), row(1, 6, FAR)]
    r = evaluate(gt, res, 1, benchmark="MOT15")
    s = r.summary()
    assert (s["GT_Dets"], s["CLR_TP"], s["CLR_FP"]) == (1, 1, 1)
    assert r.info["gt_rows_not_scored"] == 1 and r.info["tracker_rows_removed"] == 0


def test_mot17_removes_boxes_on_distractors_and_scores_only_pedestrians():
    near = (200.0, 0, 10, 10)
    gt = [
        row(1, 1, A, 1, 1, 1.0),  # pedestrian: scored
        row(1, 2, FAR, 0, 7, 1.0),  # static person (distractor class 7): tracker box on it removed
        row(1, 3, near, 0, 1, 1.0),  # pedestrian with conf 0: not scored, not a distractor -> FP
        row(1, 4, (300.0, 0, 10, 10), 1, 3, 1.0),  # car (class 3): not scored, not a distractor -> FP
    ]
    res = [row(1, 5, A), row(1, 6, FAR), row(1, 7, near), row(1, 8, (300.0, 0, 10, 10)),
           row(1, 9, (100.0, 100, 10, 4))]  # IoU 0.4 with the distractor: below 0.5, kept -> FP
    r = evaluate(gt, res, 1, benchmark="MOT17")
    s = r.summary()
    assert r.info["tracker_rows_removed"] == 1
    assert (s["GT_Dets"], s["Dets"], s["CLR_TP"], s["CLR_FP"]) == (1, 4, 1, 3)
    # the same files under MOT15 rules: gt 1 and gt 4 (conf 1) are scored, nothing is removed
    s15 = evaluate(gt, res, 1, benchmark="MOT15").summary()
    assert (s15["GT_Dets"], s15["Dets"], s15["CLR_TP"], s15["CLR_FP"]) == (2, 5, 2, 3)


def test_mot20_also_treats_class_6_as_distractor():
    gt = [row(1, 1, A, 1, 1, 1.0), row(1, 2, FAR, 0, 6, 1.0)]
    res = [row(1, 5, A), row(1, 6, FAR)]
    assert evaluate(gt, res, 1, benchmark="MOT17").summary()["CLR_FP"] == 1
    assert evaluate(gt, res, 1, benchmark="MOT20").summary()["CLR_FP"] == 0


def test_benchmark_detection():
    assert detect_benchmark("MOT17-05-FRCNN", 9) == "MOT17"
    assert detect_benchmark("MOT16-02", 10) == "MOT17"
    assert detect_benchmark("MOT20-01", 9) == "MOT20"
    assert detect_benchmark("TUD-Campus", 10) == "MOT15"
    assert detect_benchmark("my-sequence", 9) == "MOT17"
    assert detect_benchmark("my-sequence", 7) == "MOT15"


def test_mot15_gt_evaluated_as_mot17_is_an_input_error():
    gt = [row(1, 1, A, 1, -1, -1)]
    with pytest.raises(InputError, match="not a MOTChallenge class"):
        evaluate(gt, [row(1, 1, A)], 1, benchmark="MOT17")


def test_duplicate_id_in_a_frame_names_file_and_line():
    gt = [row(1, 1, A)]
    res = table([row(1, 3, A), row(1, 3, FAR)], path="res.txt")
    with pytest.raises(InputError, match=r"res\.txt:2: tracker id 3 appears twice in frame 1"):
        evaluate_sequence(table(gt), res, name="toy", frame_rate=25, num_frames=1, config=EvalConfig("MOT15"))


# --- identity permanence ------------------------------------------------------------------------
FPS = 5.0  # 1 s = 5 frames


def _gap_scenario(after_id, gap=range(4, 9), after_frames=(9, 10)):
    """gt 1 present in frames 1-3, absent in ``gap``, present after; tracked by id 10 before."""
    frames = [f for f in range(1, 11) if f not in gap]
    gt = [row(f, 1, A) for f in frames]
    res = [row(f, 10, A) for f in (1, 2, 3)]
    if after_id is not None:
        res += [row(f, after_id, A) for f in after_frames]
    return gt, res


@pytest.mark.parametrize("after_id, expected", [(10, (1, 0, 0)), (11, (0, 1, 0)), (None, (0, 0, 1))])
def test_reentry_outcomes(after_id, expected):
    gt, res = _gap_scenario(after_id)
    r = evaluate(gt, res, 10, fps=FPS)
    p = r.permanence
    assert (p.recovered, p.lost, p.unmatched) == expected
    (event,) = p.events
    assert (event.gt_id, event.first_frame, event.last_frame, event.length) == (1, 4, 8, 5)
    assert event.before_id == 10 and event.after_id == after_id
    recall = r.summary()["ReentryRecall"]
    if after_id is None:
        assert math.isnan(recall)
    else:
        assert recall == (1.0 if after_id == 10 else 0.0)


def test_reentry_gap_shorter_than_k_is_not_counted():
    gt, res = _gap_scenario(10, gap=range(4, 8))  # 4 frames = 0.8 s < 1 s
    assert evaluate(gt, res, 10, fps=FPS).permanence.gaps == 0
    assert evaluate(gt, res, 10, fps=FPS, reentry_seconds=0.8).permanence.gaps == 1


def test_reentry_uses_last_and_first_matched_frames_around_the_gap():
    # gt 1 present in 1-3 and 9-12; matched by 10 only in frame 1 before, and by 10 only in
    # frame 12 after (frames 2, 3, 9-11 are misses): still recovered.
    gt = [row(f, 1, A) for f in (1, 2, 3, 9, 10, 11, 12)]
    res = [row(1, 10, A), row(12, 10, A)]
    p = evaluate(gt, res, 12, fps=FPS).permanence
    assert (p.recovered, p.lost, p.unmatched) == (1, 0, 0)


def test_reentry_mot17_low_visibility_counts_as_absent_and_matches_inside_are_ignored():
    # MOT17: gt 1 has rows in every frame, but visibility 0.05 in frames 4-8 (the gap). The tracker
    # follows it with id 10 until frame 3, with id 99 inside the gap, and id 10 again from frame 9:
    # before = 10 (frame 3), after = 10 (frame 9) -> recovered; id 99 inside the gap is ignored.
    gt = [row(f, 1, A, 1, 1, 0.05 if 4 <= f <= 8 else 0.9) for f in range(1, 11)]
    res = [row(f, 10 if f < 4 or f > 8 else 99, A) for f in range(1, 11)]
    r = evaluate(gt, res, 10, benchmark="MOT17", fps=FPS)
    assert (r.permanence.recovered, r.permanence.lost) == (1, 0)
    assert r.summary()["IDSW"] == 2  # CLEAR still sees the switches to 99 and back
    # under MOT15 rules there is no visibility: no gap at all
    assert evaluate(gt, res, 10, benchmark="MOT15", fps=FPS).permanence.gaps == 0


def test_reentry_combined_sums_counts():
    a = evaluate(*_gap_scenario(10), 10, fps=FPS)
    b = evaluate(*_gap_scenario(11), 10, fps=FPS)
    c = combine_results([a, b, b])
    assert (c.permanence.recovered, c.permanence.lost) == (1, 2)
    assert c.summary()["ReentryRecall"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("seconds, fps, frames", [(1.0, 14, 14), (1.0, 25, 25), (1.0, 7, 7), (0.5, 25, 13),
                                                  (1.0, 29.97, 30), (0.1, 5, 1)])
def test_min_gap_frames(seconds, fps, frames):
    assert min_gap_frames(seconds, fps) == frames


@pytest.mark.parametrize("kwargs, field", [({"benchmark": "MOT99"}, "benchmark"),
                                           ({"reentry_seconds": 0}, "reentry_seconds"),
                                           ({"reentry_seconds": float("nan")}, "reentry_seconds"),
                                           ({"iou_threshold": 1.5}, "iou_threshold"),
                                           ({"reentry_min_visibility": -0.1}, "reentry_min_visibility")])
def test_config_validation_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"EvalConfig.{field}"):
        EvalConfig(**kwargs)
