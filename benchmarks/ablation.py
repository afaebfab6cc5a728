"""Ablation of the tracker's parts; writes ``docs/ablation.md``.

Rows (each adds one part to the previous):
  1. core only            - the non-learned core (``--associator iou``), identity memory off
  2. + appearance         - the core fusing appearance distance into its cost, memory off
  3. + Transformer        - the default learned associator (``associator="learned"``: the
                            Transformer blended with the core, held-out fold weights), memory off
  4. + identity memory    - the full default tracker
  and, for reference, the Transformer alone (``associator="transformer"``) and the core with
  appearance and the identity memory but no Transformer.

Two sets:
  * the 12 development sequences from their MOT files (no frames: rows 2 and 4 can add
    nothing there, so they are the same as rows 1 and 3 by construction);
  * the real videos (``--video-root``: TUD-Campus, TUD-Stadtmitte, PETS09-S2L1,
    MOT17-09-FRCNN mp4 files with their public detections), where appearance embeddings are
    computed from the frames.

Every Transformer number uses the leave-sequences-out fold weights of
``benchmarks/associator_folds.py`` (``--folds-dir``, default: the ones shipped in
``tracker/models/associator/folds/``): each sequence is tracked by a model that never saw it.
Metrics: ``tracker.evaluation`` (HOTA, IDF1, IDsw, re-entry ID recall).

    python benchmarks/ablation.py --markdown docs/ablation.md
    python benchmarks/associator_folds.py --out /tmp/folds_app --appearance /tmp/identitrack_ablation
    python benchmarks/ablation.py --appearance-folds-dir /tmp/folds_app --markdown docs/ablation.md
(the first ablation run writes the per-frame embeddings to /tmp/identitrack_ablation; train the
appearance folds after it, or run ablation.py once without --appearance-folds-dir first)
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"

from tracker.association import make_associator  # noqa: E402
from tracker.association.transformer import FOLDS_DIR  # noqa: E402
from tracker.config import TrackerConfig  # noqa: E402
from tracker.core import Tracker  # noqa: E402
from tracker.evaluation import evaluate_folder  # noqa: E402
from tracker.io.mot import find_sequences, load_detections, read_seqinfo, write_mot_results  # noqa: E402
from tracker.memory import MemoryConfig  # noqa: E402
from tracker.training.associator import fold_of  # noqa: E402

VIDEO_SEQUENCES = ("TUD-Campus", "TUD-Stadtmitte", "PETS09-S2L1", "MOT17-09-FRCNN")
METRICS = ("HOTA", "IDF1", "IDSW", "ReentryRecall", "ReentryGaps", "MOTA")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def embed_video(video: Path, dets, cache: Path):
    """frame -> (N, D) appearance vectors of that frame's detections (cached)."""
    from tracker.embedding import Embedder, colour_histograms, shipped_weights_path
    from tracker.embedding.crops import crop_patches
    from tracker.embedding.video import iter_frames

    learned = shipped_weights_path("default").is_file()
    kind = "learned" if learned else "histogram"
    f = cache / f"{video.stem}.{kind}.npz"
    if f.exists():
        data = np.load(f)
        return {int(k): data[k] for k in data.files}, kind
    embedder = Embedder.default(threads=1) if learned else None
    out = {}
    for frame, image in iter_frames(video):
        d = dets.get(frame)
        if not len(d):
            continue
        if embedder is not None:
            out[frame] = embedder.embed(image, d.xyxy)
        else:
            out[frame] = colour_histograms(crop_patches(image, d.xyxy, (64, 32)))
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(f, **{str(k): v for k, v in out.items()})
    return out, kind


def track(seq_dir: Path, config: TrackerConfig, weights, embeddings, out_dir: Path) -> float:
    info = read_seqinfo(seq_dir)
    dets = load_detections(seq_dir / "det" / "det.txt", seq_length=info.seq_length)
    config = config.replace(frame_rate=info.frame_rate)
    tracker = Tracker(config, associator=make_associator(config, weights) if weights else None)
    rows, spent = [], 0.0
    for frame in range(1, info.seq_length + 1):
        d = dets.get(frame)
        if embeddings is not None and len(d) and frame in embeddings:
            d = d.with_embeddings(embeddings[frame])
        start = time.perf_counter()
        out = tracker.update(d, timestamp=(frame - 1) / info.frame_rate, image_size=(info.width, info.height))
        spent += time.perf_counter() - start
        rows += [(frame, int(i), b, float(s)) for i, b, s in zip(out.track_ids, out.to_xywh(), out.scores)]
    write_mot_results(out_dir / f"{info.name}.txt", rows)
    return spent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mot-root", type=Path, default=DATA / "mot")
    ap.add_argument("--video-root", type=Path, default=DATA / "video")
    ap.add_argument("--folds-dir", type=Path, default=FOLDS_DIR,
                    help="fold<k>.npz from benchmarks/associator_folds.py (default: the shipped fold models)")
    ap.add_argument("--appearance-weight", type=float, default=0.3, help="the core's appearance weight in row 2")
    ap.add_argument("--appearance-folds-dir", type=Path, default=None,
                    help="fold<k>.npz trained with appearance (associator_folds.py --appearance): adds two rows")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "identitrack_ablation")
    ap.add_argument("--markdown", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if not args.mot_root.is_dir():
        print(f"development data not found at {args.mot_root} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    no_memory = MemoryConfig(enabled=False)
    rows = [
        ("core only", TrackerConfig(associator="iou", memory=no_memory), False, False),
        ("+ appearance", TrackerConfig(associator="iou", appearance_weight=args.appearance_weight, memory=no_memory),
         False, True),
        ("+ Transformer associator (default: blended with the core)",
         TrackerConfig(associator="learned", appearance_weight=args.appearance_weight, memory=no_memory), True, True),
        ("+ identity memory (the `Tracker` default)",
         TrackerConfig(associator="learned", appearance_weight=args.appearance_weight), True, True),
        ("Transformer alone (no core blend), memory off",
         TrackerConfig(associator="transformer", appearance_weight=args.appearance_weight, memory=no_memory),
         True, True),
        ("core + appearance + identity memory (no Transformer)",
         TrackerConfig(associator="iou", appearance_weight=args.appearance_weight), False, True),
    ]
    if args.appearance_folds_dir:
        rows += [
            ("Transformer trained with appearance", TrackerConfig(associator="transformer", memory=no_memory),
             args.appearance_folds_dir, True),
            ("Transformer trained with appearance + identity memory", TrackerConfig(associator="transformer"),
             args.appearance_folds_dir, True),
        ]
    seqs = {s.name: s for s in find_sequences([args.mot_root])}
    video = {n: args.video_root / f"{n}.mp4" for n in VIDEO_SEQUENCES if (args.video_root / f"{n}.mp4").is_file()}
    embeddings, kind = {}, None
    for n, v in video.items():
        log(f"embedding {v.name} ...")
        embeddings[n], kind = embed_video(v, load_detections(seqs[n] / "det" / "det.txt"), args.cache)
    results = {}
    for set_name, names, use_frames in (("development sequences (MOT files, no frames)", list(seqs), False),
                                        (f"real video ({len(video)} sequences, frames)", list(video), True)):
        if not names:
            continue
        results[set_name] = {}
        for label, config, learned, appearance in rows:
            with tempfile.TemporaryDirectory() as tmp:
                spent = frames = 0
                for n in names:
                    k = fold_of(n)
                    folds_dir = learned if isinstance(learned, Path) else args.folds_dir
                    weights = folds_dir / f"fold{k}.npz" if learned else None
                    emb = embeddings.get(n) if (use_frames and appearance) else None
                    spent += track(seqs[n], config, weights, emb, Path(tmp))
                    frames += read_seqinfo(seqs[n]).seq_length
                s = evaluate_folder(args.mot_root, tmp, seqs=names).combined.summary()
            r = {m: (int(s[m]) if m in ("IDSW", "ReentryGaps") else round(100 * s[m], 2)) for m in METRICS}
            r["frames_per_s"] = round(frames / max(spent, 1e-9))
            results[set_name][label] = r
            log(f"{set_name} | {label}: {r}")
    lines = [
        "# Ablation: what each part adds",
        "",
        f"Generated by `python benchmarks/ablation.py` on {datetime.date.today().isoformat()}; every Transformer "
        "number is leave-sequences-out (each sequence tracked by a fold model that never saw it, "
        "`benchmarks/associator_folds.py`). Same `det/det.txt` detections everywhere; counts summed over "
        "sequences, then ratios. Re-entry recall: share of gt re-entries (absent >= the evaluator's gap) that "
        "come back with their old ID (`track eval`).",
        "",
        "Appearance: " + ("the shipped learned embedder (`tracker/models/embedder/`; trained self-supervised on "
                          "these videos frames, never on their gt)" if kind == "learned" else
                          "HSV colour histograms (the learned embedder was not shipped when this ran)") + "; "
        f"the core fuses it with weight {args.appearance_weight} (so does the core part of the default blend). "
        "The Transformer rows use the fold models of "
        "`associator_folds.py` trained from MOT files only (like the shipped model; the Transformer ignores "
        "appearance); "
        "the 'trained with appearance' rows use fold models trained with the embedder's vectors on the "
        "video sequences of their training folds (`associator_folds.py --appearance`), so each video is still "
        "tracked by a model that never saw it. Without frames those models run without appearance."
        if kind else "Appearance: no video found.",
        "",
    ]
    for set_name, table in results.items():
        lines += [f"## {set_name}", "",
                  "| configuration | HOTA | IDF1 | IDsw | re-entry ID recall | re-entry gaps | MOTA "
                  "| tracker frames/s |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for label, r in table.items():
            lines.append(f"| {label} | {r['HOTA']:.2f} | {r['IDF1']:.2f} | {r['IDSW']} | {r['ReentryRecall']:.2f} | "
                         f"{r['ReentryGaps']} | {r['MOTA']:.2f} | {r['frames_per_s']} |")
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
