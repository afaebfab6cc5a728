"""``track embed-eval VIDEO --gt GT.txt [--weights W] [--json OUT]``: re-identification
retrieval (mAP, rank-1) and linear-probe accuracy of an embedder on gt identities, next to a
colour-histogram baseline, the learned+colour fused vector and a randomly initialized network
of the same architecture.

``--holdout-frames 478-795`` adds a block on those frames only, for a model trained without
them (``--holdout-weights``, default: the shipped ``holdout`` model, trained without frames
478-795 of vtest / PETS09-S2L1).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from tracker.embedding.histogram import colour_histograms
from tracker.embedding.inference import Embedder, load_weights, save_weights, shipped_weights_path, SHIPPED
from tracker.embedding.reid_eval import EvalProtocol, evaluate_embedding, load_gt_crops
from tracker.errors import InputError
from tracker.io.output_paths import OutputGuard

DESCRIPTION = __doc__


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", metavar="VIDEO", help="video file or folder of frames")
    parser.add_argument("--gt", required=True, help="MOTChallenge gt file of the video (identities)")
    parser.add_argument("--weights", default=None,
                        help="weights file, or 'default' / 'holdout' / 'unlabeled' (shipped); default: default")
    parser.add_argument("--frames", default=None, metavar="FIRST-LAST", help="only these frames (default: all)")
    parser.add_argument("--holdout-frames", default=None, metavar="FIRST-LAST",
                        help="also evaluate on these frames only, with --holdout-weights")
    parser.add_argument("--holdout-weights", default="holdout", help="weights trained without --holdout-frames")
    parser.add_argument("--step", type=int, default=5, help="use gt boxes of every STEP-th frame")
    parser.add_argument("--gap-seconds", type=float, default=2.0, help="min time between query and gallery crops")
    parser.add_argument("--no-probe", action="store_true", help="skip the linear probe")
    parser.add_argument("--no-random", action="store_true", help="skip the random-init baseline")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None, help="also write the results as JSON here")
    parser.add_argument("--adapt", nargs="?", const="auto", default=None, metavar="SECONDS",
                        help="also score the embedder adapted to this video as `track VIDEO --adapt` does: track it "
                             "(no gt), fine-tune on its confident tracks for SECONDS (default 30%% of tracking)")
    parser.add_argument("--adapt-steps", type=int, default=None, metavar="N", help="at most N fine-tuning steps")
    parser.add_argument("--adapt-seed", type=int, default=0, metavar="S")
    parser.add_argument("--detections", default=None, metavar="DET.txt",
                        help="with --adapt: the detection file tracking uses (default: the embedded detector)")
    parser.add_argument("--save-embedder", default=None, metavar="PATH.pt",
                        help="with --adapt: save the adapted weights")
    parser.add_argument("--record", action="store_true",
                        help="store the results in the evaluated weights' metadata (a weights file you own)")


def _range(text):
    if text is None:
        return None
    try:
        a, b = (int(v) for v in text.split("-", 1))
    except ValueError:
        raise InputError(f"bad frame range {text!r}: expected FIRST-LAST") from None
    if a < 1 or b < a:
        raise InputError(f"bad frame range {text!r}: needs 1 <= FIRST <= LAST")
    return a, b


def _hist_embed(images):
    return np.concatenate([colour_histograms(im[None]) for im in images]) if images else np.zeros((0, 256), np.float32)


def evaluate_block(crops, weights_spec, threads: int, probe: bool, random_baseline: bool, adapted=None) -> list:
    """-> rows [{"method", "weights", "mAP", "rank1", "probe_acc", ...}] for one crop set;
    ``adapted``: an Embedder adapted to this video (``--adapt``), scored in two more rows."""
    rows = []
    emb = Embedder.from_spec(weights_spec, threads=threads)
    hist = evaluate_embedding(crops, _hist_embed, probe=probe)
    rows.append({"method": "colour histogram", "weights": "-", **hist})
    label = str(weights_spec or "default")
    rows.append({"method": "learned", "weights": label, **evaluate_embedding(crops, emb.embed_images, probe=probe)})
    rows.append({"method": "learned + colour (fused)", "weights": label,
                 **evaluate_embedding(crops, lambda ims: emb.embed_images(ims, fused=True), probe=probe)})
    if adapted is not None:
        rows.append({"method": "learned, adapted to this video", "weights": f"{label} + --adapt",
                     **evaluate_embedding(crops, adapted.embed_images, probe=probe)})
        rows.append({"method": "adapted + colour (fused)", "weights": f"{label} + --adapt",
                     **evaluate_embedding(crops, lambda ims: adapted.embed_images(ims, fused=True), probe=probe)})
    if random_baseline:
        rnd = Embedder.random(seed=0, config=emb.config, threads=threads)
        scores = evaluate_embedding(crops, rnd.embed_images, probe=probe)
        rows.append({"method": "random init (same net)", "weights": "random", **scores})
    for r in rows:
        r["x_hist_mAP"] = r["mAP"] / hist["mAP"] if hist["mAP"] else float("nan")
    return rows


def _fmt(v, digits=3):
    return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.{digits}f}"


def run(args) -> int:
    torch.set_num_threads(max(1, int(args.threads)))
    video = Path(args.video)
    if not video.exists():
        raise InputError(f"{video}: not found")
    if not Path(args.gt).is_file():
        raise InputError(f"{args.gt}: gt file not found")
    weights = [w for w in (args.weights, args.holdout_weights) if w and Path(w).is_file()]
    guard = OutputGuard([video, args.gt, *weights])
    if args.json:
        guard.check(args.json, "--json")
    if args.record:  # the weights file itself is updated on purpose; the .json beside it must be no input
        inputs = OutputGuard([video, args.gt, args.json], protect_package=False)
        for spec in _record_specs(args):
            inputs.check(_weights_path(spec).with_suffix(".json"), "--record")
    blocks = []
    try:
        proto = EvalProtocol(step=args.step, gap_seconds=args.gap_seconds, frames=_range(args.frames))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    adapted = _adapted(args, video) if args.adapt is not None else None  # before gt is read
    crops = load_gt_crops(video, args.gt, proto)
    if not len(crops.images):
        raise InputError(f"{args.gt}: no usable gt boxes in the frames evaluated")
    frames_label = args.frames or "all"
    blocks.append({"frames": frames_label, "rows": evaluate_block(crops, args.weights, args.threads, not args.no_probe,
                                                                  not args.no_random, adapted)})
    if args.holdout_frames:
        lo, hi = _range(args.holdout_frames)
        sub = crops.select((crops.frames >= lo) & (crops.frames <= hi))
        if not len(sub.images):
            raise InputError(f"no gt crops in --holdout-frames {args.holdout_frames}")
        blocks.append({"frames": args.holdout_frames, "rows": evaluate_block(sub, args.holdout_weights, args.threads,
                                                                             not args.no_probe, not args.no_random)})
    print(f"embed-eval {video.name}: gt crops every {args.step} frames, queries vs gallery >= "
          f"{blocks[0]['rows'][0]['gap_frames']} frames apart ({args.gap_seconds:g} s), cosine similarity")
    print()
    print("| frames | method | weights | mAP | x hist | rank-1 | linear probe acc | crops | ids |")
    print("|---|---|---|---|---|---|---|---|---|")
    for b in blocks:
        for r in b["rows"]:
            print(f"| {b['frames']} | {r['method']} | {r['weights']} | {_fmt(r['mAP'])} | {_fmt(r['x_hist_mAP'], 2)} | "
                  f"{_fmt(r['rank1'])} | {_fmt(r.get('probe_acc'))} | {r['crops']} | {r['identities']} |")
    result = {"video": str(video), "gt": str(args.gt), "step": args.step, "gap_seconds": args.gap_seconds,
              "blocks": blocks}
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    if args.record:
        _record(args, blocks, video)
    return 0


def _adapted(args, video: Path):
    """Track ``video`` (the embedded detector or ``--detections``) with ``--weights`` and adapt
    the embedder on its tracks (``tracker.training.adapt``) -> the adapted Embedder (the
    unadapted one when adaptation was skipped, with a note). No gt is read here."""
    import sys

    from tqdm import tqdm

    from tracker.pipeline import EMBEDDER_THREADS
    from tracker.training.adapt import AdaptConfig, adapt_to_video

    try:
        seconds = None if args.adapt == "auto" else float(args.adapt)
        steps = {} if args.adapt_steps is None else {"max_steps": args.adapt_steps}
        config = AdaptConfig(seconds=seconds, seed=args.adapt_seed, **steps)
    except ValueError as exc:
        raise InputError(f"--adapt {args.adapt}: expected seconds >= 0, steps >= 1, seed >= 0 ({exc})") from None
    detector = None
    if args.detections is not None:
        from tracker.detectors import DetectionFileDetector

        if not Path(args.detections).is_file():
            raise InputError(f"{args.detections}: detection file not found", "detections")
        detector = DetectionFileDetector(Path(args.detections))
    base = Embedder.from_spec(args.weights, threads=EMBEDDER_THREADS)
    frames = tqdm(desc="pass 1", unit="frame", file=sys.stderr)
    steps_bar = tqdm(total=config.max_steps, desc="adapt", unit="step", file=sys.stderr)
    try:
        out = adapt_to_video(video, detector, embedder=base, adapt=config, on_frame=lambda r: frames.update(1),
                             on_step=lambda step, loss, elapsed: (steps_bar.update(1),
                                                                  steps_bar.set_postfix(loss=f"{loss:.3f}")))
    finally:
        frames.close()
        steps_bar.close()
    print(f"adaptation: {out.result.steps} steps, {out.result.seconds:.1f} s (bound {out.result.bound_seconds:.1f} s, "
          f"pass 1 {out.pass1_seconds:.1f} s), {out.result.tracklets} tracklets, {out.result.crops} crops"
          + (f"; skipped: {out.result.skipped}" if out.result.skipped else ""), file=sys.stderr)
    if args.save_embedder and out.result.model is not None:
        save_weights(Path(args.save_embedder), out.result.model, out.embedder.metadata)
    return out.embedder


def _record_specs(args) -> list:
    """The weights ``--record`` updates: ``--weights``, and ``--holdout-weights`` with ``--holdout-frames``."""
    return [args.weights] + ([args.holdout_weights] if args.holdout_frames else [])


def _weights_path(spec) -> Path:
    """The weights file of a ``--weights`` value (a shipped name or a path)."""
    if spec is None or str(spec) in SHIPPED:
        return shipped_weights_path("default" if spec is None else str(spec))
    return Path(spec)


def _record(args, blocks, video) -> None:
    """Add the learned-model rows to the metadata of the weights they evaluate."""
    for spec, block in zip(_record_specs(args), blocks):
        path = _weights_path(spec)
        model, meta = load_weights(path)
        ev = meta.setdefault("evaluation", {})
        key = f"{video.name} frames {block['frames']}"
        ev[key] = {r["method"]: {k: (round(v, 4) if isinstance(v, float) else v)
                                 for k, v in r.items() if k in ("mAP", "rank1", "probe_acc", "x_hist_mAP", "crops")}
                   for r in block["rows"]}
        save_weights(path, model, meta)
