"""Option values no ``track`` command can use, refused by argparse for every subcommand.

``check_option_types(parser)`` gives each option of a configured parser a checked type:

* ``type=Path``: not empty or all spaces (``-o ''`` would silently mean the current folder);
* text options (no type, no choices): not empty or all spaces (``--json ' '``);
* ``type=int``: within +-``MAX_OPTION_INT`` (a 400-digit ``--soak-frames`` overflowed NumPy);
  ``--threads`` at most ``MAX_THREADS``;
* ``type=float``: finite (``--fps nan``).

argparse then prints the usage and ``argument --X: ...`` and the command exits 2.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path


def _non_empty_path(text: str) -> Path:
    """argparse type of path options: ``""`` would silently mean the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path")
    return Path(text)


def _non_blank(text: str) -> str:
    """argparse type of text options: an empty or all-space value (``--json ' '``) is a slip,
    never a name or a setting."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty value")
    return text


#: no whole-number option needs more than a C int (frames, steps, seeds, threads, sizes); larger
#: values overflow torch, NumPy or OpenCV
MAX_OPTION_INT = 2 ** 31 - 1


def _bounded_int(text: str) -> int:
    """argparse type of whole-number options: within +-MAX_OPTION_INT."""
    value = int(text)
    if abs(value) > MAX_OPTION_INT:
        raise argparse.ArgumentTypeError(f"too large (at most {MAX_OPTION_INT}), got {text[:20]}"
                                         f"{'...' if len(text) > 20 else ''}")
    return value


def _finite_float(text: str) -> float:
    """argparse type of number options: NaN and infinities are never meaningful values."""
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


# argparse names the type in "invalid int value: 'x'": keep the plain names
_bounded_int.__name__, _finite_float.__name__ = "int", "float"

#: the option types checked for every command (text options: ``_non_blank``): an empty path
#: would silently mean the current folder; huge integers and NaN/inf floats would reach the
#: libraries
_CHECKED_TYPES = {Path: _non_empty_path, int: _bounded_int, float: _finite_float}


#: thread counts: more than this asks the OpenMP runtime for gigabytes of stacks (the lower
#: bound, and worker counts, are each command's own checks)
MAX_THREADS = 1024
#: options (by their argparse ``dest``) with an upper bound of their own, for every command
_UPPER_BOUNDS = {"threads": MAX_THREADS}


def _int_at_most(high: int):
    """argparse type of a whole number <= ``high``."""
    def parse(text: str) -> int:
        value = int(text)
        if value > high:
            raise argparse.ArgumentTypeError(f"at most {high}, got {text[:20]}{'...' if len(text) > 20 else ''}")
        return _bounded_int(text)

    parse.__name__ = "int"
    return parse


def check_option_types(parser: argparse.ArgumentParser) -> None:
    """Give every ``type=Path`` / ``int`` / ``float`` option of ``parser`` its checked type,
    and thread counts their upper bound (argparse then exits 2 with one line naming the option)."""
    for action in parser._actions:
        if action.type is None and action.option_strings and action.nargs != 0 and not action.choices:
            action.type = _non_blank
            continue
        if action.type is int and action.dest in _UPPER_BOUNDS:
            action.type = _int_at_most(_UPPER_BOUNDS[action.dest])
            continue
        checked = _CHECKED_TYPES.get(action.type)
        if checked is not None:
            action.type = checked
