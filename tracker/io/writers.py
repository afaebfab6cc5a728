"""Result writers with the partial-output scheme (``docs/reliability.md``).

Every writer writes while the run goes on to a *partial* name and renames to the final name
only in ``finish()``:

============================  ===========================  ======================================
file                          while running / after crash   after ``finish()``
============================  ===========================  ======================================
MOTChallenge results          ``<stem>.txt.partial``        ``<stem>.txt``
JSON lines (one per frame)    ``<stem>.jsonl.partial``      ``<stem>.jsonl``
annotated video               ``<stem>.partial.mp4``        ``<stem>.mp4``
run summary                   (written atomically, once)    ``<stem>.summary.json``
============================  ===========================  ======================================

The video keeps its ``.mp4`` extension while partial because OpenCV picks the container from
the extension. Text writers buffer whole lines and write them with one ``os.write`` per flush
(every ``flush_every_s`` seconds), so a killed process leaves ``.partial`` files that end with a
complete line. A write that fails part-way (disk full, or an exception such as
``KeyboardInterrupt`` arriving mid-write) is cut back to the last whole line: the lines stay
buffered for the next flush, and an ``OSError`` becomes ``OutputError`` naming the file.
``abandon()`` (used after a crash) flushes what is buffered, closes, and keeps the partial names:
a file under a final name is always complete.

``finish()`` is ``seal()`` (flush, fsync, close; the video container is closed and checked by
reopening it) then ``commit()`` (rename to the final name), so a caller with several files can
seal them all and rename only when every one sealed (``FileRun`` does).
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from tracker.errors import InputError
from tracker.io.background import SerialWorker
from tracker.io.mot import format_mot_row, write_text_atomic
from tracker.io.output_paths import PARTIAL_SUFFIX, OutputGuard, partial_names
from tracker.tracks import Tracks, TrackState

DEFAULT_FLUSH_EVERY_S = 1.0
#: lines buffered by ``rewrite`` before they are written (bounded memory for any run length)
REWRITE_CHUNK_LINES = 4096


class OutputError(InputError):
    """An output file could not be written (disk full, folder gone, quota...). The message names
    the file; what was written before stays in its ``.partial`` file, whole lines."""
DEFAULT_CODEC = "mp4v"
VIDEO_SUFFIX = ".mp4"


def partial_video_path(final: Path) -> Path:
    """``out/clip.mp4`` -> ``out/clip.partial.mp4`` (the extension stays last for OpenCV)."""
    return final.with_name(final.stem + PARTIAL_SUFFIX + final.suffix)


def partial_text_path(final: Path) -> Path:
    """``out/clip.txt`` -> ``out/clip.txt.partial``."""
    return final.with_name(final.name + PARTIAL_SUFFIX)


class _Finalizable:
    """The last step of the partial-output scheme, shared by every writer: ``seal()`` (a
    subclass method: flush and close the ``.partial`` file, checking it is whole) then rename
    it to its final name."""

    partial: Path
    final: Path
    finished: bool

    def seal(self) -> Path:  # pragma: no cover - always overridden
        raise NotImplementedError

    def commit(self) -> Path:
        """Seal, then rename the partial file to its final name. Returns the final path."""
        if not self.finished:
            self.seal()
            os.replace(self.partial, self.final)
            self.finished = True
        return self.final

    def finish(self) -> Path:
        """Seal and rename to the final name (a finished, valid file). Returns the final path."""
        return self.commit()


class _LineFile(_Finalizable):
    """Append-only text file of whole lines at ``partial``; renamed to ``final`` on finish."""

    def __init__(self, final: Path, flush_every_s: float = DEFAULT_FLUSH_EVERY_S):
        self.final = Path(final)
        self.partial = partial_text_path(self.final)
        self.flush_every_s = float(flush_every_s)
        self._buffer: list = []
        self._last_flush = time.monotonic()
        self._size = 0  # bytes of whole lines in the partial file
        self.lines = 0
        self.sealed = False
        self.finished = False
        self._broken = False
        try:
            self._fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            raise OutputError(f"{self.partial}: cannot write ({exc.strerror or exc})") from None

    def _add(self, lines: Sequence[str], autoflush: bool = True) -> None:
        self._buffer.extend(lines)
        self.lines += len(lines)
        if autoflush and self.flush_due():
            self.flush()

    def flush_due(self) -> bool:
        """True when ``flush_every_s`` has passed since the last flush."""
        return time.monotonic() - self._last_flush >= self.flush_every_s

    def _drop_last(self, count: int) -> None:
        """Take the last ``count`` buffered lines back (a frame that is not written at all)."""
        if count:
            del self._buffer[-count:]
            self.lines -= count

    def _cut_back(self, size: int, buffer: list) -> None:
        """Cut the partial file back to ``size`` bytes and buffer ``buffer`` again (after a
        failed flush of a group of files, see ``FrameSinks``)."""
        self._buffer = list(buffer)
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, size)
            os.lseek(self._fd, size, os.SEEK_SET)
            self._size = size
        except OSError:
            self._broken = True

    def begin_rewrite(self) -> None:
        """Empty the partial file: the offline stage writes a run's linked results again, frame
        by frame, with ``rewrite``. ``OutputError`` when that fails (the file is then
        incomplete and not sealed)."""
        if self._fd is None or self._broken:
            raise OutputError(f"{self.partial}: incomplete (a write failed or the file was abandoned)")
        try:
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)
        except OSError as exc:
            self._broken = True
            raise OutputError(f"{self.partial}: cannot write ({exc.strerror or exc})") from None
        self._size = 0
        self._buffer = []
        self.lines = 0

    def rewrite(self, lines: Sequence[str]) -> None:
        """Add ``lines`` after ``begin_rewrite``; written whenever ``REWRITE_CHUNK_LINES`` are
        buffered (and at ``seal``), so memory stays bounded. A failed write leaves the file
        incomplete and not sealable (``OutputError``)."""
        self._add(lines, autoflush=False)
        if len(self._buffer) >= REWRITE_CHUNK_LINES:
            try:
                self.flush()
            except BaseException:
                self._broken = True
                raise

    def flush(self) -> None:
        """Write the buffered whole lines to the partial file. On any failure the file is cut
        back to its last whole line and the lines stay buffered; ``OSError`` -> ``OutputError``."""
        self._last_flush = time.monotonic()
        if not self._buffer or self._fd is None:
            return
        data = "".join(self._buffer).encode("utf-8")
        start, target = self._size, self._size + len(data)
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self._size = target
            self._buffer.clear()  # only this flush's lines are in it (nothing appends meanwhile)
        except BaseException as exc:
            self._rewind(start, target)
            if isinstance(exc, OSError):
                raise OutputError(f"{self.partial}: cannot write ({exc.strerror or exc}); it keeps the whole lines "
                                  "written before") from None
            raise

    def _rewind(self, start: int, target: int) -> None:
        """After a failed or interrupted write: keep the data if it was all written, else cut
        the file back to the last whole line (the lines stay buffered for the next flush)."""
        try:
            if os.fstat(self._fd).st_size == target:
                self._size = target
                self._buffer.clear()
                return
            os.ftruncate(self._fd, start)
            os.lseek(self._fd, start, os.SEEK_SET)
            self._size = start
        except OSError:
            pass

    def _close(self, sync: bool) -> None:
        if self._fd is None:
            return
        ok = False
        try:
            self.flush()
            if sync:
                try:
                    os.fsync(self._fd)
                except OSError as exc:
                    raise OutputError(f"{self.partial}: cannot write ({exc.strerror or exc})") from None
            ok = True
        finally:
            self._broken |= not ok
            os.close(self._fd)
            self._fd = None

    def seal(self) -> Path:
        """Flush, fsync and close (``OutputError`` when that fails); the name stays partial."""
        if not self.sealed:
            if self._broken or self._fd is None:
                raise OutputError(f"{self.partial}: incomplete (a write failed or the file was abandoned)")
            self._close(sync=True)
            self.sealed = True
        return self.partial


    def abandon(self) -> Path:
        """Flush what is buffered (as far as possible) and close, keeping the partial name."""
        try:
            self._close(sync=False)
        except OutputError:
            pass
        self._broken = True
        return self.partial


class MotWriter(_LineFile):
    """MOTChallenge result rows ``frame,id,x,y,w,h,score,-1,-1,-1`` (frames 1-based)."""

    def encode(self, mot_frame: int, tracks: Tracks) -> list:
        """The lines of one frame (nothing is written)."""
        xywh = tracks.to_xywh()
        return [format_mot_row(mot_frame, tid, box, score)
                for tid, box, score in zip(tracks.track_ids, xywh, tracks.scores)]

    def write(self, mot_frame: int, tracks: Tracks) -> None:
        self._add(self.encode(mot_frame, tracks))


class JsonlWriter(_LineFile):
    """One JSON object per processed frame::

        {"frame": 12, "index": 11, "time": 1.1, "tracks": [{"id": 3, "box": [x1, y1, x2, y2],
         "score": 0.82, "class": 0, "class_name": "person", "state": "confirmed", "observed": true}]}

    ``frame`` is the 1-based MOT frame number, ``index`` the 0-based decoded index, ``time``
    seconds, ``box`` xyxy pixels; ``state`` is ``confirmed`` or ``lost`` (a lost track's box is
    predicted, ``observed`` false); ``class_name`` is present when the detector names classes.
    When the tracker estimated the camera's motion (frames given), ``camera_motion`` holds
    ``{"affine": [[a, b, tx], [c, d, ty]], "status": "ok"}``: the map from the previous frame's
    pixels to this frame's (status ``ok``, ``fallback`` = identity after a failed fit, ``first``,
    ``off``; ``tracker.camera_motion``). When the tracker looks for shot cuts (frames given),
    ``shot`` is the 0-based index of the frame's shot, and ``"cut": true`` marks the first frame
    of every shot after the first (no track continues across it; ``tracker.shots``).
    """

    def __init__(self, final: Path, class_names: Optional[Sequence[str]] = None,
                 flush_every_s: float = DEFAULT_FLUSH_EVERY_S):
        super().__init__(final, flush_every_s)
        self.class_names = None if class_names is None else tuple(class_names)

    def record(self, frame_index: int, timestamp: float, tracks: Tracks) -> dict:
        items = []
        for tid, box, score, cls, obs, st in zip(tracks.track_ids, tracks.xyxy, tracks.scores, tracks.class_ids,
                                                  tracks.observed, tracks.states):
            item = {"id": int(tid), "box": [round(float(v), 2) for v in box], "score": round(float(score), 4),
                    "class": int(cls)}
            if self.class_names is not None and 0 <= int(cls) < len(self.class_names):
                item["class_name"] = self.class_names[int(cls)]
            item["state"] = TrackState(int(st)).name.lower()
            item["observed"] = bool(obs)
            items.append(item)
        ts = round(float(timestamp), 6) if math.isfinite(timestamp) else None
        record = {"frame": int(frame_index) + 1, "index": int(frame_index), "time": ts, "tracks": items}
        if tracks.camera_motion is not None:
            record["camera_motion"] = tracks.camera_motion.to_dict()
        if tracks.shot is not None:
            record["shot"] = int(tracks.shot)
            if tracks.cut:
                record["cut"] = True
        return record

    def encode(self, frame_index: int, timestamp: float, tracks: Tracks) -> list:
        """The line of one frame (nothing is written)."""
        return [json.dumps(self.record(frame_index, timestamp, tracks), separators=(",", ":")) + "\n"]

    def write(self, frame_index: int, timestamp: float, tracks: Tracks) -> None:
        self._add(self.encode(frame_index, timestamp, tracks))


class FrameSinks:
    """The text files of one run written frame by frame, each frame to every file or to none.

    ``write_frame([lines of file 1, lines of file 2, ...])`` buffers one frame's lines (already
    encoded) in every file and flushes them all together every ``flush_every_s`` seconds. When
    a flush of one file fails (a full disk), every file is cut back to the end of the last frame
    they all hold, the frames stay buffered, and the frame being written is taken back
    entirely. ``frames_in_files``: frames whose lines every file holds on disk;
    ``frames_accepted``: frames given to ``write_frame`` and not taken back.
    """

    def __init__(self, files: Sequence[_LineFile], flush_every_s: float = DEFAULT_FLUSH_EVERY_S):
        self.files = list(files)
        self.flush_every_s = float(flush_every_s)
        self._last_flush = time.monotonic()
        self.frames_in_files = 0
        self.frames_accepted = 0

    def write_frame(self, lines: Sequence[Sequence[str]]) -> None:
        """Buffer one frame's lines in every file (``lines[i]`` for ``files[i]``); flush all when
        due. On an ``OutputError`` (or an interruption) the frame is not in any file."""
        if len(lines) != len(self.files):
            raise ValueError(f"write_frame needs lines for {len(self.files)} files, got {len(lines)}")
        for f, frame_lines in zip(self.files, lines):
            f._add(frame_lines, autoflush=False)
        self.frames_accepted += 1
        if time.monotonic() - self._last_flush >= self.flush_every_s:
            try:
                self.flush()
            except BaseException:
                for f, frame_lines in zip(self.files, lines):
                    f._drop_last(len(frame_lines))
                self.frames_accepted -= 1
                raise

    def flush(self) -> None:
        """Write every file's buffered lines; on any failure every file is cut back to where
        this flush started and keeps its lines buffered (``OutputError`` for an ``OSError``)."""
        self._last_flush = time.monotonic()
        saved = [(f._size, list(f._buffer)) for f in self.files]
        try:
            for f in self.files:
                f.flush()
        except BaseException:
            for f, (size, buffer) in zip(self.files, saved):
                f._cut_back(size, buffer)
            raise
        self.frames_in_files = self.frames_accepted

    def close(self) -> None:
        """Flush everything as one group (as far as possible), then ``abandon`` every file:
        they keep their ``.partial`` names and hold the same whole frames."""
        try:
            self.flush()
        except (OSError, OutputError):
            pass
        for f in self.files:
            f._buffer.clear()
            f.abandon()


#: characters of a video codec's FourCC
FOURCC_LENGTH = 4


def check_codec(codec: str) -> str:
    """``InputError`` (parameter ``codec``) unless ``codec`` is a four-character code."""
    if not isinstance(codec, str) or len(codec) != FOURCC_LENGTH:
        raise InputError(f"codec must be a four-character code such as {DEFAULT_CODEC}, got {codec!r}", "codec")
    return codec


class VideoWriter(_Finalizable):
    """Annotated frames to ``<stem>.partial.mp4`` (OpenCV ``VideoWriter``), renamed to
    ``<stem>.mp4`` by ``finish()``. Frames of another size than the first are resized to it.

    ``background=True``: frames are encoded on one background thread, in the order written
    (``tracker.io.background.SerialWorker``, a few frames queued at most); the file is the
    same. An encoding error is raised by the next ``write`` or by ``seal``. The caller must not
    modify a frame after handing it to ``write``."""

    def __init__(self, final: Path, fps: float, size: tuple, codec: str = DEFAULT_CODEC, background: bool = False):
        import cv2

        self._cv2 = cv2
        self.final = Path(final)
        self.partial = partial_video_path(self.final)
        check_codec(codec)
        self.size = (int(size[0]), int(size[1]))
        self.fps = float(fps)
        self._writer = cv2.VideoWriter(str(self.partial), cv2.VideoWriter_fourcc(*codec), self.fps, self.size)
        if not self._writer.isOpened():
            self._writer.release()
            if self.partial.exists():
                self.partial.unlink()
            hint = (f"the {self.size[0]}x{self.size[1]} frames may be too small for it; use video=False"
                    if codec == DEFAULT_CODEC else f"try codec {DEFAULT_CODEC}, or video=False")
            raise InputError(f"{self.partial}: OpenCV cannot write a {self.size[0]}x{self.size[1]} video with "
                             f"codec {codec!r} here ({hint})", mentions=("codec", "video=False"))
        self.frames = 0
        self.sealed = False
        self.finished = False
        self._worker = SerialWorker(self._encode, name="identitrack-video") if background else None

    def _encode(self, image: np.ndarray) -> None:
        if (image.shape[1], image.shape[0]) != self.size:
            image = self._cv2.resize(image, self.size, interpolation=self._cv2.INTER_AREA)
        self._writer.write(image)

    def write(self, image: np.ndarray) -> None:
        if self._worker is not None:
            self._worker.submit(image)
        else:
            self._encode(image)
        self.frames += 1

    def _release(self) -> None:
        if self._worker is not None:
            self._worker.close()  # encodes what is queued, then stops
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def seal(self) -> Path:
        """Close the container and check it: OpenCV does not report failed writes (a full
        disk), so the file is reopened and must hold every frame (``OutputError`` if not)."""
        if not self.sealed:
            self._release()
            if self._worker is not None and self._worker.error is not None:
                raise self._worker.error
            self._check()
            self.sealed = True
        return self.partial

    def _check(self) -> None:
        if self.frames == 0:
            return
        cap = self._cv2.VideoCapture(str(self.partial))
        try:
            count = cap.get(self._cv2.CAP_PROP_FRAME_COUNT) if cap.isOpened() else -1
        finally:
            cap.release()
        if count < 0 or (count > 0 and abs(count - self.frames) > 1):
            raise OutputError(f"{self.partial}: the video is incomplete ({self.frames} frames written, the file "
                              f"{'holds ' + str(int(count)) if count >= 0 else 'does not open'}); the disk may be "
                              "full")


    def abandon(self) -> Path:
        self._release()
        return self.partial


def check_not_input(outputs: Sequence[Path], inputs: Sequence[Optional[Path]],
                    root: Optional[Path] = None) -> None:
    """Raise ``OutputPathError`` (an ``InputError``) when an output path -- final or partial --
    is or would replace one of the inputs, is a package file, or leaves ``root``: the rule of
    ``tracker.io.output_paths``."""
    guard = OutputGuard(inputs, root)
    for out in outputs:
        guard.check_all(partial_names(out))


def prepare_output_dir(folder: Path) -> Path:
    """Create ``folder`` (and parents); ``InputError`` when that is impossible."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"output_dir {folder}: exists and is not a folder", "output_dir")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"output_dir {folder}: cannot create the output folder ({exc.strerror or exc}); "
                         "choose another one", "output_dir") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"output_dir {folder}: the output folder is not writable; choose another one", "output_dir")
    return folder


def write_summary(path: Path, summary: dict) -> Path:
    """Write the run summary JSON atomically (a reader never sees half of it)."""
    write_text_atomic(path, json.dumps(summary, indent=2, sort_keys=False) + "\n")
    _chmod_like_new_file(Path(path))
    return Path(path)


def _chmod_like_new_file(path: Path) -> None:
    """``mkstemp`` makes 0600 files; give the summary the permissions of any new file."""
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(path, 0o666 & ~umask)
    except OSError:
        pass
