"""What an input path that is neither a regular file nor a folder is, in words.

``describe_special(path)`` names a FIFO, a device, a socket, a symbolic link loop or a
broken link, so that messages say what the path *is* instead of "not found" (reading a FIFO
or ``/dev/zero`` would block or never end, so they are refused before any read).
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Optional

from tracker.errors import InputError

#: file types (``stat.S_IS*``) that exist but cannot be an input file, and what to call them
_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def describe_special(path) -> Optional[str]:
    """``"PATH: is a named pipe (FIFO), not a regular file"`` (or a device, a socket, a
    symbolic link loop, a broken link); None when ``path`` is a regular file, a folder, or
    does not exist at all."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except ValueError:  # an embedded NUL byte: no such path can exist
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"{path}: a symbolic link loop (too many levels of symbolic links)"
        if os.path.islink(path):
            return f"{path}: a broken symbolic link (to {os.readlink(path)}, which does not exist)"
        return None
    for test, kind in _SPECIAL_KINDS:
        if test(mode):
            return f"{path}: is {kind}, not a regular file"
    return None


def check_replaceable(path) -> None:
    """``InputError`` when ``path`` exists and is not a regular file or a folder: a file
    written "atomically" (a temporary renamed over ``path``) would replace the FIFO or device
    node itself (as root, ``--json /dev/zero`` replaced the system's ``/dev/zero``)."""
    special = describe_special(path)
    if special is not None and os.path.exists(path):
        raise InputError(f"{special}; refusing to replace it with an output file")
