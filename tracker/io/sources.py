"""Frame sources: a video file, a folder of frames, a webcam index or a stream URL.

``open_source(spec, ...)`` returns a ``FrameSource``: iterate it for ``Frame`` objects
(``index`` 0-based decoded frame number, ``timestamp`` seconds, ``image`` (H, W, 3) uint8 BGR),
read ``info`` (kind, name, frame rate, size, frame count), and ``close()`` it (or use it as a
context manager). Only one frame is held at a time, so memory stays bounded on endless streams.

What a SOURCE string means (checked in this order):

* an existing file -> a video file decoded by OpenCV (FFmpeg);
* an existing folder -> its images in natural order (``img1/`` inside it is used when present,
  as in MOTChallenge sequence folders; the frame rate comes from ``seqinfo.ini`` when there is one).
  Numbered names (one shared prefix + a number of one width: ``000001.jpg``, ``frame_0001.png``;
  numbers starting at 0 or 1, or dense) give the frame index: ``index = number - 1`` (``number``
  when the numbering starts at 0), so a gap in the numbers is a gap in time (the missing frames
  are skipped, noted in ``info.notes``) and MOT frame numbers stay those of the files. Other
  names (and sparse numbers such as capture timestamps) are indexed by position;
* ``rtsp://``, ``rtmp://``, ``http(s)://``, ``udp://``, ``tcp://`` ... -> a live stream (OpenCV/FFmpeg)
  opened with a timeout. When it stops delivering mid-stream (a read fails or takes longer than
  the timeout), it is reopened up to ``retries`` times in a row with exponential backoff
  (``retry_backoff_s``, doubling, at most ``MAX_RETRY_BACKOFF_S``); after that iteration ends with
  ``end_reason`` ``stream lost``. A file served over HTTP (the stream states its frame count)
  ends normally after its last frame, and resumes after a drop at the frame where it stopped.
  Opening is not retried: a wrong URL fails after the timeout;
* a whole number (``0``, ``1``) -> a webcam index.

Time: for files and folders ``timestamp = index / fps`` with the container's frame rate (or
``seqinfo.ini``); when that is missing, ``fps`` (the caller's) or ``DEFAULT_FPS`` is used and
``info.notes`` says so. Live sources use wall-clock seconds since the first frame.

``start`` / ``end`` are ``Position`` values (frames or seconds, see ``parse_position``): frames
with ``start <= index < end`` (or ``start <= t < end`` in seconds) are produced; ``stride`` k keeps
every k-th of them. The decoded index is kept, so MOT frame numbers are ``index + 1``.
"""
from __future__ import annotations

import configparser
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, Tuple, Union

import numpy as np

from tracker.errors import InputError, parameter_error
from tracker.special_paths import describe_special
from tracker.status import SourceEnd

DEFAULT_FPS = 30.0
DEFAULT_TIMEOUT_S = 10.0
#: reconnection attempts in a row after a live stream stops delivering, and the first wait
#: between them (seconds, doubling up to ``MAX_RETRY_BACKOFF_S``)
DEFAULT_RETRIES = 3
DEFAULT_RETRY_BACKOFF_S = 1.0
MAX_RETRY_BACKOFF_S = 30.0
#: the largest frame rate a source may state or be given (frames/s)
MAX_FPS = 1000.0
#: the most reconnection attempts in a row
MAX_RETRIES = 1000
#: notes kept about recurring events (reconnections, unreadable images); later ones are counted
MAX_REPEATED_NOTES = 5
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "rtp", "srt", "mms")
#: a file whose decoding stops this many frames (or this fraction) before the container's frame
#: count is reported as truncated (container counts of some formats are estimates)
TRUNCATION_TOLERANCE_FRAMES = 2
TRUNCATION_TOLERANCE_FRACTION = 0.01
#: the largest ``--start`` / ``--end`` accepted, in frames or seconds (about 1000 years of
#: 30 fps video): anything larger is a typo, and would overflow the frame arithmetic
MAX_POSITION = 1e12
#: the largest webcam index (OpenCV takes a C int; real devices are numbered from 0)
MAX_WEBCAM_INDEX = 9999
#: characters of a bad value shown in a message (a 400-digit number is cut)
MAX_SHOWN_CHARS = 40

_POSITION_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(s|sec|secs|seconds?)?\s*$", re.IGNORECASE)
_URL_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
_NUMBERED_RE = re.compile(r"^(.*?)(\d+)$")


# ------------------------------------------------------------------------------------ positions
@dataclass(frozen=True)
class Position:
    """A point in a source: ``value`` frames (0-based index, a whole number) or seconds."""

    value: float
    unit: str  # "frames" | "seconds"

    def __post_init__(self) -> None:
        if self.unit not in ("frames", "seconds"):
            raise ValueError(f"Position.unit must be 'frames' or 'seconds', got {self.unit!r}")
        if not (math.isfinite(self.value) and self.value >= 0):
            raise ValueError(f"Position.value must be a finite number >= 0, got {self.value!r}")
        if self.unit == "frames" and self.value != int(self.value):
            raise ValueError(f"a frame position must be a whole number, got {self.value!r}")

    def to_frames(self, fps: float) -> int:
        """The first 0-based frame index at or after this position."""
        if self.unit == "frames":
            return int(self.value)
        return int(math.ceil(self.value * fps - 1e-9))

    def __str__(self) -> str:
        return f"{int(self.value)}" if self.unit == "frames" else f"{self.value:g}s"


def parse_position(text: Union[str, int, float, Position, None], what: str = "position") -> Optional[Position]:
    """``"123"`` -> 123 frames; ``"12.5s"`` (or ``12.5sec``) -> 12.5 seconds; None -> None.

    Raises ``InputError`` naming ``what`` for anything else (negative, fractional frames, text).
    """
    if text is None or isinstance(text, Position):
        return text
    if isinstance(text, bool):
        raise InputError(f"{what}: expected frames (123) or seconds (12.5s), got {text!r}", what)
    if isinstance(text, (int, np.integer)):
        if text < 0:
            raise InputError(f"{what}: must be >= 0, got {text}", what)
        _check_position_size(int(text), text, what)
        return Position(float(text), "frames")
    m = _POSITION_RE.match(str(text))
    if not m:
        raise InputError(f"{what}: expected a frame number (123) or seconds (12.5s), got {_shown(text)}", what)
    value, unit = float(m.group(1)), "seconds" if m.group(2) else "frames"
    _check_position_size(value, text, what)
    if unit == "frames" and value != int(value):
        raise InputError(f"{what}: a frame number must be whole; write seconds with an 's' (e.g. {text}s)", what)
    return Position(value, unit)


def _shown(value) -> str:
    """``repr(value)``, cut to ``MAX_SHOWN_CHARS`` characters."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS - 3] + "..."


def _check_position_size(value: float, text, what: str) -> None:
    if not value <= MAX_POSITION:  # also catches inf from a 400-digit number
        raise InputError(f"{what}: too large (at most {MAX_POSITION:g} frames or seconds), got {_shown(text)}", what)


# ------------------------------------------------------------------------------------ records
@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame: ``index`` 0-based in the source, ``timestamp`` seconds,
    ``image`` (H, W, 3) uint8 BGR (owned by the consumer; the source never reuses it)."""

    index: int
    timestamp: float
    image: np.ndarray

    @property
    def mot_frame(self) -> int:
        """1-based MOTChallenge frame number (``index + 1``)."""
        return self.index + 1


@dataclass
class SourceInfo:
    """What is known about a source.

    kind: ``video`` | ``frames`` | ``webcam`` | ``stream``; name: a file-name-safe stem for
    outputs; location: the path / URL / webcam index as given; path: the input path (None
    for live sources); fps: frames per second used for timestamps; fps_origin: ``container``,
    ``seqinfo``, ``user`` or ``default`` (``wallclock`` for live sources: fps is then what the
    device reports, only a hint); width, height: pixels (0 if unknown); frame_count: frames in
    the file/folder (None for live sources or when unknown); notes: things the user should know.
    """

    kind: str
    name: str
    location: str
    path: Optional[Path]
    fps: float
    fps_origin: str
    width: int = 0
    height: int = 0
    frame_count: Optional[int] = None
    notes: List[str] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.kind in ("webcam", "stream")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "location": self.location, "fps": self.fps,
                "fps_origin": self.fps_origin, "width": self.width, "height": self.height,
                "frame_count": self.frame_count, "notes": list(self.notes)}


def safe_name(text: str, fallback: str = "source") -> str:
    """A file-name-safe stem for outputs: runs of characters other than letters, digits, ``.``,
    ``_`` and ``-`` become ``_``; ``fallback`` when nothing is left."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")
    return name or fallback


def natural_key(path: Path):
    """Sort key of file names in natural order (``frame2`` before ``frame10``)."""
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", path.name)]


def _check_fps(fps: Optional[float]) -> Optional[float]:
    if fps is None:
        return None
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        raise parameter_error("fps", f"must be a number > 0 (frames per second), got {fps!r}") from None
    if not (math.isfinite(fps) and 0 < fps <= MAX_FPS):
        raise parameter_error("fps", f"must be in (0, {MAX_FPS:g}] frames per second, got {fps:g}")
    return fps


def check_source_options(start=None, end=None, stride: int = 1, fps: Optional[float] = None,
                         timeout_s: float = DEFAULT_TIMEOUT_S, retries: int = DEFAULT_RETRIES,
                         retry_backoff_s: float = DEFAULT_RETRY_BACKOFF_S) -> Tuple[Optional[Position],
                                                                                     Optional[Position]]:
    """Check the options of ``open_source`` (``InputError`` naming the parameter) and return
    ``(start, end)`` as ``Position``s. Used by ``open_source`` and by ``tracker.run.SourceSpec``
    (so that a batch checks them before any worker starts)."""
    start_pos = parse_position(start, "start")
    end_pos = parse_position(end, "end")
    if start_pos is not None and end_pos is not None and start_pos.unit == end_pos.unit \
            and end_pos.value <= start_pos.value:
        raise InputError(f"end ({end_pos}) must come after start ({start_pos})", "end", mentions=("start",))
    check_stride(stride)
    _check_fps(fps)
    _check_stream_options(timeout_s, retries, retry_backoff_s)
    return start_pos, end_pos


def check_stride(stride) -> int:
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise parameter_error("stride", f"must be a whole number >= 1, got {stride!r}")
    return int(stride)


def _check_stream_options(timeout_s, retries, retry_backoff_s) -> Tuple[float, int, float]:
    timeout_s = _seconds(timeout_s, "timeout_s")
    if not timeout_s > 0:
        raise parameter_error("timeout_s", f"must be > 0 seconds, got {timeout_s!r}")
    if isinstance(retries, bool) or not isinstance(retries, (int, np.integer)) or not 0 <= retries <= MAX_RETRIES:
        raise parameter_error("retries", f"must be a whole number in [0, {MAX_RETRIES}], got {retries!r}")
    retry_backoff_s = _seconds(retry_backoff_s, "retry_backoff_s")
    if not 0 <= retry_backoff_s <= MAX_RETRY_BACKOFF_S:
        raise parameter_error("retry_backoff_s", f"must be in [0, {MAX_RETRY_BACKOFF_S:g}] seconds, "
                              f"got {retry_backoff_s!r}")
    return float(timeout_s), int(retries), float(retry_backoff_s)


def is_stream_url(text: str) -> bool:
    m = _URL_RE.match(text)
    return bool(m) and m.group(1).lower() in STREAM_SCHEMES


# ------------------------------------------------------------------------------------ sources
class FrameSource:
    """Base class: iterate for ``Frame`` objects in ``[start, end)`` every ``stride``-th.

    After iteration ends, ``end_reason`` says why: ``end`` (the file/folder ended or ``end``
    was reached), ``truncated`` (the file stopped decoding before its known length),
    ``stream ended`` (a webcam stopped, or a file served over a URL ended), ``stream lost`` (a
    stream stopped delivering and reconnecting failed) or ``closed``. ``skipped`` counts
    unreadable images of a folder source (they are skipped, with a note); ``reconnects``
    counts successful reconnections of a stream.
    """

    info: SourceInfo

    def __init__(self, start: Optional[Position] = None, end: Optional[Position] = None, stride: int = 1):
        self.start = start
        self.end = end
        self.stride = check_stride(stride)
        self.end_reason: Optional[str] = None
        self.skipped = 0
        self.reconnects = 0
        self._closed = False

    # subclasses implement _frames() (all frames from the first, honouring start/end/stride)
    def _frames(self) -> Iterator[Frame]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __iter__(self) -> Iterator[Frame]:
        return self._frames()

    def expected_frames(self) -> Optional[int]:
        """How many frames iteration should produce (None when unknown, e.g. live)."""
        first, stop = self._bounds()
        count = self.info.frame_count
        last = stop if count is None else (count if stop is None else min(count, stop))
        if last is None:
            return None
        return max(0, -(-(last - first) // self.stride))

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _bounds(self):
        fps = self.info.fps
        first = 0 if self.start is None else self.start.to_frames(fps)
        stop = None if self.end is None else self.end.to_frames(fps)
        return first, stop


class VideoFileSource(FrameSource):
    """A video file decoded by OpenCV. Skipped frames (before ``start``, between strides) are
    grabbed without being converted, so ``--stride`` saves decoding work."""

    def __init__(self, path: Path, fps: Optional[float] = None, **kw):
        super().__init__(**kw)
        import cv2

        self._cv2 = cv2
        if _looks_like_text(path):
            txt = path.suffix.lower() == ".txt"
            hint = " (a detection file is given as detections, not as the source)" if txt else ""
            raise InputError(f"{path}: this is a text file, not a video{hint}", mentions=("detections",))
        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            cap.release()
            raise InputError(f"{path}: OpenCV cannot open this file as a video (unsupported or damaged file)")
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise InputError(f"{path}: OpenCV cannot decode any frame of this video "
                             "(unsupported codec or damaged file)")
        self._cap = cap
        self._pending = first  # the first frame, already decoded
        container_fps = cap.get(cv2.CAP_PROP_FPS)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        notes = []
        if fps is not None:
            use_fps, origin = fps, "user"
            if container_fps and math.isfinite(container_fps) and container_fps > 0 \
                    and abs(container_fps - fps) > 1e-3:
                notes.append(f"fps {fps:g} overrides the file's {container_fps:g} frames/s")
        elif container_fps and math.isfinite(container_fps) and 0 < container_fps <= 1000:
            use_fps, origin = float(container_fps), "container"
        else:
            use_fps, origin = DEFAULT_FPS, "default"
            notes.append(f"the file does not state its frame rate; assuming {DEFAULT_FPS:g} frames/s (set the frame "
                         "rate: fps, --fps)")
        self.info = SourceInfo("video", safe_name(path.stem, "video"), str(path), path, use_fps, origin,
                               first.shape[1], first.shape[0], count if count > 0 else None, notes)

    def _frames(self) -> Iterator[Frame]:
        cap = self._cap
        first, stop = self._bounds()
        index = 0
        fps = self.info.fps
        while not self._closed:
            if stop is not None and index >= stop:
                self.end_reason = SourceEnd.END
                return
            wanted = index >= first and (index - first) % self.stride == 0
            if self._pending is not None:
                image, self._pending = self._pending, None
                ok = True
            elif wanted:
                ok, image = cap.read()
            else:
                ok, image = cap.grab(), None
            if not ok:
                count = self.info.frame_count
                short = count is not None and count - index > max(TRUNCATION_TOLERANCE_FRAMES,
                                                                   TRUNCATION_TOLERANCE_FRACTION * count)
                self.end_reason = SourceEnd.TRUNCATED if short else SourceEnd.END
                if short:
                    self.info.notes.append(f"decoding stopped at frame {index + 1} of {count} (1-based, as in the "
                                           "results): the file is damaged or truncated; results cover the frames "
                                           "before it")
                return
            if wanted:
                yield Frame(index, index / fps, image)
            index += 1
        self.end_reason = SourceEnd.CLOSED

    def close(self) -> None:
        super().close()
        self._pending = None
        self._cap.release()


class FolderSource(FrameSource):
    """Images of a folder in natural order (``img1/`` used when present)."""

    def __init__(self, folder: Path, fps: Optional[float] = None, **kw):
        super().__init__(**kw)
        import cv2

        self._cv2 = cv2
        seq_dir = folder
        if (folder / "img1").is_dir():
            folder = folder / "img1"
        elif folder.name == "img1":
            seq_dir = folder.parent
        try:
            files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()),
                           key=natural_key)
        except PermissionError:
            raise InputError(f"{folder}: not readable (permission denied)") from None
        if not files:
            raise InputError(f"{folder}: no images here ({', '.join(IMAGE_EXTENSIONS)})")
        self.files = files
        self._first_pos, first = _first_readable(cv2, files)
        if first is None:
            raise InputError(f"{folder}: none of its {len(files)} images can be read by OpenCV")
        notes = []
        seq_fps = _seqinfo_fps(seq_dir)
        if fps is not None:
            use_fps, origin = fps, "user"
        elif seq_fps is not None:
            use_fps, origin = seq_fps, "seqinfo"
        else:
            use_fps, origin = DEFAULT_FPS, "default"
            notes.append(f"a folder of images has no frame rate; assuming {DEFAULT_FPS:g} frames/s (set the frame "
                         "rate: fps, --fps)")
        self._first = first
        numbers = _frame_numbers(files)
        if numbers is None:
            self.indices = list(range(len(files)))
        else:
            base = 0 if numbers[0] == 0 else 1
            self.indices = [n - base for n in numbers]
            notes.extend(_gap_notes(files, numbers))
        name = seq_dir.name if (seq_dir / "seqinfo.ini").is_file() or folder != seq_dir else folder.name
        self.info = SourceInfo("frames", safe_name(name, "frames"), str(folder), seq_dir, use_fps, origin,
                               first.shape[1], first.shape[0], len(files), notes)

    def _wanted(self) -> Iterator[int]:
        """Positions in ``files`` of the frames to produce (start/end/stride on the index)."""
        first, stop = self._bounds()
        for pos, index in enumerate(self.indices):
            if stop is not None and index >= stop:
                return
            if index >= first and (index - first) % self.stride == 0:
                yield pos

    def expected_frames(self) -> Optional[int]:
        return sum(1 for _ in self._wanted())

    def _frames(self) -> Iterator[Frame]:
        cv2 = self._cv2
        for pos in self._wanted():
            if self._closed:
                self.end_reason = SourceEnd.CLOSED
                return
            index = self.indices[pos]
            if pos == self._first_pos and self._first is not None:
                image, self._first = self._first, None
            else:
                image = cv2.imread(str(self.files[pos]), cv2.IMREAD_COLOR)
            if image is None:
                self.skipped += 1
                if self.skipped <= MAX_REPEATED_NOTES:
                    self.info.notes.append(f"{self.files[pos]}: unreadable image, skipped")
                continue
            yield Frame(index, index / self.info.fps, image)
        self.end_reason = SourceEnd.END


def _first_readable(cv2, files: List[Path]):
    """(position, image) of the first image OpenCV can read, or (None, None). The unreadable
    ones before it are skipped (and counted) when the frames are produced."""
    for pos, path in enumerate(files):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is not None:
            return pos, image
    return None, None


def _frame_numbers(files: List[Path]) -> Optional[List[int]]:
    """The frame numbers in names such as ``000001.jpg`` or ``frame_0001.png``: every stem is one
    shared prefix followed by digits of one width, and the numbers start at 0 or 1 or are dense
    (span at most twice the count). None otherwise -- e.g. capture timestamps as names -- and
    then frames are indexed by position in natural order."""
    prefix, width, numbers = None, None, []
    for path in files:
        m = _NUMBERED_RE.match(path.stem)
        if m is None:
            return None
        if prefix is None:
            prefix, width = m.group(1), len(m.group(2))
        elif m.group(1) != prefix or len(m.group(2)) != width:
            return None
        numbers.append(int(m.group(2)))
    if len(set(numbers)) != len(numbers):  # e.g. 000001.jpg and 000001.png
        return None
    span = numbers[-1] - numbers[0] + 1
    if numbers[0] > 1 and span > 2 * len(numbers):  # sparse, not from 0/1: e.g. timestamps as names
        return None
    return numbers


def _gap_notes(files: List[Path], numbers: List[int]) -> List[str]:
    notes = []
    first_no = numbers[0]
    if first_no > 1:
        notes.append(f"the first image is {files[0].name}: frame numbers follow the file numbers "
                     f"(the first result is MOT frame {first_no})")
    missing = numbers[-1] - first_no + 1 - len(numbers)
    if missing > 0:
        at = next(i for i in range(1, len(numbers)) if numbers[i] != numbers[i - 1] + 1)
        notes.append(f"{missing} frame number(s) missing between {files[0].name} and {files[-1].name} (the first "
                     f"gap is after {files[at - 1].name}): the missing frames are skipped; frame numbers and "
                     f"timestamps follow the file numbers")
    return notes


def _looks_like_text(path: Path, probe: int = 4096) -> bool:
    """True when the file's first bytes are UTF-8 text without NUL bytes (FFmpeg would
    otherwise 'decode' a text file as an ANSI-art video)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(probe)
    except OSError as exc:
        raise InputError(f"{path}: not readable ({exc.strerror or exc})") from None
    if not head:
        raise InputError(f"{path}: the file is empty")
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # only a multi-byte character cut at the probe's end
    return True


def _seqinfo_fps(seq_dir: Path) -> Optional[float]:
    ini = seq_dir / "seqinfo.ini"
    if not ini.is_file():
        return None
    parser = configparser.ConfigParser()
    try:
        parser.read(ini)
        fps = float(parser["Sequence"]["frameRate"])
    except (KeyError, ValueError, configparser.Error):
        return None
    return fps if math.isfinite(fps) and 0 < fps <= 1000 else None


class LiveSource(FrameSource):
    """A webcam (``device`` int) or a stream URL, read with OpenCV. Timestamps are wall-clock
    seconds since the first frame; ``start``/``end`` count frames read or seconds elapsed.

    A webcam ends when a read fails. A URL stream whose read fails (or takes longer than
    ``timeout_s``) is reopened up to ``retries`` times in a row, waiting ``retry_backoff_s``,
    then twice as long each time (at most ``MAX_RETRY_BACKOFF_S``); a frame read resets the
    count. When every attempt fails, iteration ends with ``end_reason`` ``stream lost``. A file
    served over HTTP states its frame count: it ends (``stream ended``) after its last frame, and
    after a drop it resumes at the frame where it stopped (the frames before are skipped)."""

    def __init__(self, location: Union[int, str], timeout_s: float = DEFAULT_TIMEOUT_S,
                 fps: Optional[float] = None, retries: int = DEFAULT_RETRIES,
                 retry_backoff_s: float = DEFAULT_RETRY_BACKOFF_S, **kw):
        super().__init__(**kw)
        import cv2

        self._cv2 = cv2
        self.timeout_s, self.retries, self.retry_backoff_s = _check_stream_options(timeout_s, retries,
                                                                                   retry_backoff_s)
        timeout_s = self.timeout_s
        ms = int(round(timeout_s * 1000))
        self._location = location
        self._params = None
        if isinstance(location, int):
            kind, name, shown = "webcam", f"webcam{location}", f"webcam {location}"
            cap = cv2.VideoCapture(location)
        else:
            kind, shown = "stream", _redact(location)
            name = _stream_name(location)
            self._params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
            started = time.monotonic()
            cap = self._open_capture()
            if not cap.isOpened():
                waited = time.monotonic() - started
                cap.release()
                raise InputError(f"{shown}: the stream could not be opened after {waited:.1f} s (no answer, refused, "
                                 f"or not a video stream; the timeout is {timeout_s:g} s)")
        if not cap.isOpened():
            cap.release()
            raise InputError(f"{shown}: could not open the camera (no such device, or it is busy)")
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise InputError(f"{shown}: opened but delivered no frame within the timeout ({timeout_s:g} s)")
        self._cap = cap
        self._pending = first
        self._t0: Optional[float] = None
        self._read = 1  # frames read from the stream so far (where a file served over HTTP resumes)
        self._failures = 0  # reconnection attempts since the last frame read
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT) if self._params is not None else 0
        self._length = int(count) if math.isfinite(count) and count > 0 else None
        reported = cap.get(cv2.CAP_PROP_FPS)
        if fps is not None:
            use_fps, origin = fps, "user"
        elif reported and math.isfinite(reported) and 0 < reported <= 1000:
            use_fps, origin = float(reported), "wallclock"
        else:
            use_fps, origin = DEFAULT_FPS, "wallclock"
        self.info = SourceInfo(kind, name, shown, None, use_fps, origin, first.shape[1], first.shape[0], None, [])

    def _open_capture(self):
        return self._cv2.VideoCapture(self._location, self._cv2.CAP_FFMPEG, self._params)

    def _frames(self) -> Iterator[Frame]:
        start, end = self.start, self.end
        index = 0
        kept = 0
        while not self._closed:
            if self._pending is not None:
                image, self._pending = self._pending, None
                ok = True
            else:
                ok, image = self._cap.read()
                if ok and image is not None:
                    self._read += 1
            if not ok or image is None:
                if self._closed:
                    break
                if self._params is None or self._file_done():  # a webcam, or the whole file was served
                    self.end_reason = SourceEnd.STREAM_ENDED
                    return
                if self._reconnect(index):
                    continue
                self.end_reason = SourceEnd.STREAM_LOST
                return
            self._failures = 0
            now = time.monotonic()
            if self._t0 is None:
                self._t0 = now
            t = now - self._t0
            pos = {"frames": index, "seconds": t}
            if end is not None and pos[end.unit] >= end.value:
                self.end_reason = SourceEnd.END
                return
            if start is None or pos[start.unit] >= start.value:
                if kept % self.stride == 0:
                    yield Frame(index, t, image)
                kept += 1
            index += 1
        self.end_reason = SourceEnd.CLOSED

    def _file_done(self) -> bool:
        """A stream that states its frame count (a file over HTTP) and delivered all of it."""
        n = self._length
        return n is not None and n - self._read <= max(TRUNCATION_TOLERANCE_FRAMES, TRUNCATION_TOLERANCE_FRACTION * n)

    def _reconnect(self, frames_done: int) -> bool:
        """Reopen the stream, waiting with exponential backoff between attempts; False when
        ``retries`` attempts in a row failed."""
        self._cap.release()
        shown = self.info.location
        while self._failures < self.retries and not self._closed:
            delay = min(self.retry_backoff_s * 2 ** self._failures, MAX_RETRY_BACKOFF_S)
            self._failures += 1
            time.sleep(delay)
            cap = self._open_capture()
            if cap.isOpened() and self._skip_served(cap):
                self._cap = cap
                self.reconnects += 1
                if self.reconnects <= MAX_REPEATED_NOTES:
                    self.info.notes.append(f"{shown}: the stream stopped after {frames_done} frames; reconnected "
                                           f"(attempt {self._failures} of {self.retries})")
                return True
            cap.release()
        self._cap = self._cv2.VideoCapture()  # released, closed: close() still works
        if not self._closed:
            self.info.notes.append(f"{shown}: the stream stopped after {frames_done} frames and did not come back "
                                   f"({self.retries} reconnection attempt(s), timeout {self.timeout_s:g} s, "
                                   f"backoff from {self.retry_backoff_s:g} s); results cover the frames before")
        return False

    def _skip_served(self, cap) -> bool:
        """A file served over HTTP restarts from its first frame: skip the frames already read."""
        if self._length is None:
            return True
        for _ in range(self._read):
            if not cap.grab():
                return False
        return True

    def expected_frames(self) -> Optional[int]:
        if self.end is None or self.end.unit != "frames":
            return None
        first = 0 if self.start is None or self.start.unit != "frames" else int(self.start.value)
        return max(0, -(-(int(self.end.value) - first) // self.stride))

    def close(self) -> None:
        super().close()
        self._pending = None
        self._cap.release()


def _seconds(value, what: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise parameter_error(what, f"must be a number of seconds, got {value!r}") from None
    if not math.isfinite(seconds):
        raise parameter_error(what, f"must be a finite number of seconds, got {value!r}")
    return seconds


def _redact(url: str) -> str:
    """Hide a password in ``scheme://user:password@host``."""
    return re.sub(r"(://[^/:@]+):[^/@]*@", r"\1:***@", url)


def _stream_name(url: str) -> str:
    rest = _URL_RE.sub("", url)
    rest = rest.split("@", 1)[-1].split("?", 1)[0]
    parts = [p for p in rest.split("/") if p]
    stem = Path(parts[-1]).stem if len(parts) > 1 else (parts[0].split(":")[0] if parts else "stream")
    return safe_name(stem, "stream")


def open_source(source: Union[str, int, os.PathLike], start=None, end=None, stride: int = 1,
                fps: Optional[float] = None, timeout_s: float = DEFAULT_TIMEOUT_S, retries: int = DEFAULT_RETRIES,
                retry_backoff_s: float = DEFAULT_RETRY_BACKOFF_S) -> FrameSource:
    """Open a video file, frame folder, stream URL or webcam index (see the module docstring).

    start, end: ``Position``, a frame number, or text (``"12.5s"``); stride >= 1; fps: the
    frame rate to use when the source has none (and to override it); timeout_s: how long a
    stream may take to open or deliver a frame; retries, retry_backoff_s: reconnection attempts
    in a row after a stream stops mid-way, and the first wait between them (doubling). Raises
    ``InputError`` with a clear message for a missing/unreadable path, an undecodable file, an
    unanswering stream or a bad option.
    """
    start_pos, end_pos = check_source_options(start, end, stride, fps, timeout_s, retries, retry_backoff_s)
    fps = _check_fps(fps)
    kw = dict(start=start_pos, end=end_pos, stride=stride)
    if isinstance(source, bool):
        raise InputError(f"not a source: {source!r}")
    if isinstance(source, (int, np.integer)):
        return LiveSource(_webcam_index(int(source)), timeout_s, fps, **kw)
    if not isinstance(source, (str, bytes, os.PathLike)):
        raise InputError(f"source must be a path, a URL or a webcam index, got {type(source).__name__}")
    text = os.fspath(source)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text.strip():
        raise InputError("the source is empty: give a video file, a folder of frames, a webcam index or a URL")
    if is_stream_url(text):
        return LiveSource(text, timeout_s, fps, retries, retry_backoff_s, **kw)
    path = Path(os.path.expanduser(text))  # "~user" of no such user stays as written
    if path.is_file():
        if not os.access(path, os.R_OK):
            raise InputError(f"{path}: not readable (permission denied)")
        return _checked_range(VideoFileSource(path, fps, **kw))
    if path.is_dir():
        if not os.access(path, os.R_OK | os.X_OK):
            raise InputError(f"{path}: not readable (permission denied)")
        return _checked_range(FolderSource(path, fps, **kw))
    special = describe_special(path)
    if special is not None:
        raise InputError(f"{special} (expected a video file, a folder of frames, a webcam index or a URL)")
    if text.strip().isdigit():
        if int(text) > MAX_WEBCAM_INDEX:
            raise InputError(f"{path}: not found, and too large for a webcam index (0-{MAX_WEBCAM_INDEX})")
        return LiveSource(int(text), timeout_s, fps, **kw)
    problem = unsupported_url(text)
    if problem is not None:
        raise InputError(problem)
    raise InputError(f"{path}: not found (expected a video file, a folder of frames, a webcam index or a URL)")


def unsupported_url(text: str) -> Optional[str]:
    """The message for ``scheme://...`` with a scheme we cannot stream (``ftp://``), else None.
    One rule for ``track SOURCE`` and the lists of ``track batch``."""
    if _URL_RE.match(text) and not is_stream_url(text):
        return f"{_redact(text)}: unsupported URL scheme (use one of {', '.join(STREAM_SCHEMES)})"
    return None


def _webcam_index(index: int) -> int:
    if not 0 <= index <= MAX_WEBCAM_INDEX:
        raise InputError(f"source: a webcam index must be in [0, {MAX_WEBCAM_INDEX}], got {_shown(index)}")
    return index


def _checked_range(source: FrameSource) -> FrameSource:
    """Refuse a ``start``/``end`` range that is empty once both are frames (``--start 1s --end 3``
    at 30 frames/s: frames 30 and 3); the source is closed first."""
    if source.start is None or source.end is None:
        return source
    first, stop = source._bounds()
    if stop <= first:
        source.close()
        raise InputError(f"end ({source.end}) must come after start ({source.start}): at "
                         f"{source.info.fps:g} frames/s they are frames {stop} and {first}, an empty range", "end",
                         mentions=("start",))
    return source
