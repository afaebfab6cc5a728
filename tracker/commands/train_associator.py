"""``track train-associator``: train the Transformer associator on MOTChallenge sequences."""
from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

from tracker.errors import InputError
from tracker.io.output_paths import OutputGuard

DESCRIPTION = """Train the Transformer associator from MOTChallenge development sequences.

Every detection of <SEQ>/det/det.txt is labelled with a gt identity (Hungarian matching at
IoU >= 0.5; unmatched = false positive), the tracker is simulated over each sequence with
augmentation (frame drops, missed detections, random start), and the network learns, for
every association problem, which detection continues which track, which tracks are unseen
and which detections are new. Runs on CPU (a few minutes per epoch on 2 cores).

Writes OUTPUT (.npz weights) and OUTPUT with .json (metadata: data, date, settings, command).

The shipped model (geometry and motion only; about 20 minutes on a busy 2-core CPU; the
package's own files are never an output: copy the result into tracker/models/associator/):
  track train-associator --mot-root ../shared/data/mot \\
      --output associator_out/associator.npz
With appearance: add --video-root ../shared/data/video (the sequences that have a <SEQ>.mp4
there get embeddings from the shipped embedder; the model then uses them when given).

Leave-sequences-out check (one model per fold, each sequence scored by a model that never saw it):
  python benchmarks/associator_folds.py --out /tmp/folds"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mot-root", required=True, type=Path, metavar="ROOT",
                        help="folder of MOTChallenge sequences with det/det.txt and gt/gt.txt")
    parser.add_argument("--output", type=Path, default=Path("associator_out") / "associator.npz", metavar="PATH",
                        help="weights file to write (default: associator_out/associator.npz)")
    parser.add_argument("--video-root", type=Path, default=None, metavar="DIR",
                        help="folder of <SEQ>.mp4 videos (frames of the sequences): their detections get "
                             "appearance embeddings from the shipped embedder and the model learns to use them")
    parser.add_argument("--exclude", nargs="*", default=[], metavar="SEQ",
                        help="sequences to leave out of training (e.g. a held-out fold)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default: 4)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    parser.add_argument("--heldout-json", type=Path, default=None, metavar="FILE",
                        help="JSON of leave-sequences-out results (benchmarks/associator_folds.py --json) "
                             "to record in the metadata")


def associator_outputs(output: Path) -> list:
    """Every file ``--output OUTPUT`` writes: the weights, their temporary file and the
    ``.json`` metadata beside them (all checked before training)."""
    return [output, output.with_name(output.name + ".tmp.npz"), output.with_suffix(".json")]


def run(args) -> int:
    from tracker.io.mot import find_sequences
    from tracker.training.associator import TrainSettings, build_problems, save_network, train_network

    if not args.mot_root.is_dir():
        raise InputError(f"{args.mot_root}: not found (a folder of MOTChallenge sequences)")
    if args.output.suffix != ".npz":
        raise InputError(f"--output must end in .npz, got {args.output}")
    seqs = [s for s in find_sequences([args.mot_root])
            if (s / "gt" / "gt.txt").is_file() and (s / "det" / "det.txt").is_file() and s.name not in args.exclude]
    if not seqs:
        raise InputError(f"{args.mot_root}: no sequence with both det/det.txt and gt/gt.txt")
    inputs = [args.heldout_json] + [s / name for s in seqs for name in ("det/det.txt", "gt/gt.txt", "seqinfo.ini")]
    if args.video_root is not None:
        inputs += [args.video_root / f"{s.name}.mp4" for s in seqs]
    OutputGuard(inputs).check_all(associator_outputs(args.output), "--output")
    settings = TrainSettings(seed=args.seed, threads=args.threads,
                             **({"epochs": args.epochs} if args.epochs is not None else {}))
    if settings.epochs < 1:
        raise InputError("--epochs must be >= 1")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    start = time.perf_counter()
    embeddings = _video_embeddings(args.video_root, seqs, log) if args.video_root else {}
    log(f"simulating {len(seqs)} sequences ...")
    problems = build_problems(seqs, log=log, embeddings=embeddings)
    sim_s = time.perf_counter() - start
    log(f"{len(problems)} association problems in {sim_s:.0f} s; training ...")
    net, history = train_network(problems, settings, log=log)
    heldout = json.loads(args.heldout_json.read_text()) if args.heldout_json else None
    metadata = {
        "model": "identitrack Transformer associator",
        "date": datetime.date.today().isoformat(),
        "trained_on": [s.name for s in seqs],
        "data": "MOTChallenge det/det.txt labelled by gt (CC BY-NC-SA 3.0 data; weights derived from it)",
        "command": "track train-associator --mot-root ROOT" + (" --video-root DIR" if embeddings else "")
                   + (f" --exclude {' '.join(args.exclude)}" if args.exclude else "")
                   + (f" --epochs {args.epochs}" if args.epochs is not None else "") + f" --seed {args.seed}",
        "problems": len(problems),
        "simulation_seconds": round(sim_s, 1),
        "training_seconds": round(sum(h["seconds"] for h in history), 1),
        "history": history,
        "heldout_metrics": heldout,
        "appearance": bool(embeddings),
        "appearance_sequences": sorted(embeddings),
    }
    save_network(args.output, net, settings, metadata)
    print(f"wrote {args.output} ({time.perf_counter() - start:.0f} s; final loss {history[-1]['loss']:.4f}, "
          f"row acc {history[-1]['row_acc']:.4f}, column acc {history[-1]['col_acc']:.4f})")
    return 0


def _video_embeddings(video_root: Path, seqs, log) -> dict:
    """{sequence: {frame: (N, D) embeddings}} for the sequences with a <SEQ>.mp4 in video_root
    (decoded frame i-1 is MOT frame i), from the shipped embedder."""
    from tracker.embedding import Embedder
    from tracker.embedding.video import iter_frames
    from tracker.io.mot import load_detections

    if not video_root.is_dir():
        raise InputError(f"{video_root}: not found (a folder of <SEQ>.mp4 videos)")
    embedder = Embedder.default(threads=1)
    out = {}
    for seq in seqs:
        video = video_root / f"{seq.name}.mp4"
        if not video.is_file():
            continue
        dets = load_detections(seq / "det" / "det.txt")
        start = time.perf_counter()
        out[seq.name] = {f: embedder.embed(img, dets.get(f).xyxy) for f, img in iter_frames(video) if len(dets.get(f))}
        log(f"  {seq.name}: appearance of {sum(len(v) for v in out[seq.name].values())} detections "
            f"({time.perf_counter() - start:.0f} s)")
    return out
