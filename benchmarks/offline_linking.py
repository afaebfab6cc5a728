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
online tracker's time, and its growth to a 10-minute 1080p recording (a real 1080p sequence's
online rows looped, ``measure_scaling``).

The learned pair scorer (``OfflineConfig(scorer="learned")``): per seed and fold, the model of
``benchmarks/offline_scorer_train.py`` that was trained (without labels) on the other folds'
sequences only; its threshold is chosen on those sequences (``LEARNED_THRESHOLDS``, highest HOTA)
with the longest linked and filled gaps the hand-built row chose in that fold, and it is applied
to the fold's own sequences. The default scorer becomes the learned one only if its mean over the
seeds beats the hand-built one held out in both the static and the moving group.

    python benchmarks/offline_linking.py --cache /tmp/offline_linking             # table
    python benchmarks/offline_linking.py --cache /tmp/offline_linking --write-docs  # + docs/offline.md
    python benchmarks/offline_linking.py --seeds 0 1 2 ...   # the learned scorer's seeds (trained before)
"""
from __future__ import annotations

import argparse
import hashlib
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
#: the learned scorer's thresholds the folds choose from
LEARNED_THRESHOLDS = (0.3, 0.5, 0.7, 0.9)
#: the sequence looped for the scaling table (1920x1080, 30 fps), and the loop counts
SCALING_SEQUENCE = "MOT17-04-FRCNN"
SCALING_LOOPS = (1, 4, 17)
#: a 10-minute recording, in seconds
TEN_MINUTES_S = 600.0
#: table labels: ``ours`` here is the offline stage with the hand-built scorer
DISPLAY = {"ours": "ours-hand"}
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
                OfflineConfig(scorer="hand", threshold=t, max_gap_s=g, max_fill_s=f))
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
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2],
                    help="training seeds of the learned scorer's fold models (benchmarks/offline_scorer_train.py)")
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
    learned_rows = []
    for seed in args.seeds:
        name = f"ours-learned s{seed}"
        held_out[name], chosen_thr = learned_held_out(args.cache, runs, evaluate, seed,
                                                      [chosen["ours", f] for f in range(len(FOLDS))])
        for f, thr in enumerate(chosen_thr):
            chosen[name, f] = {"threshold": thr}
        learned_rows.append(name)
    rows_order = ["ours-online", "ours"] + learned_rows + [n for p in PEERS for n in (f"{p}-online", f"{p}+interp")]
    group_defs = {"all": sequences(), **{g: [s for s in sequences() if g in groups(s)]
                                         for g in ("static", "moving", "MOT15", "MOT17")}}
    table = {name: {g: summary([held_out[name][s][0] for s in seqs]) for g, seqs in group_defs.items()}
             for name in rows_order}
    online_s = sum(runs[s]["ours"][1] for s in sequences())
    chosen_k = {s: held_out["ours"][s][1] for s in sequences()}
    linking_s = sum(link_seconds[s, chosen_k[s]] for s in sequences())
    cost = measure_cost(evaluate.info)
    scaling = measure_scaling(evaluate.info, runs, cost[SCALING_SEQUENCE][0])
    text = render(table, group_defs, chosen, cost) + "\n\n" + render_learned(table, group_defs, learned_rows) \
        + "\n\n" + render_scaling(scaling)
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


def model_key(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:12]


def learned_held_out(cache: Path, runs: dict, evaluate, seed: int, hand_chosen: list):
    """Held-out results of the learned scorer of ``seed``: ({seq: (result, 0)}, chosen
    threshold per fold). Fold ``f``'s model scores every sequence; its threshold is chosen on
    the other folds' sequences, with ``max_gap_s`` / ``max_fill_s`` as the hand row chose in
    that fold."""
    from offline_scorer_train import fold_path

    out, chosen = {}, []
    for f, fold in enumerate(FOLDS):
        path = fold_path(seed, f)
        if not path.is_file():
            raise SystemExit(f"{path}: missing; run benchmarks/offline_scorer_train.py --seeds {seed}")
        gap, fill = hand_chosen[f]["max_gap_s"], hand_chosen[f]["max_fill_s"]
        cached = cache / f"learned-{model_key(path)}-g{gap:g}-f{fill:g}.pkl"
        results = pickle.loads(cached.read_bytes()) if cached.is_file() else {}
        for seq in sequences():
            if all((seq, t) in results for t in LEARNED_THRESHOLDS):
                continue
            info = evaluate.info[seq]
            frames = frames_from_rows(runs[seq]["ours"][0], info.seq_length, info.frame_rate)
            for t in LEARNED_THRESHOLDS:
                cfg = OfflineConfig(scorer="learned", scorer_weights=str(path), threshold=t, max_gap_s=gap,
                                    max_fill_s=fill)
                results[seq, t] = evaluate(seq, rows_from_frames(link_frames(frames, cfg).frames))
            cached.write_bytes(pickle.dumps(results))
        log(f"learned seed {seed} fold {f + 1}: evaluated")
        train = [s for s in sequences() if s not in fold]
        best = max(LEARNED_THRESHOLDS,
                   key=lambda t: combine_results([results[s, t] for s in train]).summary()["HOTA"])
        chosen.append(best)
        for s in fold:
            out[s] = (results[s, best], 0)
    return out, chosen


def measure_cost(info: dict) -> dict:
    """Per sequence: ours online (time inside ``update``) and, right after in the same
    process, the offline stage with the hand-built and with the learned scorer (shipped weights)
    on those rows (seconds)."""
    out = {}
    for seq in sequences():
        i = info[seq]
        dets = load_detections(MOT_ROOT / seq / "det" / "det.txt", seq_length=i.seq_length)
        run = run_sequence(make_adapter("ours", i.frame_rate, image_size=(i.width, i.height), sequence=seq), dets, i)
        frames = frames_from_rows(run.rows, i.seq_length, i.frame_rate)
        t0 = time.perf_counter()
        link_frames(frames, OfflineConfig(scorer="hand"))
        t1 = time.perf_counter()
        link_frames(frames, OfflineConfig(scorer="learned"))
        out[seq] = (run.seconds, t1 - t0, time.perf_counter() - t1)
        log(f"{seq}: cost: online {run.seconds:.2f} s, offline stage {out[seq][1]:.3f} s, learned {out[seq][2]:.3f} s")
    return out


def looped_rows(rows, frames: int, loops: int) -> list:
    """The rows repeated ``loops`` times back to back (frame numbers shifted by ``frames`` and
    IDs by the largest ID per loop): a longer recording with as many tracklets per minute."""
    top = max(int(r[1]) for r in rows) + 1
    return [(int(r[0]) + k * frames, int(r[1]) + k * top, r[2], r[3]) for k in range(loops) for r in rows]


def measure_scaling(info: dict, runs: dict, online_s: float) -> list:
    """Stage seconds, tracklets, candidate pairs and peak traced memory (MB) of the offline stage
    (hand and learned scorer) on ``SCALING_SEQUENCE``'s online rows looped ``SCALING_LOOPS``
    times; ``online_s``: the online time of one loop (``measure_cost``'s, in this process)."""
    import tracemalloc

    i = info[SCALING_SEQUENCE]
    rows = runs[SCALING_SEQUENCE]["ours"][0]
    out = []
    for loops in SCALING_LOOPS:
        n = i.seq_length * loops
        frames = frames_from_rows(looped_rows(rows, i.seq_length, loops), n, i.frame_rate)
        entry = {"loops": loops, "frames": n, "minutes": n / i.frame_rate / 60.0,
                 "online_s": online_s * loops, "rows": len(rows) * loops}
        for scorer in ("hand", "learned"):
            t0 = time.perf_counter()
            res = link_frames(frames, OfflineConfig(scorer=scorer))
            entry[scorer] = time.perf_counter() - t0
            entry["tracklets"], entry["candidates"] = res.stats.tracklets, res.stats.candidates
        # memory of the stage alone: the input frames exist before it starts
        tracemalloc.start()
        link_frames(frames, OfflineConfig(scorer="learned"))
        entry["peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        out.append(entry)
        log(f"scaling x{loops}: {entry}")
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
            lines.append(f"| {DISPLAY.get(name, name)} | " + " | ".join(fmt(m, by_group[g][m]) for m in METRICS) + " |")
        lines.append("")
    lines += ["Parameters chosen per fold (on the other folds' sequences, highest HOTA):", "",
              "| row | " + " | ".join(f"fold {i + 1}" for i in range(len(FOLDS))) + " |",
              "|---|" + "---|" * len(FOLDS)]
    for name in sorted({n for n, _ in chosen}):
        lines.append(f"| {DISPLAY.get(name, name)} | " + " | ".join(
            ", ".join(f"{k}={v:g}" for k, v in chosen[name, f].items()) for f in range(len(FOLDS))) + " |")
    on, off = sum(c[0] for c in cost.values()), sum(c[1] for c in cost.values())
    lines += ["", "Cost, measured back to back in one process (the online tracker's time inside `update`, "
              "detections from the file; a video run adds decoding, detection and embedding to the online side):",
              "", "| sequence | frames | online s | offline stage s | share | learned scorer s | share |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for seq, (a, b, c) in cost.items():
        lines.append(f"| {seq} | {table_frames(seq)} | {a:.2f} | {b:.3f} | {100 * b / a:.1f} % | {c:.3f} | "
                     f"{100 * c / a:.1f} % |")
    learned = sum(c[2] for c in cost.values())
    lines.append(f"| all | | {on:.2f} | {off:.3f} | {100 * off / on:.1f} % | {learned:.3f} | "
                 f"{100 * learned / on:.1f} % |")
    return "\n".join(lines)


def mean_sd(values) -> str:
    v = np.asarray(values, np.float64) * 100.0
    return f"{v.mean():.2f} ± {v.std(ddof=1):.2f}" if len(v) > 1 else f"{v.mean():.2f}"


def render_learned(table: dict, group_defs: dict, learned_rows: list) -> str:
    """Hand-built vs learned scorer per group (held out), per seed and the seeds' mean, and the
    decision on the default."""
    if not learned_rows:
        return "The learned scorer was not evaluated (no seeds)."
    lines = ["Hand-built vs learned pair scorer, held out (HOTA / IDF1 x100; learned: per training seed, and "
             "mean ± sd over the seeds):", "",
             "| group | hand HOTA | " + " | ".join(f"{r.split()[-1]} HOTA" for r in learned_rows)
             + " | learned HOTA mean | hand IDF1 | learned IDF1 mean | hand IDSW | learned IDSW (per seed) |",
             "|---|---:|" + "---:|" * len(learned_rows) + "---:|---:|---:|---:|---:|"]
    wins = {}
    for g in group_defs:
        hand = table["ours"][g]
        hota = [table[r][g]["HOTA"] for r in learned_rows]
        idf1 = [table[r][g]["IDF1"] for r in learned_rows]
        wins[g] = float(np.mean(hota)) - hand["HOTA"]
        lines.append(f"| {g} | {100 * hand['HOTA']:.2f} | " + " | ".join(f"{100 * h:.2f}" for h in hota)
                     + f" | {mean_sd(hota)} | {100 * hand['IDF1']:.2f} | {mean_sd(idf1)} | {int(hand['IDSW'])} | "
                     + ", ".join(str(int(table[r][g]["IDSW"])) for r in learned_rows) + " |")
    better = wins["static"] > 0 and wins["moving"] > 0
    lines += ["", f"Decision: the learned scorer's mean HOTA minus the hand-built one's is "
              f"{100 * wins['static']:+.2f} (static) and {100 * wins['moving']:+.2f} (moving): "
              + ("it beats the hand-built scorer in both groups, so `OfflineConfig.scorer` defaults to `learned`."
                 if better else "it does not beat the hand-built scorer in both groups, so "
                 "`OfflineConfig.scorer` stays `hand`.")]
    return "\n".join(lines)


def render_scaling(scaling: list) -> str:
    lines = [f"Scaling to a 10-minute 1080p recording: {SCALING_SEQUENCE}'s online rows (1920x1080, public "
             "detections) looped back to back; the online time is the measured one times the loops (tracker only: "
             "a video run adds decoding, detection and embedding; one loop's online time is the cost table's). The "
             "loop joins add candidate pairs that a real recording would not have (every tracklet alive at a "
             "loop's last frame meets every one starting at the next loop's first frame). "
             "Peak memory: traced Python/NumPy allocations of the stage (learned scorer), the input results "
             "excluded.", "",
             "| loops | frames | minutes | rows | tracklets | candidates | online s | hand s | share | learned s | "
             "share | peak MB |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for e in scaling:
        lines.append(f"| {e['loops']} | {e['frames']} | {e['minutes']:.1f} | {e['rows']} | {e['tracklets']} | "
                     f"{e['candidates']} | {e['online_s']:.1f} | {e['hand']:.2f} | "
                     f"{100 * e['hand'] / e['online_s']:.1f} % | {e['learned']:.2f} | "
                     f"{100 * e['learned'] / e['online_s']:.1f} % | {e['peak_mb']:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
