"""How long the linking step of ``track link`` takes for many sources and tracklets (issue 19:
10 sources x 1,000 tracklets in <= 10 s).

Synthetic, seeded: ``IDENTITIES_PER_SOURCE`` x sources identities, each tracklet of a source is one
of them drawn at random (so an identity is seen by several sources, in several tracklets),
spans ``SPAN_S`` seconds at a random time of the source's ``DURATION_S`` (at ``FPS``), and its
embedding is its identity's random unit vector (``DIM``) plus Gaussian noise of a standard
deviation drawn per tracklet from ``NOISE`` (then normalized): same-identity cosine
similarities of about 0.89-0.99, different identities about 0 +- 0.09. Sources are cameras of
their own; the ``same_time`` rows put two sources on each camera (``SOURCES_PER_CAMERA``).

Timed end to end on the (U, D) embeddings, as ``link_embeddings`` does after the embeddings
are computed: ``link_vectors`` (candidate pairs above the threshold by blocks of rows, greedy
union-find with interval sets per identity), median of ``REPEATS`` runs, one thread
(OMP/BLAS 1). The straightforward path (the full (U, U) similarity matrix, every pair above
the threshold, each join checked against every pair of members, as ``link_greedy`` did before)
is timed where it fits (``DENSE_MAX_UNITS``) and its groups compared with the fast path's.
Quality columns: pairwise precision / recall of "same identity" over all tracklet pairs of
different sources against the drawn identities.

Usage: python benchmarks/link_scaling.py [--write-docs] [--seed N]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import statistics
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
DOCS = ROOT / "docs" / "link.md"
BEGIN, END = "<!-- link_scaling:begin -->", "<!-- link_scaling:end -->"
#: (sources, tracklets per source) measured; the last is the issue's target size
SIZES = ((10, 100), (10, 300), (10, 1000), (20, 1000))
#: target of issue 19: seconds of linking for 10 sources x 1,000 tracklets
TARGET_S = 10.0
#: identities per source: the identity pool is this x the number of sources
IDENTITIES_PER_SOURCE = 200
#: embedding size (the learned encoder's, tracker/embedding/model.py EncoderConfig.dim)
DIM = 128
#: range of the per-tracklet noise standard deviation (per component, times sqrt(DIM))
NOISE = (0.1, 0.35)
#: length of a source (s), its frame rate, and the range of a tracklet's span (s)
DURATION_S = 600.0
FPS = 25.0
SPAN_S = (2.0, 30.0)
#: sources per camera in the same_time rows
SOURCES_PER_CAMERA = 2
#: timed runs per row (the median is shown)
REPEATS = 3
#: the straightforward path runs up to this many units (its (U, U) float64 matrix: 800 MB at 10,000)
DENSE_MAX_UNITS = 10000


def make_case(sources: int, per_source: int, seed: int, same_time: bool = False):
    """-> units (U,), vectors (U, DIM) float64 unit rows, identity (U,) int of the drawn truth."""
    from tracker.link import Unit

    rng = np.random.default_rng(seed)
    pool = IDENTITIES_PER_SOURCE * sources
    centres = rng.normal(size=(pool, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    units, vectors, identity = [], [], []
    for s in range(sources):
        name = f"src{s:02d}"
        camera = f"cam{s // SOURCES_PER_CAMERA:02d}" if same_time else ""
        who = rng.integers(0, pool, per_source)
        span = rng.uniform(*SPAN_S, per_source)
        start = rng.uniform(0.0, DURATION_S - span)
        noise = rng.uniform(*NOISE, per_source)
        for k in range(per_source):
            first = int(start[k] * FPS) + 1
            last = int((start[k] + span[k]) * FPS) + 1
            units.append(Unit(name, k + 1, first, last, 0, camera, (first - 1) / FPS, (last - 1) / FPS))
            v = centres[who[k]] + rng.normal(size=DIM) * noise[k] / np.sqrt(DIM)
            vectors.append(v / np.linalg.norm(v))
            identity.append(int(who[k]))
    return units, np.stack(vectors), np.array(identity)


def straightforward(units, vectors, threshold: float, same_time: bool):
    """The reference: the full matrix, every pair above the threshold (other source), from the
    highest down, each join checked against every pair of the two identities' members."""
    scores = vectors @ vectors.T
    n = len(units)
    source = np.array([u.source for u in units], dtype=object)
    rows, cols = np.nonzero(np.triu(scores >= threshold, 1) & (source[:, None] != source[None, :]))
    order = np.argsort(-scores[rows, cols], kind="stable")
    group = {i: [i] for i in range(n)}
    where = list(range(n))
    for a, b in zip(rows[order], cols[order]):
        ga, gb = where[a], where[b]
        if ga == gb:
            continue
        if any(units[i].coexists(units[j], same_time) for i in group[ga] for j in group[gb]):
            continue
        for j in group[gb]:
            where[j] = ga
        group[ga] += group.pop(gb)
    return sorted(sorted(units[i].key for i in g) for g in group.values())


def groups_of(identities) -> list:
    return sorted(sorted(g) for g in identities.groups().values())


def pair_quality(units, identity, groups) -> tuple:
    """Pairwise precision / recall of "same identity" over tracklet pairs of different sources."""
    index = {u.key: i for i, u in enumerate(units)}
    predicted = np.zeros(len(units), np.int64)
    for g, members in enumerate(groups):
        for key in members:
            predicted[index[key]] = g
    source = np.array([u.source for u in units])
    tp = fp = fn = 0
    for s in np.unique(source):  # pairs (i in s, j in a later source)
        i = np.flatnonzero(source == s)
        j = np.flatnonzero(source > s)
        same_true = identity[i][:, None] == identity[j][None, :]
        same_pred = predicted[i][:, None] == predicted[j][None, :]
        tp += int((same_true & same_pred).sum())
        fp += int((~same_true & same_pred).sum())
        fn += int((same_true & ~same_pred).sum())
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1)


def measure(sources: int, per_source: int, seed: int, same_time: bool, threshold: float) -> dict:
    from tracker.link import link_vectors
    from tracker.link.greedy import candidate_pairs

    units, vectors, identity = make_case(sources, per_source, seed, same_time)
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        result = link_vectors(units, vectors, threshold, same_time)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    pairs = len(candidate_pairs(units, vectors, threshold)[0])
    pairs_s = time.perf_counter() - t0
    groups = groups_of(result)
    row = {"sources": sources, "per_source": per_source, "units": len(units), "same_time": same_time,
           "seconds": statistics.median(times), "pairs_seconds": pairs_s, "pairs": pairs,
           "links": len(result.decisions), "identities": len(groups), "true_identities": len(set(identity)),
           "dense_seconds": None, "identical": None}
    row["precision"], row["recall"] = pair_quality(units, identity, groups)
    if len(units) <= DENSE_MAX_UNITS:
        t0 = time.perf_counter()
        reference = straightforward(units, vectors, threshold, same_time)
        row["dense_seconds"] = time.perf_counter() - t0
        row["identical"] = reference == groups
    return row


def render(rows, threshold: float, seed: int, started: str, load: float) -> str:
    import platform

    target = [r for r in rows if (r["sources"], r["per_source"]) == (10, 1000)]
    worst = max(r["seconds"] for r in target) if target else float("nan")
    lines = [
        "## Scaling of the linking step", "",
        f"Generated by `python benchmarks/link_scaling.py --write-docs` (seed {seed}, {started} UTC; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores shared with other work: load "
        f"average {load:.1f} when it started; one BLAS thread).", "",
        __doc__.split("\n\n", 1)[1].split("Usage:")[0].strip(), "",
        f"Values: {IDENTITIES_PER_SOURCE} identities per source in the pool, DIM {DIM}, NOISE {NOISE}, "
        f"DURATION_S {DURATION_S:g} at FPS {FPS:g}, SPAN_S {SPAN_S}, SOURCES_PER_CAMERA {SOURCES_PER_CAMERA}, "
        f"REPEATS {REPEATS}, DENSE_MAX_UNITS {DENSE_MAX_UNITS}; threshold {threshold:g} (`DEFAULT_THRESHOLD`).", "",
        "| sources x tracklets | units | same_time | linking s (fast) | of which candidate pairs s | "
        "candidate pairs | links | identities (drawn) | pair precision / recall | straightforward s | "
        "identical groups |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|---:|---|"]
    for r in rows:
        dense = f"{r['dense_seconds']:.2f}" if r["dense_seconds"] is not None else "not run (U x U matrix)"
        same = {None: "-", True: "yes", False: "NO"}[r["identical"]]
        lines.append(f"| {r['sources']} x {r['per_source']} | {r['units']} | {'yes' if r['same_time'] else 'no'} | "
                     f"{r['seconds']:.2f} | {r['pairs_seconds']:.2f} | {r['pairs']} | {r['links']} | "
                     f"{r['identities']} ({r['true_identities']}) | {r['precision']:.3f} / {r['recall']:.3f} | "
                     f"{dense} | {same} |")
    verdict = "met" if worst <= TARGET_S else "NOT met"
    lines += ["", f"Target (issue 19): 10 sources x 1,000 tracklets linked in <= {TARGET_S:g} s: "
                  f"{worst:.2f} s at worst over its rows -> {verdict}."]
    return "\n".join(lines)


def main(argv=None) -> int:
    from tracker.link import DEFAULT_THRESHOLD

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic case")
    parser.add_argument("--write-docs", action="store_true", help=f"write the table into {DOCS.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    started = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = []
    for sources, per_source in SIZES:
        for same_time in (False, True):
            row = measure(sources, per_source, args.seed, same_time, DEFAULT_THRESHOLD)
            print(row, file=sys.stderr)
            rows.append(row)
    text = render(rows, DEFAULT_THRESHOLD, args.seed, started, load)
    print(text)
    if args.write_docs:
        from side_by_side import rewrite_block

        rewrite_block(DOCS, text, BEGIN, END)
        print(f"wrote {DOCS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
