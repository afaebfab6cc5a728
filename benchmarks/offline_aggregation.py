"""Learned non-uniform appearance aggregation of a tracklet (``tracker.offline.aggregation``) vs the
quality-weighted mean the offline stage uses and the plain mean: retrieval of tracklet pieces on
held-out development videos.

Data: each development video (``shared/data/video``) tracked online by our tracker with its
public detections (MOT ``det/det.txt``; ``vtest.det.txt``) and the shipped embedder; tracklets as
the offline stage cuts them. No ground truth is read (self-supervised: pieces of one tracklet vs
tracklets co-existing with it). Folds: the leave-sequences-out folds of
``tracker.training.associator.fold_of`` (vtest goes with PETS09-S2L1, the same footage); the
model of fold ``k`` is trained on the other folds' videos only. Retrieval: ``SPLITS`` random
splits of every held-out tracklet (``tracker.training.offline_aggregation.retrieval_accuracy``).
Caveat: the shipped embedder was trained on these videos (docs/embedder.md), so its embeddings
are better here than on unseen footage; the comparison between aggregations is what counts.

    python benchmarks/offline_aggregation.py --seeds 0 1 2 [--write-docs]
"""
from __future__ import annotations

import argparse
import pickle
import shlex
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
DATA = REPO.parent / "shared" / "data"

from tracker.model_registry import OFFLINE_AGGREGATOR  # noqa: E402
from tracker.offline import OfflineConfig  # noqa: E402
from tracker.offline.aggregation import Aggregator  # noqa: E402
from tracker.training.associator import fold_of  # noqa: E402
from tracker.training.offline_aggregation import (  # noqa: E402
    AggregatorTraining,
    learned_piece,
    quality_piece,
    retrieval_accuracy,
    save_aggregator,
    split_pieces,
    tracklet_observations,
    train_aggregator,
    uniform_piece,
    video_frames,
)

#: (video, its detections, the sequence whose fold it belongs to)
VIDEOS = (("TUD-Campus.mp4", "mot/TUD-Campus/det/det.txt", "TUD-Campus"),
          ("PETS09-S2L1.mp4", "mot/PETS09-S2L1/det/det.txt", "PETS09-S2L1"),
          ("vtest.avi", "video/vtest.det.txt", "PETS09-S2L1"),
          ("TUD-Stadtmitte.mp4", "mot/TUD-Stadtmitte/det/det.txt", "TUD-Stadtmitte"),
          ("MOT17-09-FRCNN.mp4", "mot/MOT17-09-FRCNN/det/det.txt", "MOT17-09-FRCNN"))
#: random splits of every held-out tracklet for the retrieval numbers
SPLITS = 20
#: the seed of the evaluation splits (the same for every method and training seed)
EVAL_SEED = 12345
LICENCE = "MOTChallenge, CC BY-NC-SA 3.0 (non-commercial)"
BEGIN, END = "<!-- offline_aggregation:begin -->", "<!-- offline_aggregation:end -->"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def observations(cache: Path) -> dict:
    """{video: [TrackletObservations]} (the online run cached in ``cache``)."""
    out = {}
    cache.mkdir(parents=True, exist_ok=True)
    for video, det, _ in VIDEOS:
        path = cache / f"agg-{video}.pkl"
        if not path.is_file():
            t0 = time.perf_counter()
            frames = video_frames(DATA / "video" / video, DATA / det)
            path.write_bytes(pickle.dumps(tracklet_observations(frames, OfflineConfig())))
            log(f"{video}: {len(frames)} frames tracked and embedded in {time.perf_counter() - t0:.0f} s")
        out[video] = pickle.loads(path.read_bytes())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/offline_aggregation"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--collect-only", action="store_true", help="track and embed the videos, then stop")
    args = ap.parse_args()
    command = "python benchmarks/offline_aggregation.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    obs = observations(args.cache)
    if args.collect_only:
        return 0
    settings0 = AggregatorTraining()
    folds = sorted({fold_of(seq) for _, _, seq in VIDEOS})
    eval_pieces = {}
    for f in folds:
        rng = np.random.default_rng(EVAL_SEED)
        eval_pieces[f] = [split_pieces(obs[v], settings0.min_obs, rng) for v, _, seq in VIDEOS
                          if fold_of(seq) == f for _ in range(SPLITS)]
    results = {}  # (method, fold) -> (accuracy, queries)
    for f in folds:
        results["uniform mean", f] = retrieval_accuracy(eval_pieces[f], uniform_piece)
        results["quality-weighted mean", f] = retrieval_accuracy(eval_pieces[f], quality_piece)
        for seed in args.seeds:
            train = [obs[v] for v, _, seq in VIDEOS if fold_of(seq) != f]
            params, report = train_aggregator(train, AggregatorTraining(seed=seed))
            results[f"learned s{seed}", f] = retrieval_accuracy(eval_pieces[f], learned_piece(Aggregator(params)))
            log(f"fold {f + 1} seed {seed}: {report} -> {results[f'learned s{seed}', f]}")
    params, report = train_aggregator(list(obs.values()), AggregatorTraining(seed=0))
    save_aggregator(OFFLINE_AGGREGATOR.shipped_path(), params, {
        "model": "offline aggregator: per-observation MLP -> softmax weights (tracker.offline.aggregation)",
        "format": OFFLINE_AGGREGATOR.weights_format, "command": command,
        "training_files": [{"file": f"../shared/data/video/{v}", "licence_class": LICENCE} for v, _, _ in VIDEOS]
        + [{"file": f"../shared/data/{d}", "licence_class": LICENCE} for _, d, _ in VIDEOS],
        "labels": "self-supervised (pieces of one tracklet vs co-existing tracklets); no ground truth read",
        "embedder": "tracker/models/embedder/embedder.pt", "training": AggregatorTraining().to_dict(),
        "report": report, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    text = render(results, folds, args.seeds)
    print(text)
    if args.write_docs:
        from side_by_side import rewrite_block

        rewrite_block(REPO / "docs" / "offline.md", text, BEGIN, END)
    return 0


def render(results: dict, folds: list, seeds: list) -> str:
    methods = ["uniform mean", "quality-weighted mean"] + [f"learned s{s}" for s in seeds]
    lines = ["Retrieval of held-out tracklet pieces (accuracy %: the piece's other half is nearer than every "
             f"co-existing tracklet's; {SPLITS} random splits per tracklet, pieces >= "
             f"{AggregatorTraining().min_obs} observations; fold k's model trained on the other folds' videos):", "",
             "| method | " + " | ".join(f"fold {f + 1} ({', '.join(v for v, _, s in VIDEOS if fold_of(s) == f)})"
                                       for f in folds) + " | all |",
             "|---|" + "---:|" * (len(folds) + 1)]
    overall = {}
    for m in methods:
        right = sum(results[m, f][0] * results[m, f][1] for f in folds)
        total = sum(results[m, f][1] for f in folds)
        overall[m] = right / total if total else float("nan")
        lines.append(f"| {m} | " + " | ".join(f"{100 * results[m, f][0]:.1f} (n={results[m, f][1]})" for f in folds)
                     + f" | {100 * overall[m]:.2f} |")
    learned = np.asarray([overall[f"learned s{s}"] for s in seeds]) * 100
    sd = f" ± {learned.std(ddof=1):.2f}" if len(learned) > 1 else ""
    base = 100 * overall["quality-weighted mean"]
    lines += ["", f"Learned, mean over {len(seeds)} seeds: {learned.mean():.2f}{sd} % vs the quality-weighted mean "
              f"{base:.2f} % ({learned.mean() - base:+.2f} points) and the plain mean "
              f"{100 * overall['uniform mean']:.2f} %."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
