"""Detector speed and precision/recall on real PETS09-S2L1 frames.

Prints a markdown table (and writes JSON with --json): for each detector variant, the
milliseconds per frame (median and mean over the timed frames, ``--threads`` CPU threads) and
precision / recall at IoU >= 0.5 against the ground truth for several score thresholds.

Data (read from ``../shared/data``, never copied into the package):

* ``video/vtest.avi`` (480x360, PETS09-S2L1 scaled by 0.625) with ``video/vtest.gt.txt``;
  ``@768`` variants upscale those frames to PETS09's 768x576 (gt scaled by 1.6);
* ``video/PETS09-S2L1.mp4`` (the original 768x576 frames) with ``mot/PETS09-S2L1/gt/gt.txt``.

Matching follows TrackEval's MOT15 convention: gt rows with conf == 0 are dropped; per frame
a Hungarian assignment on IoU, a match needs IoU >= 0.5; unmatched detections are false
positives. Frames are the first ``--frames`` decoded frames (frame f of the gt = decoded f-1).

Run from the repository root::

    python benchmarks/detector_speed.py --frames 100 --threads 2
    python benchmarks/detector_speed.py --frames 795 --variants ssdlite@vtest,ssdlite@pets --json out.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.boxes import iou_matrix  # noqa: E402
from tracker.detectors import DetectionFileDetector, SSDLitePersonDetector  # noqa: E402
from tracker.io.mot import read_mot_file  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.5)
LOWEST = min(THRESHOLDS)
IOU_MATCH = 0.5
WARMUP_FRAMES = 3

SOURCES = {
    # name: (video, gt, scale applied to frames and gt)
    "vtest": ("video/vtest.avi", "video/vtest.gt.txt", 1.0),
    "vtest@768": ("video/vtest.avi", "video/vtest.gt.txt", 1.6),
    "pets": ("video/PETS09-S2L1.mp4", "mot/PETS09-S2L1/gt/gt.txt", 1.0),
    "tud-campus": ("video/TUD-Campus.mp4", "mot/TUD-Campus/gt/gt.txt", 1.0),
    "tud-stadtmitte": ("video/TUD-Stadtmitte.mp4", "mot/TUD-Stadtmitte/gt/gt.txt", 1.0),
    "mot17-09": ("video/MOT17-09-FRCNN.mp4", "mot/MOT17-09-FRCNN/gt/gt.txt", 1.0),
}
PUBLIC_DETS = {
    "vtest": "video/vtest.det.txt",
    "pets": "mot/PETS09-S2L1/det/det.txt",
    "tud-campus": "mot/TUD-Campus/det/det.txt",
    "tud-stadtmitte": "mot/TUD-Stadtmitte/det/det.txt",
    "mot17-09": "mot/MOT17-09-FRCNN/det/det.txt",
}
MOT17_DISTRACTORS = (2, 7, 8, 12)
DEFAULT_VARIANTS = ",".join([
    "ssdlite@vtest", "ssdlite-full@vtest", "ssdlite@vtest@768", "ssdlite-full@vtest@768", "hog@vtest",
    "public-det@vtest", "ssdlite@pets", "ssdlite-full@pets", "public-det@pets",
])


def make_detector(kind: str, threads: int):
    """kind: ssdlite (the default: automatic tiles) | ssdlite-full (one run on the whole
    frame) | ssdlite-tilesRxC | hog (when this OpenCV has it)."""
    if kind == "ssdlite":
        return SSDLitePersonDetector(score_threshold=LOWEST, threads=threads)
    if kind == "ssdlite-full":
        return SSDLitePersonDetector(score_threshold=LOWEST, threads=threads, tiles=(1, 1))
    if kind.startswith("ssdlite-tiles"):
        rows, cols = (int(v) for v in kind[len("ssdlite-tiles"):].split("x"))
        return SSDLitePersonDetector(score_threshold=LOWEST, threads=threads, tiles=(rows, cols))
    if kind == "hog":
        if not hasattr(cv2, "HOGDescriptor"):
            return None
        hog = cv2.HOGDescriptor()
        hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

        def detect(frame):
            from tracker.detections import Detections
            up = 1.6
            big = cv2.resize(frame, None, fx=up, fy=up)
            rects, weights = hog.detectMultiScale(big, winStride=(8, 8), scale=1.1)
            rects = np.asarray(rects, np.float64).reshape(-1, 4) / up
            w = np.asarray(weights, np.float64).reshape(-1)
            return Detections.from_xywh(rects, 1.0 / (1.0 + np.exp(-w)))
        return detect
    raise ValueError(f"unknown detector kind {kind!r}")


def iter_frames(video: Path, n: int, scale: float):
    """The first ``n`` decoded frames (BGR), resized by ``scale``; streamed, not stored."""
    cap = cv2.VideoCapture(str(video))
    try:
        for _ in range(n):
            ok, frame = cap.read()
            if not ok:
                break
            if scale != 1.0:
                frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
            yield frame
    finally:
        cap.release()


def load_gt(path: Path, scale: float) -> dict:
    """{frame: (gt xyxy (G, 4), distractor mask (G,))}: MOT15 gt keeps rows with conf != 0;
    MOT17 gt (class column >= 1) keeps class 1 with conf != 0 as gt and marks the
    distractor classes, whose matched detections are ignored (TrackEval's rule)."""
    table = read_mot_file(path, "gt")
    mot17 = "MOT17" in str(path)
    if mot17:
        is_gt = (table.classes == 1) & (table.scores != 0)
        is_distractor = np.isin(table.classes, MOT17_DISTRACTORS)
    else:
        is_gt = table.scores != 0
        is_distractor = np.zeros(len(table), bool)
    keep = is_gt | is_distractor
    by_frame = {}
    for f, xywh, d in zip(table.frames[keep], table.xywh[keep] * scale, is_distractor[keep]):
        by_frame.setdefault(int(f), []).append([xywh[0], xywh[1], xywh[0] + xywh[2], xywh[1] + xywh[3], d])
    return {f: (np.array(v)[:, :4], np.array(v)[:, 4].astype(bool)) for f, v in by_frame.items()}


EMPTY_GT = (np.zeros((0, 4)), np.zeros(0, bool))


def matched(pred: np.ndarray, gt: tuple) -> tuple:
    """-> (true positives, detections counted): detections matched to a distractor are not
    counted."""
    boxes, distractor = gt
    if len(pred) == 0 or len(boxes) == 0:
        return 0, len(pred)
    iou = iou_matrix(pred, boxes)
    rows, cols = linear_sum_assignment(-iou)
    ok = iou[rows, cols] >= IOU_MATCH
    ignored = int((ok & distractor[cols]).sum())
    return int((ok & ~distractor[cols]).sum()), len(pred) - ignored


def evaluate(outputs: list, gt: dict) -> dict:
    """outputs: per frame (xyxy, scores) -> {threshold: (P, R, tp, n_pred, n_gt)}."""
    n_gt = sum(int((~gt.get(i + 1, EMPTY_GT)[1]).sum()) for i in range(len(outputs)))
    result = {}
    for thr in THRESHOLDS:
        tp = n_pred = 0
        for i, (xyxy, scores) in enumerate(outputs):
            t, counted = matched(xyxy[scores >= thr], gt.get(i + 1, EMPTY_GT))
            tp += t
            n_pred += counted
        result[thr] = {"precision": tp / max(n_pred, 1), "recall": tp / max(n_gt, 1), "tp": tp,
                       "detections": n_pred, "gt": n_gt}
    return result


def run_variant(variant: str, n_frames: int, threads: int) -> dict:
    kind, source = variant.split("@", 1)
    video, gt_path, scale = SOURCES[source]
    gt = load_gt(DATA / gt_path, scale)
    first = next(iter_frames(DATA / video, 1, scale))
    size = f"{first.shape[1]}x{first.shape[0]}"
    if kind == "public-det":
        det_file = PUBLIC_DETS.get(source)
        if det_file is None:
            return {"variant": variant, "skipped": "no public detections at this scale"}
        detector = DetectionFileDetector(DATA / det_file)
        count = sum(1 for _ in iter_frames(DATA / video, n_frames, 1.0))
        outputs = [(d.xyxy, d.scores) for d in (detector.at(i + 1) for i in range(count))]
        return {"variant": variant, "frames": count, "size": size, "ms_median": None, "ms_mean": None,
                "metrics": evaluate(outputs, gt)}
    detector = make_detector(kind, threads)
    if detector is None:
        return {"variant": variant, "skipped": "not available in this OpenCV build"}
    for _ in range(WARMUP_FRAMES):
        detector(first)
    times, outputs = [], []
    for frame in iter_frames(DATA / video, n_frames, scale):
        t0 = time.perf_counter()
        dets = detector(frame)
        times.append((time.perf_counter() - t0) * 1000.0)
        outputs.append((np.asarray(dets.xyxy), np.asarray(dets.scores)))
    return {"variant": variant, "frames": len(outputs), "size": size, "ms_median": float(np.median(times)),
            "ms_mean": float(np.mean(times)), "metrics": evaluate(outputs, gt)}


def markdown(results: list, threads: int) -> str:
    head = "| variant | frames | size | ms/frame (median / mean) | " + " | ".join(
        f"P / R @ {t:g}" for t in THRESHOLDS) + " |"
    lines = [f"Threads: {threads}; IoU >= {IOU_MATCH}; P / R at each score threshold.", "", head,
             "|" + "---|" * (4 + len(THRESHOLDS))]
    for r in results:
        if "skipped" in r:
            lines.append(f"| {r['variant']} | skipped: {r['skipped']} |")
            continue
        ms = "-" if r["ms_median"] is None else f"{r['ms_median']:.1f} / {r['ms_mean']:.1f}"
        cells = [f"{m['precision']:.2f} / {m['recall']:.2f}" for m in r["metrics"].values()]
        lines.append(f"| {r['variant']} | {r['frames']} | {r['size']} | {ms} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=100, help="first N frames of each video (default 100)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for the detector (default 2)")
    parser.add_argument("--variants", default=DEFAULT_VARIANTS,
                        help="comma list of KIND@SOURCE; KIND: ssdlite, ssdlite-full, ssdlite-tilesRxC, hog, "
                             "public-det (the sequence's public detections, no timing); "
                             f"SOURCE: {', '.join(SOURCES)}")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"data folder {DATA} not found: nothing to measure", file=sys.stderr)
        return 2
    cv2.setNumThreads(args.threads)
    results = [run_variant(v.strip(), args.frames, args.threads) for v in args.variants.split(",") if v.strip()]
    print(markdown(results, args.threads))
    if args.json:
        Path(args.json).write_text(json.dumps({"threads": args.threads, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
