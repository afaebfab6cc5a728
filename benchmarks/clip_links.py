"""Linking across clips (issue 19's development protocol): the ``track link`` threshold chosen
by leave-one-video-out folds.

Each development video (``shared/data/video``: TUD-Campus, TUD-Stadtmitte, PETS09-S2L1,
MOT17-09-FRCNN) is split into ``CLIPS`` clips separated by ``CLIPS - 1`` gaps drawn (seeded)
from ``GAP_S`` seconds; where a video is too short for that, the gaps are scaled down to
``MAX_GAP_SHARE`` of it (the clips keep the rest, in equal parts). Each clip's gt is the
sequence's gt cut to the clip (frames renumbered from 1) with the ORIGINAL ids, which are
global over the clips. Each clip is tracked by ``track VIDEO --start --end --detections
det/det.txt --no-video --appearance off|on`` (public detections, to keep it cheap; the offline
stage on, as for any file), the mean embedding of every track comes from
``tracker.link.embed_sources`` (``Embedder.default()``, ``--embedding``) and the clips
are scored with ``track eval --link``'s code (``evaluate_link_data``):

- no linking (ids distinct per clip);
- nearest neighbour: closed-set appearance linking, the most similar pairs first with no
  threshold (every track joins its best partner still allowed; the co-existence rule is kept,
  as without it two boxes of one frame could get one id, not a valid result);
- ours: ``link_greedy`` (co-existence rule) at the threshold chosen on the other three videos
  (the largest mean global IDF1 over their splits; ties: the largest threshold).

The shipped ``DEFAULT_THRESHOLD`` is the median of the four folds' choices.

Clips of different videos joined: for every pair of videos, their 6 clips are linked together
(gt ids of the second video offset so the two never share one) at the threshold chosen on the
two other videos, so a link across videos is a false link the scores count.

Usage: python benchmarks/clip_links.py [--work DIR] [--seed N] [--write-docs]
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
DATA = ROOT.parent / "shared" / "data"
DOCS = ROOT / "docs" / "link.md"
#: the part of DOCS this script writes (the rest of the page is hand-written or another benchmark's)
BEGIN, END = "<!-- clip_links:begin -->", "<!-- clip_links:end -->"
SEQS = ("TUD-Campus", "TUD-Stadtmitte", "PETS09-S2L1", "MOT17-09-FRCNN")
#: clips per video
CLIPS = 3
#: range of a gap between two clips (seconds)
GAP_S = (2.0, 10.0)
#: the gaps together take at most this share of a video (short videos)
MAX_GAP_SHARE = 0.4
#: thresholds tried (cosine similarity)
GRID = np.round(np.arange(0.50, 0.985, 0.02), 2)
#: the nearest-neighbour baseline's threshold: below every cosine similarity (closed set)
NN_THRESHOLD = -1.0
#: targets of issue 19: global IDF1 gain over no linking (points), pairwise cross-clip F1
IDF1_GAIN_TARGET = 5.0
PAIR_F1_TARGET = 0.7
#: added to the gt ids of the second video of a joined pair (no two videos share an id)
GT_ID_OFFSET = 100000


def split(num_frames: int, fps: float, rng: np.random.Generator) -> list:
    """-> CLIPS (start, end) 0-based half-open frame ranges with the gaps between them."""
    gaps = rng.uniform(*GAP_S, size=CLIPS - 1) * fps
    if gaps.sum() > MAX_GAP_SHARE * num_frames:
        gaps *= MAX_GAP_SHARE * num_frames / gaps.sum()
    gaps = np.maximum(1, gaps.round().astype(int))
    length = (num_frames - int(gaps.sum())) // CLIPS
    out, start = [], 0
    for k in range(CLIPS):
        out.append((start, start + length))
        start += length + (int(gaps[k]) if k < CLIPS - 1 else 0)
    return out


def track_clip(seq: str, k: int, start: int, end: int, work: Path, appearance: str) -> Path:
    out = work / f"appearance-{appearance}" / seq / f"c{k + 1}"
    if (out / f"{seq}.summary.json").is_file():
        return out
    cmd = [sys.executable, "-m", "tracker.cli", str(DATA / "video" / f"{seq}.mp4"), "--start", str(start),
           "--end", str(end), "--detections", str(DATA / "mot" / seq / "det" / "det.txt"), "--no-video",
           "--appearance", appearance, "-q", "-o", str(out)]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)
    return out


def clip_data(seq: str, clips: list, folders: list, identities=None, gt_id_offset: int = 0) -> list:
    """Per clip ``SequenceData``: gt and results cut to the clip, frames from 1; result ids
    the global ids of ``identities`` (None: the local ids, made distinct by the caller); gt ids
    plus ``gt_id_offset``."""
    from tracker.evaluation.api import load_ground_truth
    from tracker.evaluation.data import build_sequence_data
    from tracker.io.mot import read_mot_file

    (gt,), _ = load_ground_truth(DATA / "mot", [seq])
    out = []
    for k, ((start, end), folder) in enumerate(zip(clips, folders)):
        inside = (gt.table.frames > start) & (gt.table.frames <= end)
        g = gt.table.select(inside)
        g = dataclasses.replace(g, frames=g.frames - start, ids=g.ids + gt_id_offset)
        r = read_mot_file(folder / f"{seq}.txt", "result")
        r = r.select((r.frames > start) & (r.frames <= end))
        name = f"{seq}-c{k + 1}"
        ids = r.ids if identities is None else np.array([identities.global_id(name, i) for i in r.ids], np.int64)
        r = dataclasses.replace(r, frames=r.frames - start, ids=ids)
        out.append(build_sequence_data(g, r, name=name, benchmark=gt.benchmark, frame_rate=gt.frame_rate,
                                       num_frames=end - start))
    return out


def nearest_neighbour(sources, embeddings):
    """Closed-set appearance linking: the most similar pairs first, no threshold (every track
    joins its best partner still allowed). The co-existence rule stays: without it two tracks
    of one frame could get one id, which is not a valid result."""
    from tracker.link import link_embeddings

    return link_embeddings(sources, embeddings, threshold=NN_THRESHOLD)


def scores_of(datas) -> dict:
    from tracker.evaluation.linking import evaluate_link_data

    ev = evaluate_link_data(datas)
    return {"IDF1": 100 * ev.linked.summary()["IDF1"], "HOTA": 100 * ev.linked.summary()["HOTA"],
            "F1": ev.linked_pairs.f1, "P": ev.linked_pairs.precision, "R": ev.linked_pairs.recall,
            "base_IDF1": 100 * ev.unlinked.summary()["IDF1"], "base_HOTA": 100 * ev.unlinked.summary()["HOTA"],
            "base_F1": ev.unlinked_pairs.f1}


def measure(work: Path, seed: int, embedding: str, appearance: str) -> dict:
    from tracker.embedding import Embedder
    from tracker.evaluation.api import load_ground_truth
    from tracker.link import link_embeddings
    from tracker.link.api import embed_sources
    from tracker.report import load_results

    rng = np.random.default_rng(seed)
    embedder = Embedder.default(threads=1)
    per_video, kept = {}, {}
    for seq in SEQS:
        (gt,), _ = load_ground_truth(DATA / "mot", [seq])
        clips = split(gt.num_frames, gt.frame_rate, rng)
        print(f"{seq}: clips {clips}", file=sys.stderr)
        folders = [track_clip(seq, k, s, e, work, appearance) for k, (s, e) in enumerate(clips)]
        sources = []
        for k, folder in enumerate(folders):
            (src,) = load_results(folder)
            src.name = f"{seq}-c{k + 1}"
            sources.append(src)
        emb = embed_sources(sources, embedder.embed_fused if embedding == "fused" else embedder.embed)
        nn = scores_of(clip_data(seq, clips, folders, nearest_neighbour(sources, emb)))
        grid = {float(t): scores_of(clip_data(seq, clips, folders, link_embeddings(sources, emb, float(t))))
                for t in GRID}
        per_video[seq] = {"clips": clips, "fps": gt.frame_rate, "benchmark": gt.benchmark,
                          "tracks": sum(len(s.tracks) for s in sources), "nn": nn, "grid": grid}
        kept[seq] = (clips, folders, sources, emb)
    folds = {}
    for held in SEQS:
        train = [s for s in SEQS if s != held]
        mean = {t: np.mean([per_video[s]["grid"][t]["IDF1"] for s in train]) for t in per_video[held]["grid"]}
        best = max(mean.values())
        chosen = max(t for t, v in mean.items() if v >= best - 1e-9)
        folds[held] = {"threshold": chosen, "train_IDF1": best, "held": per_video[held]["grid"][chosen]}
    default = float(np.median([f["threshold"] for f in folds.values()]))
    return {"per_video": per_video, "folds": folds, "default": default, "seed": seed, "embedding": embedding,
            "appearance": appearance, "joined": joined_videos(per_video, kept)}


def joined_videos(per_video: dict, kept: dict) -> dict:
    """Every pair of videos' clips linked together (module docstring) -> scores per pair."""
    from itertools import combinations

    from tracker.link import link_embeddings

    out = {}
    for a, b in combinations(SEQS, 2):
        others = [s for s in SEQS if s not in (a, b)]
        mean = {t: np.mean([per_video[s]["grid"][t]["IDF1"] for s in others]) for t in per_video[a]["grid"]}
        best = max(mean.values())
        chosen = max(t for t, v in mean.items() if v >= best - 1e-9)
        sources = kept[a][2] + kept[b][2]
        emb = {**kept[a][3], **kept[b][3]}

        def datas(identities):
            return (clip_data(a, kept[a][0], kept[a][1], identities)
                    + clip_data(b, kept[b][0], kept[b][1], identities, GT_ID_OFFSET))

        linked = link_embeddings(sources, emb, chosen)
        cross = sum(1 for members in linked.groups().values()
                    if len({name.rsplit("-c", 1)[0] for name, _ in members}) > 1)
        out[f"{a} + {b}"] = {"threshold": chosen, "ours": scores_of(datas(linked)),
                             "nn": scores_of(datas(nearest_neighbour(sources, emb))), "cross_video_ids": cross}
    return out


def joined_table(result: dict) -> list:
    lines = ["| videos joined | threshold (chosen on the other 2) | IDF1 no linking | IDF1 nearest nb. | IDF1 ours "
             "| gain | pair F1 nearest nb. | pair P / R / F1 ours | ids spanning both videos (false) |",
             "|---|---:|---:|---:|---:|---:|---:|---|---:|"]
    for name, r in result["joined"].items():
        o = r["ours"]
        lines.append(f"| {name} | {r['threshold']:.2f} | {o['base_IDF1']:.1f} | {r['nn']['IDF1']:.1f} "
                     f"| {o['IDF1']:.1f} "
                     f"| {o['IDF1'] - o['base_IDF1']:+.1f} | {r['nn']['F1']:.2f} "
                     f"| {o['P']:.2f} / {o['R']:.2f} / {o['F1']:.2f} | {r['cross_video_ids']} |")
    return lines


def table(result: dict) -> list:
    lines = ["| video (held out) | benchmark | clips (0-based frames) | tracks | threshold (chosen on the other 3) "
             "| IDF1 no linking | IDF1 nearest nb. | IDF1 ours | gain | HOTA no linking | HOTA ours "
             "| pair F1 nearest nb. | pair P / R / F1 ours | targets met |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for seq, fold in result["folds"].items():
        v, h = result["per_video"][seq], fold["held"]
        gain = h["IDF1"] - h["base_IDF1"]
        gain_ok, f1_ok = gain >= IDF1_GAIN_TARGET, h["F1"] >= PAIR_F1_TARGET
        met = "yes" if gain_ok and f1_ok else f"{'gain ok' if gain_ok else 'gain NO'}, {'F1 ok' if f1_ok else 'F1 NO'}"
        clips = ", ".join(f"{s}-{e}" for s, e in v["clips"])
        lines.append(f"| {seq} | {v['benchmark']} | {clips} | {v['tracks']} | {fold['threshold']:.2f} "
                     f"| {h['base_IDF1']:.1f} | {v['nn']['IDF1']:.1f} | {h['IDF1']:.1f} | {gain:+.1f} "
                     f"| {h['base_HOTA']:.1f} | {h['HOTA']:.1f} | {v['nn']['F1']:.2f} "
                     f"| {h['P']:.2f} / {h['R']:.2f} / {h['F1']:.2f} | {met} |")
    return lines


def groups(result: dict) -> list:
    lines = ["| group | videos | IDF1 no linking | IDF1 nearest nb. | IDF1 ours | pair F1 nearest nb. | pair F1 ours |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for name, members in (("MOT15", [s for s in SEQS if not s.startswith("MOT17")]),
                          ("MOT17", [s for s in SEQS if s.startswith("MOT17")]), ("all (static cameras)", list(SEQS))):
        held = [result["folds"][s]["held"] for s in members]
        nn = [result["per_video"][s]["nn"] for s in members]
        lines.append(f"| {name} | {len(members)} | {np.mean([h['base_IDF1'] for h in held]):.1f} "
                     f"| {np.mean([n['IDF1'] for n in nn]):.1f} | {np.mean([h['IDF1'] for h in held]):.1f} "
                     f"| {np.mean([n['F1'] for n in nn]):.2f} | {np.mean([h['F1'] for h in held]):.2f} |")
    return lines


def curve(result: dict) -> list:
    head = "| threshold | " + " | ".join(f"{s} IDF1 / F1" for s in SEQS) + " |"
    lines = [head, "|---:|" + "---:|" * len(SEQS)]
    for t in GRID[::2]:
        cells = [f"{result['per_video'][s]['grid'][float(t)]['IDF1']:.1f} / "
                 f"{result['per_video'][s]['grid'][float(t)]['F1']:.2f}" for s in SEQS]
        lines.append(f"| {t:.2f} | " + " | ".join(cells) + " |")
    return lines


def section(result: dict) -> list:
    """The docs' section of one measurement (one tracking setting)."""
    from tracker.link.api import DEFAULT_THRESHOLD

    held = [f["held"] for f in result["folds"].values()]
    gains = [h["IDF1"] - h["base_IDF1"] for h in held]
    f1s = ", ".join(f"{h['F1']:.2f}" for h in held)
    choices = ", ".join(f"{s} held out: {f['threshold']:.2f}" for s, f in result["folds"].items())
    f1_met = [h["F1"] >= PAIR_F1_TARGET for h in held]
    f1_verdict = "met" if all(f1_met) else "NOT met on any split" if not any(f1_met) else "NOT met on every split"
    return [
        f"### Clips tracked with `--appearance {result['appearance']}` (track embeddings: {result['embedding']})", "",
        "#### Held-out results (leave one video out)", "", *table(result), "", *groups(result), "",
        f"Targets (issue 19): global IDF1 >= no linking + {IDF1_GAIN_TARGET:g} on every split: mean gain "
        f"{np.mean(gains):+.1f}, per video {', '.join(f'{g:+.1f}' for g in gains)} -> "
        f"{'met' if min(gains) >= IDF1_GAIN_TARGET else 'NOT met on every split'}; never below no linking: "
        f"{'yes' if min(gains) >= 0 else 'NO'}. Pairwise cross-clip F1 >= {PAIR_F1_TARGET}: {f1s} -> "
        f"{f1_verdict}.",
        "",
        f"Folds' threshold choices: {choices}; their median: {result['default']:.2f} "
        f"(`tracker.link.api.DEFAULT_THRESHOLD` in the code now: {DEFAULT_THRESHOLD:.2f}).", "",
        "#### Clips of two videos joined", "", *joined_table(result), "",
        "#### Global IDF1 / pair F1 by threshold (every video; for the record, not used to choose)", "",
        *curve(result), ""]


def main(argv=None) -> int:
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/identitrack_clip_links"),
                        help="where the clips' results are kept (reused when there)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the gaps")
    parser.add_argument("--embedding", choices=("learned", "fused"), default=None,
                        help="track embeddings: the learned encoder's, or fused with the colour histogram "
                             "(default: the library's, tracker.link.api.EMBEDDING)")
    parser.add_argument("--appearance", nargs="+", choices=("on", "off"), default=["on", "off"],
                        help="tracking of the clips: with / without the appearance embedder in the tracker "
                             "(default: both; the first one's median threshold is the shipped default: on, "
                             "as track link tracks videos by default)")
    parser.add_argument("--write-docs", action="store_true", help=f"write {DOCS.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    started = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    from tracker.link.api import EMBEDDING

    results = []
    for appearance in args.appearance:
        result = measure(args.work, args.seed, args.embedding or EMBEDDING, appearance)
        args.work.mkdir(parents=True, exist_ok=True)
        kept = args.work / f"result-{result['embedding']}-{result['appearance']}.json"
        kept.write_text(json.dumps(result, indent=1, default=str))
        print("\n".join(section(result)))
        results.append(result)
    if args.write_docs:
        from side_by_side import rewrite_block

        rewrite_block(DOCS, "\n".join([
            "## Threshold and accuracy on clip splits", "",
            "Generated by `python benchmarks/clip_links.py --write-docs`  ",
            f"Date: {started} (UTC), seed {args.seed}.", "",
            "### Protocol", "",
            __doc__.split("\n\n", 1)[1].split("Usage:")[0].strip(), "",
            "Global IDF1 / HOTA: the clips laid end to end and scored as one sequence (an identity must keep "
            "its id across clips); pair F1: pairwise cross-clip identity precision / recall "
            "(tracker/evaluation/linking.py). All four cameras are static; the groups are MOT15 vs MOT17.", "",
            f"The shipped default threshold is the median of the folds' choices with clips tracked "
            f"`--appearance {results[0]['appearance']}` (what `track link VIDEO` does by default): "
            f"{results[0]['default']:.2f}.", "",
            *[line for r in results for line in section(r)]]), BEGIN, END)
        print(f"wrote {DOCS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
