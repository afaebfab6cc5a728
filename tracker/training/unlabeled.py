"""The unlabeled clip collection (``shared/data/unlabeled``): its ``SOURCES.tsv`` read into
training sources with their licence class and footage group.

A *footage group* names clips that may show the same people at the same time (two cuts of the
Oxford Town Centre CCTV, the 12 UCSD Ped2 frame folders): training treats tracklets of one
group as possibly the same person (never certain negatives), as it does within one clip.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from tracker.embedding.video import IMAGE_EXTS
from tracker.errors import InputError

SOURCES_FILE = "SOURCES.tsv"
#: clips left out of training: 8 frames of MOTChallenge-like street footage (it could be a
#: development sequence; the held-out protocol must not see one)
EXCLUDED_CLIPS = ("open-mmlab+mmtracking/demo_demo.mp4",)
#: scene words that mark the same footage in several clips (-> one footage group)
SHARED_FOOTAGE = {"Oxford Town Centre": "oxford-town-centre"}


@dataclass(frozen=True)
class ClipSource:
    """One unlabeled clip: path (a video file or a frame folder), its ``SOURCES.tsv`` row's
    file name, licence class and stated licence, upstream source, stated hard cuts and the
    footage group."""

    path: Path
    file: str
    licence_class: str
    licence_stated: str
    source: str
    hard_cuts: int
    group: str


def _group(row: dict) -> str:
    for words, group in SHARED_FOOTAGE.items():
        if words in row.get("scene", ""):
            return group
    return row["file"]


def read_sources(root, include_excluded: bool = False) -> List[ClipSource]:
    """``root/SOURCES.tsv`` -> the clips, one ``ClipSource`` per video file or frame folder (a
    row naming a folder of frame folders, UCSD Ped2, gives one source per sub-folder, all in
    one footage group). Missing files are skipped. ``InputError`` without a ``SOURCES.tsv``."""
    root = Path(root)
    table = root / SOURCES_FILE
    if not table.is_file():
        raise InputError(f"{table}: not found (the unlabeled collection's source list)", "unlabeled")
    out: List[ClipSource] = []
    with table.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if not include_excluded and row["file"] in EXCLUDED_CLIPS:
                continue
            path = root / row["file"]
            if not path.exists():
                continue
            base = dict(file=row["file"], licence_class=row["licence_class"], licence_stated=row["licence_stated"],
                        source=row["source"], hard_cuts=int(row["hard_cuts"] or 0), group=_group(row))
            for clip in _clip_paths(path):
                out.append(ClipSource(path=clip, **base))
    return out


def _clip_paths(path: Path) -> List[Path]:
    if not path.is_dir():
        return [path]
    if any(p.suffix.lower() in IMAGE_EXTS for p in path.iterdir()):
        return [path]
    return sorted(p for p in path.iterdir() if p.is_dir())


def find_clip(clips: List[ClipSource], path) -> Optional[ClipSource]:
    """The clip whose path is ``path`` (None when it is not one of them)."""
    path = Path(path).resolve()
    return next((c for c in clips if c.path.resolve() == path), None)
