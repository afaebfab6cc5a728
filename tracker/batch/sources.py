"""What ``track batch`` SOURCES expand to, and the output folder of each source.

``expand_sources(specs)`` turns the command line's SOURCES into ``SourceTask`` records, in
order, each naming one thing to track:

* a video file -> one ``video`` task (any file OpenCV decodes; the extension does not matter);
* a text file (UTF-8, no NUL bytes) -> a *list*: one source per line (a path, a folder, a URL,
  a webcam index or another list); blank lines and ``#`` comments are skipped; relative paths
  are relative to the list file's folder;
* a MOTChallenge sequence folder (it holds ``seqinfo.ini``) -> one ``mot-det`` task tracked
  from ``det/<det_name>`` like ``track mot`` (``mot_from="det"``, the default), or one
  ``frames`` task tracked from its ``img1/`` images with the detector like ``track SEQ``
  (``mot_from="frames"``);
* a folder of frames (images directly inside, or an ``img1/`` folder) -> one ``frames`` task;
* any other folder -> its video files (by extension, natural order) and its MOTChallenge
  sequence subfolders (a MOTChallenge root): one level deep, not recursive;
* ``rtsp://``, ``http(s)://``... -> a ``stream`` task; a whole number -> a ``webcam`` task;
* anything else (a missing path, an empty folder, a list that is really a detection file)
  -> an ``error`` task: reported as failed without stopping the rest.

``assign_folders(tasks)`` gives each task its output folder name: the source's stem
(``clip.mp4`` -> ``clip``); sources sharing a stem are told apart by their parent folders
(``cam1/clip.mp4`` -> ``cam1_clip``, ``cam2/clip.mp4`` -> ``cam2_clip``), then by a number.
The names depend only on the set of sources, so a rerun with the same SOURCES finds its
folders again (resume).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from tracker.special_paths import describe_special
from tracker.io.sources import IMAGE_EXTENSIONS, is_stream_url, natural_key, safe_name, unsupported_url

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts",
                    ".wmv", ".flv", ".3gp", ".ogv", ".mjpeg", ".mjpg", ".h264", ".h265", ".hevc")
KINDS = ("video", "frames", "stream", "webcam", "mot-det", "error")
MOT_FROM = ("det", "frames")
#: how deep lists may include lists
MAX_LIST_DEPTH = 4
_LIST_PROBE_BYTES = 65536
#: live sources (cameras, streams) are scheduled first: they run until --end or the stream stops
LIVE_WEIGHT = 1 << 62
_NUMERIC_ROW = re.compile(r"^\s*-?\d+(\.\d*)?\s*[, ]\s*-?\d")


@dataclass(frozen=True)
class SourceTask:
    """One source of a batch.

    index: position in the expanded list (0-based, order of the command line);
    kind: one of ``KINDS``; location: what the worker opens (a path, a URL, a webcam index
    as text; for ``mot-det`` the sequence folder); spec: the text the user gave (for
    messages); folder: the output folder name under ``--output-dir`` (set by
    ``assign_folders``); error: why the source cannot be tracked (kind ``error`` only);
    weight: a size hint for scheduling (bytes of a video file, else 0); lists: the list files
    through which the source was named (inputs too: no output may overwrite them).
    """

    index: int
    kind: str
    location: str
    spec: str
    folder: str = ""
    error: Optional[str] = None
    weight: int = 0
    lists: Tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.spec


def _is_sequence(folder: Path) -> bool:
    return (folder / "seqinfo.ini").is_file()


def _has_images(folder: Path) -> bool:
    try:
        return any(p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() for p in folder.iterdir())
    except OSError:
        return False


def _read_text(path: Path) -> Optional[str]:
    """The file's text when it is a UTF-8 text file without NUL bytes, else None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_LIST_PROBE_BYTES + 1)
    except OSError:
        return None
    if not head or b"\0" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3 or len(head) <= _LIST_PROBE_BYTES:
            return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


class _Expander:
    def __init__(self, mot_from: str, det_name: str):
        if mot_from not in MOT_FROM:
            raise ValueError(f"mot_from must be one of {MOT_FROM}, got {mot_from!r}")
        self.mot_from = mot_from
        self.det_name = det_name
        self.tasks: List[SourceTask] = []
        self.notes: List[str] = []
        self._seen: Dict[str, str] = {}
        self._via: Tuple[str, ...] = ()  # the list files being expanded now

    def add(self, kind: str, location: str, spec: str, error: Optional[str] = None, weight: int = 0) -> None:
        key = location if kind in ("stream", "webcam", "error") else f"{kind}:{os.path.realpath(location)}"
        if kind != "error" and key in self._seen:
            self.notes.append(f"{spec}: listed more than once (as {self._seen[key]}); tracked once")
            return
        self._seen[key] = spec
        if kind in ("video", "frames", "mot-det"):
            location = os.path.abspath(location)  # workers may run elsewhere (another cwd, another node)
        self.tasks.append(SourceTask(len(self.tasks), kind, location, spec, error=error, weight=weight,
                                     lists=self._via))

    def error(self, spec: str, message: str) -> None:
        self.add("error", spec, spec, error=message)

    def sequence(self, folder: Path, spec: str) -> None:
        if self.mot_from == "frames":
            if not (folder / "img1").is_dir():
                self.error(spec, f"{folder}: no img1/ frames to track (mot_from frames)")
            else:
                self.add("frames", str(folder), spec)
            return
        if not (folder / "det" / self.det_name).is_file():
            self.error(spec, f"{folder}: no det/{self.det_name} (mot_from frames tracks its img1/ frames instead)")
            return
        self.add("mot-det", str(folder), spec)

    def expand(self, spec: str, base: Optional[Path] = None, depth: int = 0, via: Tuple[str, ...] = ()) -> None:
        text = spec.strip()
        if not text:
            self.error(spec, "an empty source")
            return
        if is_stream_url(text):
            self.add("stream", text, text, weight=LIVE_WEIGHT)
            return
        path = Path(os.path.expanduser(text))  # "~user" of no such user stays as written
        if base is not None and not path.is_absolute():
            path = base / path
        shown = str(path) if base is not None else text
        if path.is_file():
            listing = _read_text(path)
            if listing is None:
                try:
                    size = path.stat().st_size
                except OSError:
                    size = 0
                self.add("video", str(path), shown, weight=size)
            else:
                self.listing(path, listing, shown, depth, via)
        elif path.is_dir():
            self.folder(path, shown)
        elif describe_special(path) is not None:
            self.error(shown, f"{describe_special(path)} (expected a video file, a folder, a list of sources or a URL)")
        elif text.isdigit():
            self.add("webcam", text, text, weight=LIVE_WEIGHT)
        elif unsupported_url(text) is not None:  # the same rule as track SOURCE
            self.error(shown, unsupported_url(text))
        else:
            self.error(shown, f"{shown}: not found (expected a video file, a folder, a list of sources or a URL)")

    def listing(self, path: Path, text: str, shown: str, depth: int, via: Tuple[str, ...]) -> None:
        real = os.path.realpath(path)
        if real in via:
            self.error(shown, f"{shown}: a list that includes itself")
            return
        if depth >= MAX_LIST_DEPTH:
            self.error(shown, f"{shown}: lists nested more than {MAX_LIST_DEPTH} deep")
            return
        lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1)]
        lines = [(n, line) for n, line in lines if line and not line.startswith("#")]
        if lines and _NUMERIC_ROW.match(lines[0][1]):
            self.error(shown, f"{shown}: looks like a MOTChallenge detection/result file, not a list of sources "
                              "(one path or URL per line)")
            return
        if not lines:
            self.error(shown, f"{shown}: a list of sources with no entries")
            return
        outer, self._via = self._via, via + (real,)
        try:
            for _, line in lines:
                self.expand(line, path.parent, depth + 1, via + (real,))
        finally:
            self._via = outer

    def folder(self, path: Path, shown: str) -> None:
        if _is_sequence(path):
            self.sequence(path, shown)
            return
        if path.name == "img1" or _has_images(path):
            self.add("frames", str(path), shown)
            return
        try:
            children = sorted(path.iterdir(), key=natural_key)
        except OSError as exc:
            self.error(shown, f"{shown}: not readable ({exc.strerror or exc})")
            return
        found = False
        for child in children:
            if child.is_file() and child.suffix.lower() in VIDEO_EXTENSIONS:
                self.add("video", str(child), str(child), weight=_size(child))
                found = True
            elif child.is_dir() and _is_sequence(child):
                self.sequence(child, str(child))
                found = True
        if not found:
            self.error(shown, f"{shown}: no videos ({', '.join(VIDEO_EXTENSIONS[:5])}...), MOTChallenge sequences "
                              "or images in this folder")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def expand_sources(specs: Iterable[str], mot_from: str = "det", det_name: str = "det.txt"
                   ) -> Tuple[List[SourceTask], List[str]]:
    """SOURCES -> (tasks with output folders assigned, notes for the user). See the module doc."""
    ex = _Expander(mot_from, det_name)
    for spec in specs:
        ex.expand(str(spec))
    return assign_folders(ex.tasks), ex.notes


def _stem_parts(task: SourceTask) -> Tuple[str, List[str]]:
    """(base name, parent folder names nearest first) of a task."""
    if task.kind in ("stream", "webcam"):
        if task.kind == "webcam":
            return f"webcam{task.location}", []
        rest = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", task.location).split("@", 1)[-1].split("?", 1)[0]
        parts = [p for p in rest.split("/") if p]
        stem = Path(parts[-1]).stem if len(parts) > 1 else (parts[0].split(":")[0] if parts else "stream")
        return stem, [p.split(":")[0] for p in reversed(parts[:-1])]
    path = Path(os.path.abspath(task.location))
    if task.kind == "frames" and path.name == "img1":
        path = path.parent
    stem = path.name if task.kind in ("frames", "mot-det") else path.stem
    return stem, [p for p in reversed(path.parent.parts) if p not in ("/", "")]


def assign_folders(tasks: List[SourceTask]) -> List[SourceTask]:
    """Give every task a distinct output folder name (see the module doc)."""
    info = [_stem_parts(t) for t in tasks]
    names = [safe_name(stem) for stem, _ in info]
    depth = [0] * len(tasks)
    while True:
        groups: Dict[str, List[int]] = {}
        for i, name in enumerate(names):
            groups.setdefault(name.lower(), []).append(i)
        clashing = [idx for idx in groups.values() if len(idx) > 1]
        progressed = False
        for idx in clashing:
            for i in idx:
                parents = info[i][1]
                if depth[i] < len(parents):
                    depth[i] += 1
                    names[i] = safe_name("_".join(list(reversed(parents[:depth[i]])) + [info[i][0]]))
                    progressed = True
        if not clashing or not progressed:
            break
    used = set()
    out = []
    for task, name in zip(tasks, names):
        unique, n = name, 1
        while unique.lower() in used:
            n += 1
            unique = f"{name}_{n}"
        used.add(unique.lower())
        out.append(replace(task, folder=unique))
    return out
