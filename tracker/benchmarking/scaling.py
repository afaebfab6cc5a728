"""Scaling and memory benchmarks on synthetic scenes (``tracker.benchmarking.synthetic``).

* ``time_per_frame``: tracker-only time per frame (inside ``update``) for ours and SORT at
  10..400 objects per frame, next to the time of the assignment itself (``lap.lapjv`` on the
  dense N x N IoU cost of consecutive frames, ``tracker.assignment.linear_assignment``), with the
  log-log growth exponent of each curve.
* ``memory_soak``: resident memory (``/proc/self/statm``) every ``sample_every`` frames while
  ours tracks a long stream of objects entering and leaving; growth after warm-up against the
  50 MB criterion (the reliability soak's).

Benchmarks, not tests: they measure and never fail on a number.
"""
from __future__ import annotations

import gc
import math
import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from tracker.assignment import linear_assignment
from tracker.benchmarking.adapters import PeerUnavailable, make_adapter
from tracker.benchmarking.synthetic import SceneConfig, SyntheticScene
from tracker.boxes import iou_matrix

DEFAULT_OBJECTS = (10, 25, 50, 100, 200, 400)
DEFAULT_SCALING_TRACKERS = ("ours", "sort")
DEFAULT_WARMUP_FRAMES = 50
DEFAULT_MEASURE_FRAMES = 300
DEFAULT_SOAK_FRAMES = 100_000
DEFAULT_SOAK_OBJECTS = 20
DEFAULT_SAMPLE_EVERY = 1000
#: fraction of the soak treated as warm-up (at least one sample interval).
SOAK_WARMUP_FRACTION = 0.1
MEMORY_GROWTH_LIMIT_MB = 50.0
#: a pair matches in the reference assignment when 1 - IoU <= this.
REFERENCE_MAX_COST = 0.7
MB = 1024.0 * 1024.0
#: exponents within this of each other count as "the same growth" (timing noise on a shared CPU).
GROWTH_TOLERANCE = 0.1
#: the tail growth exponent is fitted on this many of the largest object counts.
TAIL_POINTS = 3

Progress = Callable[[str], None]


def rss_bytes() -> int:
    """Current resident set size of this process in bytes (``/proc/self/statm``; falls back to
    the peak RSS of ``getrusage`` where /proc is missing)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def growth_exponent(objects: Sequence[float], times: Sequence[float]) -> float:
    """Least-squares slope of log(time) against log(objects): time ~ objects ** slope."""
    x, y = np.log(np.asarray(objects, float)), np.log(np.asarray(times, float))
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        return math.nan
    return float(np.polyfit(x[ok], y[ok], 1)[0])


@dataclass
class ScalingResult:
    """objects: the object counts; ms_per_frame[name]: mean ms per frame for each count (name =
    tracker or "assignment"); p50/p95 the same as percentiles; exponents: log-log slope per name
    over all counts; tail_exponents: the same over the largest ``TAIL_POINTS`` counts (where
    fixed per-call overheads no longer hide the growth)."""

    objects: List[int]
    frames: int
    warmup: int
    ms_per_frame: Dict[str, List[float]] = field(default_factory=dict)
    p50_ms: Dict[str, List[float]] = field(default_factory=dict)
    p95_ms: Dict[str, List[float]] = field(default_factory=dict)
    exponents: Dict[str, float] = field(default_factory=dict)
    tail_exponents: Dict[str, float] = field(default_factory=dict)
    scene: dict = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)


def time_per_frame(objects: Sequence[int] = DEFAULT_OBJECTS, trackers: Sequence[str] = DEFAULT_SCALING_TRACKERS,
                   frames: int = DEFAULT_MEASURE_FRAMES, warmup: int = DEFAULT_WARMUP_FRAMES,
                   scene: SceneConfig = SceneConfig(), progress: Optional[Progress] = None) -> ScalingResult:
    """For each object count, every tracker tracks the same ``warmup + frames`` synthetic frames;
    the time inside ``update`` of the last ``frames`` is recorded per frame. The reference
    "assignment" is the dense N x N assignment of each frame's boxes to the previous frame's."""
    say = progress or (lambda _m: None)
    result = ScalingResult(list(objects), frames, warmup, scene=_scene_dict(scene, objects))
    names = []
    for name in trackers:
        try:
            make_adapter(name, scene.fps)
        except PeerUnavailable as exc:
            result.notes.append(f"{name}: not run: {exc}")
            say(result.notes[-1])
            continue
        names.append(name)
    names.append("assignment")
    for name in names:
        result.ms_per_frame[name], result.p50_ms[name], result.p95_ms[name] = [], [], []
    for n in objects:
        cfg = scene.replace(objects=int(n))
        stream = list(SyntheticScene(cfg).frames(warmup + frames))
        for name in names:
            per_frame = _time_stream(name, stream, cfg.fps, warmup, tuple(int(round(v)) for v in cfg.canvas))
            ms = 1000.0 * np.asarray(per_frame)
            result.ms_per_frame[name].append(float(ms.mean()))
            result.p50_ms[name].append(float(np.percentile(ms, 50)))
            result.p95_ms[name].append(float(np.percentile(ms, 95)))
        say(f"{n:>4} objects: " + ", ".join(f"{k} {result.ms_per_frame[k][-1]:.3f} ms" for k in names))
    tail = sorted(range(len(objects)), key=lambda i: objects[i])[-TAIL_POINTS:]
    for name in names:
        result.exponents[name] = growth_exponent(objects, result.ms_per_frame[name])
        result.tail_exponents[name] = growth_exponent([objects[i] for i in tail],
                                                      [result.ms_per_frame[name][i] for i in tail])
    return result


def _scene_dict(scene: SceneConfig, objects: Sequence[int]) -> dict:
    d = {k: (list(v) if isinstance(v, tuple) else v) for k, v in scene.__dict__.items()}
    d["objects"] = list(objects)
    d["canvas_px_at_25_objects"] = [round(v) for v in scene.replace(objects=25).canvas]
    return d


def _time_stream(name: str, stream, fps: float, warmup: int, image_size=None) -> List[float]:
    gc.collect()
    per_frame: List[float] = []
    if name == "assignment":
        prev = None
        for i, (_, dets, _) in enumerate(stream):
            boxes = np.asarray(dets.xyxy, np.float64)
            if prev is not None:
                start = time.perf_counter()
                linear_assignment(1.0 - iou_matrix(prev, boxes), REFERENCE_MAX_COST)
                spent = time.perf_counter() - start
                if i >= warmup:
                    per_frame.append(spent)
            prev = boxes
        return per_frame
    adapter = make_adapter(name, fps, image_size=image_size)
    for i, (ts, dets, _) in enumerate(stream):
        before = adapter.seconds
        adapter.update(dets, None, ts)
        if i >= warmup:
            per_frame.append(adapter.seconds - before)
    return per_frame


@dataclass
class SoakResult:
    """frames: frames tracked; objects: objects per frame; samples: (frame, rss MB, live tracks,
    memory entries) every ``sample_every`` frames; warmup_frames; growth_mb: max RSS after warm-up
    minus RSS at the end of warm-up; identities: identities the scene issued; seconds: wall time of
    the soak; tracker_seconds: time inside ``update``."""

    frames: int
    objects: int
    sample_every: int
    warmup_frames: int
    samples: List[tuple]
    growth_mb: float
    identities: int
    seconds: float
    tracker_seconds: float
    ids_issued: int
    limit_mb: float = MEMORY_GROWTH_LIMIT_MB

    @property
    def within_limit(self) -> bool:
        return self.growth_mb < self.limit_mb


def memory_soak(frames: int = DEFAULT_SOAK_FRAMES, objects: int = DEFAULT_SOAK_OBJECTS,
                sample_every: int = DEFAULT_SAMPLE_EVERY, tracker: str = "ours",
                scene: SceneConfig = SceneConfig(), progress: Optional[Progress] = None) -> SoakResult:
    """Track ``frames`` synthetic frames with ``objects`` objects in view (entering and leaving),
    sampling the process RSS every ``sample_every`` frames. Frames are generated on the fly (the
    stream is never held in memory)."""
    if frames < 2 * sample_every:
        raise ValueError(f"memory_soak needs frames >= 2 * sample_every ({2 * sample_every}), got {frames}")
    say = progress or (lambda _m: None)
    cfg = scene.replace(objects=int(objects), seed=scene.seed + 1)
    world = SyntheticScene(cfg)
    adapter = make_adapter(tracker, cfg.fps, image_size=tuple(int(round(v)) for v in cfg.canvas))
    warmup = max(sample_every, int(round(SOAK_WARMUP_FRACTION * frames / sample_every)) * sample_every)
    gc.collect()
    samples = [(0, rss_bytes() / MB, 0, 0)]
    ids_seen = 0
    start = time.perf_counter()
    report_every = max(sample_every, frames // 10)
    for i in range(1, frames + 1):
        ts, dets, _ = world.step()
        out = adapter.update(dets, None, ts)
        if len(out):
            ids_seen = max(ids_seen, int(out.ids.max()))
        if i % sample_every == 0:
            inner = getattr(adapter, "tracker", None)
            live = getattr(inner, "live_track_count", -1)
            mem = len(inner.memory) if hasattr(inner, "memory") else -1
            samples.append((i, rss_bytes() / MB, live, mem))
            if i % report_every == 0:
                say(f"soak: frame {i:,}/{frames:,}: RSS {samples[-1][1]:.1f} MB, {live} live tracks, "
                    f"{time.perf_counter() - start:.0f} s")
    seconds = time.perf_counter() - start
    base = next(s[1] for s in samples if s[0] >= warmup)
    after = [s[1] for s in samples if s[0] >= warmup]
    return SoakResult(frames, objects, sample_every, warmup, samples, max(after) - base, world.identities,
                      seconds, adapter.seconds, ids_seen)


def plot_scaling(scaling: Optional[ScalingResult], soak: Optional[SoakResult], path) -> Path:
    """PNG with two panels: ms per frame against objects per frame (log-log), and RSS over the
    soak stream."""

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [p for p in (scaling, soak) if p is not None]
    fig = Figure(figsize=(6.0 * len(panels), 4.5), dpi=120)
    FigureCanvasAgg(fig)
    axes = list(fig.subplots(1, len(panels), squeeze=False)[0])
    if scaling is not None:
        ax = axes.pop(0)
        for name, ms in scaling.ms_per_frame.items():
            style = "--" if name == "assignment" else "-"
            slopes = f"k={scaling.exponents.get(name, math.nan):.2f}"
            if len(scaling.objects) > TAIL_POINTS:
                slopes += f", {scaling.tail_exponents.get(name, math.nan):.2f} at the largest {TAIL_POINTS}"
            label = f"{'assignment alone (dense N x N lapjv)' if name == 'assignment' else name} ({slopes})"
            ax.plot(scaling.objects, ms, style, marker="o", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(scaling.objects)
        ax.set_xticklabels([str(n) for n in scaling.objects])
        ax.set_xlabel("objects per frame")
        ax.set_ylabel("tracker time per frame (ms, mean)")
        ax.set_title("time per frame (inside update)", fontsize="medium")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize="small")
    if soak is not None:
        ax = axes.pop(0)
        f = [s[0] for s in soak.samples]
        ax.plot(f, [s[1] for s in soak.samples], marker=".", lw=1)
        ax.axvline(soak.warmup_frames, color="grey", ls="--", lw=0.8, label="end of warm-up")
        base = next(s[1] for s in soak.samples if s[0] >= soak.warmup_frames)
        ax.axhline(base + soak.limit_mb, color="red", ls=":", lw=0.8, label=f"warm-up + {soak.limit_mb:.0f} MB")
        ax.set_xlabel("frame")
        ax.set_ylabel("resident memory (MB)")
        ax.set_title(f"RSS, ours, {soak.objects} objects in view, {soak.identities:,} identities; "
                     f"growth {soak.growth_mb:.1f} MB", fontsize="medium")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def scaling_table(scaling: ScalingResult) -> str:
    names = list(scaling.ms_per_frame)
    head = ["objects/frame"] + [f"{n} ms/frame" for n in names] + [f"{n} / SORT" for n in names
                                                                  if n not in ("sort", "assignment")]
    out = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for i, n in enumerate(scaling.objects):
        cells = [f"{scaling.ms_per_frame[k][i]:.3f}" for k in names]
        if "sort" in scaling.ms_per_frame:
            cells += [f"{scaling.ms_per_frame[k][i] / scaling.ms_per_frame['sort'][i]:.2f}"
                      for k in names if k not in ("sort", "assignment")]
        out.append(f"| {n} | " + " | ".join(cells) + " |")
    pad = " |" * (len(head) - 1 - len(names))
    out.append("| growth exponent k (all counts) | " + " | ".join(f"{scaling.exponents[k]:.2f}" for k in names)
               + " |" + pad)
    if scaling.tail_exponents and len(scaling.objects) > TAIL_POINTS:
        out.append(f"| k (largest {TAIL_POINTS} counts) | "
                   + " | ".join(f"{scaling.tail_exponents[k]:.2f}" for k in names) + " |" + pad)
    return "\n".join(out)


def soak_summary(soak: SoakResult) -> str:
    return (f"{soak.frames:,} frames, {soak.objects} objects in view, {soak.identities:,} identities entering and "
            f"leaving: RSS {soak.samples[0][1]:.1f} MB at start, "
            f"{next(s[1] for s in soak.samples if s[0] >= soak.warmup_frames):.1f} MB after warm-up "
            f"({soak.warmup_frames:,} frames), {max(s[1] for s in soak.samples):.1f} MB peak, "
            f"{soak.samples[-1][1]:.1f} MB at the end; growth after warm-up {soak.growth_mb:.1f} MB "
            f"({'below' if soak.within_limit else 'NOT below'} the {soak.limit_mb:.0f} MB criterion). "
            f"Live tracks at the end: {soak.samples[-1][2]}, identity-memory entries: {soak.samples[-1][3]}. "
            f"Soak wall time {soak.seconds:.0f} s ({soak.frames / soak.tracker_seconds:,.0f} tracker frames/s).")


def growth_sentence(scaling: ScalingResult) -> str:
    ex, tail = scaling.exponents, scaling.tail_exponents
    counts = sorted(scaling.objects)
    text = (f"Growth (time ~ N^k) over {counts[0]}..{counts[-1]} objects: "
            + ", ".join(f"{k} k={v:.2f}" for k, v in ex.items()) + "")
    if len(counts) > TAIL_POINTS:
        text += (f"; over the largest counts ({counts[-TAIL_POINTS]}..{counts[-1]}): "
                 + ", ".join(f"{k} k={v:.2f}" for k, v in tail.items()))
    text += "."
    if "ours" in tail and "assignment" in tail and math.isfinite(tail["ours"]) and math.isfinite(tail["assignment"]):
        verdict = "no faster than" if tail["ours"] <= tail["assignment"] + GROWTH_TOLERANCE else "faster than"
        text += (f" At the largest counts ours grows {verdict} the assignment alone (k={tail['ours']:.2f} against "
                 f"{tail['assignment']:.2f}, tolerance {GROWTH_TOLERANCE}).")
    return text


def scaling_to_dict(scaling: Optional[ScalingResult], soak: Optional[SoakResult], command: str = "",
                    started: str = "", wall_seconds: float = math.nan) -> dict:
    """Every number of a scaling run, JSON-ready (NaN as null)."""
    from dataclasses import asdict

    from tracker import __version__
    from tracker.benchmarking.runner import machine_info
    from tracker.evaluation.report import _json_safe

    soak_dict = None
    if soak is not None:
        soak_dict = {**asdict(soak), "within_limit": soak.within_limit,
                     "samples_columns": ["frame", "rss_mb", "live_tracks", "memory_entries"]}
    return _json_safe({
        "tool": "identitrack track bench --scaling", "version": __version__, "date": started, "command": command,
        "wall_seconds": wall_seconds, "machine": machine_info(),
        "units": "ms per frame = time inside update (mean, p50, p95 over the timed frames); RSS in MB (2**20 bytes)",
        "scaling": None if scaling is None else asdict(scaling), "soak": soak_dict,
    })


def scaling_markdown(scaling: Optional[ScalingResult], soak: Optional[SoakResult], command: str, started: str,
                     wall_seconds: float, plot_rel: Optional[str] = None) -> str:
    """The scaling section of ``docs/benchmarks.md``."""
    from tracker.benchmarking.runner import machine_info

    m = machine_info()
    lines = ["## Scaling and memory (synthetic scenes)", "", f"Command: `{command}`  ",
             f"Date: {started} (UTC); wall time {wall_seconds:.0f} s.  ",
             f"Machine: {m.get('cpu_model') or m.get('processor') or 'unknown CPU'}, {m.get('cpu_count')} CPUs "
             f"({m.get('sched_cpus', m.get('cpu_count'))} usable), Python {m['python']}, numpy {m['numpy']}.", ""]
    if scaling is not None:
        sc = scaling.scene
        lines += [
            "Scenes: objects walk with slowly turning headings in random directions (paths cross all the time); an "
            "object that leaves is replaced by a new identity entering from an edge, so the count per frame is "
            f"constant. Density is fixed (canvas {sc.get('canvas_px_at_25_objects')} px at 25 objects, growing "
            f"with the count), detection noise {sc.get('noise_px')} px, miss rate {sc.get('miss_rate')}, scores "
            f"uniform in [{sc.get('min_score')}, 1], {sc.get('fps')} frames/s. Each tracker sees the same "
            f"{scaling.warmup} warm-up + {scaling.frames} timed frames per count; time is measured inside `update` "
            "only. `assignment` is the assignment alone: `lap.lapjv` on the dense N x N IoU cost of consecutive "
            "frames (`tracker.assignment.linear_assignment`). The growth exponent is the log-log slope "
            "(time ~ N^k) over all counts.", "",
            scaling_table(scaling), ""]
        lines += [growth_sentence(scaling), ""] + [f"- {n}" for n in scaling.notes] + ([""] if scaling.notes else [])
    if soak is not None:
        lines += [f"Memory (ours, default settings, no frames): {soak_summary(soak)} RSS is sampled from "
                  f"`/proc/self/statm` every {soak.sample_every:,} frames; warm-up is the first "
                  f"{soak.warmup_frames:,} frames.", ""]
    if plot_rel:
        lines += [f"![time per frame and resident memory]({plot_rel})", ""]
    return "\n".join(lines)


__all__ = ["DEFAULT_OBJECTS", "ScalingResult", "SoakResult", "growth_exponent", "memory_soak", "plot_scaling",
           "growth_sentence", "rss_bytes", "scaling_markdown", "scaling_table", "scaling_to_dict", "soak_summary",
           "time_per_frame"]
