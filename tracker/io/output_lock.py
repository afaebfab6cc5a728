"""An exclusive lock per output stem, held for a whole run (``docs/reliability.md``, "Output
paths and locks").

Two runs writing the same ``<stem>`` files into one folder would share their ``.partial``
files. ``OutputLock(folder, stem)`` takes ``fcntl.flock`` on ``folder/.<stem>.lock`` and
records the holder's pid in it; a second run gets ``OutputBusyError`` naming the folder and
the holder's pid, or waits for the lock with ``wait=True``. The kernel releases a flock when
its process dies, so the file a dead (killed) holder left behind is simply taken over: a
stale lock never blocks. ``release()`` removes the file while still holding the lock; a run
that was waiting on the removed file notices (its file is no longer the one at the path) and
locks again.
"""
from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path
from typing import Optional

from tracker.errors import InputError

LOCK_PREFIX = "."
LOCK_SUFFIX = ".lock"
#: bytes read back from a lock file: its holder's pid and a newline
PID_BYTES = 32


class OutputBusyError(InputError):
    """Another live run holds the lock of these outputs."""


def lock_path(folder: Path, stem: str) -> Path:
    """``folder/.<stem>.lock``."""
    return Path(folder) / f"{LOCK_PREFIX}{stem}{LOCK_SUFFIX}"


def _holder(fd: int) -> Optional[int]:
    """The pid recorded in an open lock file, or None."""
    try:
        text = os.pread(fd, PID_BYTES, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


class OutputLock:
    """See the module doc. Use ``acquire()``/``release()`` or a ``with`` block."""

    def __init__(self, folder: Path, stem: str, wait: bool = False):
        self.folder = Path(folder)
        self.stem = stem
        self.path = lock_path(self.folder, stem)
        self.wait = bool(wait)
        self._fd: Optional[int] = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> "OutputLock":
        """Take the lock (waiting when ``wait``); ``OutputBusyError`` when another live run
        holds it; an ``InputError`` when the lock file cannot be created."""
        while self._fd is None:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise InputError(f"{self.path}: cannot create the lock file ({exc.strerror or exc})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if self.wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _holder(fd)
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    who = f"pid {holder}" if holder is not None else "another process"
                    raise OutputBusyError(
                        f"{self.folder}: another track run ({who}) is writing {self.stem} here; wait for it to "
                        "end (wait=True), or choose another output_dir", mentions=("wait=True", "output_dir")) from None
                raise InputError(f"{self.path}: cannot lock ({exc.strerror or exc})") from None
            except BaseException:
                os.close(fd)
                raise
            if self._is_current(fd):
                self._record_pid(fd)
                self._fd = fd
            else:  # the holder removed the file while we waited: lock the new one
                os.close(fd)
        return self

    def _is_current(self, fd: int) -> bool:
        try:
            here, there = os.fstat(fd), os.stat(self.path)
        except OSError:
            return False
        return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)

    @staticmethod
    def _record_pid(fd: int) -> None:
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError:  # the pid is only shown in messages; the flock is the lock
            pass

    def release(self) -> None:
        """Remove the lock file and unlock (safe to call twice)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if self._is_current(fd):
                os.unlink(self.path)
        except OSError:
            pass
        finally:
            os.close(fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
