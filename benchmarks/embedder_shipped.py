"""Should the embedder trained on everything replace the shipped one? (issue 18, item 4)

Side by side, in one run, for the shipped weights (``tracker/models/embedder/embedder.pt``: the
earlier recipe, 2400 steps on the 4 development videos) and a candidate (``--candidate``: the
new recipe, 2400 steps on the unlabeled clips plus the same development videos,
``build/embedder_all/cmd.sh``):

1. **held out** (the deciding evidence): the 2400-step leave-video-out fold runs of
   ``benchmarks/embedder_folds.py train --steps 2400 --suffix -2400`` found in ``--runs``, the
   new recipe (``base``) against the old training data (``dev-only``) on the same fold;
2. **not held out** (both models trained on these videos' frames, never their gt): re-ID mAP
   (``track embed-eval`` protocol) and end-to-end HOTA / IDF1 of ``track VIDEO --detections
   det.txt`` on the 5 scored development videos.

The candidate is shipped (``--ship``) only when the new recipe's held-out mean learned mAP is
at least the old data's on every fold measured AND its end-to-end mean HOTA over the 5 videos
is not below the shipped model's; otherwise it is kept as the named weights ``unlabeled``.

    python benchmarks/embedder_shipped.py --candidate build/embedder_all/embedder.pt [--write-docs] [--ship]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.embedder_folds import DATA, DEV, RUNS, SCORED_DETS, _track_scores  # noqa: E402
from benchmarks.side_by_side import rewrite_block  # noqa: E402
from tracker.embedding.histogram import colour_histograms  # noqa: E402
from tracker.embedding.inference import Embedder, shipped_weights_path  # noqa: E402
from tracker.embedding.reid_eval import EvalProtocol, evaluate_embedding, load_gt_crops  # noqa: E402

DOC = ROOT / "docs" / "embedder.md"
BEGIN, END = "<!-- embedder-shipped:begin -->", "<!-- embedder-shipped:end -->"
#: the fold runs compared (file suffix of ``embedder_folds.py train --suffix``)
FOLD_SUFFIX = "-2400"
#: the name under which a candidate that is not shipped as the default is kept
KEPT_NAME = "unlabeled"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fold_results(runs: Path, threads: int, cache: Path) -> dict:
    """{fold: {config: {videos, mAP, ratios (learned / hist), HOTA, IDF1}}} from the 2400-step
    runs: re-ID as the run scored it, and end to end (``track VIDEO --detections det.txt`` with
    the fold model) on the fold's held-out videos."""
    out: dict = {}
    for path in sorted(runs.glob(f"*-s0{FOLD_SUFFIX}.result.json")):
        result = json.loads(path.read_text())
        weights = path.with_name(path.name.replace(".result.json", ".pt"))
        held_out = measure(weights, threads, cache, DEV[result["fold"]][1], reid=False)
        out.setdefault(result["fold"], {})[result["config"]] = {
            "ratios": [r["learned"] / r["hist"] for r in result["rows"]],
            "videos": [r["video"] for r in result["rows"]],
            "mAP": [r["learned"] for r in result["rows"]],
            "HOTA": [held_out[r["video"]]["HOTA"] for r in result["rows"]],
            "IDF1": [held_out[r["video"]]["IDF1"] for r in result["rows"]]}
    return out


def scored_videos(pairs=None) -> list:
    """(video, gt, det) of the scored development videos (``pairs``: (video, gt) relative to
    the data folder; default: all 5)."""
    pairs = pairs if pairs is not None else [pair for _, (_, fold_pairs) in DEV.items() for pair in fold_pairs]
    return [(DATA / video, DATA / gt, DATA / SCORED_DETS[Path(video).name]) for video, gt in pairs]


def measure(weights: Path, threads: int, cache: Path, pairs=None, reid: bool = True) -> dict:
    """{video name: {hist, learned mAP (with ``reid``), HOTA, IDF1, MOTA}} for ``weights`` on
    ``scored_videos(pairs)``; kept in ``cache`` under the file's content hash (a re-run for
    new fold results does not track again)."""
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
    stored = cache / f"{weights.stem}-{digest}{'' if reid else '-tracking'}.json"
    if stored.is_file():
        return json.loads(stored.read_text())
    emb = Embedder.from_file(weights, threads=threads)
    out = {}
    for video, gt, det in scored_videos(pairs):
        entry = {}
        if reid:
            crops = load_gt_crops(video, gt, EvalProtocol())
            entry["hist"] = evaluate_embedding(
                crops, lambda ims: np.concatenate([colour_histograms(im[None]) for im in ims]), probe=False)["mAP"]
            entry["learned"] = evaluate_embedding(crops, emb.embed_images, probe=False)["mAP"]
        with tempfile.TemporaryDirectory() as tmp:
            entry.update(_track_scores(video, det, gt, emb, Path(tmp)))
        out[video.name] = entry
        log(f"{weights.name}: {video.name}: {out[video.name]}")
    cache.mkdir(parents=True, exist_ok=True)
    stored.write_text(json.dumps(out, indent=1) + "\n")
    return out


def decide(folds: dict, shipped: dict, candidate: dict) -> tuple:
    """(ship?, reasons)."""
    reasons, ok = [], True
    compared = [f for f, configs in folds.items() if {"base", "dev-only"} <= set(configs)]
    if not compared:
        return False, ["no fold has both 2400-step runs (base and dev-only): nothing held out to decide on"]
    for fold in compared:
        new, old = statistics.mean(folds[fold]["base"]["mAP"]), statistics.mean(folds[fold]["dev-only"]["mAP"])
        reasons.append(f"fold {fold}: held-out learned mAP {new:.3f} (new recipe) vs {old:.3f} (old data)")
        ok &= new >= old
        new_h, old_h = statistics.mean(folds[fold]["base"]["HOTA"]), statistics.mean(folds[fold]["dev-only"]["HOTA"])
        reasons.append(f"fold {fold}: held-out mean HOTA {new_h:.2f} (new recipe) vs {old_h:.2f} (old data), "
                       "reported, not part of the rule")
    hota_new = statistics.mean(v["HOTA"] for v in candidate.values())
    hota_old = statistics.mean(v["HOTA"] for v in shipped.values())
    reasons.append(f"end-to-end mean HOTA {hota_new:.2f} (candidate) vs {hota_old:.2f} (shipped), not held out")
    ok &= hota_new >= hota_old
    return ok, reasons


def table(folds: dict, shipped: dict, candidate: dict, ship: bool, reasons: list, candidate_path: Path) -> str:
    lines = [f"Generated by `python benchmarks/embedder_shipped.py --candidate {candidate_path.as_posix()}`.", "",
             "Held out, 2400 steps (`embedder_folds.py train --steps 2400`, seed 0): learned mAP, learned / "
             "colour-histogram mAP, and `track VIDEO --detections det.txt` HOTA / IDF1 with the fold model, on the "
             "video the fold model never saw:", "",
             "| fold | video | new recipe (clips + other dev videos) | x hist | HOTA | IDF1 | "
             "old data (other dev videos) | x hist | HOTA | IDF1 |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for fold, configs in folds.items():
        base, old = configs.get("base"), configs.get("dev-only")
        ref = base or old
        for k, video in enumerate(ref["videos"]):
            def cell(c):
                return "n/a | n/a | n/a | n/a" if c is None else \
                    f"{c['mAP'][k]:.3f} | {c['ratios'][k]:.2f} | {c['HOTA'][k]:.2f} | {c['IDF1'][k]:.2f}"
            lines.append(f"| {fold} | {video} | {cell(base)} | {cell(old)} |")
    lines += ["", "Not held out (both models trained on these videos' frames, no gt): re-ID mAP and "
                  "`track VIDEO --detections det.txt`:", "",
              "| video | hist mAP | shipped mAP | x hist | candidate mAP | x hist | HOTA shipped | candidate | "
              "IDF1 shipped | candidate |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in shipped:
        s, c = shipped[name], candidate[name]
        lines.append(f"| {name} | {s['hist']:.3f} | {s['learned']:.3f} | {s['learned'] / s['hist']:.2f} | "
                     f"{c['learned']:.3f} | {c['learned'] / c['hist']:.2f} | {s['HOTA']:.2f} | {c['HOTA']:.2f} | "
                     f"{s['IDF1']:.2f} | {c['IDF1']:.2f} |")
    verdict = "shipped as the default" if ship else \
        f"not shipped as the default; kept as the named weights `{KEPT_NAME}`"
    lines += ["", f"Decision: {verdict}. " + "; ".join(reasons) + "."]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidate", type=Path, required=True, help="weights file of the model trained on everything")
    ap.add_argument("--runs", type=Path, default=RUNS, help="the fold runs' folder (embedder_folds.py --runs)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=ROOT / "build" / "embedder_shipped",
                    help="measurements per weights file (by content hash)")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--ship", action="store_true", help="copy the candidate into the package by the decision")
    args = ap.parse_args()
    if not DATA.is_dir():
        log(f"skipped: {DATA} is not here")
        return 0
    folds = fold_results(args.runs, args.threads, args.cache)
    shipped_path = shipped_weights_path("default")
    shipped = measure(shipped_path, args.threads, args.cache)
    candidate = measure(args.candidate, args.threads, args.cache)
    ship, reasons = decide(folds, shipped, candidate)
    text = table(folds, shipped, candidate, ship, reasons, args.candidate)
    print(text)
    if args.write_docs:
        rewrite_block(DOC, text, BEGIN, END)
    if args.ship:
        target = shipped_path if ship else shipped_path.with_name(f"embedder_{KEPT_NAME}.pt")
        shutil.copyfile(args.candidate, target)
        shutil.copyfile(args.candidate.with_suffix(".json"), target.with_suffix(".json"))
        log(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
