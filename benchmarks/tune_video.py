"""Sweep tracker settings for ``track VIDEO`` on real videos with the embedded detector.

How ``tracker.pipeline.VIDEO_TRACKER_CONFIG`` was chosen (docs/video.md). The detector runs
once per video and tile grid; its boxes (score >= 0.05) are cached as ``.npy`` files in
``--cache`` (default ``out/tune_video/``), then every combination of the grid is tracked from the
cache and scored with HOTA (``tracker.evaluation``; MOT15 / MOT17 conventions). Prints a markdown
table with the mean over every video except ``vtest`` (the same footage as PETS09-S2L1: it is
reported, not chosen on).

    python benchmarks/tune_video.py                                   # the chosen settings
    python benchmarks/tune_video.py '{"high_score": [0.3, 0.5], "motion.measurement_noise": [0.05, 0.15]}'
    python benchmarks/tune_video.py '{"tiles": ["1x1", "1x2"]}' --videos vtest,PETS09-S2L1
    python benchmarks/tune_video.py '{"appearance": ["off", "on", "holdout"]}'
    python benchmarks/tune_video.py '{"appearance_weight": [0.5, 0.65], "memory.min_similarity": [0.8, 0.9]}'

Grid keys: any ``TrackerConfig`` field, ``motion.<field>``, ``memory.<field>``, ``tiles``
(``RxC``), ``det`` (the detector score threshold, >= 0.05), ``weights`` (the learned
associator's: ``heldout``, the default, is the leave-sequences-out fold model that never saw
the video's footage; ``shipped``: the shipped model, trained on it) and ``appearance`` (``on``: the
shipped embedder's vectors, cached too, with ``appearance_weight`` = ``VIDEO_APPEARANCE_WEIGHT``
unless the grid sets it; ``off``; ``holdout``: the embedder trained without vtest/PETS09 frames
478-795). Default ``on``, as ``track`` does. Unlisted fields keep ``VIDEO_TRACKER_CONFIG``'s
values (``--base core`` starts from the core defaults instead).
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker import Detections, Tracker, TrackerConfig  # noqa: E402
from tracker.association import make_associator  # noqa: E402
from tracker.association.transformer import heldout_weights_path  # noqa: E402
from tracker.evaluation import evaluate_sequence  # noqa: E402
from tracker.io.mot import MotTable, read_mot_file  # noqa: E402
from tracker.pipeline import EMBEDDER_THREADS, VIDEO_APPEARANCE_WEIGHT, VIDEO_TRACKER_CONFIG  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
CACHE_MIN_SCORE = 0.05
VIDEOS = {
    # name: (video, gt, evaluation name: drives the MOT15 / MOT17 conventions)
    "vtest": ("video/vtest.avi", "video/vtest.gt.txt", "vtest"),
    "PETS09-S2L1": ("video/PETS09-S2L1.mp4", "mot/PETS09-S2L1/gt/gt.txt", "PETS09-S2L1"),
    "TUD-Stadtmitte": ("video/TUD-Stadtmitte.mp4", "mot/TUD-Stadtmitte/gt/gt.txt", "TUD-Stadtmitte"),
    "TUD-Campus": ("video/TUD-Campus.mp4", "mot/TUD-Campus/gt/gt.txt", "TUD-Campus"),
    "MOT17-09": ("video/MOT17-09-FRCNN.mp4", "mot/MOT17-09-FRCNN/gt/gt.txt", "MOT17-09-FRCNN"),
}
REPORTED_ONLY = {"vtest"}
#: the development sequence whose footage each video shows (for the held-out associator weights)
FOOTAGE = {"vtest": "PETS09-S2L1"}


def cached_detections(name: str, tiles: str, cache: Path, threads: int) -> tuple:
    """-> (rows (R, 6) ``mot_frame, x1, y1, x2, y2, score``, fps, frames)."""
    from tracker.detectors import SSDLitePersonDetector
    from tracker.io.sources import open_source

    video = DATA / VIDEOS[name][0]
    path = cache / f"{name}.{tiles}.npy"
    meta = cache / f"{name}.{tiles}.json"
    if path.is_file() and meta.is_file():
        info = json.loads(meta.read_text())
        return np.load(path), info["fps"], info["frames"]
    rows_, cols_ = (int(v) for v in tiles.split("x"))
    detector = SSDLitePersonDetector(score_threshold=CACHE_MIN_SCORE, threads=threads, tiles=(rows_, cols_))
    rows = []
    t0 = time.perf_counter()
    with open_source(video) as src:
        fps = src.info.fps
        n = 0
        for frame in src:
            det = detector(frame.image)
            rows.extend((frame.mot_frame, *b, s) for b, s in zip(det.xyxy.tolist(), det.scores.tolist()))
            n += 1
    print(f"  detected {name} ({tiles}): {n} frames in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    cache.mkdir(parents=True, exist_ok=True)
    arr = np.array(rows, np.float64).reshape(-1, 6)
    np.save(path, arr)
    meta.write_text(json.dumps({"fps": fps, "frames": n}))
    return arr, fps, n


def cached_embeddings(name: str, tiles: str, weights: str, rows: np.ndarray, cache: Path) -> np.ndarray:
    """(R, D) appearance vectors of the cached boxes (``weights``: ``default`` or ``holdout``)."""
    from tracker.embedding import Embedder
    from tracker.io.sources import open_source

    path = cache / f"{name}.{tiles}.emb-{weights}.npy"
    if path.is_file():
        return np.load(path)
    embedder = Embedder.from_spec(weights, threads=EMBEDDER_THREADS)
    bounds = np.searchsorted(rows[:, 0], np.arange(1, int(rows[:, 0].max(initial=0)) + 2))
    out = np.zeros((len(rows), embedder.dim), np.float32)
    with open_source(DATA / VIDEOS[name][0]) as src:
        for frame in src:
            f = frame.mot_frame
            if f < len(bounds) and bounds[f] > bounds[f - 1]:
                out[bounds[f - 1]:bounds[f]] = embedder.embed(frame.image, rows[bounds[f - 1]:bounds[f], 1:5])
    np.save(path, out)
    return out


def run(rows: np.ndarray, emb, fps: float, frames: int, gt: MotTable, eval_name: str, cfg: TrackerConfig,
        det_min: float, weights=None) -> dict:
    keep = rows[:, 5] >= det_min
    rows = rows[keep]
    emb = None if emb is None else emb[keep]
    cfg = cfg.replace(frame_rate=fps)
    tracker = Tracker(cfg, associator=make_associator(cfg, weights) if weights else None)
    bounds = np.searchsorted(rows[:, 0], np.arange(1, frames + 2))
    out = []
    for f in range(1, frames + 1):
        a, b = bounds[f - 1], bounds[f]
        r = rows[a:b]
        dets = Detections(r[:, 1:5], r[:, 5], embeddings=None if emb is None else emb[a:b])
        tracks = tracker.update(dets, timestamp=(f - 1) / fps)
        out.extend([f, tid, *box, s] for tid, box, s in zip(tracks.track_ids, tracks.to_xywh(), tracks.scores))
    out = np.array(out, np.float64).reshape(-1, 7)
    n = len(out)
    table = MotTable("results", out[:, 0].astype(np.int64), out[:, 1].astype(np.int64), out[:, 2:6], out[:, 6],
                     np.full(n, -1, np.int64), np.ones(n), np.arange(n, dtype=np.int64))
    return evaluate_sequence(gt, table, name=eval_name, frame_rate=fps, num_frames=frames).summary()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("grid", nargs="?", default="{}", help="JSON object: key -> list of values")
    ap.add_argument("--videos", default=",".join(VIDEOS), help=f"comma-separated, from {list(VIDEOS)}")
    ap.add_argument("--base", choices=("video", "core"), default="video")
    ap.add_argument("--cache", type=Path, default=ROOT / "out" / "tune_video")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    grid = json.loads(args.grid)
    names = [v.strip() for v in args.videos.split(",") if v.strip()]
    missing = [n for n in names if n not in VIDEOS or not (DATA / VIDEOS[n][0]).is_file()]
    if missing:
        print(f"videos not available: {missing} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    base = VIDEO_TRACKER_CONFIG if args.base == "video" else TrackerConfig()
    gts = {n: read_mot_file(DATA / VIDEOS[n][1], "gt") for n in names}
    keys = list(grid)
    print("| " + " | ".join(keys + names) + " | mean (without vtest) |")
    print("|" + "---|" * (len(keys) + len(names) + 1))
    for values in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, values))
        tiles = str(params.pop("tiles", "1x2"))
        det_min = float(params.pop("det", 0.1))
        appearance = str(params.pop("appearance", "on"))
        if appearance not in ("on", "off", "holdout"):
            ap.error(f"appearance must be on, off or holdout, got {appearance!r}")
        heldout = str(params.pop("weights", "heldout"))
        if heldout not in ("heldout", "shipped"):
            ap.error(f"weights must be heldout or shipped, got {heldout!r}")
        nested = {"motion": {}, "memory": {}}
        for k in [k for k in params if k.split(".", 1)[0] in nested and "." in k]:
            nested[k.split(".", 1)[0]][k.split(".", 1)[1]] = params.pop(k)
        if appearance != "off" and "appearance_weight" not in params and base.appearance_weight == 0:
            params["appearance_weight"] = VIDEO_APPEARANCE_WEIGHT
        for group, changes in nested.items():
            if changes:
                params[group] = getattr(base, group).replace(**changes)
        cfg = base.replace(**params)
        scores = []
        for n in names:
            rows, fps, frames = cached_detections(n, tiles, args.cache, args.threads)
            emb = None
            if appearance != "off":
                emb = cached_embeddings(n, tiles, "default" if appearance == "on" else "holdout", rows, args.cache)
            weights = heldout_weights_path(FOOTAGE.get(n, VIDEOS[n][2])) if heldout == "heldout" else None
            scores.append(100 * run(rows, emb, fps, frames, gts[n], VIDEOS[n][2], cfg, det_min, weights)["HOTA"])
        chosen = [s for n, s in zip(names, scores) if n not in REPORTED_ONLY]
        mean = f"{np.mean(chosen):.2f}" if chosen else "-"
        print("| " + " | ".join([str(v) for v in values] + [f"{s:.1f}" for s in scores]) + f" | {mean} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
