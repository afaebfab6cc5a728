"""The offline identity stage on the 12 development sequences (public detections): online vs
offline vs every peer plus the same gap filling, with the stage's parameters chosen by
leave-sequences-out folds.

For each sequence every base tracker (ours as ``track mot`` runs it, and the peers of
``track bench``) runs once on identical detections (``tracker.benchmarking.runner.run_sequence``);
its rows are cached. Then, per fold of ``tracker.training.associator.FOLDS``, the parameters
(offline: linking threshold x longest linked gap x longest filled gap; ``<peer>+interp``: the
longest filled gap) are chosen on the other folds' sequences (the highest HOTA with all their
counts summed) and applied to the fold's own sequences: every number reported is held out.
Groups: static vs moving camera, MOT15 vs MOT17. The cost of linking is reported against the
online tracker's time.

    python benchmarks/offline_linking.py --cache /tmp/offline_linking             # table
    python benchmarks/offline_linking.py --cache /tmp/offline_linking --write-docs  # + docs/offline.md
"""
from __future__ import annotations

import argparse
import itertools
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
MOT_ROOT = REPO.parent / "shared" / "data" / "mot"

from tracker.benchmarking.adapters import make_adapter  # noqa: E402
from tracker.benchmarking.runner import run_sequence  # noqa: E402
from tracker.evaluation.api import evaluate_sequence  # noqa: E402
from tracker.evaluation.results import combine_results  # noqa: E402
from tracker.io.mot import MotTable, load_detections, read_mot_file, read_seqinfo  # noqa: E402
from tracker.offline import OfflineConfig, link_frames  # noqa: E402
from tracker.offline.mot_rows import frames_from_rows, rows_from_frames  # noqa: E402
from tracker.training.associator import FOLDS  # noqa: E402

PEERS = ("sort", "bytetrack", "ocsort", "botsort")
BASES = ("ours",) + PEERS
#: sequences filmed from a moving camera; the others are static
MOVING = ("MOT17-05-FRCNN", "ETH-Bahnhof", "ETH-Sunnyday", "KITTI-13")
#: the grid the folds choose from
THRESHOLDS = (0.3, 0.6, 0.9)
MAX_GAPS_S = (4.0, 8.0)
MAX_FILLS_S = (1.0, 2.0)
METRICS = ("HOTA", "IDF1", "IDSW", "MOTA", "ReentryRecall")
BEGIN, END = "<!-- offline_linking:begin -->", "<!-- offline_linking:end -->"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def sequences() -> list:
    return [s for fold in FOLDS for s in fold]


def groups(seq: str) -> tuple:
    camera = "moving" if seq in MOVING else "static"
    return camera, "MOT17" if seq.startswith("MOT17") else "MOT15"


def online_runs(cache: Path) -> dict:
    """{seq: {base: (rows, seconds)}} for every base tracker, cached in ``cache/online.pkl``."""
    path = cache / "online.pkl"
    runs = pickle.loads(path.read_bytes()) if path.is_file() else {}
    for seq in sequences():
        have = runs.setdefault(seq, {})
        if all(b in have for b in BASES):
            continue
        info = read_seqinfo(MOT_ROOT / seq)
        dets = load_detections(MOT_ROOT / seq / "det" / "det.txt", seq_length=info.seq_length)
        for base in BASES:
            if base in have:
                continue
            adapter = make_adapter(base, info.frame_rate, image_size=(info.width, info.height), sequence=info.name)
            run = run_sequence(adapter, dets, info)
            have[base] = (run.rows, run.seconds)
            log(f"{seq}: {base}: {len(run.rows)} rows, {run.seconds:.1f} s")
        cache.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(runs))
    return runs


def table_of(rows) -> MotTable:
    rows = sorted(rows, key=lambda r: (int(r[0]), int(r[1])))
    n = len(rows)
    xywh = np.asarray([r[2] for r in rows], np.float64).reshape(n, 4)
    return MotTable("<memory>", np.asarray([r[0] for r in rows], np.int64), np.asarray([r[1] for r in rows], np.int64),
                    xywh, np.asarray([r[3] for r in rows], np.float64), np.full(n, -1, np.int64), np.ones(n),
                    np.arange(n, dtype=np.int64))


class Evaluator:
    def __init__(self):
        self.info = {s: read_seqinfo(MOT_ROOT / s) for s in sequences()}
        self.gt = {s: read_mot_file(MOT_ROOT / s / "gt" / "gt.txt", "gt", self.info[s].seq_length)
                   for s in sequences()}

    def __call__(self, seq: str, rows):
        info = self.info[seq]
        return evaluate_sequence(self.gt[seq], table_of(rows), name=seq,
                                 frame_rate=info.frame_rate, num_frames=info.seq_length)


def variants():
    """name -> list of (params dict, OfflineConfig or None)."""
    offline = [({"threshold": t, "max_gap_s": g, "max_fill_s": f},
                OfflineConfig(threshold=t, max_gap_s=g, max_fill_s=f))
               for t, g, f in itertools.product(THRESHOLDS, MAX_GAPS_S, MAX_FILLS_S)]
    interp = [({"max_fill_s": f}, OfflineConfig(link=False, max_fill_s=f)) for f in MAX_FILLS_S]
    return offline, interp


def summary(results) -> dict:
    s = combine_results(results).summary()
    return {m: s[m] for m in METRICS}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/offline_linking"))
    ap.add_argument("--write-docs", action="store_true", help="rewrite the generated block of docs/offline.md")
    ap.add_argument("--json", type=Path, help="write the numbers here")
    args = ap.parse_args()
    runs = online_runs(args.cache)
    evaluate = Evaluator()
    offline_grid, interp_grid = variants()
    per_seq: dict = {}  # (row name, params index) -> {seq: SequenceResult}
    link_seconds = {}
    for seq in sequences():
        info = evaluate.info[seq]
        cached = args.cache / f"eval-{seq}.pkl"
        if cached.is_file():  # the same grid evaluated before
            seq_results, seq_seconds = pickle.loads(cached.read_bytes())
            for key, result in seq_results.items():
                per_seq.setdefault(key, {})[seq] = result
            link_seconds.update({(seq, k): v for k, v in seq_seconds.items()})
            continue
        for base in BASES:
            rows, _ = runs[seq][base]
            frames = frames_from_rows(rows, info.seq_length, info.frame_rate)
            per_seq.setdefault((f"{base}-online", 0), {})[seq] = evaluate(seq, rows)
            grid = offline_grid if base == "ours" else interp_grid
            name = "ours" if base == "ours" else f"{base}+interp"
            for k, (_, cfg) in enumerate(grid):
                t0 = time.perf_counter()
                linked = link_frames(frames, cfg)
                if base == "ours":
                    link_seconds[seq, k] = time.perf_counter() - t0
                per_seq.setdefault((name, k), {})[seq] = evaluate(seq, rows_from_frames(linked.frames))
        cached.write_bytes(pickle.dumps(({key: by_seq[seq] for key, by_seq in per_seq.items() if seq in by_seq},
                                         {k: v for (sq, k), v in link_seconds.items() if sq == seq})))
        log(f"{seq}: evaluated")
    # leave-folds-out choice
    chosen, held_out = {}, {}
    for name, grid in [("ours", offline_grid)] + [(f"{p}+interp", interp_grid) for p in PEERS]:
        held_out[name] = {}
        for f, fold in enumerate(FOLDS):
            train = [s for s in sequences() if s not in fold]
            best = max(range(len(grid)),
                       key=lambda k: combine_results([per_seq[name, k][s] for s in train]).summary()["HOTA"])
            chosen[name, f] = grid[best][0]
            for s in fold:
                held_out[name][s] = (per_seq[name, best][s], best)
    for base in BASES:
        held_out[f"{base}-online"] = {s: (per_seq[f"{base}-online", 0][s], 0) for s in sequences()}
    rows_order = ["ours-online", "ours"] + [n for p in PEERS for n in (f"{p}-online", f"{p}+interp")]
    group_defs = {"all": sequences(), **{g: [s for s in sequences() if g in groups(s)]
                                         for g in ("static", "moving", "MOT15", "MOT17")}}
    table = {name: {g: summary([held_out[name][s][0] for s in seqs]) for g, seqs in group_defs.items()}
             for name in rows_order}
    online_s = sum(runs[s]["ours"][1] for s in sequences())
    chosen_k = {s: held_out["ours"][s][1] for s in sequences()}
    linking_s = sum(link_seconds[s, chosen_k[s]] for s in sequences())
    cost = measure_cost(evaluate.info)
    text = render(table, group_defs, chosen, cost)
    print(text)
    if args.json:
        chosen_json = {f"{n}|fold{f + 1}": v for (n, f), v in chosen.items()}
        args.json.write_text(json.dumps({"table": table, "chosen": chosen_json, "online_seconds": online_s,
                                         "linking_seconds": linking_s}, indent=2))
    if args.write_docs:
        from side_by_side import rewrite_block

        page = REPO / "docs" / "offline.md"
        rewrite_block(page, text, BEGIN, END)
    return 0


def measure_cost(info: dict) -> dict:
    """Per sequence: ours online (time inside ``update``) and, right after in the same
    process, the offline stage with its defaults on those rows (seconds)."""
    out = {}
    for seq in sequences():
        i = info[seq]
        dets = load_detections(MOT_ROOT / seq / "det" / "det.txt", seq_length=i.seq_length)
        run = run_sequence(make_adapter("ours", i.frame_rate, image_size=(i.width, i.height), sequence=seq), dets, i)
        frames = frames_from_rows(run.rows, i.seq_length, i.frame_rate)
        t0 = time.perf_counter()
        link_frames(frames, OfflineConfig())
        out[seq] = (run.seconds, time.perf_counter() - t0)
        log(f"{seq}: cost: online {run.seconds:.2f} s, offline stage {out[seq][1]:.3f} s")
    return out


def table_frames(seq: str) -> int:
    return read_seqinfo(MOT_ROOT / seq).seq_length


def fmt(m: str, v) -> str:
    if m == "IDSW":
        return str(int(v))
    return "n/a" if v != v else f"{100 * v:.1f}"


def render(table, group_defs, chosen, cost) -> str:
    lines = ["Held-out numbers (each sequence tracked with the parameters chosen on the other folds), "
             "public detections, counts summed per group. Folds (tracker.training.associator.FOLDS): "
             + "; ".join(f"fold {i + 1} = {', '.join(f)}" for i, f in enumerate(FOLDS)) + ".", ""]
    for g, seqs in group_defs.items():
        lines += [f"**{g}** ({len(seqs)} sequences)", "",
                  "| tracker | " + " | ".join(METRICS) + " |", "|---|" + "---:|" * len(METRICS)]
        for name, by_group in table.items():
            lines.append(f"| {name} | " + " | ".join(fmt(m, by_group[g][m]) for m in METRICS) + " |")
        lines.append("")
    lines += ["Parameters chosen per fold (on the other folds' sequences, highest HOTA):", "",
              "| row | " + " | ".join(f"fold {i + 1}" for i in range(len(FOLDS))) + " |",
              "|---|" + "---|" * len(FOLDS)]
    for name in sorted({n for n, _ in chosen}):
        lines.append(f"| {name} | " + " | ".join(
            ", ".join(f"{k}={v:g}" for k, v in chosen[name, f].items()) for f in range(len(FOLDS))) + " |")
    on, off = sum(c[0] for c in cost.values()), sum(c[1] for c in cost.values())
    lines += ["", "Cost, measured back to back in one process (the online tracker's time inside `update`, "
              "detections from the file; a video run adds decoding, detection and embedding to the online side):",
              "", "| sequence | frames | online s | offline stage s | share |", "|---|---:|---:|---:|---:|"]
    for seq, (a, b) in cost.items():
        lines.append(f"| {seq} | {table_frames(seq)} | {a:.2f} | {b:.3f} | {100 * b / a:.1f} % |")
    lines.append(f"| all | | {on:.2f} | {off:.3f} | {100 * off / on:.1f} % |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
