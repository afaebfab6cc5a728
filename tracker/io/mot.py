"""MOTChallenge text files: ``seqinfo.ini``, ``det.txt``, ``gt.txt`` and result files.

File rules (also listed in ``docs/reliability.md``):

* Lines are comma-separated (spaces after commas allowed); blank lines and lines starting
  with ``#`` are skipped.
* Detection and result files need 6-10 columns ``frame,id,x,y,w,h[,score[,...]]``; a missing
  score means 1.0. Ground truth needs at least 7 columns.
* A non-numeric field, NaN/inf, a frame < 1, or a width/height <= 0 is an error naming
  ``file:line`` and the text; so are coordinates beyond +-``MAX_ABS_COORDINATE`` pixels
  (checked in float64, before the float32 boxes), other values beyond +-``MAX_ABS_VALUE`` and
  frames beyond ``MAX_FRAME_NUMBER``.
* Ids are parsed as integers from their text (exact beyond 2**53) and must fit int64.
* A UTF-8 byte order mark at the start is skipped; a FIFO or a device is refused unread.
* Rows may come in any order; they are sorted by frame.
* Exact duplicate rows are kept once (``MotTable.duplicates_dropped`` counts them).
* Rows with a frame beyond a known sequence length are dropped and counted
  (``MotTable.beyond_length_dropped``).
"""
from __future__ import annotations

import configparser
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import numpy as np

from tracker.detections import MAX_ABS_COORDINATE, Detections
from tracker.errors import FileFormatError, InputError
from tracker.special_paths import check_replaceable, describe_special
from tracker.io.lengths import check_length

DET_MIN_COLUMNS = 6
GT_MIN_COLUMNS = 7
MAX_COLUMNS = 10
SCORE_RESCALE_MODES = ("auto", "none", "minmax")
#: largest frame number accepted in a file (about a year of 30 fps video)
MAX_FRAME_NUMBER = 10 ** 9
#: ids are whole numbers parsed as integers (never through float64, which rounds above 2**53)
#: and must fit int64
MAX_ABS_ID = 2 ** 63 - 1
#: an id written as a decimal (``12.0``) is exact only below this
MAX_EXACT_FLOAT_ID = 2 ** 53
#: the other columns (score, class, visibility, world coordinates) must fit the arrays they go to
MAX_ABS_VALUE = 1e15
#: a frame rate above this in ``seqinfo.ini`` is a typo
MAX_FRAME_RATE = 1000.0
UTF8_BOM = "\ufeff"


@dataclass(frozen=True)
class SequenceInfo:
    """What ``seqinfo.ini`` says about a sequence (frame rate in frames/s, size in pixels)."""

    name: str
    path: Path
    frame_rate: float
    seq_length: int
    width: int
    height: int
    im_dir: str = "img1"
    im_ext: str = ".jpg"


def read_seqinfo(seq_dir) -> SequenceInfo:
    """Read ``<seq_dir>/seqinfo.ini``; raise ``InputError`` naming a missing file or key."""
    seq_dir = Path(seq_dir)
    ini = seq_dir / "seqinfo.ini"
    if not ini.is_file():
        raise InputError(f"{ini}: not found (a MOTChallenge sequence folder holds seqinfo.ini)")
    parser = configparser.ConfigParser()
    try:
        parser.read(ini)
        sec = parser["Sequence"]
        info = SequenceInfo(
            name=sec.get("name", seq_dir.name),
            path=seq_dir,
            frame_rate=float(sec["frameRate"]),
            seq_length=int(sec["seqLength"]),
            width=int(sec["imWidth"]),
            height=int(sec["imHeight"]),
            im_dir=sec.get("imDir", "img1"),
            im_ext=sec.get("imExt", ".jpg"),
        )
    except (KeyError, ValueError, configparser.Error) as exc:
        raise InputError(f"{ini}: malformed or missing key ({exc}); needs [Sequence] frameRate, seqLength, imWidth, "
                         "imHeight") from exc
    return _checked_seqinfo(ini, info)


def _checked_seqinfo(ini: Path, info: SequenceInfo) -> SequenceInfo:
    """Refuse values no sequence can have: a frame rate that is not in (0, MAX_FRAME_RATE], a
    length < 1 (an empty sequence), a size <= 0."""
    if not (math.isfinite(info.frame_rate) and 0 < info.frame_rate <= MAX_FRAME_RATE):
        raise InputError(f"{ini}: frameRate must be a number in (0, {MAX_FRAME_RATE:g}] frames/s, "
                         f"got {info.frame_rate!r}")
    if info.seq_length < 1:
        raise InputError(f"{ini}: seqLength must be >= 1 frame (an empty sequence), got {info.seq_length}")
    if info.width < 1 or info.height < 1:
        raise InputError(f"{ini}: imWidth and imHeight must be >= 1 pixel, got {info.width}x{info.height}")
    return info


def find_sequences(paths: Iterable) -> list:
    """Expand each path (a sequence folder, or a folder of sequence folders) to sorted
    sequence folders. Raises ``InputError`` for a path that is neither."""
    found = []
    for p in paths:
        p = Path(p)
        if (p / "seqinfo.ini").is_file():
            found.append(p)
        elif p.is_dir():
            subs = sorted(d for d in p.iterdir() if (d / "seqinfo.ini").is_file())
            if not subs:
                raise InputError(f"{p}: no MOTChallenge sequence here (no seqinfo.ini in it or its subfolders)")
            found.extend(subs)
        else:
            raise InputError(f"{p}: not found")
    return found


@dataclass
class MotTable:
    """Rows of a MOTChallenge file as parallel arrays, sorted by frame.

    frames (R,) int64 1-based; ids (R,) int64; xywh (R, 4) float64 pixels; scores (R,) float64
    (the 7th column: detector score, or gt ``conf`` flag); classes (R,) int64 (8th column,
    -1 if absent); visibility (R,) float64 (9th column, 1 if absent); lines (R,) int64 source
    line numbers.
    """

    path: str
    frames: np.ndarray
    ids: np.ndarray
    xywh: np.ndarray
    scores: np.ndarray
    classes: np.ndarray
    visibility: np.ndarray
    lines: np.ndarray
    duplicates_dropped: int = 0
    beyond_length_dropped: int = 0
    columns: int = 0
    last_frame: int = 0  # the last frame in the file, rows beyond the sequence length included

    def __len__(self) -> int:
        return len(self.frames)

    def select(self, mask: np.ndarray) -> "MotTable":
        return MotTable(
            self.path, self.frames[mask], self.ids[mask], self.xywh[mask], self.scores[mask], self.classes[mask],
            self.visibility[mask], self.lines[mask], self.duplicates_dropped, self.beyond_length_dropped, self.columns,
            self.last_frame,
        )


def _whole_number(text: str, value: float, limit: int, path: Path, line_no: int, raw: str, what: str) -> int:
    """A frame or id field as an int, parsed from its text (exact at any size), within
    ``[-limit, limit]``; a decimal (``12.0``) is accepted only where float64 is exact."""
    try:
        number = int(text)
    except ValueError:
        if value != int(value) or abs(value) >= MAX_EXACT_FLOAT_ID:
            raise FileFormatError(path, line_no, raw, f"{what} must be a whole number (write large ones without "
                                  f"a decimal point or exponent)") from None
        number = int(value)
    if abs(number) > limit:
        raise FileFormatError(path, line_no, raw, f"{what} must be within +-{limit}")
    return number


def _check_magnitudes(values: List[float], path: Path, line_no: int, raw: str) -> None:
    """Coordinates within +-MAX_ABS_COORDINATE pixels (so x + w and areas stay finite in the
    float32 boxes), other columns within +-MAX_ABS_VALUE."""
    if any(abs(v) > MAX_ABS_COORDINATE for v in values[2:6]) or abs(values[2] + values[4]) > MAX_ABS_COORDINATE \
            or abs(values[3] + values[5]) > MAX_ABS_COORDINATE:
        raise FileFormatError(path, line_no, raw, f"box coordinates must be within +-{MAX_ABS_COORDINATE:g} pixels")
    if any(abs(v) > MAX_ABS_VALUE for v in values[6:]):
        raise FileFormatError(path, line_no, raw, f"values must be within +-{MAX_ABS_VALUE:g}")


def _parse_lines(path: Path, min_columns: int) -> tuple:
    rows, line_nos, ids = [], [], []
    special = describe_special(path)
    if special is not None:
        raise InputError(f"{special} (expected a MOTChallenge text file)")
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except FileNotFoundError:
        raise InputError(f"{path}: not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected a MOTChallenge text file") from None
    except PermissionError:
        raise InputError(f"{path}: not readable (permission denied)") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a text file ({exc.reason} at byte {exc.start})") from None
    if text.startswith(UTF8_BOM):  # a UTF-8 byte order mark (Windows editors): not data
        text = text[len(UTF8_BOM):]
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < min_columns or len(fields) > MAX_COLUMNS:
            raise FileFormatError(path, line_no, raw,
                                  f"expected {min_columns}-{MAX_COLUMNS} comma-separated columns, found {len(fields)}")
        try:
            values = [float(f) for f in fields]
        except ValueError:
            raise FileFormatError(path, line_no, raw, "non-numeric field") from None
        if not all(math.isfinite(v) for v in values):
            raise FileFormatError(path, line_no, raw, "NaN or infinite value")
        frame = values[0]
        if frame < 1 or frame != int(frame) or frame > MAX_FRAME_NUMBER:
            raise FileFormatError(path, line_no, raw, f"frame must be a whole number in [1, {MAX_FRAME_NUMBER}] "
                                  "(frames are 1-based)")
        if values[4] <= 0 or values[5] <= 0:
            raise FileFormatError(path, line_no, raw, "width and height must be > 0")
        _check_magnitudes(values, path, line_no, raw)
        ids.append(_whole_number(fields[1], values[1], MAX_ABS_ID, path, line_no, raw, "id"))
        values[1] = 0.0  # the id lives in ``ids`` (exact int64), not in the float64 rows
        values += [math.nan] * (MAX_COLUMNS - len(values))
        rows.append(values)
        line_nos.append(line_no)
    return rows, line_nos, ids


def read_mot_file(path, kind: str = "det", seq_length: Optional[int] = None) -> MotTable:
    """Parse a MOTChallenge file.

    kind: ``"det"`` or ``"result"`` (6-10 columns, missing score = 1) or ``"gt"`` (>= 7 columns).
    seq_length: when given, rows with a frame beyond it are dropped and counted.
    """
    if kind not in ("det", "gt", "result"):
        raise ValueError(f"kind must be 'det', 'gt' or 'result', got {kind!r}")
    path = Path(path)
    rows, line_nos, id_list = _parse_lines(path, GT_MIN_COLUMNS if kind == "gt" else DET_MIN_COLUMNS)
    arr = np.array(rows, dtype=np.float64).reshape(-1, MAX_COLUMNS)
    lines = np.array(line_nos, dtype=np.int64)
    ids = np.array(id_list, dtype=np.int64)
    n_cols = 0 if not rows else max(int(np.sum(~np.isnan(r))) for r in arr[:1])
    # exact duplicates: keep the first occurrence (rows compared bit for bit, ids as integers)
    dup_count = 0
    if len(arr):
        bits = (np.nan_to_num(arr, nan=-1e18) + 0.0).view(np.int64)  # + 0.0: -0.0 equals 0.0
        _, first = np.unique(np.column_stack([bits, ids]), axis=0, return_index=True)
        keep = np.zeros(len(arr), bool)
        keep[first] = True
        dup_count = int((~keep).sum())
        arr, lines, ids = arr[keep], lines[keep], ids[keep]
    last_frame = int(arr[:, 0].max()) if len(arr) else 0
    beyond = 0
    if seq_length is not None and len(arr):
        inside = arr[:, 0] <= seq_length
        beyond = int((~inside).sum())
        arr, lines, ids = arr[inside], lines[inside], ids[inside]
    order = np.lexsort((lines, arr[:, 0])) if len(arr) else np.zeros(0, np.int64)
    arr, lines, ids = arr[order], lines[order], ids[order]
    scores = np.where(np.isnan(arr[:, 6]), 1.0, arr[:, 6])
    classes = np.where(np.isnan(arr[:, 7]), -1, arr[:, 7]).astype(np.int64)
    vis = np.where(np.isnan(arr[:, 8]), 1.0, arr[:, 8])
    return MotTable(
        str(path), arr[:, 0].astype(np.int64), ids, arr[:, 2:6].copy(), scores, classes, vis,
        lines, dup_count, beyond, n_cols, last_frame,
    )


def rescale_scores(scores: np.ndarray, mode: str = "auto") -> np.ndarray:
    """Map detector scores to [0, 1].

    ``none`` keeps them; ``minmax`` maps the file's [min, max] to [0, 1]; ``auto`` applies
    ``minmax`` only when some score falls outside [0, 1] (e.g. MOT15 ACF detections).
    """
    if mode not in SCORE_RESCALE_MODES:
        raise ValueError(f"score rescale mode must be one of {SCORE_RESCALE_MODES}, got {mode!r}")
    scores = np.asarray(scores, dtype=np.float64)
    if mode == "none" or len(scores) == 0:
        return scores.copy()
    lo, hi = float(scores.min()), float(scores.max())
    if mode == "auto" and lo >= 0.0 and hi <= 1.0:
        return scores.copy()
    if hi <= lo:
        return np.ones_like(scores)
    return (scores - lo) / (hi - lo)


@dataclass
class DetectionSet:
    """Detections of a whole sequence: ``by_frame[f]`` for 1-based frame f (missing = none)."""

    path: str
    by_frame: Dict[int, Detections]
    rows: int
    rescaled: bool
    duplicates_dropped: int = 0
    beyond_length_dropped: int = 0
    below_min_score: int = 0
    frames: list = field(default_factory=list)

    def get(self, frame: int) -> Detections:
        return self.by_frame.get(frame) or Detections.empty()

    def notes(self) -> List[str]:
        """What loading changed, one human-readable line each (empty when nothing did)."""
        notes = []
        if self.rescaled:
            notes.append("scores rescaled to [0, 1] (min-max)")
        if self.below_min_score:
            notes.append(f"{self.below_min_score} detections below the minimum score dropped")
        if self.duplicates_dropped:
            notes.append(f"{self.duplicates_dropped} duplicate detection rows dropped")
        if self.beyond_length_dropped:
            notes.append(f"{self.beyond_length_dropped} detection rows beyond seqLength dropped")
        return notes


def load_detections(path, min_score: Optional[float] = None, score_rescale: str = "auto",
                    seq_length: Optional[int] = None) -> DetectionSet:
    """Read a ``det.txt`` into per-frame ``Detections`` (scores rescaled first, then
    thresholded at ``min_score``). ``Detections.index`` is the row's position in its frame's
    input (before thresholding) and ``data['lines']`` holds the file line numbers."""
    table = read_mot_file(path, "det", seq_length)
    if seq_length is not None:
        check_length(seq_length, table.last_frame, "seqLength", str(path))
    scores = rescale_scores(table.scores, score_rescale)
    rescaled = not np.array_equal(scores, table.scores)
    by_frame: Dict[int, Detections] = {}
    below = 0
    if len(table):
        boundaries = np.flatnonzero(np.diff(table.frames)) + 1
        for idx in np.split(np.arange(len(table)), boundaries):
            frame = int(table.frames[idx[0]])
            local = np.arange(len(idx))
            keep = np.ones(len(idx), bool) if min_score is None else scores[idx] >= min_score
            below += int((~keep).sum())
            idx, local = idx[keep], local[keep]
            classes = np.where(table.classes[idx] < 0, 0, table.classes[idx])
            by_frame[frame] = Detections.from_xywh(table.xywh[idx], scores[idx], classes, index=local,
                                                   data={"lines": table.lines[idx]})
    return DetectionSet(str(path), by_frame, len(table), rescaled, table.duplicates_dropped,
                        table.beyond_length_dropped, below, sorted(by_frame))


def format_mot_row(frame: int, track_id: int, xywh, score: float) -> str:
    """One MOTChallenge result line: ``frame,id,x,y,w,h,score,-1,-1,-1`` (1-based frame)."""
    x, y, w, h = (float(v) for v in xywh)
    return f"{int(frame)},{int(track_id)},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{float(score):.4f},-1,-1,-1\n"


def write_text_atomic(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder + rename, so a
    reader never sees a half-written file. The temporary file is ``<name>.<random>.partial``:
    a killed process leaves only ``.partial`` files (``docs/reliability.md``)."""
    path = Path(path)
    check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_mot_results(path, rows: Iterable[tuple]) -> int:
    """Atomically write result rows ``(frame, track_id, xywh, score)``, sorted by frame then
    id. Returns the number of rows written."""
    rows = sorted(rows, key=lambda r: (int(r[0]), int(r[1])))
    write_text_atomic(path, "".join(format_mot_row(*r) for r in rows))
    return len(rows)
