"""Agreement with the reference: TrackEval (the official MOTChallenge evaluator, ``trackeval`` from
PyPI, a test extra) and ``track eval`` on the same files must give the same per-sequence HOTA,
MOTA and IDF1 within 0.1 points, on real MOT15 and MOT17 sequences, for two result sets:

(a) our tracker's output on ``det/det.txt`` (``python -m tracker.cli mot``);
(b) a deliberately damaged copy of the gt: IDs swapped between pairs of tracks every 50
    frames, 10 % of the boxes jittered, 5 % of the rows dropped, false positives added, and (for
    MOT17) boxes on distractor-class people kept so the distractor removal is exercised.

Also an independent cross-check of CLEAR with ``motmetrics`` (its matching breaks ties
differently, so only near-agreement is expected there).
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tracker.evaluation import combine_results, evaluate_trackers

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "mot"
MOT15_SEQS = ("TUD-Campus", "TUD-Stadtmitte")
MOT17_SEQS = ("MOT17-05-FRCNN", "MOT17-09-FRCNN")
SEQS = MOT15_SEQS + MOT17_SEQS
TOLERANCE_POINTS = 0.1  # the agreement requirement, in percentage points
POINTS = 100.0
SWAP_PERIOD_FRAMES = 50
SWAP_PAIRS = 2
JITTER_FRACTION = 0.10
JITTER_SCALE = 0.15  # std of the shift, relative to the box size
DROP_FRACTION = 0.05
FP_FRACTION = 0.03
MOT17_DISTRACTORS = (2, 7, 8, 12)
SEED = 1234

pytestmark = pytest.mark.skipif(not DATA.is_dir(),
                                reason=f"MOT development data not found at {DATA} (see ../shared/data/README.md)")


def _read_rows(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", ndmin=2)


def damage_gt(gt_file: Path, mot17: bool, rng: np.random.Generator) -> np.ndarray:
    """A damaged tracker output built from gt: (R, 10) rows ``frame,id,x,y,w,h,1,-1,-1,-1``."""
    gt = _read_rows(gt_file)
    keep = gt[:, 6] != 0
    if mot17:
        keep = (keep & (gt[:, 7] == 1)) | np.isin(gt[:, 7], MOT17_DISTRACTORS)
    rows = gt[keep][:, :6].copy()
    # swap ids between pairs of the longest tracks in every other block of 50 frames
    ids, counts = np.unique(rows[:, 1], return_counts=True)
    longest = ids[np.argsort(-counts)][: 2 * SWAP_PAIRS]
    swapped_block = (rows[:, 0] // SWAP_PERIOD_FRAMES) % 2 == 1
    new_ids = rows[:, 1].copy()
    for a, b in longest.reshape(-1, 2):
        new_ids[swapped_block & (rows[:, 1] == a)] = b
        new_ids[swapped_block & (rows[:, 1] == b)] = a
    rows[:, 1] = new_ids
    # jitter 10 % of the boxes
    j = rng.random(len(rows)) < JITTER_FRACTION
    wh = rows[j, 4:6]
    rows[j, 2:4] += rng.normal(0.0, JITTER_SCALE, (j.sum(), 2)) * wh
    rows[j, 4:6] = wh * np.exp(rng.normal(0.0, JITTER_SCALE, (j.sum(), 2)))
    # drop 5 % of the rows
    rows = rows[rng.random(len(rows)) >= DROP_FRACTION]
    # false positives: shifted copies of random boxes, each with a fresh id
    n_fp = int(FP_FRACTION * len(rows))
    fp = rows[rng.choice(len(rows), n_fp, replace=False)].copy()
    fp[:, 2] += fp[:, 4] * rng.uniform(1.5, 3.0, n_fp)
    fp[:, 1] = rows[:, 1].max() + 1 + np.arange(n_fp)
    rows = np.concatenate([rows, fp])
    rows = rows[np.lexsort((rows[:, 1], rows[:, 0]))]
    out = np.full((len(rows), 10), -1.0)
    out[:, :6] = rows
    out[:, 6] = 1.0
    return out


def _write_rows(path: Path, rows: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{int(r[0])},{int(r[1])},{r[2]:.3f},{r[3]:.3f},{r[4]:.3f},{r[5]:.3f},{r[6]:g},-1,-1,-1" for r in rows]
    path.write_text("\n".join(lines) + "\n")


def _run_our_tracker(out_dir: Path) -> None:
    """(a): our tracker on det/det.txt, through the CLI as a user would run it."""
    cmd = [sys.executable, "-m", "tracker.cli", "mot", *[str(DATA / s) for s in SEQS], "--output-dir", str(out_dir),
           "--quiet"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"track mot failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"


def _import_trackeval():
    # trackeval 1.3.0 runs on numpy 2 as is; older releases used the aliases np.float/np.int/np.bool
    # removed in numpy 1.24. Restore them (test only) so an older trackeval still imports.
    for alias, real in (("float", float), ("int", int), ("bool", bool)):
        if alias not in np.__dict__:
            setattr(np, alias, real)
    return pytest.importorskip("trackeval", reason="TrackEval (pip install trackeval, a test extra) is not installed")


def run_trackeval(tmp: Path, seqs, benchmark: str, trackers_dir: Path, trackers) -> dict:
    """TrackEval on ``seqs``: returns ``{tracker: {seq: {"HOTA":..,"MOTA":..,"IDF1":.., ...}}}`` (fractions)."""
    trackeval = _import_trackeval()
    gt_dir = tmp / f"te_gt_{benchmark}"
    gt_dir.mkdir()
    for s in seqs:
        (gt_dir / s).symlink_to(DATA / s, target_is_directory=True)
    eval_config = trackeval.Evaluator.get_default_eval_config()
    eval_config.update({"USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False, "TIME_PROGRESS": False,
                        "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False, "PLOT_CURVES": False,
                        "OUTPUT_EMPTY_CLASSES": False, "BREAK_ON_ERROR": True, "RETURN_ON_ERROR": False})
    dataset_config = trackeval.datasets.MotChallenge2DBox.get_default_dataset_config()
    dataset_config.update({
        "GT_FOLDER": str(gt_dir), "TRACKERS_FOLDER": str(trackers_dir),
        "OUTPUT_FOLDER": str(tmp / f"te_out_{benchmark}"),
        "TRACKERS_TO_EVAL": list(trackers), "BENCHMARK": benchmark, "SPLIT_TO_EVAL": "train", "SKIP_SPLIT_FOL": True,
        "SEQ_INFO": {s: None for s in seqs}, "PRINT_CONFIG": False, "DO_PREPROC": True, "TRACKER_SUB_FOLDER": "data",
    })
    metric_config = {"THRESHOLD": 0.5, "PRINT_CONFIG": False}
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(metric_config),
               trackeval.metrics.Identity(metric_config)]
    evaluator = trackeval.Evaluator(eval_config)
    output, messages = evaluator.evaluate([trackeval.datasets.MotChallenge2DBox(dataset_config)], metrics)
    out = {}
    for tracker in trackers:
        assert messages["MotChallenge2DBox"][tracker] == "Success", messages["MotChallenge2DBox"][tracker]
        res = output["MotChallenge2DBox"][tracker]
        out[tracker] = {}
        for s in list(seqs) + ["COMBINED_SEQ"]:
            r = res[s]["pedestrian"]
            out[tracker][s] = {
                "HOTA": float(np.mean(r["HOTA"]["HOTA"])), "DetA": float(np.mean(r["HOTA"]["DetA"])),
                "AssA": float(np.mean(r["HOTA"]["AssA"])), "LocA": float(np.mean(r["HOTA"]["LocA"])),
                "MOTA": float(r["CLEAR"]["MOTA"]), "MOTP": float(r["CLEAR"]["MOTP"]),
                "IDF1": float(r["Identity"]["IDF1"]), "IDP": float(r["Identity"]["IDP"]),
                "IDR": float(r["Identity"]["IDR"]),
                "CLR_FP": int(r["CLEAR"]["CLR_FP"]), "CLR_FN": int(r["CLEAR"]["CLR_FN"]),
                "IDSW": int(r["CLEAR"]["IDSW"]),
                "MT": int(r["CLEAR"]["MT"]), "ML": int(r["CLEAR"]["ML"]), "Frag": int(r["CLEAR"]["Frag"]),
                "IDTP": int(r["Identity"]["IDTP"]),
            }
    return out


@pytest.fixture(scope="module")
def result_sets(tmp_path_factory):
    """Tracker folders in TrackEval's layout ``<root>/<tracker>/data/<SEQ>.txt``."""
    root = tmp_path_factory.mktemp("trackers")
    rng = np.random.default_rng(SEED)
    for s in SEQS:
        rows = damage_gt(DATA / s / "gt" / "gt.txt", s in MOT17_SEQS, rng)
        _write_rows(root / "damaged_gt" / "data" / f"{s}.txt", rows)
    _run_our_tracker(root / "ours" / "data")
    return root, ("ours", "damaged_gt")


def test_agreement_with_trackeval(result_sets, tmp_path):
    root, trackers = result_sets
    t0 = time.perf_counter()
    ours = evaluate_trackers(DATA, {t: root / t for t in trackers}, seqs=list(SEQS))
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    reference = run_trackeval(tmp_path, MOT15_SEQS, "MOT15", root, trackers)
    reference17 = run_trackeval(tmp_path, MOT17_SEQS, "MOT17", root, trackers)
    reference_combined = {"MOT15": {t: reference[t].pop("COMBINED_SEQ") for t in trackers},
                          "MOT17": {t: reference17[t].pop("COMBINED_SEQ") for t in trackers}}
    for tracker, per_seq in reference17.items():
        reference[tracker].update(per_seq)
    t_ref = time.perf_counter() - t0
    print(f"\nours {t_ours:.1f} s, TrackEval {t_ref:.1f} s")
    failures = []
    for tracker in trackers:
        for seq in SEQS:
            mine = ours[tracker].per_sequence[seq]
            assert mine.info["benchmark"] == ("MOT17" if seq in MOT17_SEQS else "MOT15")
            got = mine.summary()
            ref = reference[tracker][seq]
            print(f"{tracker:10s} {seq:15s} " + " ".join(
                f"{k} {POINTS * got[k]:6.2f}/{POINTS * ref[k]:6.2f}" for k in ("HOTA", "MOTA", "IDF1")))
            for key, value in ref.items():
                if isinstance(value, int):
                    if got[key] != value:
                        failures.append(f"{tracker} {seq} {key}: ours {got[key]} TrackEval {value}")
                elif abs(POINTS * (got[key] - value)) > TOLERANCE_POINTS:
                    failures.append(f"{tracker} {seq} {key}: ours {POINTS * got[key]:.3f} "
                                    f"TrackEval {POINTS * value:.3f}")
    # combined over each benchmark's sequences (sum counts, then ratios), as TrackEval's COMBINED_SEQ
    for tracker in trackers:
        for group, bench in ((MOT15_SEQS, "MOT15"), (MOT17_SEQS, "MOT17")):
            got = combine_results([ours[tracker].per_sequence[s] for s in group]).summary()
            ref = reference_combined[bench][tracker]
            for key in ("HOTA", "DetA", "AssA", "LocA", "MOTA", "MOTP", "IDF1"):
                if abs(POINTS * (got[key] - ref[key])) > TOLERANCE_POINTS:
                    failures.append(f"{tracker} combined {bench} {key}: ours {POINTS * got[key]:.3f} "
                                    f"TrackEval {POINTS * ref[key]:.3f}")
    assert not failures, "\n".join(failures)
    # the damage must have cost something, or the comparison is vacuous
    damaged = ours["damaged_gt"]
    assert all(damaged.per_sequence[s].clear.idsw > 0 for s in SEQS)
    assert all(0.3 < damaged.per_sequence[s].summary()["HOTA"] < 0.95 for s in SEQS)
    assert ours["ours"].combined.num_tracker_dets > 0


def test_clear_cross_check_with_motmetrics(result_sets):
    """Independent CLEAR implementation (motmetrics, with our IoU distances): it resolves ties
    differently, so FP/FN/IDSW may differ a little; MOTA must stay close."""
    import motmetrics as mm

    from tracker.evaluation import build_sequence_data
    from tracker.io.mot import read_mot_file, read_seqinfo

    root, trackers = result_sets
    for tracker in trackers:
        ours = evaluate_trackers(DATA, {tracker: root / tracker}, seqs=list(SEQS))[tracker]
        for seq in SEQS:
            info = read_seqinfo(DATA / seq)
            data = build_sequence_data(
                read_mot_file(DATA / seq / "gt" / "gt.txt", "gt", info.seq_length),
                read_mot_file(root / tracker / "data" / f"{seq}.txt", "result", info.seq_length),
                name=seq, benchmark="MOT17" if seq in MOT17_SEQS else "MOT15", frame_rate=info.frame_rate,
                num_frames=info.seq_length)
            acc = mm.MOTAccumulator(auto_id=False)
            for t, (g, k, sim) in enumerate(zip(data.gt_ids, data.tracker_ids, data.similarity)):
                acc.update(g, k, np.where(sim >= 0.5, 1.0 - sim, np.nan), frameid=t + 1)
            ref = mm.metrics.create().compute(acc, metrics=["mota", "num_false_positives", "num_misses"],
                                              return_dataframe=False)
            mine = ours.per_sequence[seq]
            assert abs(POINTS * (mine.clear.mota - ref["mota"])) < 1.0, (tracker, seq, mine.clear.mota, ref["mota"])
            total = mine.num_gt_dets
            assert abs(mine.clear.fn - ref["num_misses"]) <= 0.01 * total
            assert abs(mine.clear.fp - ref["num_false_positives"]) <= 0.01 * total
