"""Leave-video-out measurement of the appearance embedder (docs/embedder.md, "Held-out folds").

Each fold holds out one development video (vtest/PETS09-S2L1 count as one: the same footage);
the model is trained self-supervised on the unlabeled clips (``shared/data/unlabeled``) and
the *other* development videos' frames (public detections, never gt), then scored with the
``track embed-eval`` protocol on the held-out video (all frames): learned embedding alone,
colour histogram, learned + colour fused.

    python benchmarks/embedder_folds.py train --fold MOT17-09 --config base --steps 600 --seed 0
    python benchmarks/embedder_folds.py report            # rewrites the block in docs/embedder.md

``train`` writes ``<runs>/<config>-<fold>-s<seed>.pt`` and ``.result.json`` (default runs folder
``/tmp/identitrack-embedder-folds``); ``report`` tabulates every result there.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.side_by_side import rewrite_block  # noqa: E402
from tracker.embedding.augment import AugmentConfig  # noqa: E402
from tracker.embedding.histogram import colour_histograms  # noqa: E402
from tracker.embedding.inference import Embedder, save_weights  # noqa: E402
from tracker.embedding.model import EncoderConfig  # noqa: E402
from tracker.embedding.reid_eval import EvalProtocol, evaluate_embedding, load_gt_crops  # noqa: E402
from tracker.training.contrastive import ContrastiveTrainer, TrainConfig  # noqa: E402
from tracker.training.data import VideoSpec, build_training_set  # noqa: E402
from tracker.training.unlabeled import read_sources  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
DOC = ROOT / "docs" / "embedder.md"
BEGIN, END = "<!-- embedder-folds:begin -->", "<!-- embedder-folds:end -->"
RUNS = Path("/tmp/identitrack-embedder-folds")
CACHE = Path.home() / ".cache" / "identitrack" / "embedder-crops"
#: development videos: fold name -> training source (video, public detections) and the
#: (video, gt) pairs scored when it is held out
DEV = {
    "PETS09": (("video/vtest.avi", "video/vtest.det.txt"),
               [("video/vtest.avi", "video/vtest.gt.txt"), ("video/PETS09-S2L1.mp4", "mot/PETS09-S2L1/gt/gt.txt")]),
    "TUD-Campus": (("video/TUD-Campus.mp4", "mot/TUD-Campus/det/det.txt"),
                   [("video/TUD-Campus.mp4", "mot/TUD-Campus/gt/gt.txt")]),
    "TUD-Stadtmitte": (("video/TUD-Stadtmitte.mp4", "mot/TUD-Stadtmitte/det/det.txt"),
                       [("video/TUD-Stadtmitte.mp4", "mot/TUD-Stadtmitte/gt/gt.txt")]),
    "MOT17-09": (("video/MOT17-09-FRCNN.mp4", "mot/MOT17-09-FRCNN/det/det.txt"),
                 [("video/MOT17-09-FRCNN.mp4", "mot/MOT17-09-FRCNN/gt/gt.txt")]),
}
#: the levers: config name -> (what it changes, TrainConfig / AugmentConfig / EncoderConfig
#: changes, whether the unlabeled clips are used)
CONFIGS = {
    "base": ("temporal positives p 0.8, safe negatives, default augmentation", {}, {}, {}, True),
    "dev-only": ("base without the unlabeled clips (the old training data)", {}, {}, {}, False),
    "no-temporal": ("base, positives = two views of the same crop only", {"p_temporal": 0.0}, {}, {}, True),
    "hard-neg": ("base + the 256 hardest certain negatives only", {"hard_negatives": 256}, {}, {}, True),
    "aug-strong": ("base, stronger augmentation (crops to 20 % area, more occluders, blur, noise)", {},
                   {"scale": (0.2, 1.0), "p_erase": 0.6, "erase_area": (0.1, 0.4), "p_blur": 0.5, "p_noise": 0.5},
                   {}, True),
    "aug-mild": ("base, milder augmentation (crops to 60 % area, fewer occluders)", {},
                 {"scale": (0.6, 1.0), "p_erase": 0.2, "p_blur": 0.1, "p_noise": 0.1}, {}, True),
}


def training_specs(fold: str, unlabeled: bool) -> list:
    specs = []
    for name, ((video, dets), _) in DEV.items():
        if name != fold:
            specs.append(VideoSpec(DATA / video, DATA / dets, group=name))
    if unlabeled:
        for clip in read_sources(DATA / "unlabeled"):
            specs.append(VideoSpec(clip.path, None, group=clip.group, licence_class=clip.licence_class,
                                   upstream=clip.source))
    return specs


def evaluate(weights: Path, fold: str, threads: int) -> list:
    emb = Embedder.from_file(weights, threads=threads)
    rows = []
    for video, gt in DEV[fold][1]:
        crops = load_gt_crops(DATA / video, DATA / gt, EvalProtocol())
        hist = evaluate_embedding(crops, lambda ims: np.concatenate([colour_histograms(im[None]) for im in ims]),
                                  probe=False)
        learned = evaluate_embedding(crops, emb.embed_images, probe=False)
        fused = evaluate_embedding(crops, lambda ims: emb.embed_images(ims, fused=True), probe=False)
        rows.append({"video": Path(video).name, "hist": hist["mAP"], "learned": learned["mAP"], "fused": fused["mAP"],
                     "rank1": learned["rank1"], "crops": learned["crops"], "ids": learned["identities"]})
    return rows


def cmd_train(args) -> int:
    torch.set_num_threads(args.threads)
    what, train_changes, aug_changes, enc_changes, unlabeled = CONFIGS[args.config]
    out = Path(args.runs) / f"{args.config}-{args.fold}-s{args.seed}{args.suffix}.pt"
    t0 = time.time()
    data = build_training_set(training_specs(args.fold, unlabeled), cache_dir=CACHE)
    config = TrainConfig(steps=args.steps, seed=args.seed, **train_changes)
    augment = AugmentConfig.from_dict({**AugmentConfig().to_dict(), **aug_changes})
    trainer = ContrastiveTrainer(data, config, EncoderConfig(**enc_changes), augment)
    ckpt = out.with_name(out.name + ".ckpt")
    if ckpt.is_file():
        trainer.load_checkpoint(ckpt)
    elif args.resume_from:  # continue a shorter run (its cosine schedule stretched to --steps)
        trainer.load_checkpoint(args.resume_from)
    t_train = time.time()
    trainer.train(on_checkpoint=lambda: trainer.save_checkpoint(ckpt))
    train_s = time.time() - t_train
    meta = {"fold": args.fold, "config": args.config, "training_data": data.summary(), "settings": trainer.settings()}
    save_weights(out, trainer.encoder.eval(), meta)
    rows = evaluate(out, args.fold, args.threads)
    if args.resume_from:
        what += f" (continued from {Path(args.resume_from).name})"
    result = {"fold": args.fold, "config": args.config, "what": what, "seed": args.seed, "steps": args.steps,
              "crops": len(data), "tracklets": int(len(data.tracklet_video)), "train_seconds": round(train_s, 1),
              "total_seconds": round(time.time() - t0, 1), "final_loss": float(np.mean(trainer.loss_history[-50:])),
              "rows": rows}
    out.with_suffix(".result.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


#: public detection file of each scored development video (tracking for adaptation / HOTA)
SCORED_DETS = {"vtest.avi": "video/vtest.det.txt", "PETS09-S2L1.mp4": "mot/PETS09-S2L1/det/det.txt",
               "TUD-Campus.mp4": "mot/TUD-Campus/det/det.txt", "TUD-Stadtmitte.mp4": "mot/TUD-Stadtmitte/det/det.txt",
               "MOT17-09-FRCNN.mp4": "mot/MOT17-09-FRCNN/det/det.txt"}


def _track_scores(video: Path, det: Path, gt: Path, embedder, out_dir: Path) -> dict:
    """``track VIDEO --detections DET`` with ``embedder`` -> HOTA, IDF1, MOTA (%)."""
    from tracker.detectors import DetectionFileDetector
    from tracker.evaluation import evaluate_files
    from tracker.pipeline import FileRun

    with FileRun(video, DetectionFileDetector(det), output_dir=out_dir, video=False, embedder=embedder) as run:
        for _ in run:
            pass
    s = run.summary
    report = evaluate_files(gt, out_dir / s["files"]["mot"], fps=run.info.fps, seq_length=s["frames_processed"],
                            benchmark="MOT17" if "MOT17" in gt.as_posix() else "MOT15")
    m = report.combined.summary()
    return {k: round(100 * m[k], 2) for k in ("HOTA", "IDF1", "MOTA")}


def cmd_adapt(args) -> int:
    """Adapt a fold's model to each held-out video (its own tracks with the public detections,
    no gt), score re-ID mAP and end-to-end HOTA / IDF1 for: the shipped model, the fold model,
    the fold model adapted."""
    import tempfile

    from tracker.detectors import DetectionFileDetector
    from tracker.training.adapt import AdaptConfig, adapt_to_video

    torch.set_num_threads(args.threads)
    out = Path(args.runs) / f"{args.config}-{args.fold}-s{args.seed}.pt"
    result_path = out.with_suffix(".result.json")
    result = json.loads(result_path.read_text())
    fold_model = Embedder.from_file(out, threads=1)
    shipped = Embedder.default(threads=1)
    config = AdaptConfig(max_steps=args.adapt_steps, seconds=args.adapt_seconds, seed=args.seed, threads=args.threads)
    rows = []
    for video, gt in DEV[args.fold][1]:
        video, gt = DATA / video, DATA / gt
        det = DATA / SCORED_DETS[video.name]
        t0 = time.time()
        adapted = adapt_to_video(video, DetectionFileDetector(det), embedder=fold_model, adapt=config)
        crops = load_gt_crops(video, gt, EvalProtocol())
        hist = evaluate_embedding(crops, lambda ims: np.concatenate([colour_histograms(im[None]) for im in ims]),
                                  probe=False)["mAP"]
        learned = evaluate_embedding(crops, adapted.embedder.embed_images, probe=False)["mAP"]
        fused = evaluate_embedding(crops, lambda ims: adapted.embedder.embed_images(ims, fused=True),
                                   probe=False)["mAP"]
        row = {"video": video.name, "hist": hist, "adapted": learned, "adapted_fused": fused,
               "adapt": adapted.result.summary(), "pass1_seconds": round(adapted.pass1_seconds, 1),
               "adapt_total_seconds": round(time.time() - t0, 1)}
        with tempfile.TemporaryDirectory() as tmp:
            for name, emb in (("shipped", shipped), ("fold", fold_model), ("adapted", adapted.embedder)):
                row[f"track_{name}"] = _track_scores(video, det, gt, emb, Path(tmp) / name)
        rows.append(row)
        print(json.dumps(row), flush=True)
    result["adapt_rows"] = rows
    result_path.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def _fmt(v: float) -> str:
    return f"{v:.3f}"


def cmd_report(args) -> int:
    results = [json.loads(p.read_text()) for p in sorted(Path(args.runs).glob("*.result.json"))]
    if not results:
        print(f"no results in {args.runs}", file=sys.stderr)
        return 1
    lines = ["Generated by `python benchmarks/embedder_folds.py report` from the runs of "
             "`benchmarks/embedder_folds.py train` (1 CPU thread each, `nice`, on the shared 2-core machine).",
             "mAP on the held-out video, all frames; x hist = learned / colour-histogram mAP.", "",
             "| config | what | fold (held out) | video | steps | seed | crops | hist mAP | learned mAP | x hist "
             "| fused mAP | x hist | rank-1 | train s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    order = list(CONFIGS)
    results.sort(key=lambda r: (order.index(r["config"]) if r["config"] in order else 99, list(DEV).index(r["fold"]),
                                r["steps"], r["seed"]))
    for r in results:
        for row in r["rows"]:
            lines.append(f"| {r['config']} | {r['what']} | {r['fold']} | {row['video']} | {r['steps']} | {r['seed']} | "
                         f"{r['crops']} | {_fmt(row['hist'])} | {_fmt(row['learned'])} | "
                         f"{row['learned'] / row['hist']:.2f} | {_fmt(row['fused'])} | "
                         f"{row['fused'] / row['hist']:.2f} | {_fmt(row['rank1'])} | {r['train_seconds']:.0f} |")
    groups: dict = {}
    for r in results:
        for row in r["rows"]:
            key = (r["config"], r["fold"], row["video"], r["steps"])
            groups.setdefault(key, []).append(row["learned"] / row["hist"])
    multi = {k: v for k, v in groups.items() if len(v) > 1}
    if multi:
        lines += ["", "Seed spread (learned / histogram mAP):", "",
                  "| config | fold | video | steps | seeds | mean x hist | min | max | stdev |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for (cfg, fold, video, steps), v in multi.items():
            lines.append(f"| {cfg} | {fold} | {video} | {steps} | {len(v)} | {statistics.mean(v):.2f} | {min(v):.2f} | "
                         f"{max(v):.2f} | {statistics.stdev(v):.3f} |")
    adapt_rows = [(r, row) for r in results for row in r.get("adapt_rows", [])]
    if adapt_rows:
        lines += ["", "Adaptation to the held-out video (`embedder_folds.py adapt`: pass 1 = `track VIDEO --detections "
                  "det.txt` with the fold model, fine-tuning on its confident tracks, no gt), re-ID mAP and "
                  "end-to-end HOTA / IDF1 of `track VIDEO --detections det.txt` with each embedder:", "",
                  "| config | fold | video | seed | fold x hist | adapted mAP | x hist | adapted fused x hist | "
                  "steps | "
                  "adapt s | pass-1 s | HOTA shipped / fold / adapted | "
                  "IDF1 shipped / fold / adapted |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r, row in adapt_rows:
            base = next(x for x in r["rows"] if x["video"] == row["video"])
            ts, tf, ta = row["track_shipped"], row["track_fold"], row["track_adapted"]
            lines.append(f"| {r['config']} | {r['fold']} | {row['video']} | {r['seed']} | "
                         f"{base['learned'] / base['hist']:.2f} | {_fmt(row['adapted'])} | "
                         f"{row['adapted'] / row['hist']:.2f} | {row['adapted_fused'] / row['hist']:.2f} | "
                         f"{row['adapt']['steps']} | {row['adapt']['seconds']:.0f} | {row['pass1_seconds']:.0f} | "
                         f"{ts['HOTA']:.1f} / {tf['HOTA']:.1f} / {ta['HOTA']:.1f} | "
                         f"{ts['IDF1']:.1f} / {tf['IDF1']:.1f} / {ta['IDF1']:.1f} |")
    block = "\n".join(lines)
    if args.no_docs:
        print(block)
    else:
        rewrite_block(DOC, block, BEGIN, END)
        print(f"wrote {DOC}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train")
    train.add_argument("--fold", required=True, choices=list(DEV))
    train.add_argument("--config", default="base", choices=list(CONFIGS))
    train.add_argument("--steps", type=int, default=600)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=1)
    train.add_argument("--runs", default=str(RUNS))
    train.add_argument("--suffix", default="", help="added to the run's file names")
    train.add_argument("--resume-from", default=None, metavar="CKPT", help="continue from this checkpoint")
    adapt = sub.add_parser("adapt")
    adapt.add_argument("--fold", required=True, choices=list(DEV))
    adapt.add_argument("--config", default="base", choices=list(CONFIGS))
    adapt.add_argument("--seed", type=int, default=0)
    adapt.add_argument("--threads", type=int, default=1)
    adapt.add_argument("--adapt-steps", type=int, default=150)
    adapt.add_argument("--adapt-seconds", type=float, default=600.0)
    adapt.add_argument("--runs", default=str(RUNS))
    report = sub.add_parser("report")
    report.add_argument("--runs", default=str(RUNS))
    report.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    Path(args.runs).mkdir(parents=True, exist_ok=True)
    return {"train": cmd_train, "adapt": cmd_adapt, "report": cmd_report}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
