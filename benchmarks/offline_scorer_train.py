"""Train the offline stage's learned pair scorer without labels (``tracker.training.offline_scorer``):
one model per leave-sequences-out fold (trained on the other folds' sequences only, for the
held-out numbers of ``benchmarks/offline_linking.py``) and per seed, plus the shipped model on all
12 development sequences (seed 0). Inputs: each sequence's ``seqinfo.ini`` and ``det/det.txt``
(public detections) through our online tracker; no ground truth is read.

    python benchmarks/offline_scorer_train.py --seeds 0 1 2
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MOT_ROOT = REPO.parent / "shared" / "data" / "mot"

from tracker.model_registry import OFFLINE_SCORER  # noqa: E402
from tracker.offline import OfflineConfig  # noqa: E402
from tracker.training.associator import FOLDS  # noqa: E402
from tracker.training.offline_scorer import (  # noqa: E402
    CutSettings,
    PairSet,
    ScorerTraining,
    cut_pairs,
    save_scorer,
    sequence_frames,
    train_scorer,
)

#: the licence class of every training file (docs of /work/shared/data)
MOT_LICENCE = "MOTChallenge, CC BY-NC-SA 3.0 (non-commercial)"
#: where the per-fold models go (tracker/models/offline/folds/seed<s>/fold<k>.npz)
FOLD_DIR = OFFLINE_SCORER.directory / "folds"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fold_path(seed: int, fold: int) -> Path:
    return FOLD_DIR / f"seed{seed}" / f"fold{fold + 1}.npz"


def training_files(seqs) -> list:
    out = []
    for s in seqs:
        for name in ("seqinfo.ini", "det/det.txt"):
            out.append({"file": f"../shared/data/mot/{s}/{name}", "licence_class": MOT_LICENCE})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--no-shipped", action="store_true", help="train the fold models only")
    args = ap.parse_args()
    command = "python benchmarks/offline_scorer_train.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    config, cuts = OfflineConfig(), CutSettings()
    seqs = [s for fold in FOLDS for s in fold]
    pairs, frames_of = {}, {}
    for seed in sorted(set(args.seeds) | {0}):
        for s in seqs:
            if (seed, s) not in pairs:
                if s not in frames_of:
                    frames_of[s] = sequence_frames(MOT_ROOT / s)
                frames = frames_of[s]
                # one random stream per (seed, sequence): a fold's data do not depend on the others
                rng = np.random.default_rng([seed, seqs.index(s)])
                pairs[seed, s] = cut_pairs(frames, config, cuts, rng)
                log(f"seed {seed} {s}: {pairs[seed, s].positives} positive, {pairs[seed, s].negatives} negative pairs")
    jobs = [(seed, k) for seed in args.seeds for k in range(len(FOLDS))]
    if not args.no_shipped:
        jobs.append((0, None))
    for seed, k in jobs:
        train = [s for s in seqs if k is None or s not in FOLDS[k]]
        t0 = time.perf_counter()
        settings = ScorerTraining(seed=seed)
        params, report = train_scorer(PairSet.concatenate([pairs[seed, s] for s in train]), settings)
        path = OFFLINE_SCORER.shipped_path() if k is None else fold_path(seed, k)
        metadata = {"model": "offline pair scorer: MLP over tracklet-pair features, Platt-calibrated "
                             "(tracker.offline.learned)",
                    "format": OFFLINE_SCORER.weights_format, "command": command,
                    "fold": None if k is None else k + 1,
                    "held_out_sequences": [] if k is None else list(FOLDS[k]),
                    "training_sequences": train, "training_files": training_files(train),
                    "labels": "self-supervised (cut tracklets / co-existing tracklets); no ground truth read",
                    "cut_settings": cuts.to_dict(), "training": settings.to_dict(),
                    "offline_config": config.to_dict(), "report": report,
                    "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        save_scorer(path, params, metadata)
        log(f"seed {seed} fold {'all' if k is None else k + 1}: {report} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
