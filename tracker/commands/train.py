"""``track train VIDEO_OR_FRAMES... --output weights.pt``: self-supervised contrastive training
of the appearance embedder on unlabeled video (no labels or gt files are read).

Crops come from each video's detection file (``--detections``, one per video in order; by
default ``<stem>.det.txt`` beside the video or ``../mot/<stem>/det/det.txt``); a video without
one is detected by the embedded detector on sampled frames (cached), its tracklets come from
the tracker and never cross a shot cut. ``--unlabeled DIR`` adds every clip listed in
``DIR/SOURCES.tsv`` (the shared unlabeled collection; their licence classes go into the
metadata). Positives are two augmentations of a crop or of two crops of the same tracklet;
negatives come from a queue of momentum-encoder embeddings (see docs/embedder.md).

A checkpoint ``<output>.ckpt`` is written every ``--checkpoint-every`` steps; ``--resume``
continues from it exactly (same seed and settings give the same weights).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from tracker.embedding.augment import AugmentConfig
from tracker.embedding.inference import save_weights
from tracker.embedding.model import EncoderConfig
from tracker.errors import InputError
from tracker.io.output_paths import OutputGuard
from tracker.training.contrastive import ContrastiveTrainer, TrainConfig, now_iso
from tracker.training.data import CropConfig, VideoSpec, build_training_set, find_detection_file
from tracker.training.linking import LinkConfig
from tracker.training.unlabeled import read_sources

DESCRIPTION = __doc__
DEFAULT_CACHE = Path.home() / ".cache" / "identitrack" / "embedder-crops"


def configure(parser: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    parser.add_argument("videos", nargs="*", metavar="VIDEO_OR_FRAMES", help="video files or folders of frames")
    parser.add_argument("--unlabeled", default=None, metavar="DIR",
                        help="also train on every clip listed in DIR/SOURCES.tsv (embedded detector, cached)")
    parser.add_argument("--output", "-o", required=True,
                        help="weights file to write (.pt); metadata goes to .json beside it")
    parser.add_argument("--detections", nargs="+", default=None, metavar="DET",
                        help="detection file per video, in the same order (MOTChallenge det.txt)")
    parser.add_argument("--exclude", action="append", default=[], metavar="[STEM:]FIRST-LAST",
                        help="leave out frames FIRST..LAST (1-based, inclusive) of the video named STEM "
                             "(file name without extension), or of every video without STEM; repeatable")
    parser.add_argument("--steps", type=int, default=d.steps)
    parser.add_argument("--batch-size", type=int, default=d.batch_size)
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--temperature", type=float, default=d.temperature)
    parser.add_argument("--momentum", type=float, default=d.momentum)
    parser.add_argument("--queue-size", type=int, default=d.queue_size)
    parser.add_argument("--hard-negatives", type=int, default=d.hard_negatives,
                        help="use only the K most similar negatives of each query (0 = all)")
    parser.add_argument("--safe-negatives", action=argparse.BooleanOptionalAction, default=d.safe_negatives,
                        help="negatives only from other videos or co-existing tracklets (never a possible re-entry)")
    parser.add_argument("--p-temporal", type=float, default=d.p_temporal,
                        help="probability that a positive is another crop of the same tracklet")
    parser.add_argument("--depth", type=int, default=EncoderConfig().depth, help="Transformer layers (0 = CNN only)")
    parser.add_argument("--min-score", type=float, default=CropConfig().min_score,
                        help="detections below it are not used")
    parser.add_argument("--link-iou", type=float, default=LinkConfig().min_iou,
                        help="IoU needed to link boxes of consecutive frames")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument("--cache-dir", default=str(DEFAULT_CACHE), help="where cut crops are cached")
    cache.add_argument("--no-cache", action="store_true", help="cut the crops again every run (no cache folder)")
    parser.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    parser.add_argument("--resume", action="store_true", help="continue from <output>.ckpt if it exists")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def parse_range(text: str) -> tuple:
    try:
        a, b = text.split("-", 1)
        lo, hi = int(a), int(b)
    except ValueError:
        raise InputError(f"bad frame range {text!r}: expected FIRST-LAST, e.g. 478-795") from None
    if lo < 1 or hi < lo:
        raise InputError(f"bad frame range {text!r}: needs 1 <= FIRST <= LAST")
    return lo, hi


def parse_excludes(items, videos) -> list:
    """-> per video a tuple of (first, last) ranges."""
    out = [[] for _ in videos]
    stems = [Path(v).name if Path(v).is_dir() else Path(v).stem for v in videos]
    for item in items:
        stem, _, rng = item.rpartition(":")
        lo_hi = parse_range(rng)
        if not stem:
            for r in out:
                r.append(lo_hi)
            continue
        hits = [i for i, s in enumerate(stems) if s == stem]
        if not hits:
            raise InputError(f"--exclude {item!r}: no video named {stem!r} (videos: {', '.join(stems)})")
        for i in hits:
            out[i].append(lo_hi)
    return [tuple(r) for r in out]


def weights_outputs(output: Path) -> list:
    """Every file ``track train --output OUTPUT`` writes: the weights, the ``.json`` metadata
    beside them, the checkpoint and the temporary file of each (all checked before training)."""
    ckpt = output.with_name(output.name + ".ckpt")
    return [output, output.with_suffix(".json"), output.with_name(output.name + ".tmp"), ckpt,
            ckpt.with_name(ckpt.name + ".tmp")]


def licence_summary(sources) -> dict:
    """Training sources per licence class (sources without one: the development videos,
    ``development video (see docs/embedder.md)``)."""
    out: dict = {}
    for src in sources:
        out.setdefault(src.get("licence_class", "development video (see docs/embedder.md)"), []).append(src["video"])
    return {k: {"files": len(v)} for k, v in sorted(out.items())}


def run(args) -> int:
    torch.set_num_threads(max(1, int(args.threads)))
    videos = [Path(v) for v in args.videos]
    for v in videos:
        if not v.exists():
            raise InputError(f"{v}: not found")
    clips = read_sources(args.unlabeled) if args.unlabeled else []
    if not videos and not clips:
        raise InputError("nothing to train on: give videos or --unlabeled DIR")
    if args.detections is not None and len(args.detections) != len(videos):
        raise InputError(f"--detections names {len(args.detections)} files for {len(videos)} videos (one per video, "
                         "same order)")
    dets = []
    for i, v in enumerate(videos):
        d = Path(args.detections[i]) if args.detections is not None else find_detection_file(v)
        if d is None:  # the embedded detector on sampled frames
            dets.append(None)
            continue
        if "gt" in d.parts or d.name.startswith("gt"):
            raise InputError(f"{d}: looks like ground truth; training never reads gt (use detections)")
        dets.append(d)
    excludes = parse_excludes(args.exclude, videos)
    output = Path(args.output)
    if output.suffix != ".pt":
        raise InputError(f"--output {output}: expected a .pt file name")
    guard = OutputGuard(videos + [d for d in dets if d is not None] + [c.path for c in clips])
    guard.check_all(weights_outputs(output), "--output")
    try:
        config = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, temperature=args.temperature,
                             momentum=args.momentum, queue_size=args.queue_size, hard_negatives=args.hard_negatives,
                             safe_negatives=args.safe_negatives, p_temporal=args.p_temporal, seed=args.seed,
                             checkpoint_every=args.checkpoint_every)
        encoder_config = EncoderConfig(depth=args.depth)
        crop = CropConfig(min_score=args.min_score)
        link = LinkConfig(min_iou=args.link_iou)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    say = (lambda m: None) if args.no_progress else (lambda m: print(m, file=sys.stderr))
    t0 = time.time()
    specs = [VideoSpec(v, d, e) for v, d, e in zip(videos, dets, excludes)]
    specs += [VideoSpec(c.path, None, group=c.group, licence_class=c.licence_class, upstream=c.source) for c in clips]
    data = build_training_set(specs, crop, link, None if args.no_cache else Path(args.cache_dir), progress=say)
    trainer = ContrastiveTrainer(data, config, encoder_config, AugmentConfig())
    ckpt = output.with_name(output.name + ".ckpt")
    if args.resume and ckpt.is_file():
        try:
            state = torch.load(ckpt, map_location="cpu", weights_only=True)  # never unpickle code
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a bad checkpoint
            raise InputError(f"{ckpt}: not an identitrack training checkpoint ({type(exc).__name__}); "
                             "remove it to start again") from None
        loose = ("steps", "checkpoint_every")  # a run may be extended; everything else must match
        same = {k: v for k, v in state.get("config", {}).items() if k not in loose} == \
            {k: v for k, v in config.to_dict().items() if k not in loose}
        if not same or state.get("encoder_config") != encoder_config.to_dict():
            raise InputError(f"{ckpt}: was written with other settings; remove it or train with the same options")
        trainer.load_state_dict(state)
        say(f"resumed from {ckpt} at step {trainer.step_index}")
    bar = None
    if not args.no_progress:
        from tqdm import tqdm
        bar = tqdm(total=config.steps, initial=trainer.step_index, desc="train", unit="step", file=sys.stderr)
    smooth = [None]

    def on_step(step: int, loss: float) -> None:
        smooth[0] = loss if smooth[0] is None else 0.95 * smooth[0] + 0.05 * loss
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{smooth[0]:.3f}")

    try:
        trainer.train(on_step=on_step, on_checkpoint=lambda: trainer.save_checkpoint(ckpt))
    except KeyboardInterrupt:
        trainer.save_checkpoint(ckpt)
        if bar is not None:
            bar.close()
        print(f"track train: interrupted at step {trainer.step_index}; resume with --resume ({ckpt})", file=sys.stderr)
        raise
    if bar is not None:
        bar.close()
    trainer.save_checkpoint(ckpt)
    hist = np.array(trainer.loss_history)
    every = max(1, len(hist) // 30)
    curve = [[int((k + 1) * every), round(float(hist[k * every:(k + 1) * every].mean()), 4)]
             for k in range(len(hist) // every)]
    metadata = {
        "model": "PatchEncoder (conv stem -> patch tokens -> Transformer -> unit embedding)",
        "date": now_iso(),
        "command": "track train " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 and
                   sys.argv[1] == "train" else None,
        "training_data": data.summary(),
        "labels_used": "none (self-supervised: augmentations, tracklets of public or embedded-detector boxes)",
        "training_licences": licence_summary(data.sources),
        "settings": {**trainer.settings(), "crop": {"store_size": list(crop.store_size), "min_score": crop.min_score,
                                                    "min_w": crop.min_w, "min_h": crop.min_h},
                     "link": {"min_iou": link.min_iou, "margin": link.margin}, "threads": int(args.threads)},
        "steps": trainer.step_index,
        "final_loss": round(float(hist[-min(50, len(hist)):].mean()), 4) if len(hist) else None,
        "loss_curve": curve,
        "train_seconds": round(time.time() - t0, 1),
        "torch": str(torch.__version__),
        "evaluation": {},
    }
    save_weights(output, trainer.encoder.eval(), metadata)
    print(json.dumps({"output": str(output), "steps": trainer.step_index, "final_loss": metadata["final_loss"],
                      "crops": len(data), "seconds": metadata["train_seconds"]}))
    return 0
