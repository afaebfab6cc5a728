"""Which tracker preset for video with a detection file, with frames: chosen by leave-video-out.

``track VIDEO --detections det.txt`` used the video preset (``VIDEO_TRACKER_CONFIG``, chosen for
the embedded detector's low scores); on the same public detections ``track mot`` (the MOT-file
preset, ``TrackerConfig()``) scored 3 HOTA more. A preset belongs to a detector and its score
distribution, so this script measures, with frames (appearance and camera-motion compensation
on, BoT-SORT with its own CMC):

- ``video preset``: ``VIDEO_TRACKER_CONFIG`` + appearance, CMC on;
- ``mot preset``: ``TrackerConfig()`` + appearance (weight ``VIDEO_APPEARANCE_WEIGHT``), CMC on;
- ``mot preset, CMC off`` (the CMC ablation);
- BoT-SORT (its CMC on).

Sequences: the development videos (PETS09-S2L1 = vtest: one video) and their virtual moving
variants of ``--seeds`` (``benchmarks/make_virtual_sequences.py``, with videos). Each frame's
embeddings are computed once and shared by the presets (the same frames and boxes give the
same vectors); each tracker's per-sequence scores are cached in ``OUT/<tracker>/results.pkl``.
The preset for detection files
is chosen per fold: leave one video out (with its virtual variants), pick the preset with the
best combined HOTA on the others, score the held-out one.

Usage: python benchmarks/video_presets.py [--write-docs]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import sys
import time
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DOCS = ROOT / "docs" / "video_presets.md"
VIDEOS = ("TUD-Campus", "TUD-Stadtmitte", "PETS09-S2L1", "MOT17-09-FRCNN")
PEERS = ("botsort",)
METRICS = (("HOTA", "HOTA", "pct"), ("AssA", "AssA", "pct"), ("IDF1", "IDF1", "pct"), ("MOTA", "MOTA", "pct"),
           ("IDsw", "IDSW", "int"))


def presets() -> Dict[str, object]:
    from tracker.config import TrackerConfig
    from tracker.pipeline import VIDEO_APPEARANCE_WEIGHT, VIDEO_TRACKER_CONFIG

    mot = TrackerConfig(appearance_weight=VIDEO_APPEARANCE_WEIGHT)
    video = VIDEO_TRACKER_CONFIG.replace(appearance_weight=VIDEO_APPEARANCE_WEIGHT)
    off = {"camera_motion.method": "off"}
    return {"video preset": video, "mot preset": mot, "mot preset, CMC off": mot.with_overrides(off)}


class SharedEmbeddings:
    """The embedder with a memory: a frame's vectors are computed once for all presets
    (keyed by the boxes and a sample of the frame's pixels)."""

    def __init__(self, embed):
        self.embed = embed
        self.cache = {}

    def __call__(self, frame, xyxy):
        import numpy as np

        key = (frame.shape, frame[::53, ::53].tobytes(), np.asarray(xyxy, np.float32).tobytes())
        if key not in self.cache:
            self.cache[key] = self.embed(frame, xyxy)
        return self.cache[key]


def run(name: str, config, root: Path, video_root: Path, seqs: List[str], out_dir: Path, embedder) -> dict:
    """{sequence: SequenceResult}, cached in ``out_dir/results.pkl`` with the settings."""
    from tune_folds import cached

    key = (name, None if config is None else config.to_dict(), list(seqs))
    return cached(out_dir / "results.pkl", key, lambda: _run(name, config, root, video_root, seqs, out_dir, embedder))


def _run(name: str, config, root: Path, video_root: Path, seqs: List[str], out_dir: Path, embedder) -> dict:
    from tracker.benchmarking.adapters import make_adapter
    from tracker.benchmarking.runner import find_frame_source, run_sequence
    from tracker.evaluation import evaluate_trackers
    from tracker.io.mot import load_detections, read_seqinfo, write_mot_results

    for seq in seqs:
        info = read_seqinfo(root / seq)
        dets = load_detections(root / seq / "det" / "det.txt", seq_length=info.seq_length)
        source = find_frame_source(info, video_root)
        if not source.available:
            raise SystemExit(f"{seq}: no frames ({source.note})")
        tracker = "ours" if config is not None else name
        adapter = make_adapter(tracker, info.frame_rate, frames_available=True, embedder=embedder, config=config,
                               image_size=(info.width, info.height), sequence=info.name)
        result = run_sequence(adapter, dets, info, source)
        write_mot_results(out_dir / f"{seq}.txt", result.rows)
        print(f"  {name}: {seq}", file=sys.stderr, flush=True)
    return dict(evaluate_trackers(root, {name: out_dir}, seqs=seqs)[name].per_sequence)


def main(argv=None) -> int:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from tune_folds import cell, combined_root, summarize

    from tracker.benchmarking.runner import load_default_embedder
    from tracker.benchmarking.virtual_camera import source_sequence

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--virtual-root", type=Path, default=ROOT / "build" / "virtual")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "video_presets")
    parser.add_argument("--seeds", default="1", help="virtual variants to include (default: seed 1)")
    parser.add_argument("--write-docs", action="store_true", help=f"write {DOCS.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    if not (DATA / "video").is_dir():
        print(f"{DATA / 'video'}: not found (development data absent); nothing measured", file=sys.stderr)
        return 2
    started = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    t0 = time.perf_counter()
    # one root of sequences, one of videos: real ones and the virtual variants that have a video
    video_root = args.out / "videos"
    video_root.mkdir(parents=True, exist_ok=True)
    seeds = {s.strip() for s in args.seeds.split(",") if s.strip()}
    virtual = [p for p in (args.virtual_root / "video").glob("*.mp4") if p.stem.rpartition("-vcam")[2] in seeds]
    for path in list((DATA / "video").glob("*.mp4")) + virtual:
        if source_sequence(path.stem) in VIDEOS and not (video_root / path.name).exists():
            (video_root / path.name).symlink_to(path.resolve())
    root = combined_root(args.out, [DATA / "mot", args.virtual_root / "mot"])
    seqs = sorted(p.stem for p in video_root.glob("*.mp4"))
    embed, why = load_default_embedder()
    embedder = SharedEmbeddings(embed) if embed is not None else None
    if embedder is None:
        print(f"the default embedder cannot be loaded: {why}", file=sys.stderr)
        return 2
    results = {}
    for name, config in presets().items():
        results[name] = run(name, config, root, video_root, seqs, args.out / "ours" / name.replace(" ", "_")
                            .replace(",", ""), embedder)
    for peer in PEERS:
        results[peer] = run(peer, None, root, video_root, seqs, args.out / "peers" / peer, None)
    candidates = ("video preset", "mot preset")
    chosen, heldout = {}, {}
    for video in VIDEOS:
        train = [s for s in seqs if source_sequence(s) != video]
        best = max(candidates, key=lambda n: summarize([results[n][s] for s in train])["HOTA"])
        chosen[video] = best
        for s in seqs:
            if source_sequence(s) == video:
                heldout[s] = results[best][s]
    groups = {"real videos": [s for s in seqs if "-vcam" not in s],
              "virtual moving": [s for s in seqs if "-vcam" in s], "all": seqs}
    rows = ["| group | seqs | tracker | " + " | ".join(m[0] for m in METRICS) + " |",
            "|---|---:|---" + "|---:" * len(METRICS) + "|"]
    for g, members in groups.items():
        entries = [("ours, fold-chosen preset (held out)", heldout)] + [(n, results[n]) for n in results]
        for label, res in entries:
            summary = summarize([res[s] for s in members])
            rows.append(f"| {g} | {len(members)} | {label} | "
                        + " | ".join(cell(summary, k, kind) for _, k, kind in METRICS) + " |")
    per_seq = ["| sequence | " + " | ".join(results) + " |", "|---" + "|---:" * len(results) + "|"]
    for s in seqs:
        per_seq.append(f"| {s} | " + " | ".join(f"{100 * summarize([results[n][s]])['HOTA']:.1f}" for n in results)
                       + " |")
    wall = time.perf_counter() - t0
    text = "\n".join(["Combined per group (counts summed):", "", *rows, "",
                      "Preset chosen per held-out video (on the other videos and their virtual variants):", "",
                      *[f"- {v}: `{c}`" for v, c in chosen.items()], "", "HOTA per sequence:", "", *per_seq, ""])
    print(text)
    if args.write_docs:
        from tracker.io.mot import write_text_atomic

        write_text_atomic(DOCS, "\n".join([
            "# Video with a detection file: which preset", "",
            "Generated by `benchmarks/video_presets.py`; do not edit by hand.", "",
            "Command: `python benchmarks/video_presets.py --write-docs`  ",
            f"Date: {started} (UTC), wall time {wall:.0f} s.", "",
            "Public detections (`det/det.txt`, mapped by the virtual camera for the virtual variants), real frames, "
            "the shipped appearance embedder (self-supervised on the development videos' frames, never their gt), "
            "camera-motion compensation on unless stated; BoT-SORT with its own CMC.", "", text]))
        print(f"wrote {DOCS}", file=sys.stderr)
    print(f"wall time {wall:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
