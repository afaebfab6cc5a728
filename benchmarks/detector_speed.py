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
}


def make_detector(kind: str, threads: int):
    """kind: ssdlite | ssdlite-tiles2x2 | ssdlite-tiles1x2 | hog | public-det."""
    if kind == "ssdlite":
        return SSDLitePersonDetector(score_threshold=LOWEST, threads=threads)
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


def load_frames(video: Path, n: int, scale: float) -> list:
    cap = cv2.VideoCapture(str(video))
    frames = []
    while len(frames) < n:
        ok, frame = cap.read()
        if not ok:
            break
        if scale != 1.0:
            frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        frames.append(frame)
    cap.release()
    return frames


def load_gt(path: Path, scale: float) -> dict:
    table = read_mot_file(path, "gt")
    keep = table.scores != 0
    by_frame = {}
    for f, xywh in zip(table.frames[keep], table.xywh[keep] * scale):
        by_frame.setdefault(int(f), []).append([xywh[0], xywh[1], xywh[0] + xywh[2], xywh[1] + xywh[3]])
    return {f: np.array(v) for f, v in by_frame.items()}


def matched(pred: np.ndarray, gt: np.ndarray) -> int:
    if len(pred) == 0 or len(gt) == 0:
        return 0
    iou = iou_matrix(pred, gt)
    rows, cols = linear_sum_assignment(-iou)
    return int((iou[rows, cols] >= IOU_MATCH).sum())


def evaluate(outputs: list, gt: dict) -> dict:
    """outputs: per frame (xyxy, scores) -> {threshold: (P, R, tp, n_pred, n_gt)}."""
    n_gt = sum(len(gt.get(i + 1, ())) for i in range(len(outputs)))
    result = {}
    for thr in THRESHOLDS:
        tp = n_pred = 0
        for i, (xyxy, scores) in enumerate(outputs):
            sel = xyxy[scores >= thr]
            n_pred += len(sel)
            tp += matched(sel, gt.get(i + 1, np.zeros((0, 4))))
        result[thr] = {"precision": tp / max(n_pred, 1), "recall": tp / max(n_gt, 1), "tp": tp,
                       "detections": n_pred, "gt": n_gt}
    return result


def run_variant(variant: str, n_frames: int, threads: int) -> dict:
    kind, source = variant.split("@", 1)
    video, gt_path, scale = SOURCES[source]
    frames = load_frames(DATA / video, n_frames, scale)
    gt = load_gt(DATA / gt_path, scale)
    if kind == "public-det":
        det_file = {"vtest": "video/vtest.det.txt", "pets": "mot/PETS09-S2L1/det/det.txt"}.get(source)
        if det_file is None:
            return {"variant": variant, "skipped": "no public detections at this scale"}
        detector = DetectionFileDetector(DATA / det_file)
        outputs = [(d.xyxy, d.scores) for d in (detector.at(i + 1) for i in range(len(frames)))]
        return {"variant": variant, "frames": len(frames), "size": f"{frames[0].shape[1]}x{frames[0].shape[0]}",
                "ms_median": None, "ms_mean": None, "metrics": evaluate(outputs, gt)}
    detector = make_detector(kind, threads)
    if detector is None:
        return {"variant": variant, "skipped": "not available in this OpenCV build"}
    for frame in frames[:WARMUP_FRAMES]:
        detector(frame)
    times, outputs = [], []
    for frame in frames:
        t0 = time.perf_counter()
        dets = detector(frame)
        times.append((time.perf_counter() - t0) * 1000.0)
        outputs.append((np.asarray(dets.xyxy), np.asarray(dets.scores)))
    return {"variant": variant, "frames": len(frames), "size": f"{frames[0].shape[1]}x{frames[0].shape[0]}",
            "ms_median": float(np.median(times)), "ms_mean": float(np.mean(times)), "metrics": evaluate(outputs, gt)}


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
    parser.add_argument("--variants", default="ssdlite@vtest,ssdlite@vtest@768,ssdlite@pets,ssdlite-tiles2x2@pets,"
                        "hog@vtest,public-det@vtest",
                        help="comma list of KIND@SOURCE; KIND: ssdlite, ssdlite-tilesRxC, hog, public-det; "
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
