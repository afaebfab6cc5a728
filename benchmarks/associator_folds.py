"""Leave-sequences-out evaluation of the learned associators on the 12 development sequences.

For each of the 4 folds of ``tracker.training.associator.FOLDS`` a model is trained on the
other folds' sequences only, then tracks the fold's own sequences; the 12 held-out result
files are scored together (counts summed) with ``tracker.evaluation`` (HOTA, CLEAR, Identity,
re-entry ID recall) and compared with the IoU core on the same detections.

    python benchmarks/associator_folds.py --out /tmp/folds            # train 4 folds + evaluate
    python benchmarks/associator_folds.py --out /tmp/folds --eval-only --config '{"match_probability": 0.4}'
    python benchmarks/associator_folds.py --out /tmp/f --eval-only --weights-dir tracker/models/associator/folds
    python benchmarks/associator_folds.py --out /tmp/folds --speed     # tracker frames/s on MOT17

Fold weights go to OUT/fold<k>.npz (reused with --eval-only); simulated training problems are
cached per sequence in OUT/cache/. Prints a markdown table; --json writes the numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MOT_ROOT = REPO.parent / "shared" / "data" / "mot"

from tracker.association import make_associator  # noqa: E402
from tracker.config import TrackerConfig  # noqa: E402
from tracker.core import Tracker  # noqa: E402
from tracker.evaluation import evaluate_folder  # noqa: E402
from tracker.io.mot import find_sequences, write_mot_results  # noqa: E402
from tracker.mot_runner import track_mot_sequence  # noqa: E402
from tracker.training.associator_data import default_variants  # noqa: E402
from tracker.training.associator import (FOLDS, TrainSettings, build_problems, fold_of, save_network,  # noqa: E402
                                         train_network)

METRICS = ("HOTA", "AssA", "DetA", "IDF1", "MOTA", "IDSW", "Frag", "ReentryRecall")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _embeddings_for(seq_name: str, app_dir: str):
    """frame -> (N, D) appearance vectors of a sequence's detections (``benchmarks/ablation.py``
    cache: ``<dir>/<SEQ>.learned.npz``), or None."""
    f = Path(app_dir) / f"{seq_name}.learned.npz"
    if not app_dir or not f.is_file():
        return None
    with np.load(f) as data:
        return {int(k): data[k] for k in data.files}


def cached_problems(seq_dir: Path, cache: Path, variants_key: str, load: bool = True):
    """Problems of one sequence (cached). ``variants_key``: drivers joined by '+', optionally
    followed by '|' and a folder of per-frame appearance embeddings."""
    cache.mkdir(parents=True, exist_ok=True)
    drivers, _, app_dir = variants_key.partition("|")
    emb = _embeddings_for(seq_dir.name, app_dir)
    f = cache / f"{seq_dir.name}.{drivers}{'.app' if emb is not None else ''}.pkl"
    if f.exists():
        return pickle.loads(f.read_bytes()) if load else None
    probs = build_problems([seq_dir], log=log, variants=default_variants(drivers=tuple(drivers.split("+"))),
                           embeddings={seq_dir.name: emb} if emb is not None else None)
    tmp = f.with_name(f"{f.name}.{os.getpid()}.tmp")
    tmp.write_bytes(pickle.dumps(probs, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(f)  # atomic: parallel fold runs may build the same sequence
    return probs


def _track_one(task):
    seq, out_dir, config, weights = task
    factory = None
    if weights is not None:
        factory = lambda cfg: Tracker(cfg, associator=make_associator(cfg, weights))  # noqa: E731
    run = track_mot_sequence(seq, config, tracker_factory=factory)
    write_mot_results(Path(out_dir) / f"{run.name}.txt", run.rows)
    return run.frames, run.tracker_seconds


def _train_one(task):
    name, train_dirs, cache, weights, settings, device, meta, key = task
    problems = []
    for s in train_dirs:
        problems.extend(cached_problems(s, cache, key))
    log(f"{name}: {len(problems)} problems from {len(train_dirs)} sequences")
    net, hist = train_network(problems, settings, log=lambda m: log(f"{name}:{m}"), device=device)
    appearance = "|" in key and bool(key.split("|")[1])
    save_network(weights, net, settings, {**meta, "history": hist, "appearance": appearance})
    return name


def _pool(jobs):
    import multiprocessing

    return multiprocessing.get_context("spawn").Pool(jobs)


def _map(fn, tasks, jobs):
    if jobs <= 1 or len(tasks) <= 1:
        return [fn(t) for t in tasks]
    with _pool(min(jobs, len(tasks))) as pool:
        return pool.map(fn, tasks, chunksize=1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mot-root", type=Path, default=MOT_ROOT)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--eval-only", action="store_true", help="reuse the fold weights (--weights-dir)")
    ap.add_argument("--weights-dir", type=Path, default=None,
                    help="where the fold<k><tag>.npz are (default: OUT; the shipped ones: "
                         "tracker/models/associator/folds)")
    ap.add_argument("--folds", default="0,1,2,3")
    ap.add_argument("--epochs", type=int, default=TrainSettings.epochs)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lr", type=float, default=TrainSettings.lr, help="peak learning rate (one-cycle)")
    ap.add_argument("--weight-decay", type=float, default=TrainSettings.weight_decay, help="AdamW weight decay")
    ap.add_argument("--seed", type=int, default=TrainSettings.seed, help="training seed (weights init and batch order)")
    ap.add_argument("--jobs", type=int, default=1, help="parallel processes (simulation, folds, tracking)")
    ap.add_argument("--device", default="cpu", help="torch device for training (cpu, cuda)")
    ap.add_argument("--iou-prior", action="store_true", help="network variant with the core's IoU x score prior")
    ap.add_argument("--drivers", default="iou,oracle",
                    help="who drives the simulated tracker while problems are recorded (iou, oracle)")
    ap.add_argument("--appearance", default="", metavar="DIR",
                    help="train with appearance: per-frame detection embeddings <DIR>/<SEQ>.learned.npz "
                         "(benchmarks/ablation.py writes them) for the sequences that have video")
    ap.add_argument("--tag", default="", help="suffix of the weight file names")
    ap.add_argument("--ship", action="store_true", help="also train on all sequences -> OUT/associator<tag>.npz")
    ap.add_argument("--config", default="{}", help="JSON TrackerConfig overrides for the learned and transformer runs")
    ap.add_argument("--iou-config", default="{}", help="JSON TrackerConfig overrides for the IoU core runs")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--speed", action="store_true",
                    help="only time the tracker (IoU core vs Transformer with the fold weights) on MOT17, one process")
    args = ap.parse_args(argv)
    if not args.mot_root.is_dir():
        print(f"development data not found at {args.mot_root} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    seqs = {s.name: s for s in find_sequences([args.mot_root])}
    folds = [int(k) for k in args.folds.split(",")]
    learned = {"associator": "learned", **json.loads(args.config)}
    variants = {  # label -> (config, use the fold weights, result folder)
        "IoU core": (TrackerConfig(**{"associator": "iou", **json.loads(args.iou_config)}), False, "iou"),
        "Transformer alone, held-out folds": (TrackerConfig(**{**learned, "associator": "transformer"}), True,
                                              "heldout_transformer"),
        "Learned (default), held-out folds": (TrackerConfig(**learned), True, "heldout"),
    }
    cache = args.out / "cache"
    weights_dir = args.weights_dir or args.out
    if args.speed:
        return speed(seqs, args, variants, weights_dir)
    settings = TrainSettings(epochs=args.epochs, threads=args.threads, iou_prior=args.iou_prior, seed=args.seed,
                             lr=args.lr, weight_decay=args.weight_decay)
    key = args.drivers.replace(",", "+") + (f"|{args.appearance}" if args.appearance else "")
    if not args.eval_only:
        start = time.perf_counter()
        _map(_cache_one, [(s, cache, key) for s in seqs.values()], args.jobs)
        log(f"simulation: {time.perf_counter() - start:.0f} s")
        tasks = []
        for k in folds:
            train = [s for n, s in seqs.items() if n not in FOLDS[k]]
            tasks.append((f"fold{k}", train, cache, args.out / f"fold{k}{args.tag}.npz", settings, args.device,
                          {"fold": k, "held_out": list(FOLDS[k]), "trained_on": [s.name for s in train]}, key))
        if args.ship:
            tasks.append(("all", list(seqs.values()), cache, args.out / f"associator{args.tag}.npz", settings,
                          args.device, {"trained_on": list(seqs)}, key))
        start = time.perf_counter()
        _map(_train_one, tasks, args.jobs)
        log(f"training: {time.perf_counter() - start:.0f} s")
    names = [n for k in folds for n in FOLDS[k] if n in seqs]
    tasks, dirs = [], {}
    for label, (cfg, folded, folder) in variants.items():
        dirs[label] = args.out / f"{folder}{args.tag}"
        dirs[label].mkdir(parents=True, exist_ok=True)
        tasks += [(seqs[n], dirs[label], cfg, weights_dir / f"fold{fold_of(n)}{args.tag}.npz" if folded else None)
                  for n in names]
    timing = _map(_track_one, tasks, args.jobs)
    fps = {label: sum(f for f, _ in timing[i * len(names):(i + 1) * len(names)])
           / max(sum(t for _, t in timing[i * len(names):(i + 1) * len(names)]), 1e-9)
           for i, label in enumerate(variants)}
    results = {}
    for label, d in dirs.items():
        report = evaluate_folder(args.mot_root, d, seqs=names)
        s = report.combined.summary()
        results[label] = {m: (int(s[m]) if m in ("IDSW", "Frag") else round(100 * s[m], 2)) for m in METRICS}
        results[label]["per_sequence"] = {
            n: {m: (int(v.summary()[m]) if m in ("IDSW", "Frag") else round(100 * v.summary()[m], 2))
                for m in ("HOTA", "IDF1", "MOTA", "IDSW")} for n, v in report.per_sequence.items()}
    print(f"| tracker | {' | '.join(METRICS)} |")
    print("|---|" + "---:|" * len(METRICS))
    for label, r in results.items():
        cells = (f"{r[m]}" if isinstance(r[m], int) else f"{r[m]:.2f}" for m in METRICS)
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("\ntracker frames/s (all sequences, this machine's load): "
          + ", ".join(f"{label} {v:.0f}" for label, v in fps.items()))
    print("\nPer sequence, HOTA / IDF1 / IDsw:\n")
    print("| sequence | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for n in names:
        print(f"| {n} | " + " | ".join(f"{r['per_sequence'][n]['HOTA']:.2f} / {r['per_sequence'][n]['IDF1']:.2f} / "
                                       f"{r['per_sequence'][n]['IDSW']}" for r in results.values()) + " |")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "fps": fps, "config": json.loads(args.config),
                                         "settings": settings.to_dict()}, indent=2))
    return 0


def speed(seqs, args, variants, weights_dir) -> int:
    """Tracker-only frames/s on the MOT17 sequences (each run twice, the faster kept)."""
    print("| sequence | frames | " + " | ".join(f"{label.split(',')[0]} frames/s" for label in variants) + " |")
    print("|---|---:|" + "---:|" * len(variants))
    tot = {label: [0, 1e-9] for label in variants}
    (args.out / "speed").mkdir(parents=True, exist_ok=True)
    for name, seq in seqs.items():
        if not name.startswith("MOT17"):
            continue
        w = weights_dir / f"fold{fold_of(name)}{args.tag}.npz"
        row = {}
        for label, (cfg, folded, _) in variants.items():
            best = min((_track_one((seq, args.out / "speed", cfg, w if folded else None)) for _ in range(2)),
                       key=lambda r: r[1])
            tot[label][0] += best[0]
            tot[label][1] += best[1]
            row[label] = best[0] / best[1]
        print(f"| {name} | {best[0]} | " + " | ".join(f"{v:.0f}" for v in row.values()) + " |", flush=True)
    print(f"| all MOT17 | {next(iter(tot.values()))[0]} | "
          + " | ".join(f"{t[0] / t[1]:.0f}" for t in tot.values()) + " |")
    return 0


def _cache_one(task):
    seq, cache, key = task
    cached_problems(seq, cache, key, load=False)
    return seq.name


if __name__ == "__main__":
    sys.exit(main())
