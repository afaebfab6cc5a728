"""The offline stage's two pair scorers on the development videos, with appearance: each video
(``shared/data/video``) tracked online by our tracker with its public detections and the shipped
embedder (``tracker.training.offline_aggregation.video_frames``), then linked with the hand-built
scorer and with the learned one (per training seed, the fold model that never saw the video's
sequence: ``tracker.training.associator.fold_of``, vtest with PETS09-S2L1), both at the default
threshold and gaps. Evaluated against the sequences' gt (evaluation only). All five videos are
static cameras; the learned models were trained on MOT files without embeddings, so here they
add the hand-built appearance term (``tracker.offline.learned``).

    python benchmarks/offline_video_scorers.py --seeds 0 1 2 [--write-docs]
"""
from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
DATA = REPO.parent / "shared" / "data"

from offline_aggregation import VIDEOS  # noqa: E402
from offline_linking import table_of  # noqa: E402
from offline_scorer_train import fold_path  # noqa: E402
from tracker.evaluation.api import evaluate_sequence  # noqa: E402
from tracker.evaluation.results import combine_results  # noqa: E402
from tracker.io.mot import read_mot_file, read_seqinfo  # noqa: E402
from tracker.offline import OfflineConfig, link_frames  # noqa: E402
from tracker.offline.mot_rows import rows_from_frames  # noqa: E402
from tracker.training.associator import fold_of  # noqa: E402
from tracker.training.offline_aggregation import video_frames  # noqa: E402

METRICS = ("HOTA", "IDF1", "IDSW")
BEGIN, END = "<!-- offline_video:begin -->", "<!-- offline_video:end -->"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def gt_of(video: str, seq: str):
    info = read_seqinfo(DATA / "mot" / seq)
    if video.startswith("vtest"):
        return DATA / "video" / "vtest.gt.txt", "vtest", info.frame_rate
    return DATA / "mot" / seq / "gt" / "gt.txt", seq, info.frame_rate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/offline_video_scorers"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    rows = ["online", "hand"] + [f"learned s{s}" for s in args.seeds]
    results = {r: [] for r in rows}
    for video, det, seq in VIDEOS:
        path = args.cache / f"{video}.pkl"
        if not path.is_file():
            path.write_bytes(pickle.dumps(video_frames(DATA / "video" / video, DATA / det)))
        frames = pickle.loads(path.read_bytes())
        gt_path, name, fps = gt_of(video, seq)
        gt = read_mot_file(gt_path, "gt", len(frames))

        def score(out_frames):
            return evaluate_sequence(gt, table_of(rows_from_frames(out_frames)), name=name, frame_rate=fps,
                                     num_frames=len(frames))

        results["online"].append(score(frames))
        results["hand"].append(score(link_frames(frames, OfflineConfig(scorer="hand")).frames))
        for s in args.seeds:
            cfg = OfflineConfig(scorer="learned", scorer_weights=str(fold_path(s, fold_of(seq))))
            results[f"learned s{s}"].append(score(link_frames(frames, cfg).frames))
        log(f"{video}: done")
    text = render(results, rows, args.seeds)
    print(text)
    if args.write_docs:
        from side_by_side import rewrite_block

        rewrite_block(REPO / "docs" / "offline.md", text, BEGIN, END)
    return 0


def render(results: dict, rows: list, seeds: list) -> str:
    names = [v for v, _, _ in VIDEOS]
    lines = ["Development videos with appearance (public detections, shipped embedder; HOTA / IDF1 x100, IDSW; "
             "learned: the fold model that never saw the video's sequence, default threshold):", "",
             "| stage | " + " | ".join(names) + " | all (HOTA / IDF1 / IDSW) |", "|---|" + "---:|" * (len(names) + 1)]
    summary = {}
    for r in rows:
        s = combine_results(results[r]).summary()
        summary[r] = s
        cells = [f"{100 * x.summary()['HOTA']:.1f} / {100 * x.summary()['IDF1']:.1f}" for x in results[r]]
        lines.append(f"| {r} | " + " | ".join(cells) + f" | {100 * s['HOTA']:.2f} / {100 * s['IDF1']:.2f} / "
                     f"{int(s['IDSW'])} |")
    learned = np.asarray([summary[f"learned s{s}"]["HOTA"] for s in seeds]) * 100
    lines += ["", f"Learned, mean over {len(seeds)} seeds: {learned.mean():.2f} HOTA vs hand-built "
              f"{100 * summary['hand']['HOTA']:.2f} and online {100 * summary['online']['HOTA']:.2f}."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
