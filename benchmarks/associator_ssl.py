"""Self-supervised Transformer associator: trained without identity labels, scored held out.

Training data (``tracker.training.associator_unlabeled``; no gt file is opened):

- ``clips``: the 42 unlabeled clips of ``shared/data/unlabeled`` (embedded detector on sampled
  frames, cached; appearance from the shipped embedder), pseudo-identities from the tracker,
  masked re-linking. No development sequence is among them, so a model trained on clips
  alone is held out on every development sequence without folds.
- ``clips+dev``: the clips plus the ``det/det.txt`` of the development sequences of the
  training folds (box-only, pseudo-identities; gt never read), one model per fold of
  ``tracker.training.associator.FOLDS`` (nested: a sequence is scored by the model that never
  saw its detections).
- ``ssl->gt``: the ``clips`` model fine-tuned on the gt of the training folds (``--finetune``).

Compared on the same detections (MOT files, no frames) with the IoU core and the
gt-supervised fold models shipped in ``tracker/models/associator/folds`` (seed 0), each
learned model in the default blend (``associator="learned"``) on the 12 development
sequences and their virtual moving-camera variants (``benchmarks/make_virtual_sequences.py``,
``build/virtual/mot``), counts summed per group: real static, real moving, virtual moving;
MOT15, MOT17 conventions. Seeds: ``--seeds`` (the mean over seeds carries a claim).

    python benchmarks/associator_ssl.py --out build/associator_ssl [--seeds 0,1,2] [--write-docs]

Problems, weights and scores are cached under OUT (a rerun reuses them).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
DATA = ROOT.parent / "shared" / "data"
DOCS = ROOT / "docs" / "associator_ssl.md"
GROUPS = ("real static", "real moving", "virtual moving", "MOT15", "MOT17")
METRICS = (("HOTA", "HOTA", "pct"), ("AssA", "AssA", "pct"), ("IDF1", "IDF1", "pct"), ("IDsw", "IDSW", "int"))
#: the blend the learned models run in (the shipped default's; not tuned here)
LEARNED = {"associator": "learned"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _store(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(path)


def _load_or(path: Path, compute: Callable):
    if path.is_file():
        return pickle.loads(path.read_bytes())
    value = compute()
    _store(path, value)
    return value


def _simulate_all(seqs) -> list:
    from tracker.config import TrackerConfig
    from tracker.training.associator import SIMULATION_LOST_HORIZON_S
    from tracker.training.associator_data import simulate
    from tracker.training.associator_unlabeled import unlabeled_variants

    config = TrackerConfig(lost_horizon_s=SIMULATION_LOST_HORIZON_S)
    out = []
    for seq in seqs:
        for variant in unlabeled_variants():
            out.extend(simulate(seq, config, variant))
    return out


def clip_problems(out: Path) -> Dict[str, list]:
    """{clip file: problems} of every unlabeled clip (self-supervised, with appearance)."""
    from tracker.embedding import Embedder
    from tracker.training.associator_unlabeled import video_sequences
    from tracker.training.data import CLIP_CACHE
    from tracker.training.unlabeled import read_sources

    embedder = Embedder.default(threads=1)
    result = {}
    for clip in read_sources(DATA / "unlabeled"):
        rel = str(clip.path.relative_to(DATA / "unlabeled"))
        path = out / "cache" / "clips" / (rel.replace("/", "__") + ".pkl")

        def compute(clip=clip, rel=rel):
            start = time.perf_counter()
            seqs = video_sequences(clip.path, lambda p: embedder.embed_images(list(p)), _detector, CLIP_CACHE)
            probs = _simulate_all(seqs)
            log(f"  clip {rel}: {len(seqs)} runs, {len(probs)} problems ({time.perf_counter() - start:.0f} s)")
            return {"problems": probs, "licence_class": clip.licence_class}

        result[rel] = _load_or(path, compute)
    return result


def _detector():
    from tracker.detectors import default_detector

    return default_detector(threads=1)


def dev_problems(out: Path, names: List[str]) -> Dict[str, list]:
    """{sequence: problems} from the development sequences' det/det.txt (pseudo-identities)."""
    from tracker.training.associator_unlabeled import mot_sequence

    result = {}
    for name in names:
        def compute(name=name):
            start = time.perf_counter()
            probs = _simulate_all([mot_sequence(DATA / "mot" / name)])
            log(f"  dev {name}: {len(probs)} problems ({time.perf_counter() - start:.0f} s)")
            return probs

        result[name] = _load_or(out / "cache" / "dev" / f"{name}.pkl", compute)
    return result


def gt_problems(out: Path, names: List[str]) -> Dict[str, list]:
    """{sequence: problems} labelled by gt (the supervised training data)."""
    from associator_folds import cached_problems

    return {n: cached_problems(DATA / "mot" / n, out / "cache" / "gt", "iou+oracle") for n in names}


def train(path: Path, problems: list, seed: int, meta: dict, initial: Optional[Path] = None, epochs: int = 4) -> Path:
    """Train (or reuse) the weights at ``path``."""
    from tracker.training.associator import TrainSettings, save_network, train_network
    from tracker.training.associator_model import load_network

    if path.is_file():
        return path
    settings = TrainSettings(seed=seed, epochs=epochs)
    start = time.perf_counter()
    net, history = train_network(problems, settings, log=lambda m: log(f"{path.stem}:{m}"),
                                 initial=None if initial is None else load_network(initial))
    path.parent.mkdir(parents=True, exist_ok=True)
    save_network(path, net, settings, {**meta, "history": history, "problems": len(problems),
                                       "training_seconds": round(time.perf_counter() - start, 1)})
    return path


def score(out: Path, label: str, weights_for: Callable[[str], Optional[Path]], config: dict, seqs: Dict[str, Path]):
    """{sequence: SequenceResult} of one tracker on every sequence (MOT files, no frames), cached."""
    from tune_folds import cached

    key = (label, config, {s: str(weights_for(s)) for s in seqs})
    folder = out / "runs" / label.replace(" ", "_").replace("/", "_").replace(">", "")
    return cached(folder / "results.pkl", key, lambda: _score(folder, weights_for, config, seqs))


def _score(folder: Path, weights_for, config: dict, seqs: Dict[str, Path]) -> dict:
    from tracker.association import make_associator
    from tracker.config import TrackerConfig
    from tracker.core import Tracker
    from tracker.evaluation import evaluate_trackers
    from tracker.io.mot import write_mot_results
    from tracker.mot_runner import track_mot_sequence

    folder.mkdir(parents=True, exist_ok=True)
    cfg = TrackerConfig().with_overrides(config)
    results = {}
    by_root: Dict[Path, List[str]] = {}
    for name, seq_dir in seqs.items():
        weights = weights_for(name)
        factory = None
        if weights is not None:
            factory = lambda c, w=weights: Tracker(c, associator=make_associator(c, w))  # noqa: E731
        run = track_mot_sequence(seq_dir, cfg, tracker_factory=factory)
        write_mot_results(folder / f"{run.name}.txt", run.rows)
        by_root.setdefault(seq_dir.parent, []).append(name)
    for root, names in by_root.items():
        results.update(evaluate_trackers(root, {"t": folder}, seqs=names)["t"].per_sequence)
    return results


def score_video(out: Path, label: str, weights_for: Callable[[str], Optional[Path]], config: dict,
                video_root: Path, seq_root: Path, seqs: List[str], embedder):
    """{sequence: SequenceResult} on the development videos (frames: appearance and CMC on),
    cached."""
    from tune_folds import cached

    key = (label, config, {s: str(weights_for(s)) for s in seqs})
    folder = out / "video_runs" / label.replace(" ", "_").replace("/", "_").replace(">", "")
    return cached(folder / "results.pkl", key,
                  lambda: _score_video(folder, weights_for, config, video_root, seq_root, seqs, embedder))


def _score_video(folder, weights_for, config, video_root, seq_root, seqs, embedder) -> dict:
    from tracker.benchmarking.adapters import OursAdapter
    from tracker.benchmarking.runner import find_frame_source, run_sequence
    from tracker.evaluation import evaluate_trackers
    from tracker.io.mot import load_detections, read_seqinfo, write_mot_results
    from tracker.pipeline import VIDEO_TRACKER_CONFIG

    folder.mkdir(parents=True, exist_ok=True)
    for seq in seqs:
        info = read_seqinfo(seq_root / seq)
        dets = load_detections(seq_root / seq / "det" / "det.txt", seq_length=info.seq_length)
        cfg = VIDEO_TRACKER_CONFIG.with_overrides(config).replace(frame_rate=info.frame_rate)
        adapter = OursAdapter("ours", cfg, embedder, (info.width, info.height), weights=weights_for(seq))
        result = run_sequence(adapter, dets, info, find_frame_source(info, video_root))
        write_mot_results(folder / f"{seq}.txt", result.rows)
        log(f"  video {folder.name}: {seq}")
    return dict(evaluate_trackers(seq_root, {"t": folder}, seqs=seqs)["t"].per_sequence)


def video_rows(results: dict) -> Dict[str, dict]:
    from tune_folds import summarize

    rows = {"all": summarize(list(results.values()))}
    static = [r for s, r in results.items() if "-vcam" not in s]
    moving = [r for s, r in results.items() if "-vcam" in s]
    if static:
        rows["real static"] = summarize(static)
    if moving:
        rows["virtual moving"] = summarize(moving)
    return rows


def group_rows(results: dict) -> Dict[str, dict]:
    from tune_folds import group_of, summarize

    rows = {"all": summarize(list(results.values()))}
    for g in GROUPS:
        members = [r for s, r in results.items() if g in group_of(s)]
        if members:
            rows[g] = summarize(members)
    return rows


def main(argv=None) -> int:
    from tracker.benchmarking.virtual_camera import source_sequence
    from tracker.association.transformer import FOLDS_DIR, heldout_weights_path
    from tracker.training.associator import FOLDS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "associator_ssl")
    ap.add_argument("--virtual", type=Path, default=ROOT / "build" / "virtual" / "mot")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--models", default="clips,clips+dev", help="which self-supervised models (clips, clips+dev)")
    ap.add_argument("--finetune", action="store_true", help="also the clips model fine-tuned on the folds' gt")
    ap.add_argument("--video", action="store_true", help="also the development videos with frames")
    ap.add_argument("--video-root", type=Path, default=ROOT / "build" / "video_presets",
                    help="benchmarks/video_presets.py's OUT (its videos/, sequences/ and BoT-SORT results)")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    models = args.models.split(",")
    dev_names = [n for fold in FOLDS for n in fold]
    seqs = {n: DATA / "mot" / n for n in dev_names}
    if args.virtual.is_dir():
        seqs.update({p.name: p for p in sorted(args.virtual.iterdir()) if (p / "seqinfo.ini").is_file()})
    else:
        log(f"no virtual sequences at {args.virtual} (benchmarks/make_virtual_sequences.py): real groups only")

    start = time.perf_counter()
    clips = clip_problems(args.out)
    clip_list = [p for c in clips.values() for p in c["problems"]]
    clip_meta = {"trained_on": sorted(clips), "licence_classes": {k: v["licence_class"] for k, v in clips.items()},
                 "labels": "none (pseudo-identities from the tracker, masked re-linking)"}
    log(f"clips: {len(clip_list)} problems ({time.perf_counter() - start:.0f} s)")
    dev = dev_problems(args.out, dev_names) if "clips+dev" in models else {}

    def fold_of(seq: str) -> int:
        src = source_sequence(seq)
        return next(k for k, f in enumerate(FOLDS) if src in f)

    rows: Dict[str, List[dict]] = {}
    rows["IoU core"] = [group_rows(score(args.out, "IoU core", lambda s: None, {"associator": "iou"}, seqs))]
    rows["gt-supervised (shipped folds, seed 0)"] = [group_rows(score(
        args.out, "gt-supervised", lambda s: heldout_weights_path(source_sequence(s), FOLDS_DIR), LEARNED, seqs))]
    for seed in seeds:
        w_clips = train(args.out / "weights" / f"clips-s{seed}.npz", clip_list, seed,
                        {**clip_meta, "model": "self-supervised on the unlabeled clips"}, epochs=args.epochs)
        if "clips" in models:
            rows.setdefault("self-supervised: clips", []).append(group_rows(score(
                args.out, f"clips-s{seed}", lambda s, w=w_clips: w, LEARNED, seqs)))
        if "clips+dev" in models:
            fold_w = {}
            for k, fold in enumerate(FOLDS):
                train_names = [n for n in dev_names if n not in fold]
                fold_w[k] = train(args.out / "weights" / f"clips+dev-fold{k}-s{seed}.npz",
                                  clip_list + [p for n in train_names for p in dev[n]], seed,
                                  {**clip_meta, "held_out": list(fold), "dev_detections": train_names,
                                   "model": "self-supervised on the clips + training folds' det.txt"},
                                  epochs=args.epochs)
            rows.setdefault("self-supervised: clips + dev det.txt (folds)", []).append(group_rows(score(
                args.out, f"clips+dev-s{seed}", lambda s, fw=fold_w: fw[fold_of(s)], LEARNED, seqs)))
        if args.finetune:
            gt = gt_problems(args.out, dev_names)
            ft_w = {}
            for k, fold in enumerate(FOLDS):
                train_names = [n for n in dev_names if n not in fold]
                ft_w[k] = train(args.out / "weights" / f"ssl-gt-fold{k}-s{seed}.npz",
                                [p for n in train_names for p in gt[n]], seed,
                                {"held_out": list(fold), "trained_on": train_names,
                                 "model": "clips model fine-tuned on gt"}, initial=w_clips, epochs=args.epochs)
            rows.setdefault("self-supervised clips, then gt (folds)", []).append(group_rows(score(
                args.out, f"ssl-gt-s{seed}", lambda s, fw=ft_w: fw[fold_of(s)], LEARNED, seqs)))
    table = render(rows, seeds)
    print(table)
    video_table = ""
    if args.video and (args.video_root / "videos").is_dir():
        video_table = video_part(args, seeds, models, fold_of)
        print(video_table)
    if args.write_docs:
        write_docs(table, video_table, args, len(clip_list))
    return 0


def video_part(args, seeds, models, fold_of) -> str:
    """The development videos (and their virtual moving variants) with frames: appearance and
    CMC on, the video preset (``VIDEO_TRACKER_CONFIG``) with each associator."""
    import pickle

    from tracker.association.transformer import FOLDS_DIR, heldout_weights_path
    from tracker.benchmarking.runner import load_default_embedder
    from tracker.benchmarking.virtual_camera import source_sequence
    from tracker.pipeline import VIDEO_APPEARANCE_WEIGHT
    from video_presets import SharedEmbeddings

    video_root = args.video_root / "videos"
    seq_root = args.video_root / "sequences"
    seqs = sorted(p.stem for p in video_root.glob("*.mp4"))
    embed, why = load_default_embedder()
    if embed is None:
        return f"(videos skipped: {why})"
    embedder = SharedEmbeddings(embed)
    app = {"appearance_weight": VIDEO_APPEARANCE_WEIGHT}
    rows: Dict[str, List[dict]] = {}
    rows["IoU core (the video default)"] = [video_rows(score_video(
        args.out, "core", lambda s: None, {**app, "associator": "iou"}, video_root, seq_root, seqs, embedder))]
    rows["gt-supervised (shipped folds, seed 0)"] = [video_rows(score_video(
        args.out, "gt-supervised", lambda s: heldout_weights_path(source_sequence(s), FOLDS_DIR),
        {**app, **LEARNED}, video_root, seq_root, seqs, embedder))]
    for seed in seeds:
        w = args.out / "weights" / f"clips-s{seed}.npz"
        rows.setdefault("self-supervised: clips", []).append(video_rows(score_video(
            args.out, f"clips-s{seed}", lambda s, w=w: w, {**app, **LEARNED}, video_root, seq_root, seqs,
            embedder)))
        ft = {k: args.out / "weights" / f"ssl-gt-fold{k}-s{seed}.npz" for k in range(4)}
        if args.finetune and all(p.is_file() for p in ft.values()):
            rows.setdefault("self-supervised clips, then gt (folds)", []).append(video_rows(score_video(
                args.out, f"ssl-gt-s{seed}", lambda s, ft=ft: ft[fold_of(s)], {**app, **LEARNED}, video_root,
                seq_root, seqs, embedder)))
    botsort = args.video_root / "peers" / "botsort" / "results.pkl"
    if botsort.is_file():
        _, res = pickle.loads(botsort.read_bytes())
        rows["BoT-SORT (its CMC on; benchmarks/video_presets.py)"] = [video_rows({s: res[s] for s in seqs if s in res})]
    return "\n## Development videos with frames (appearance and CMC on)\n" + render(rows, seeds, groups=(
        "all", "real static", "virtual moving"))


def render(rows: Dict[str, List[dict]], seeds: List[int], groups=("all",) + GROUPS) -> str:
    import numpy as np

    lines = []
    for group in groups:
        lines += [f"\n**{group}** (HOTA / AssA / IDF1 in %, IDsw; learned models over seeds "
                  f"{', '.join(map(str, seeds))}: mean ± std, then each seed)\n",
                  "| tracker | HOTA | AssA | IDF1 | IDsw | per seed HOTA |", "|---|---:|---:|---:|---:|---|"]
        for label, runs in rows.items():
            runs = [r[group] for r in runs if group in r]
            if not runs:
                continue
            cells = []
            for _, key, kind in METRICS:
                vals = np.array([r[key] for r in runs], float) * (100 if kind == "pct" else 1)
                fmt = "{:.2f}" if kind == "pct" else "{:.0f}"
                cells.append(fmt.format(vals.mean()) + (f" ± {fmt.format(vals.std())}" if len(vals) > 1 else ""))
            per_seed = ", ".join(f"{100 * r['HOTA']:.2f}" for r in runs) if len(runs) > 1 else ""
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {per_seed} |")
    return "\n".join(lines)


def write_docs(table: str, video_table: str, args, n_clip_problems: int) -> None:
    head = (f"# The self-supervised associator\n\nGenerated by `python benchmarks/associator_ssl.py "
            f"--seeds {args.seeds} --models {args.models}{' --finetune' if args.finetune else ''} --write-docs` on "
            f"{_dt.datetime.utcnow():%Y-%m-%d %H:%M} UTC ({os.cpu_count()} cores). {n_clip_problems} association "
            "problems from the unlabeled clips. Protocol: the module docstring of the script.\n")
    DOCS.write_text(head + "\n## MOT files (no frames, no appearance)\n" + table + "\n" + video_table + "\n")


if __name__ == "__main__":
    sys.exit(main())
