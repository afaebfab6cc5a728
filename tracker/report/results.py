"""Loading a folder of ``track`` results: ``<stem>.jsonl`` + ``<stem>.summary.json`` per source."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Union

import numpy as np

from tracker.errors import InputError

JSONL_SUFFIX = ".jsonl"
SUMMARY_SUFFIX = ".summary.json"
ANNOTATED_SUFFIX = ".mp4"


@dataclass
class TrackRows:
    """The frames of one local track id in one source, in frame order.

    index (N,) int64 0-based decoded frame indices; time (N,) float64 seconds (NaN when the
    JSONL has none); box (N, 4) float32 xyxy pixels; observed (N,) bool (False: a predicted
    box of a lost track)."""

    index: np.ndarray
    time: np.ndarray
    box: np.ndarray
    observed: np.ndarray


@dataclass
class ResultSource:
    """One source's results: ``name`` (the stem), the files, its summary, its tracks by local
    id, the cut frames (MOT numbers) and the number of frames in the JSONL; ``camera``: the
    camera that filmed it when told (``track link --camera``; "" = a camera of its own);
    ``clock_offset``: seconds from the shared clock's 0 to the source's time 0 (``track link
    --clock-offset``; only ``same_time`` linking reads both)."""

    name: str
    jsonl: Path
    summary_path: Optional[Path]
    summary: dict
    tracks: Dict[int, TrackRows] = field(default_factory=dict)
    frames: int = 0
    first_index: int = 0
    last_index: int = -1
    fps: float = 0.0
    cuts: List[int] = field(default_factory=list)
    indices: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # every JSONL line's index
    camera: str = ""
    clock_offset: float = 0.0

    @property
    def source_video(self) -> Optional[Path]:
        """The tracked video or frame folder when it is still there."""
        location = (self.summary.get("source") or {}).get("location")
        if not location or (self.summary.get("source") or {}).get("kind") not in ("video", "frames"):
            return None
        path = Path(location)
        return path if path.exists() else None

    @property
    def annotated_video(self) -> Optional[Path]:
        name = (self.summary.get("files") or {}).get("video")
        path = self.jsonl.parent / name if name else self.jsonl.with_suffix(ANNOTATED_SUFFIX)
        return path if path.is_file() else None

    @property
    def duration_s(self) -> float:
        if self.fps > 0:
            return (self.last_index - self.first_index + 1) / self.fps
        return float(max(self.frames, 1))


def _read_jsonl(source: ResultSource) -> None:
    rows: Dict[int, list] = {}
    first, last, count = None, -1, 0
    indices = []
    try:
        lines = source.jsonl.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"folder {source.jsonl}: cannot read ({exc})", "folder") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            index = int(record["index"])
            time = record.get("time")
            for t in record["tracks"]:
                rows.setdefault(int(t["id"]), []).append(
                    (index, float("nan") if time is None else float(time), *map(float, t["box"]),
                     bool(t.get("observed", True))))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"folder {source.jsonl}:{number}: not a track JSONL line ({exc})", "folder") from None
        if record.get("cut"):
            source.cuts.append(index + 1)
        indices.append(index)
        first = index if first is None else first
        last = max(last, index)
        count += 1
    for tid, items in rows.items():
        arr = np.array([r[:6] for r in items], np.float64)
        source.tracks[tid] = TrackRows(arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2:6].astype(np.float32),
                                       np.array([r[6] for r in items], bool))
    source.frames, source.first_index, source.last_index = count, first or 0, last
    source.indices = np.array(indices, np.int64)


def load_results(folder: Union[str, Path]) -> List[ResultSource]:
    """Every ``<stem>.jsonl`` of ``folder`` (with its summary when there is one), by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"folder {folder}: not a folder (expected the output folder of track)", "folder")
    out = []
    for jsonl in sorted(folder.glob(f"*{JSONL_SUFFIX}")):
        stem = jsonl.name[:-len(JSONL_SUFFIX)]
        summary_path = folder / f"{stem}{SUMMARY_SUFFIX}"
        summary = {}
        if summary_path.is_file():
            try:
                summary = json.loads(summary_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"folder {summary_path}: not a run summary ({exc})", "folder") from None
        source = ResultSource(stem, jsonl, summary_path if summary else None, summary)
        source.fps = float((summary.get("source") or {}).get("fps") or 0.0)
        _read_jsonl(source)
        out.append(source)
    if not out:
        raise InputError(f"folder {folder}: no <stem>.jsonl results in it (the output folder of track)", "folder")
    return out
