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

DESCRIPTION = """Train the Transformer associator: from unlabeled video (no identity labels), from
MOTChallenge ground truth, or first the one and then the other.

Self-supervised (--unlabeled VIDEO_OR_DIR...): the embedded detector runs on sampled frames of
each video (cached) and the shipped embedder gives appearance; a MOTChallenge sequence folder
gives its det/det.txt (its gt/ is never opened). The tracker itself makes pseudo-identities
(its confident tracklets); the network learns from the pairs whose answer is certain (one
tracklet, or two tracklets at the same time) and from masked re-linking (a tracklet is hidden
for 0.2-3 s and must be found again among the others). Accepted: video files, frame folders,
MOTChallenge sequence folders, folders of them, and the unlabeled collection's root (its
SOURCES.tsv gives each clip's licence class for the metadata).

Supervised (--mot-root ROOT): every detection of <SEQ>/det/det.txt is labelled with a gt
identity (Hungarian matching at IoU >= 0.5; unmatched = false positive) and the tracker is
simulated over each sequence with augmentation. With --unlabeled as well, the self-supervised
model is fine-tuned on the gt.

Runs on CPU (a few minutes per epoch on 2 cores). Writes OUTPUT (.npz weights) and OUTPUT with
.json (metadata: every training file and its licence class, date, settings, command).

Examples:
  track train-associator --unlabeled ../shared/data/unlabeled --output ssl/associator.npz
  track train-associator --mot-root ../shared/data/mot --output sup/associator.npz
  track train-associator --unlabeled ../shared/data/unlabeled --mot-root ../shared/data/mot \\
      --output both/associator.npz
With appearance from the sequences' videos in supervised training: add --video-root DIR.

Held-out checks: python benchmarks/associator_ssl.py (self-supervised) and
python benchmarks/associator_folds.py (supervised)."""

#: licence class recorded for training files outside the unlabeled collection
USER_LICENCE = "user-supplied (licence not recorded)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--unlabeled", nargs="+", type=Path, default=[], metavar="VIDEO_OR_DIR",
                        help="unlabeled training data: videos, frame folders, MOTChallenge sequence folders "
                             "(det/det.txt only), folders of them, or the unlabeled collection's root")
    parser.add_argument("--mot-root", type=Path, default=None, metavar="ROOT",
                        help="folder of MOTChallenge sequences with det/det.txt and gt/gt.txt (supervised; "
                             "after the self-supervised stage when --unlabeled is given too)")
    parser.add_argument("--output", type=Path, default=Path("associator_out") / "associator.npz", metavar="PATH",
                        help="weights file to write (default: associator_out/associator.npz)")
    parser.add_argument("--video-root", type=Path, default=None, metavar="DIR",
                        help="folder of <SEQ>.mp4 videos (frames of the --mot-root sequences): their detections get "
                             "appearance embeddings from the shipped embedder and the model learns to use them")
    parser.add_argument("--exclude", nargs="*", default=[], metavar="SEQ",
                        help="sequences to leave out of training (e.g. a held-out fold)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs per stage (default: 4)")
    parser.add_argument("--consistency", type=float, default=0.0, metavar="WEIGHT",
                        help="weight of the cross-input consistency term (appearance and older history hidden "
                             "in a second view; default 0 = off)")
    parser.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                        help="where the detections of unlabeled videos are cached (default: "
                             "~/.cache/identitrack/embedder-clips)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    parser.add_argument("--heldout-json", type=Path, default=None, metavar="FILE",
                        help="JSON of leave-sequences-out results (benchmarks/associator_folds.py --json) "
                             "to record in the metadata")


def associator_outputs(output: Path) -> list:
    """Every file ``--output OUTPUT`` writes: the weights, their temporary file and the
    ``.json`` metadata beside them (all checked before training)."""
    return [output, output.with_name(output.name + ".tmp.npz"), output.with_suffix(".json")]


def unlabeled_items(paths) -> list:
    """--unlabeled paths -> [(kind "video" | "mot", path, licence class)] (module help)."""
    from tracker.batch.sources import VIDEO_EXTENSIONS
    from tracker.embedding.video import IMAGE_EXTS
    from tracker.training.associator_unlabeled import is_mot_sequence
    from tracker.training.unlabeled import SOURCES_FILE, read_sources

    items = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise InputError(f"--unlabeled {path}: not found")
        if path.is_file():
            items.append(("video", path, USER_LICENCE))
        elif (path / SOURCES_FILE).is_file():
            items += [("video", c.path, c.licence_class) for c in read_sources(path)]
        elif is_mot_sequence(path):
            items.append(("mot", path, USER_LICENCE))
        elif any(p.suffix.lower() in IMAGE_EXTS for p in path.iterdir()):
            items.append(("video", path, USER_LICENCE))
        else:
            inner = sorted(path.iterdir())
            found = [("mot", p, USER_LICENCE) for p in inner if p.is_dir() and is_mot_sequence(p)]
            found += [("video", p, USER_LICENCE) for p in inner if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS]
            if not found:
                raise InputError(f"--unlabeled {path}: no video, frame folder or MOTChallenge sequence in it")
            items += found
    return items


def run(args) -> int:
    from tracker.io.mot import find_sequences
    from tracker.training.associator import TrainSettings, build_problems, save_network, train_network

    if not args.unlabeled and args.mot_root is None:
        raise InputError("give --unlabeled VIDEO_OR_DIR... (self-supervised), --mot-root ROOT (gt), or both")
    if args.mot_root is not None and not args.mot_root.is_dir():
        raise InputError(f"--mot-root {args.mot_root}: not found (a folder of MOTChallenge sequences)")
    if args.output.suffix != ".npz":
        raise InputError(f"--output must end in .npz, got {args.output}")
    if args.consistency < 0:
        raise InputError(f"--consistency must be >= 0, got {args.consistency}")
    items = unlabeled_items(args.unlabeled)
    seqs = []
    if args.mot_root is not None:
        seqs = [s for s in find_sequences([args.mot_root]) if (s / "gt" / "gt.txt").is_file()
                and (s / "det" / "det.txt").is_file() and s.name not in args.exclude]
        if not seqs:
            raise InputError(f"--mot-root {args.mot_root}: no sequence with both det/det.txt and gt/gt.txt")
    inputs = [args.heldout_json] + [s / name for s in seqs for name in ("det/det.txt", "gt/gt.txt", "seqinfo.ini")]
    inputs += [p for _, p, _ in items]
    if args.video_root is not None:
        inputs += [args.video_root / f"{s.name}.mp4" for s in seqs]
    OutputGuard(inputs).check_all(associator_outputs(args.output), "--output")
    settings = TrainSettings(seed=args.seed, threads=args.threads, consistency_weight=args.consistency,
                             **({"epochs": args.epochs} if args.epochs is not None else {}))
    if settings.epochs < 1:
        raise InputError("--epochs must be >= 1")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    start = time.perf_counter()
    history, net, n_problems, training_files = [], None, 0, []
    if items:
        problems = _unlabeled_problems(items, args.cache_dir, log)
        log(f"self-supervised: {len(problems)} association problems ({time.perf_counter() - start:.0f} s); "
            "training ...")
        net, hist = train_network(problems, settings, log=log)
        history.append({"stage": "self-supervised", "epochs": hist})
        n_problems += len(problems)
        training_files += [{"file": str(p), "kind": kind, "labels": "none", "licence_class": lic}
                           for kind, p, lic in items]
    embeddings = {}
    if seqs:
        embeddings = _video_embeddings(args.video_root, seqs, log) if args.video_root else {}
        log(f"simulating {len(seqs)} sequences ...")
        problems = build_problems(seqs, log=log, embeddings=embeddings)
        log(f"{len(problems)} association problems; training{' (fine-tuning)' if net is not None else ''} ...")
        net, hist = train_network(problems, settings, log=log, initial=net)
        history.append({"stage": "gt-supervised", "epochs": hist})
        n_problems += len(problems)
        training_files += [{"file": str(s), "kind": "mot", "labels": "gt",
                            "licence_class": "MOTChallenge CC BY-NC-SA 3.0"} for s in seqs]
    heldout = json.loads(args.heldout_json.read_text()) if args.heldout_json else None
    command = ("track train-associator" + (" --unlabeled " + " ".join(str(p) for p in args.unlabeled)
                                           if args.unlabeled else "")
               + (" --mot-root ROOT" if seqs else "") + (" --video-root DIR" if embeddings else "")
               + (f" --exclude {' '.join(args.exclude)}" if args.exclude else "")
               + (f" --epochs {args.epochs}" if args.epochs is not None else "")
               + (f" --consistency {args.consistency}" if args.consistency else "") + f" --seed {args.seed}")
    metadata = {
        "model": "identitrack Transformer associator",
        "date": datetime.date.today().isoformat(),
        "trained_on": [s.name for s in seqs] + [str(p) for _, p, _ in items],
        "training_files": training_files,
        "data": ("self-supervised: no identity labels" if not seqs else
                 "MOTChallenge det/det.txt labelled by gt (CC BY-NC-SA 3.0 data; weights derived from it)"
                 + ("; after self-supervised pre-training" if items else "")),
        "command": command,
        "problems": n_problems,
        "seconds": round(time.perf_counter() - start, 1),
        "training_seconds": round(sum(e["seconds"] for h in history for e in h["epochs"]), 1),
        "history": history,
        "heldout_metrics": heldout,
        "appearance": bool(embeddings) or any(kind == "video" for kind, _, _ in items),
        "appearance_sequences": sorted(embeddings),
    }
    save_network(args.output, net, settings, metadata)
    last = history[-1]["epochs"][-1]
    print(f"wrote {args.output} ({time.perf_counter() - start:.0f} s; final loss {last['loss']:.4f}, "
          f"row acc {last['row_acc']:.4f}, column acc {last['col_acc']:.4f})")
    return 0


def _unlabeled_problems(items, cache_dir, log) -> list:
    """Simulated self-supervised problems of every --unlabeled item (appearance for videos)."""
    from tracker.detectors import default_detector
    from tracker.embedding import Embedder
    from tracker.training.associator_unlabeled import mot_sequence, simulate_unlabeled, video_sequences
    from tracker.training.data import CLIP_CACHE

    embedder = None
    problems = []
    for kind, path, _ in items:
        start = time.perf_counter()
        if kind == "mot":
            seqs = [mot_sequence(path)]
        else:
            embedder = embedder or Embedder.default(threads=1)
            seqs = video_sequences(path, lambda p: embedder.embed_images(list(p)),
                                   lambda: default_detector(threads=1), cache_dir or CLIP_CACHE)
        found = simulate_unlabeled(seqs)
        problems.extend(found)
        log(f"  {path}: {len(seqs)} runs, {len(found)} problems ({time.perf_counter() - start:.0f} s)")
    return problems


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
