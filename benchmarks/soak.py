"""Soak test: an endless stream through the full per-frame path with the real appearance embedder.

A synthetic street of ``--people`` people (coloured rectangles on a textured background, about
320x180 pixels) who walk, turn, cross, leave the picture and are replaced by new people entering
from an edge -- ``--frames`` frames (default 100,000) at 30 frames/s. Each frame goes through
``tracker.track()`` exactly as a camera frame does: a detector (the scene's true boxes with pixel
noise and misses), the shipped appearance embedder (``Embedder.default()``, the real network on
the rendered crops), the tracker with the video settings and the identity memory.

Every ``--sample-every`` frames it records the resident memory (``/proc/self/statm``), the live
tracks and the identity-memory entries. It reports the RSS growth after warm-up (the first
``--warmup`` frames; the requirement is below 50 MB), the largest number of live tracks before
and after the middle of the run (bounded: no creeping growth) and the frames/s, prints a
markdown table, writes the curve to ``docs/soak.png`` (``--plot``) and the samples to JSON
(``--json``). Exit code 1 when a bound is broken.

Usage:
    python benchmarks/soak.py                          # 100,000 frames (about 20-30 min on 2 cores)
    python benchmarks/soak.py --frames 20000           # shorter
    python benchmarks/soak.py --frames 2000 --no-embedder --plot /tmp/soak.png
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MB = 1024.0 * 1024.0
RSS_LIMIT_MB = 50.0
WIDTH, HEIGHT = 320, 180


def rss_mb() -> float:
    """Current resident set size of this process in MB."""
    from tracker.benchmarking.scaling import rss_bytes

    return rss_bytes() / MB


class Street:
    """The synthetic scene, rendered: ``frames()`` yields ``(timestamp, image, Detections)``."""

    def __init__(self, people: int = 5, seed: int = 0, fps: float = 30.0):
        from tracker.benchmarking.synthetic import SceneConfig, SyntheticScene

        config = SceneConfig(objects=people, fps=fps, area_per_object=WIDTH * HEIGHT / people,
                             speed_px_s=(15.0, 45.0), width_px=(12.0, 22.0), aspect=(2.0, 2.8), noise_px=1.0,
                             miss_rate=0.05, min_score=0.5, seed=seed)
        self.scene = SyntheticScene(config)
        rng = np.random.default_rng(seed + 1)
        h, w = int(math.ceil(self.scene.height)), int(math.ceil(self.scene.width))
        self.background = (np.full((h, w, 3), 90, np.int16) + rng.integers(-25, 25, (h, w, 3))).clip(0, 255)
        self.background = self.background.astype(np.uint8)
        self.rng = rng

    @staticmethod
    def colour(identity: int) -> Tuple[int, int, int]:
        """A stable colour per person (clothes), from the golden-ratio hue sequence."""
        import colorsys

        r, g, b = colorsys.hsv_to_rgb((identity * 0.618034) % 1.0, 0.5 + 0.5 * ((identity * 7) % 3) / 2, 0.9)
        return int(b * 255), int(g * 255), int(r * 255)

    def render(self) -> np.ndarray:
        import cv2

        image = self.background.copy()
        s = self.scene
        for (cx, cy), (w, h), identity in zip(s.pos, s.size, s.ids):
            x1, y1, x2, y2 = int(cx - w / 2), int(cy - h / 2), int(cx + w / 2), int(cy + h / 2)
            cv2.rectangle(image, (x1, y1), (x2, y2), self.colour(int(identity)), -1)
            cv2.rectangle(image, (x1, y1), (x2, y1 + max(1, (y2 - y1) // 5)), (60, 80, 120), -1)  # a head
            legs = self.colour(int(identity) * 3 + 1)
            cv2.rectangle(image, (x1, y1 + (y2 - y1) * 3 // 5), (x2, y2), legs, -1)
        return image

    def frames(self, n: int) -> Iterator[tuple]:
        for _ in range(n):
            timestamp, detections, _ = self.scene.step()
            yield timestamp, self.render(), detections


@dataclass
class SoakResult:
    frames: int
    people: int
    embedder: str
    warmup: int
    sample_every: int
    seconds: float
    identities: int  # people who entered the scene
    track_ids: int  # IDs the tracker issued
    embedded_frames: int = 0  # frames whose detections carried appearance vectors
    samples: List[Tuple[int, float, int, int]] = field(default_factory=list)  # frame, RSS MB, live, memory
    notes: List[str] = field(default_factory=list)

    @property
    def after_warmup(self):
        return [s for s in self.samples if s[0] >= self.warmup]

    @property
    def rss_at_warmup(self) -> float:
        return self.after_warmup[0][1] if self.after_warmup else self.samples[-1][1]

    @property
    def rss_growth_mb(self) -> float:
        """Largest RSS after warm-up minus the RSS at the end of warm-up."""
        after = self.after_warmup
        return max(s[1] for s in after) - self.rss_at_warmup if after else 0.0

    @property
    def live_max(self) -> Tuple[int, int]:
        """Most live tracks in the first and in the second half of the run after warm-up."""
        after = self.after_warmup
        if not after:
            return 0, 0
        middle = (self.warmup + self.frames) / 2
        first = [s[2] for s in after if s[0] < middle] or [0]
        second = [s[2] for s in after if s[0] >= middle] or [0]
        return max(first), max(second)

    @property
    def memory_max(self) -> int:
        return max((s[3] for s in self.samples), default=0)

    def live_bound(self) -> int:
        """A generous bound on live tracks: every person, a lost track per person kept for the
        lost horizon, tentative ones, and slack."""
        return 4 * self.people + 10

    def ok(self, limit_mb: float = RSS_LIMIT_MB) -> bool:
        first, second = self.live_max
        return self.rss_growth_mb < limit_mb and max(first, second) <= self.live_bound()

    def table(self, limit_mb: float = RSS_LIMIT_MB) -> str:
        first, second = self.live_max
        fps = self.frames / self.seconds if self.seconds > 0 else 0.0
        rows = [
            ("frames", f"{self.frames:,} ({self.seconds / 60:.1f} min, {fps:.0f} frames/s)"),
            ("people in view / entered", f"{self.people} / {self.identities:,}"),
            ("track IDs issued", f"{self.track_ids:,}"),
            ("appearance embedder", f"{self.embedder}: {self.embedded_frames:,} frames embedded"),
            ("RSS at the end of warm-up", f"{self.rss_at_warmup:.1f} MB (warm-up: {self.warmup:,} frames)"),
            ("RSS growth after warm-up", f"{self.rss_growth_mb:+.1f} MB (limit {limit_mb:g} MB)"),
            ("RSS at the end", f"{self.samples[-1][1]:.1f} MB"),
            ("most live tracks, 1st / 2nd half", f"{first} / {second} (bound {self.live_bound()})"),
            ("most identity-memory entries", f"{self.memory_max}"),
            ("verdict", "PASS" if self.ok(limit_mb) else "FAIL"),
        ]
        return "| measure | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def load_embedder(threads: int = 1):
    """The shipped embedder, or (None, reason) when it is not installed."""
    try:
        from tracker.embedding import Embedder

        return Embedder.default(threads=threads), None
    except Exception as exc:  # noqa: BLE001 - missing weights / import problem
        return None, f"appearance embedder not available ({exc}); tracking by motion only"


def run_soak(frames: int = 100_000, people: int = 5, sample_every: int = 500, warmup: Optional[int] = None,
             embedder: object = "default", seed: int = 0, progress: bool = False) -> SoakResult:
    """Run the stream and sample memory. ``embedder``: "default" (the shipped one, motion only
    when missing), None (motion only) or an object with ``embed(frame, xyxy)``."""
    import torch

    from tracker import Tracker
    from tracker.pipeline import VIDEO_APPEARANCE_WEIGHT, track, video_config

    torch.set_num_threads(1)
    notes = []
    if embedder == "default":
        embedder, note = load_embedder()
        if note:
            notes.append(note)
    warmup = min(5000, max(frames // 5, 1)) if warmup is None else warmup
    street = Street(people, seed)
    config = video_config(frame_rate=30.0)
    if embedder is not None:
        config = config.replace(appearance_weight=VIDEO_APPEARANCE_WEIGHT)
    tracker = Tracker(config)
    pending = {}

    def stream():
        for i, (timestamp, image, detections) in enumerate(street.frames(frames)):
            pending["dets"] = detections
            yield timestamp, image

    def detector(image):
        return pending["dets"]

    samples = [(0, rss_mb(), 0, 0)]
    started = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=frames, unit="frame", file=sys.stderr, mininterval=2.0)
    max_id = embedded = 0
    for result in track(stream(), detector, embedder=embedder, tracker=tracker, fps=30.0):
        i = result.frame_index + 1
        if len(result.tracks):
            max_id = max(max_id, int(result.tracks.track_ids.max()))
        embedded += result.detections.embeddings is not None
        if i % sample_every == 0 or i == frames:
            samples.append((i, rss_mb(), tracker.live_track_count, len(tracker.memory)))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - started
    name = "off" if embedder is None else f"{type(embedder).__name__} (shipped weights, 1 thread)"
    return SoakResult(frames, people, name, warmup, sample_every, seconds, street.scene.identities, max_id, embedded,
                      samples, notes)


def plot(result: SoakResult, path: Path, limit_mb: float = RSS_LIMIT_MB) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = np.array(result.samples, float)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True)
    ax1.plot(s[:, 0], s[:, 1], color="tab:blue", lw=1.2, label="resident memory")
    base = result.rss_at_warmup
    ax1.axhline(base + limit_mb, color="tab:red", ls="--", lw=1, label=f"warm-up level + {limit_mb:g} MB")
    ax1.axvline(result.warmup, color="grey", ls=":", lw=1, label="end of warm-up")
    ax1.set_ylabel("RSS (MB)")
    ax1.set_ylim(0, max(s[:, 1].max(), base + limit_mb) * 1.1)
    ax1.legend(loc="lower right", fontsize=8)
    ax1.set_title(f"Soak: {result.frames:,} frames, {result.people} people in view, {result.identities:,} entered; "
                  f"embedder {'on' if 'off' not in result.embedder else 'off'}", fontsize=10)
    ax2.plot(s[:, 0], s[:, 2], color="tab:green", lw=1, label="live tracks")
    ax2.plot(s[:, 0], s[:, 3], color="tab:orange", lw=1, label="identity-memory entries")
    ax2.axhline(result.live_bound(), color="tab:red", ls="--", lw=1, label="live-track bound")
    ax2.set_xlabel("frame")
    ax2.set_ylabel("count")
    ax2.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=100_000, help="frames to run (default 100,000)")
    parser.add_argument("--people", type=int, default=5, help="people in view at any time (default 5)")
    parser.add_argument("--sample-every", type=int, default=500, metavar="N", help="frames between samples")
    parser.add_argument("--warmup", type=int, metavar="N", help="warm-up frames (default: min(5000, frames/5))")
    parser.add_argument("--no-embedder", action="store_true", help="motion only (no appearance network)")
    parser.add_argument("--limit-mb", type=float, default=RSS_LIMIT_MB, help="allowed RSS growth after warm-up")
    parser.add_argument("--plot", type=Path, default=REPO / "docs" / "soak.png", help="where the plot goes")
    parser.add_argument("--json", type=Path, help="write the samples and numbers here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.frames < 10 or args.sample_every < 1 or args.people < 1:
        parser.error("--frames >= 10, --sample-every >= 1 and --people >= 1")
    result = run_soak(args.frames, args.people, args.sample_every, args.warmup,
                      None if args.no_embedder else "default", args.seed, progress=not args.quiet)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(result.table(args.limit_mb))
    path = plot(result, args.plot, args.limit_mb)
    print(f"\nplot: {path}")
    if args.json:
        data = asdict(result)
        data.update(rss_growth_mb=result.rss_growth_mb, live_max=result.live_max, ok=result.ok(args.limit_mb),
                    command=" ".join(["python", "benchmarks/soak.py", *(argv if argv is not None else sys.argv[1:])]))
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=1) + "\n")
    return 0 if result.ok(args.limit_mb) else 1


if __name__ == "__main__":
    sys.exit(main())
